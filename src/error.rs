//! The one error type of the request path: who is at fault, which HTTP status that means, and the
//! JSON body a client of each dialect expects. Errors become responses only in `respond.rs`.

use crate::dialect::Dialect;
use crate::sse::Event;
use serde_json::{json, Value};
use std::fmt;

/// Who caused an error; decides the status class and how loudly it is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client sent something we cannot serve (4xx).
    Client,
    /// The upstream provider failed in transport: unreachable, slow, or unreadable (502/504).
    Upstream,
    /// The proxy itself: overloaded or a bug (5xx).
    Proxy,
}

/// Everything that can go wrong while serving one request.
///
/// Upstream HTTP errors (a 429 or 500 from a provider) are not here: they are data and pass
/// through to the client. Only transport failures become [`Error::UpstreamUnreachable`],
/// [`Error::UpstreamTimeout`] or [`Error::UpstreamInvalid`].
#[derive(Debug)]
pub enum Error {
    /// No valid token in `Authorization`, `x-api-key` or `api-key`.
    Unauthorized,
    /// No route for this method and path.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// No deployment serves the requested model.
    UnknownModel(String),
    /// The model's entry was skipped at startup; the text says which provider and why.
    ModelUnavailable(String),
    /// A Responses `previous_response_id` this proxy does not hold (or no longer holds).
    UnknownResponse(String),
    /// A Responses `previous_response_id` whose conversation was too large to keep.
    ResponseNotKept(String),
    /// Malformed request: bad JSON, a missing `model`, bad framing. The text is shown to the client.
    BadRequest(String),
    /// The request body is larger than the configured limit (in bytes).
    BodyTooLarge(usize),
    /// The request head is larger than the configured limit.
    HeadersTooLarge,
    /// Every worker is busy.
    Overloaded,
    /// The proxy is shutting down and takes no new requests.
    ShuttingDown,
    /// The upstream could not be reached (connect error, DNS, TLS, reset before the head).
    UpstreamUnreachable(String),
    /// The upstream did not answer, or stalled mid-stream, within the configured timeout.
    UpstreamTimeout(String),
    /// The upstream answered with something unusable where JSON was due.
    UpstreamInvalid(String),
    /// A bug or an unexpected local failure.
    Internal(String),
}

impl Error {
    /// Whose fault this is, as its status class says: a 4xx is the client's, 502 and 504 the
    /// upstream's, any other 5xx the proxy's.
    pub fn fault(&self) -> Fault {
        match self.status() {
            400..=499 => Fault::Client,
            502 | 504 => Fault::Upstream,
            _ => Fault::Proxy,
        }
    }

    /// The HTTP status this error is answered with (SPEC §6).
    pub fn status(&self) -> u16 {
        self.status_and_kind().0
    }

    /// A short stable name for logs and the OpenAI `code` field.
    pub fn kind(&self) -> &'static str {
        self.status_and_kind().1
    }

    /// [`Error::status`] and [`Error::kind`], in one table.
    fn status_and_kind(&self) -> (u16, &'static str) {
        match self {
            Error::Unauthorized => (401, "invalid_api_key"),
            Error::NotFound => (404, "not_found"),
            Error::MethodNotAllowed => (405, "method_not_allowed"),
            Error::UnknownModel(_) => (404, "model_not_found"),
            Error::ModelUnavailable(_) => (400, "model_not_supported"),
            Error::UnknownResponse(_) | Error::ResponseNotKept(_) => (400, "previous_response_not_found"),
            Error::BadRequest(_) => (400, "invalid_request"),
            Error::BodyTooLarge(_) => (413, "request_too_large"),
            Error::HeadersTooLarge => (431, "headers_too_large"),
            Error::Overloaded => (503, "overloaded"),
            Error::ShuttingDown => (503, "shutting_down"),
            Error::UpstreamUnreachable(_) => (502, "upstream_unreachable"),
            Error::UpstreamTimeout(_) => (504, "upstream_timeout"),
            Error::UpstreamInvalid(_) => (502, "upstream_invalid_response"),
            Error::Internal(_) => (500, "internal_error"),
        }
    }

    /// `{"error":{"message","type","param","code"}}`, as the OpenAI SDKs parse it.
    pub fn openai_body(&self) -> Value {
        let param = match self {
            Error::UnknownModel(_) | Error::ModelUnavailable(_) => Value::from("model"),
            Error::UnknownResponse(_) | Error::ResponseNotKept(_) => Value::from("previous_response_id"),
            _ => Value::Null,
        };
        let kind = match self.status() {
            401 => "authentication_error",
            404 => "not_found_error",
            503 => "overloaded_error",
            s if s >= 500 => "api_error",
            _ => "invalid_request_error",
        };
        json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": self.kind()}})
    }

    /// The status in the client's dialect: Anthropic clients (Claude Code) know overload as 529.
    pub fn status_in(&self, d: Dialect) -> u16 {
        match (self, d) {
            (Error::Overloaded | Error::ShuttingDown, Dialect::Anthropic) => 529,
            _ => self.status(),
        }
    }

    /// The error body in the client's dialect.
    pub fn body(&self, d: Dialect) -> Value {
        match d {
            Dialect::OpenAi | Dialect::Responses => self.openai_body(),
            Dialect::Ollama => json!({"error": self.to_string()}),
            Dialect::Anthropic => json!({"type": "error", "error": {
                "type": anthropic_error_type(self.status_in(d)),
                "message": self.to_string(),
            }}),
        }
    }

    /// The error as a stream event in the client's dialect (after a stream has begun).
    pub fn event(&self, d: Dialect) -> Event {
        let body = self.body(d).to_string();
        match d {
            Dialect::Anthropic => Event::named("error", body),
            Dialect::OpenAi | Dialect::Ollama => Event::data(body),
            // A Responses stream's `error` event is flat, and numbered; the proxy cannot know
            // the number in a stream it passed through, so it says 0.
            Dialect::Responses => {
                let e = &self.openai_body()["error"];
                let flat = json!({"type": "error", "code": e["code"], "message": e["message"],
                                  "param": e["param"], "sequence_number": 0});
                Event::named("error", flat.to_string())
            }
        }
    }

    /// That event as the client's stream writes it.
    pub fn sse(&self, d: Dialect) -> Vec<u8> {
        let mut out = Vec::new();
        d.framing().write(&self.event(d), &mut out);
        out
    }

    /// A failure while reading an upstream body. ureq hands its own errors (a per-read timeout,
    /// say) through `io::Error`; unwrap them so a stall is reported as a timeout.
    pub fn from_upstream_read(e: std::io::Error) -> Error {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(t)) => Error::UpstreamTimeout(format!("no data for too long mid-response ({t})")),
            _ if e.kind() == std::io::ErrorKind::TimedOut => {
                Error::UpstreamTimeout(format!("no data for too long mid-response ({e})"))
            }
            _ => Error::UpstreamUnreachable(format!("response broke off: {e}")),
        }
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        400 | 405 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthorized => f.write_str(
                "Invalid or missing API key: send the proxy's token as `Authorization: Bearer <token>`, `x-api-key` or `api-key`",
            ),
            Error::NotFound => f.write_str("No such route"),
            Error::MethodNotAllowed => f.write_str("Method not allowed on this route"),
            Error::UnknownModel(m) => write!(f, "The model `{m}` does not exist or is not configured on this proxy"),
            Error::ModelUnavailable(m) | Error::BadRequest(m) => f.write_str(m),
            Error::UnknownResponse(id) => write!(
                f,
                "Previous response with id '{id}' not found: this proxy keeps recent responses in memory for a while (and only those created with `store` not false)"
            ),
            Error::ResponseNotKept(id) => write!(
                f,
                "Previous response with id '{id}' not found: its conversation was not kept because it was too large \
                 (over {} JSON values or {} bytes); send the whole input instead",
                crate::conversations::MAX_VALUES,
                crate::conversations::MAX_BYTES
            ),
            Error::BodyTooLarge(n) => write!(f, "Request body is larger than the limit of {n} bytes"),
            Error::HeadersTooLarge => f.write_str("Request headers are too large"),
            Error::Overloaded => f.write_str("The proxy is at its concurrent request limit; retry shortly"),
            Error::ShuttingDown => f.write_str("The proxy is shutting down; retry shortly"),
            Error::UpstreamUnreachable(m) => write!(f, "Upstream unreachable: {m}"),
            Error::UpstreamTimeout(m) => write!(f, "Upstream timed out: {m}"),
            Error::UpstreamInvalid(m) => write!(f, "Upstream sent an invalid response: {m}"),
            Error::Internal(m) => write!(f, "Internal proxy error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ureq::Error> for Error {
    fn from(e: ureq::Error) -> Self {
        match e {
            ureq::Error::Timeout(t) => Error::UpstreamTimeout(t.to_string()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Error::UpstreamTimeout(io.to_string()),
            other => Error::UpstreamUnreachable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_class_maps_to_its_status_range() {
        for e in [Error::Unauthorized, Error::BadRequest("x".into()), Error::BodyTooLarge(1)] {
            assert_eq!(e.fault(), Fault::Client);
            assert!((400..500).contains(&e.status()));
        }
        for e in [Error::UpstreamUnreachable("x".into()), Error::UpstreamTimeout("x".into())] {
            assert_eq!(e.fault(), Fault::Upstream);
            assert!([502, 504].contains(&e.status()));
        }
        assert_eq!(Error::Overloaded.status(), 503);
    }

    #[test]
    fn openai_body_has_the_four_fields_sdks_read() {
        let b = Error::UnknownModel("gpt-9".into()).openai_body();
        assert_eq!(b["error"]["type"], "not_found_error");
        assert_eq!(b["error"]["code"], "model_not_found");
        assert_eq!(b["error"]["param"], "model");
        assert!(b["error"]["message"].as_str().unwrap().contains("gpt-9"));
    }

    #[test]
    fn anthropic_clients_get_anthropic_shapes_and_529_for_overload() {
        let b = Error::Unauthorized.body(Dialect::Anthropic);
        assert_eq!((b["type"].as_str(), b["error"]["type"].as_str()), (Some("error"), Some("authentication_error")));
        assert_eq!(Error::Overloaded.status_in(Dialect::Anthropic), 529);
        assert_eq!(Error::Overloaded.body(Dialect::Anthropic)["error"]["type"], "overloaded_error");
        let ev = String::from_utf8(Error::UpstreamTimeout("x".into()).sse(Dialect::Anthropic)).unwrap();
        assert!(ev.starts_with("event: error\ndata: {") && ev.contains("timeout_error"), "{ev}");
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 32);
    }
}
