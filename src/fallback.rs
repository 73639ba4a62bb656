//! LiteLLM's fallbacks and `drop_params`, as pure decisions over an upstream's answer: what kind
//! of failure it is (the group is down, the prompt is too long, the content was refused, a
//! parameter was refused by name) and which model group to try next.

use crate::config::{Deployment, Router};
use crate::error::Fault;
use crate::route;
use serde_json::Value;

/// Most of an error body read to classify it (error bodies are small; a stream is never read).
pub const CLASSIFY_BYTES: u64 = 64 * 1024;

/// Most parameters dropped from one request before its error is passed on.
pub const MAX_DROPPED: usize = 4;

/// Most upstream attempts for one client request, across retries, fallback groups and resends
/// without a refused parameter; then the last answer (or error) is returned. 50 fallback groups
/// answering 503 with `num_retries: 3` made one request cost 200 upstream calls; a real chain is a
/// few groups of a few tries.
pub const MAX_ATTEMPTS: usize = 20;

/// Why an answer calls for another try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Transport errors, 429 or 5xx after every deployment of the group: `fallbacks`.
    Down,
    /// The prompt does not fit the model: `context_window_fallbacks`.
    ContextWindow,
    /// The provider refused the content: `content_policy_fallbacks`.
    ContentPolicy,
    /// The upstream refused this request parameter by name: sent again without it.
    RefusedParam(String),
}

impl Failure {
    /// The name used in logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Failure::Down => "down",
            Failure::ContextWindow => "context_window",
            Failure::ContentPolicy => "content_policy",
            Failure::RefusedParam(_) => "refused_param",
        }
    }
}

/// A failure that an answer's status (`Ok`) or a transport error's fault (`Err`) alone shows
/// (`None`: look at the body, or fine).
pub fn by_status(answer: Result<u16, Fault>) -> Option<Failure> {
    match answer {
        Ok(status) if status == 429 || status >= 500 => Some(Failure::Down),
        Err(fault) if fault != Fault::Client => Some(Failure::Down),
        _ => None,
    }
}

/// The failure an error body describes, if any. `drop` says whether a refused parameter counts.
pub fn by_body(body: &[u8], drop: bool) -> Option<Failure> {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    const CONTEXT: &[&str] = &[
        "context_length_exceeded",
        "maximum context length",
        "context window",
        "context length",
        "prompt is too long",
        "input is too long",
        "too many tokens",
        "exceeds the context",
    ];
    const POLICY: &[&str] = &["content_policy_violation", "content management policy", "content_filter"];
    if CONTEXT.iter().any(|p| text.contains(p)) {
        return Some(Failure::ContextWindow);
    }
    if POLICY.iter().any(|p| text.contains(p)) {
        return Some(Failure::ContentPolicy);
    }
    // The web search tool the proxy sends Claude for Codex, which offers it on every turn: an
    // upstream without it (a relay, a cloud, a model or organisation without search) is asked
    // again without it, whatever `drop_params` says.
    if text.contains("web_search") || text.contains("web search") {
        return Some(Failure::RefusedParam("web_search_options".into()));
    }
    drop.then(|| refused_param(body).map(Failure::RefusedParam)).flatten()
}

/// The parameter an upstream names as unsupported: OpenAI's `error.param` with an
/// `unsupported_parameter`-like code, or the messages vLLM, Groq and OpenAI-compatible servers write.
fn refused_param(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error").unwrap_or(&v);
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    let code = err.get("code").and_then(Value::as_str).unwrap_or("");
    if let Some(p) = err.get("param").and_then(Value::as_str) {
        if code.contains("unsupported")
            || code.contains("unknown")
            || message.to_ascii_lowercase().contains("unsupported")
        {
            return Some(p.to_string());
        }
    }
    let quoted_after = |marker: &str| {
        let rest = &message[message.find(marker)? + marker.len()..];
        let rest = rest.trim_start().trim_start_matches(['\'', '"', '`']);
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        (!name.is_empty()).then_some(name)
    };
    quoted_after("Unsupported parameter:")
        .or_else(|| quoted_after("Unrecognized request argument supplied:"))
        .or_else(|| quoted_after("unsupported parameter"))
        .or_else(|| quoted_after("property"))
        .filter(|_| {
            message.contains("unsupported") || message.contains("Unsupported") || message.contains("Unrecognized")
        })
}

/// The next model group to try for a request first sent to `first` (its group name), skipping
/// groups already tried and names that serve nothing. LiteLLM's `*` entry covers every group.
/// Also returns the list's key (`first` or `*`): a configured name, safe as a metric label.
pub fn next<'r>(
    router: &'r Router,
    first: &str,
    failure: &Failure,
    tried: &[String],
    deployments: &[Deployment],
) -> Option<(&'r str, &'r str)> {
    let lists = match failure {
        Failure::Down => &router.fallbacks,
        Failure::ContextWindow => &router.context_window_fallbacks,
        Failure::ContentPolicy => &router.content_policy_fallbacks,
        Failure::RefusedParam(_) => return None,
    };
    let (key, list) = lists.get_key_value(first).or_else(|| lists.get_key_value("*"))?;
    let serves = |name: &str| !route::resolve(route::alias(name, router), deployments).is_empty();
    let next = list.iter().find(|name| !tried.contains(name) && serves(name))?;
    Some((key.as_str(), next.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_transport_errors() {
        assert_eq!(by_status(Ok(503)), Some(Failure::Down));
        assert_eq!(by_status(Ok(429)), Some(Failure::Down));
        assert_eq!(by_status(Err(Fault::Upstream)), Some(Failure::Down));
        assert_eq!(by_status(Err(Fault::Client)), None);
        assert_eq!(by_status(Ok(400)), None);
        assert_eq!(by_status(Ok(200)), None);
    }

    #[test]
    fn context_window_errors_of_each_provider() {
        for body in [
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","code":"context_length_exceeded"}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        ] {
            assert_eq!(by_body(body.as_bytes(), false), Some(Failure::ContextWindow), "{body}");
        }
        let policy = r#"{"error":{"code":"content_policy_violation","message":"refused"}}"#;
        assert_eq!(by_body(policy.as_bytes(), false), Some(Failure::ContentPolicy));
        assert_eq!(by_body(br#"{"error":{"message":"bad json"}}"#, true), None);
    }

    #[test]
    fn refused_parameters_by_name() {
        let openai = r#"{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_parameter"}}"#;
        assert_eq!(by_body(openai.as_bytes(), true), Some(Failure::RefusedParam("temperature".into())));
        assert_eq!(by_body(openai.as_bytes(), false), None, "only with drop_params");
        let azure = r#"{"error":{"message":"Unrecognized request argument supplied: top_k"}}"#;
        assert_eq!(by_body(azure.as_bytes(), true), Some(Failure::RefusedParam("top_k".into())));
        let groq = r#"{"error":{"message":"'logit_bias' : property 'logit_bias' is unsupported","type":"invalid_request_error"}}"#;
        assert_eq!(by_body(groq.as_bytes(), true), Some(Failure::RefusedParam("logit_bias".into())));
    }
}
