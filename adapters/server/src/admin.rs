//! Offline administration that is more than one engine call: `tessera admin create-user`
//! and `tessera admin unlock`.

use std::io::{BufRead, IsTerminal as _};

use tessera_core::{Engine, OsRandom, Random as _, Store, Username};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Symbols of generated passwords: Crockford's base32, lowercase (no `i l o u`).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Where the temporary password of [`create_user`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// Generate one (and show it once).
    Generate,
    /// The first line of standard input.
    Stdin,
}

impl PasswordSource {
    /// Stdin when it is not a terminal (a pipe or a file), else generate.
    #[must_use]
    pub fn detect() -> Self {
        if std::io::stdin().is_terminal() {
            Self::Generate
        } else {
            Self::Stdin
        }
    }
}

/// What [`create_user`] made.
#[derive(Debug)]
pub struct CreatedUser {
    /// The new profile.
    pub profile_id: Uuid,
    /// The generated temporary password, to show once (`None` when it was read from stdin).
    pub generated: Option<Zeroizing<String>>,
}

/// A password of 25 random symbols in five groups (`xxxxx-xxxxx-…`, 125 bits).
#[must_use]
pub fn generate_password() -> Zeroizing<String> {
    let mut raw = Zeroizing::new([0u8; 25]);
    OsRandom.fill(raw.as_mut());
    let mut out = Zeroizing::new(String::with_capacity(29));
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    out
}

/// Read the first line of `input` (without its line ending). An empty input → `None`.
pub fn read_password(input: &mut impl BufRead) -> Result<Option<Zeroizing<String>>, String> {
    let mut line = Zeroizing::new(String::new());
    input
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the temporary password from stdin: {e}"))?;
    let trimmed = line.trim_end_matches(['\n', '\r']);
    Ok((!trimmed.is_empty()).then(|| Zeroizing::new(trimmed.to_owned())))
}

/// Create `username` with a temporary password (read from `source`, or generated when
/// stdin gives nothing): its first `/v1/login` answers NEW_PASSWORD_REQUIRED.
pub async fn create_user(
    engine: &Engine,
    username: &str,
    source: PasswordSource,
) -> Result<CreatedUser, String> {
    let from_stdin = match source {
        PasswordSource::Stdin => read_password(&mut std::io::stdin().lock())?,
        PasswordSource::Generate => None,
    };
    let (password, generated) = match from_stdin {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let profile_id = engine
        .create_user_with_temporary_password(username, &password)
        .await
        .map_err(|e| match e.field() {
            Some("password") => format!("temporary password refused: {}", e.messages().join(" ")),
            _ => e.to_string(),
        })?;
    Ok(CreatedUser {
        profile_id,
        generated: generated.then_some(password),
    })
}

/// Clear the login throttle of `username`. A name that is neither a user nor throttled is
/// refused (a typo would otherwise "succeed" and leave the real name locked); a throttled
/// name that is no user is cleared (failed attempts on unknown names are throttled too).
pub async fn unlock(engine: &Engine, store: &dyn Store, username: &str) -> Result<(), String> {
    let name = Username::parse(username).map_err(|e| e.to_string())?;
    let known = store
        .get_profile_by_username(name.as_str())
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    let throttled = store
        .get_throttle(name.as_str())
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if !known && !throttled {
        return Err(format!(
            "no user named {:?} and no login throttle to clear: nothing was changed",
            name.as_str()
        ));
    }
    engine
        .unlock(name.as_str())
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_have_five_groups() {
        let p = generate_password();
        assert_eq!(p.len(), 29);
        assert_eq!(p.split('-').count(), 5);
        assert!(p.bytes().all(|b| b == b'-' || ALPHABET.contains(&b)));
        assert_ne!(*p, *generate_password());
    }

    #[test]
    fn stdin_gives_its_first_line() {
        let mut input = std::io::Cursor::new(b"a long temporary password\r\nnext\n".to_vec());
        assert_eq!(
            read_password(&mut input).unwrap().unwrap().as_str(),
            "a long temporary password"
        );
        assert!(
            read_password(&mut std::io::Cursor::new(Vec::new()))
                .unwrap()
                .is_none()
        );
        assert!(
            read_password(&mut std::io::Cursor::new(b"\n".to_vec()))
                .unwrap()
                .is_none()
        );
    }
}
