//! The reply types shared by several routes: a typed JSON reply, the 202 of a command and
//! the `/v1` acknowledgement.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{CAB_ID_HEADER, json};

/// A 200 JSON reply of type `T` (`Content-Type: application/json; charset=utf-8`).
#[derive(Debug)]
pub(crate) struct JsonReply<T>(pub(crate) T);

impl<T: Serialize> IntoResponse for JsonReply<T> {
    fn into_response(self) -> Response {
        json(StatusCode::OK, &self.0)
    }
}

/// `["<commandId>"]`; the id is also in the `X-DPT-CAB-ID` header.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandAccepted(pub(crate) Vec<String>);

/// The 202 of a command: [`CommandAccepted`] with the id in `X-DPT-CAB-ID`.
#[derive(Debug)]
pub(crate) struct Accepted(pub(crate) String);

impl IntoResponse for Accepted {
    fn into_response(self) -> Response {
        let header = HeaderValue::from_str(&self.0).ok();
        let mut res = json(StatusCode::ACCEPTED, &CommandAccepted(vec![self.0]));
        if let Some(v) = header {
            res.headers_mut().insert(CAB_ID_HEADER, v);
        }
        res
    }
}

/// An acknowledgement in the seed's shape: `{"message","status":200}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageReply {
    /// What was done.
    pub(crate) message: &'static str,
    /// Always 200.
    #[schema(minimum = 200, maximum = 200)]
    pub(crate) status: u16,
}

impl MessageReply {
    /// The 200 acknowledgement `message`.
    pub(crate) fn ok(message: &'static str) -> JsonReply<Self> {
        JsonReply(Self {
            message,
            status: 200,
        })
    }
}
