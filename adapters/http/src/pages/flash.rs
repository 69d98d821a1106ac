//! The outcome of an account form, shown by the page its 303 leads to. The redirect's
//! query names a fixed message, never text: `done=<key>` or `problem=<key>`, with
//! `wait=<seconds>` (when to try again) and `advice=<keys>` (zxcvbn's messages, see
//! [`super::advice`]) where they apply. An unknown key shows nothing.

use std::fmt::Write as _;

use serde::Serialize;
use tessera_core::Error;

use super::advice;

/// Longest wait a flash shows, in seconds (the throttle's cap is 15 minutes by default).
const MAX_WAIT: u64 = 86_400;

/// What was done: key → message.
const DONE: [(&str, &str); 9] = [
    ("signed-in", "You are signed in."),
    ("signed-out", "You are signed out."),
    (
        "signed-out-everywhere",
        "Every session of your profile has ended, this browser's too.",
    ),
    (
        "session-revoked",
        "The session has ended. Its token no longer works.",
    ),
    (
        "device-approved",
        "The device is approved. It can be used now.",
    ),
    (
        "device-rejected",
        "The device is rejected. Its tokens no longer work.",
    ),
    (
        "device-removed",
        "The device is removed. Its tokens no longer work.",
    ),
    (
        "consent-revoked",
        "The application's access is withdrawn. Its tokens no longer work.",
    ),
    (
        "password-changed",
        "Your password is changed. Every other session of your profile has ended.",
    ),
];

/// The form field a problem is about (shown beside it), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Field {
    /// The current password of the change-password form.
    CurrentPassword,
    /// The new password of the change-password form.
    NewPassword,
}

/// What went wrong: key → message, and the field it is about.
const PROBLEMS: [(&str, &str, Option<Field>); 17] = [
    (
        "wrong-credentials",
        "The username or password is wrong.",
        None,
    ),
    (
        "throttled",
        "Too many failed attempts for this username.",
        None,
    ),
    ("busy", "The server is busy.", None),
    (
        "storage",
        "The server cannot reach its storage just now.",
        None,
    ),
    (
        "temporary-password",
        "This password is temporary. Choose your own password first: sign in with it to an application of this server, which asks you for a new one.",
        None,
    ),
    ("form-expired", "This form has expired. Try again.", None),
    (
        "session-ended",
        "Your session has ended. Sign in again.",
        None,
    ),
    (
        "not-found",
        "That is not there any more: it may have changed meanwhile.",
        None,
    ),
    (
        "device-state",
        "The device's state does not allow that (it may have changed meanwhile).",
        None,
    ),
    (
        "not-allowed",
        "Your profile cannot do that in its present state.",
        None,
    ),
    (
        "wrong-password",
        "The current password is wrong.",
        Some(Field::CurrentPassword),
    ),
    (
        "weak-password",
        "The new password is too easy to guess.",
        Some(Field::NewPassword),
    ),
    (
        "password-too-short",
        "The new password is too short.",
        Some(Field::NewPassword),
    ),
    (
        "password-too-long",
        "The new password is too long.",
        Some(Field::NewPassword),
    ),
    (
        "password-invalid",
        "The new password must not contain control characters.",
        Some(Field::NewPassword),
    ),
    (
        "passwords-differ",
        "The two new passwords are not the same.",
        Some(Field::NewPassword),
    ),
    ("refused", "That was refused.", None),
];

/// A message box: a problem or what was done, zxcvbn's advice, when to try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Flash {
    /// A problem (an alert) rather than a success (a status).
    pub(crate) problem: bool,
    /// The message.
    pub(crate) message: String,
    /// zxcvbn's advice lines.
    pub(crate) advice: Vec<String>,
    /// Seconds until another attempt is allowed.
    pub(crate) wait: Option<u64>,
    /// The field it is about.
    pub(crate) field: Option<Field>,
}

impl Flash {
    /// A problem box saying `message` (the OAuth pages' refusals).
    pub(crate) fn problem(message: String, advice: Vec<String>, wait: Option<u64>) -> Self {
        Self {
            problem: true,
            message,
            advice,
            wait,
            field: None,
        }
    }

    /// The flash a redirect's query names, if any.
    pub(crate) fn read(query: Option<&str>) -> Option<Self> {
        let mut done = None;
        let mut problem = None;
        let mut wait = None;
        let mut advice = Vec::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "done" => done = DONE.iter().find(|(key, _)| *key == v),
                "problem" => problem = PROBLEMS.iter().find(|(key, ..)| *key == v),
                "wait" if v.bytes().all(|b| b.is_ascii_digit()) => {
                    wait = v.parse::<u64>().ok().map(|w| w.clamp(1, MAX_WAIT));
                }
                "advice" => advice = advice::lines(&v),
                _ => {}
            }
        }
        if let Some((_, message, field)) = problem {
            return Some(Self {
                problem: true,
                message: (*message).to_owned(),
                advice,
                wait,
                field: *field,
            });
        }
        done.map(|(_, message)| Self {
            problem: false,
            message: (*message).to_owned(),
            advice: Vec::new(),
            wait: None,
            field: None,
        })
    }
}

/// `path?done=<key>`.
pub(crate) fn done(path: &str, key: &'static str) -> String {
    debug_assert!(DONE.iter().any(|(k, _)| *k == key), "{key}");
    format!("{path}?done={key}")
}

/// `path?problem=<key>`.
pub(crate) fn problem(path: &str, key: &'static str) -> String {
    debug_assert!(PROBLEMS.iter().any(|(k, ..)| *k == key), "{key}");
    format!("{path}?problem={key}")
}

/// `path?problem=…` for an engine refusal, with its wait and advice.
pub(crate) fn refusal(path: &str, e: &Error) -> String {
    let key = match e {
        Error::Unauthorized => "session-ended",
        Error::TooManyAttempts { .. } => "throttled",
        Error::Overloaded { .. } => "busy",
        Error::Storage(_) => "storage",
        Error::WrongPassword => "wrong-password",
        Error::WeakPassword { .. } => "weak-password",
        Error::PasswordTooShort { .. } => "password-too-short",
        Error::PasswordTooLong { .. } => "password-too-long",
        Error::Validation {
            field: "password", ..
        } => "password-invalid",
        Error::Validation {
            field: "deviceIdentifier",
            ..
        } => "device-state",
        Error::NotFound => "not-found",
        Error::ProfileIncomplete
        | Error::DevicePending
        | Error::DeviceRejected
        | Error::Forbidden => "not-allowed",
        _ => "refused",
    };
    let mut url = problem(path, key);
    match e {
        Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after } => {
            let _ = write!(url, "&wait={}", (*retry_after).max(1));
        }
        Error::Storage(_) => url.push_str("&wait=1"),
        Error::WeakPassword { feedback } => {
            let keys = advice::keys(feedback);
            if !keys.is_empty() {
                url.push_str("&advice=");
                url.push_str(&keys);
            }
        }
        _ => {}
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_name_fixed_messages_only() {
        let f = Flash::read(Some("problem=throttled&wait=8")).unwrap();
        assert!(f.problem && f.message.starts_with("Too many") && f.wait == Some(8));
        let weak = Error::WeakPassword {
            feedback: vec!["This is a top-10 common password.".into()],
        };
        let url = refusal("/account/password", &weak);
        assert_eq!(url, "/account/password?problem=weak-password&advice=w4");
        let f = Flash::read(url.split_once('?').map(|(_, q)| q)).unwrap();
        assert_eq!(f.advice, ["This is a top-10 common password."]);
        assert_eq!(f.field, Some(Field::NewPassword));
        assert_eq!(Flash::read(Some("problem=%3Cscript%3E")), None);
        assert_eq!(Flash::read(Some("done=whatever&wait=x")), None);
        assert!(!Flash::read(Some("done=signed-in")).unwrap().problem);
        assert_eq!(
            Flash::read(Some("problem=busy&wait=0")).unwrap().wait,
            Some(1)
        );
        for (k, ..) in PROBLEMS {
            assert!(Flash::read(Some(&format!("problem={k}"))).is_some(), "{k}");
        }
    }
}
