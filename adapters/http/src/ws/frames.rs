//! The channel's JSON frames: the client's join frame and the server's replies.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The reply to a successful join (API.md, exact text).
pub const JOINED_MESSAGE: &str = "Successfully joined profile channel.";

/// What a client sent, as far as the channel cares.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClientFrame {
    /// `{"type":"join","authorizationToken":"tsa_…","correlationId":"c-1"}`.
    Join {
        /// The token (not yet checked).
        token: String,
        /// Echoed in the reply.
        correlation_id: Option<String>,
    },
    /// Valid JSON of another kind (or a join without a token).
    Other {
        /// Echoed in the reply, when the frame had a string `correlationId`.
        correlation_id: Option<String>,
    },
    /// Not a JSON object.
    Malformed,
}

/// Classify a text frame.
pub(super) fn parse(text: &str) -> ClientFrame {
    let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) else {
        return ClientFrame::Malformed;
    };
    let correlation_id = o
        .get("correlationId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match (
        o.get("type").and_then(Value::as_str),
        o.get("authorizationToken").and_then(Value::as_str),
    ) {
        (Some("join"), Some(token)) => ClientFrame::Join {
            token: token.to_owned(),
            correlation_id,
        },
        _ => ClientFrame::Other { correlation_id },
    }
}

/// `{"correlationId","status","data"}`, in that order.
#[derive(Serialize)]
struct Reply<'a, D: Serialize> {
    #[serde(rename = "correlationId")]
    correlation_id: Option<&'a str>,
    status: u16,
    data: D,
}

#[derive(Serialize)]
struct Joined<'a> {
    #[serde(rename = "channelId")]
    channel_id: String,
    message: &'a str,
}

#[derive(Serialize)]
struct Refused<'a> {
    error: &'a str,
    message: &'a str,
}

/// `{"correlationId":"c-1","status":200,"data":{"channelId":"<profileId>","message":"Successfully joined profile channel."}}`.
pub(super) fn joined(correlation_id: Option<&str>, channel: Uuid) -> String {
    to_text(&Reply {
        correlation_id,
        status: 200,
        data: Joined {
            channel_id: channel.hyphenated().to_string(),
            message: JOINED_MESSAGE,
        },
    })
}

/// A refusal in the same shape: `{"correlationId","status":401,"data":{"error","message"}}`.
pub(super) fn refused(
    correlation_id: Option<&str>,
    status: u16,
    error: &str,
    message: &str,
) -> String {
    to_text(&Reply {
        correlation_id,
        status,
        data: Refused { error, message },
    })
}

fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_frames_are_recognised() {
        assert_eq!(
            parse(r#"{"type":"join","authorizationToken":"tsa_x","correlationId":"c-1"}"#),
            ClientFrame::Join {
                token: "tsa_x".into(),
                correlation_id: Some("c-1".into())
            }
        );
        assert_eq!(
            parse(r#"{"type":"join","correlationId":"c-2"}"#),
            ClientFrame::Other {
                correlation_id: Some("c-2".into())
            }
        );
        assert_eq!(parse("[1]"), ClientFrame::Malformed);
        assert_eq!(parse("join"), ClientFrame::Malformed);
    }

    #[test]
    fn replies_have_the_documented_shape() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            joined(Some("c-1"), id),
            format!(
                r#"{{"correlationId":"c-1","status":200,"data":{{"channelId":"{id}","message":"Successfully joined profile channel."}}}}"#
            )
        );
        assert_eq!(
            refused(None, 401, "unauthorized", "unauthorized"),
            r#"{"correlationId":null,"status":401,"data":{"error":"unauthorized","message":"unauthorized"}}"#
        );
    }
}
