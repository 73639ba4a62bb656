//! Complete (non-streamed) answers across dialects: a Messages response → a Chat Completions
//! response, and the reverse; plus upstream error bodies into the client's error shape.

use super::{finish_from_stop, minted_signature, stop_from_finish};
use crate::clock::unix_now;
use crate::error::Error;
use serde_json::{json, Value};

/// Anthropic `usage` → OpenAI `usage` (cache reads count as prompt tokens, as OpenAI does).
pub fn openai_usage(u: &Value) -> Value {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let prompt = n("input_tokens") + cached + n("cache_creation_input_tokens");
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": n("output_tokens"),
        "total_tokens": prompt + n("output_tokens"),
        "prompt_tokens_details": {"cached_tokens": cached},
    })
}

/// OpenAI `usage` → Anthropic `usage`.
pub fn anthropic_usage(u: &Value) -> Value {
    let cached = u.pointer("/prompt_tokens_details/cached_tokens").and_then(Value::as_u64).unwrap_or(0);
    let prompt = u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
    json!({
        "input_tokens": prompt.saturating_sub(cached),
        "output_tokens": u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0),
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    })
}

/// Anthropic assistant content blocks → an OpenAI assistant message: text, tool calls, and
/// (when `reasoning`) the thinking as `reasoning_content`.
pub fn openai_assistant(blocks: &[Value], reasoning: bool) -> Value {
    let text_of = |kind: &str, field: &str| -> String {
        blocks.iter().filter(|b| b["type"] == kind).filter_map(|b| b[field].as_str()).collect()
    };
    let text = text_of("text", "text");
    let calls: Vec<Value> = blocks
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| {
            let arguments = b.get("input").map_or("{}".into(), Value::to_string);
            json!({"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": arguments}})
        })
        .collect();
    let content = if text.is_empty() && !calls.is_empty() { Value::Null } else { text.into() };
    let mut message = json!({"role": "assistant", "content": content});
    let thinking = text_of("thinking", "thinking");
    if reasoning && !thinking.is_empty() {
        message["reasoning_content"] = thinking.into();
    }
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    message
}

/// A Messages response → a Chat Completions response.
pub fn anthropic_to_openai(msg: &Value, model: &str) -> Value {
    let blocks = msg.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let message = openai_assistant(blocks, true);
    let id = msg.get("id").and_then(Value::as_str).unwrap_or("msg");
    let mut out = json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null,
                     "finish_reason": finish_from_stop(msg.get("stop_reason").and_then(Value::as_str))}],
    });
    if let Some(u) = msg.get("usage") {
        out["usage"] = openai_usage(u);
    }
    out
}

/// A Chat Completions response → a Messages response.
pub fn openai_to_anthropic(resp: &Value, model: &str) -> Value {
    let choice = resp.pointer("/choices/0").cloned().unwrap_or_default();
    let message = choice.get("message").cloned().unwrap_or_default();
    let mut content = Vec::new();
    let reasoning = message.get("reasoning_content").or(message.get("reasoning")).and_then(Value::as_str);
    if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
        content.push(json!({"type": "thinking", "thinking": r, "signature": minted_signature()}));
    }
    if let Some(t) = message.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": t}));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for c in calls {
        let args = c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("");
        content.push(json!({
            "type": "tool_use",
            "id": c.get("id").cloned().unwrap_or_default(),
            "name": c.pointer("/function/name").cloned().unwrap_or_default(),
            "input": tool_input(args),
        }));
    }
    let mut stop = stop_from_finish(choice.get("finish_reason").and_then(Value::as_str));
    if !calls.is_empty() && stop == "end_turn" {
        stop = "tool_use";
    }
    let id = resp.get("id").and_then(Value::as_str).unwrap_or("0");
    json!({
        "id": format!("msg_{}", id.trim_start_matches("chatcmpl-")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": anthropic_usage(resp.get("usage").unwrap_or(&Value::Null)),
    })
}

/// Tool-call arguments as Anthropic's `input` object; text that is not a JSON object is kept
/// under `raw_arguments` rather than lost.
pub fn tool_input(args: &str) -> Value {
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => v,
        _ if args.trim().is_empty() => json!({}),
        _ => json!({"raw_arguments": args}),
    }
}

/// The message of an error body in either dialect (or the body itself when it is not JSON).
fn error_message(body: &[u8]) -> (String, Option<String>) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&v);
    let msg = match e {
        Value::String(s) => s.clone(),
        _ => e.get("message").and_then(Value::as_str).map(String::from).unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(body);
            raw.chars().take(500).collect()
        }),
    };
    let code = e.get("code").or(e.get("type")).and_then(Value::as_str).map(String::from);
    (msg, code)
}

/// An Anthropic error answer → OpenAI's `{"error":{…}}`, same status.
pub fn error_to_openai(body: &[u8]) -> Value {
    let (message, kind) = error_message(body);
    let kind = kind.unwrap_or_else(|| "api_error".into());
    json!({"error": {"message": message, "type": kind, "param": null, "code": kind}})
}

/// An OpenAI error answer → Anthropic's `{"type":"error",…}`, same status. A context-length
/// error reads `prompt is too long: N tokens > M maximum`, the wording Claude Code compacts on.
pub fn error_to_anthropic(status: u16, body: &[u8], max_input: Option<u64>) -> Value {
    let (message, code) = error_message(body);
    let lower = message.to_ascii_lowercase();
    let too_long = code.as_deref() == Some("context_length_exceeded")
        || lower.contains("context length")
        || lower.contains("context window")
        || lower.contains("too many tokens");
    let message = match too_long.then(|| context_numbers(&message)) {
        Some((tokens, max)) => {
            let max = max.or(max_input).unwrap_or(0);
            let tokens = tokens.unwrap_or(max + 1).max(max + 1);
            format!("prompt is too long: {tokens} tokens > {max} maximum")
        }
        None => message,
    };
    json!({"type": "error", "error": {"type": crate::error::anthropic_error_type(status), "message": message}})
}

/// The numbers in e.g. "maximum context length is 128000 tokens. However, your messages resulted
/// in 130512 tokens": (requested, maximum).
fn context_numbers(msg: &str) -> (Option<u64>, Option<u64>) {
    let nums: Vec<u64> =
        msg.split(|c: char| !c.is_ascii_digit()).filter(|s| s.len() >= 3).filter_map(|s| s.parse().ok()).collect();
    match nums.as_slice() {
        [] => (None, None),
        [one] => (None, Some(*one)),
        // The larger is what was asked for, the smaller the limit.
        [a, b, ..] => (Some(*a.max(b)), Some(*a.min(b))),
    }
}

/// Parses an upstream JSON answer or says why it cannot be used.
pub fn parse(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(body).map_err(|e| Error::UpstreamInvalid(format!("answer is not JSON: {e}")))
}
