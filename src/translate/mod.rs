//! Translation between the OpenAI (Chat Completions) and Anthropic (Messages) dialects: request
//! bodies, complete answers, streams and errors. Pure functions and state machines; nothing here
//! does I/O. Same dialect in and out is not translation: the body passes through.

pub mod normalize;
pub mod ollama;
pub mod request;
pub mod response;
pub mod stream;

use crate::config::ModelInfo;
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::Event;
use serde_json::{Map, Value};

/// The system text that identifies Claude Code (the original project's `openai2claudecode`).
pub const CLAUDE_CODE_SYSTEM: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

/// Prefix of the thinking signatures this proxy invents for OpenAI reasoning, so they can be
/// recognised and removed before a conversation reaches a real Anthropic upstream.
pub const MINTED_SIGNATURE: &str = "gpt-reverse-proxy-minted-";

/// A signature for reasoning that came from an OpenAI-dialect upstream.
pub fn minted_signature() -> String {
    format!("{MINTED_SIGNATURE}{}", crate::clock::unix_now())
}

/// What a request translation needs to know about the deployment it is for.
pub struct Target<'a> {
    /// The model name to send upstream.
    pub model: &'a str,
    /// The deployment's `model_info` (output ceiling, reasoning support).
    pub info: &'a ModelInfo,
    /// Add the Claude Code client identity (`openai2claudecode`).
    pub claude_code: bool,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI wire only).
    pub max_completion_tokens: bool,
    /// Parameters set when the body has none (in the wire's own names).
    pub default_params: &'a Map<String, Value>,
    /// Parameters that replace the body's.
    pub force_params: &'a Map<String, Value>,
    /// Parameters removed from the body: the deployment's `additional_drop_params`, then those
    /// the upstream refused during this request (`drop_params`).
    pub drop_params: [&'a [String]; 2],
}

impl Target<'_> {
    /// Whether a body in the wire's dialect would change beyond its model name.
    pub fn rewrites(&self, body: &Value, wire: Dialect) -> bool {
        !self.default_params.is_empty()
            || !self.force_params.is_empty()
            || self.drop_params.iter().flat_map(|l| l.iter()).any(|k| body.get(k).is_some())
            || self.claude_code
            || (wire == Dialect::OpenAi && self.max_completion_tokens && body.get("max_tokens").is_some())
    }
}

/// A stream translator: fed parsed upstream events, writes client bytes.
pub trait Transform: Send {
    /// One upstream event; appends whatever the client should get now.
    fn event(&mut self, ev: &Event, out: &mut Vec<u8>);
    /// The upstream body ended.
    fn end(&mut self, out: &mut Vec<u8>);
    /// The upstream failed mid-stream; appends the client's error event.
    fn fail(&mut self, e: &Error, out: &mut Vec<u8>);
    /// The client stream is complete; nothing more should be read.
    fn done(&self) -> bool;
    /// The `Content-Type` of what this transform writes.
    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }
    /// `(prompt, completion)` tokens, once the stream has reported them.
    fn tokens(&self) -> Option<(u64, u64)> {
        None
    }
}

/// Two transforms in a row (Anthropic → OpenAI → Ollama): the first one's output is parsed as
/// SSE again and fed to the second.
struct Chain {
    first: Box<dyn Transform>,
    second: Box<dyn Transform>,
    parser: crate::sse::Parser,
    buf: Vec<u8>,
}

impl Chain {
    fn pass(&mut self, out: &mut Vec<u8>) {
        for ev in self.parser.push(&self.buf) {
            self.second.event(&ev, out);
        }
        self.buf.clear();
    }
}

impl Transform for Chain {
    fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        self.first.event(ev, &mut self.buf);
        self.pass(out);
    }
    fn end(&mut self, out: &mut Vec<u8>) {
        self.first.end(&mut self.buf);
        self.pass(out);
        self.second.end(out);
    }
    fn fail(&mut self, e: &Error, out: &mut Vec<u8>) {
        self.second.fail(e, out);
    }
    fn done(&self) -> bool {
        self.second.done()
    }
    fn content_type(&self) -> &'static str {
        self.second.content_type()
    }
    fn tokens(&self) -> Option<(u64, u64)> {
        self.second.tokens().or(self.first.tokens())
    }
}

/// The request body for a `wire`-dialect deployment, from a `client`-dialect body.
pub fn request(client: Dialect, wire: Dialect, body: &Value, t: &Target) -> Value {
    if !body.is_object() {
        // Only objects are requests; anything else is translated as an empty one.
        return request(client, wire, &Value::Object(Map::new()), t);
    }
    if client == Dialect::Ollama {
        return request(Dialect::OpenAi, wire, &ollama::request_to_openai(body), t);
    }
    let mut out = match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => request::openai_to_anthropic(body, t),
        (Dialect::Anthropic, Dialect::OpenAi) => request::anthropic_to_openai(body, t),
        _ => {
            let mut b = body.clone();
            b["model"] = t.model.into();
            b
        }
    };
    if wire == Dialect::Anthropic {
        request::strip_minted_thinking(&mut out);
        if t.claude_code {
            request::add_claude_code_system(&mut out);
        }
    }
    if let Some(o) = out.as_object_mut() {
        for (k, v) in t.default_params {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
        o.extend(t.force_params.iter().map(|(k, v)| (k.clone(), v.clone())));
        for k in t.drop_params.iter().flat_map(|l| l.iter()) {
            o.remove(k);
        }
        if wire == Dialect::OpenAi && t.max_completion_tokens {
            if let Some(n) = o.remove("max_tokens") {
                o.entry("max_completion_tokens").or_insert(n);
            }
        }
    }
    out
}

/// `second` fed with `first`'s output (e.g. a translator, then the stream repair).
pub fn chain(first: Option<Box<dyn Transform>>, second: Box<dyn Transform>) -> Box<dyn Transform> {
    match first {
        None => second,
        Some(first) => Box::new(Chain { first, second, parser: crate::sse::Parser::default(), buf: Vec::new() }),
    }
}

/// A complete `wire`-dialect answer → the `client` dialect (`elapsed_ns` for Ollama's timings).
pub fn response(client: Dialect, wire: Dialect, body: &[u8], model: &str, elapsed_ns: u64) -> Result<Vec<u8>, Error> {
    let v = response::parse(body)?;
    let out = match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => response::anthropic_to_openai(&v, model),
        (Dialect::Anthropic, Dialect::OpenAi) => response::openai_to_anthropic(&v, model),
        (Dialect::Ollama, Dialect::OpenAi) => ollama::response_from_openai(&v, model, elapsed_ns),
        (Dialect::Ollama, Dialect::Anthropic) => {
            ollama::response_from_openai(&response::anthropic_to_openai(&v, model), model, elapsed_ns)
        }
        _ => return Ok(body.to_vec()),
    };
    Ok(out.to_string().into_bytes())
}

/// A `wire`-dialect error answer → the `client` dialect (same status).
pub fn error(client: Dialect, status: u16, body: &[u8], max_input: Option<u64>) -> Vec<u8> {
    let v = match client {
        Dialect::OpenAi => response::error_to_openai(body),
        Dialect::Anthropic => response::error_to_anthropic(status, body, max_input),
        Dialect::Ollama => ollama::error(body),
    };
    v.to_string().into_bytes()
}

pub use stream::message_as_events;

/// The stream translator from `wire` to `client`, or `None` when they are the same dialect.
pub fn stream(client: Dialect, wire: Dialect, model: &str, request: &Value) -> Option<Box<dyn Transform>> {
    match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => {
            let usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
            Some(Box::new(stream::AnthropicToOpenAi::new(model, usage)))
        }
        (Dialect::Anthropic, Dialect::OpenAi) => {
            Some(Box::new(stream::OpenAiToAnthropic::new(model, count_tokens(request))))
        }
        (Dialect::Ollama, Dialect::OpenAi) => Some(Box::new(ollama::OpenAiToOllama::new(model))),
        (Dialect::Ollama, Dialect::Anthropic) => Some(chain(
            Some(Box::new(stream::AnthropicToOpenAi::new(model, true))),
            Box::new(ollama::OpenAiToOllama::new(model)),
        )),
        _ => None,
    }
}

/// OpenAI `finish_reason` from Anthropic `stop_reason`.
pub fn finish_from_stop(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Anthropic `stop_reason` from OpenAI `finish_reason`.
pub fn stop_from_finish(finish: Option<&str>) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls") | Some("function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// A deliberately generous token estimate for a Messages request (Claude Code compacts on it,
/// so erring high is the safe side): one token per 3 bytes of text, 1,600 per image.
pub fn count_tokens(body: &Value) -> u64 {
    fn walk(v: &Value, bytes: &mut u64, images: &mut u64) {
        match v {
            Value::String(s) => *bytes += s.len() as u64,
            Value::Array(a) => a.iter().for_each(|x| walk(x, bytes, images)),
            Value::Object(o) => {
                if matches!(o.get("type").and_then(Value::as_str), Some("image" | "image_url")) {
                    *images += 1;
                    return;
                }
                for (k, x) in o {
                    *bytes += k.len() as u64;
                    walk(x, bytes, images);
                }
            }
            _ => *bytes += 2,
        }
    }
    let (mut bytes, mut images) = (0, 0);
    for key in ["system", "messages", "tools"] {
        if let Some(v) = body.get(key) {
            walk(v, &mut bytes, &mut images);
        }
    }
    bytes.div_ceil(3) + images * 1600 + 8
}
