//! Ollama's native chat (`/api/chat`) in terms of Chat Completions: an Ollama request becomes an
//! OpenAI request (then goes wherever OpenAI requests go), and OpenAI answers and chunks become
//! Ollama's JSON and NDJSON lines (no blank lines, a final `done: true` line with counts).

use super::Transform;
use crate::clock::{rfc3339, unix_now};
use crate::error::Error;
use crate::sse::Event;
use serde_json::{json, Value};
use std::time::Instant;

/// The media type of base64 image data, from its first bytes (Ollama sends no type).
fn image_media_type(b64: &str) -> &'static str {
    match b64.get(..6).unwrap_or(b64) {
        s if s.starts_with("/9j/") => "image/jpeg",
        s if s.starts_with("R0lGOD") => "image/gif",
        s if s.starts_with("UklGR") => "image/webp",
        _ => "image/png",
    }
}

/// An Ollama chat request → a Chat Completions request (streaming unless `stream: false`, as
/// Ollama's default is to stream).
pub fn request_to_openai(body: &Value) -> Value {
    let effort = match body.get("think") {
        Some(Value::Bool(true)) => Some("medium".into()),
        Some(level @ Value::String(_)) => Some(level.clone()),
        _ => None,
    };
    let format = match body.get("format") {
        Some(Value::String(f)) if f == "json" => Some(json!({"type": "json_object"})),
        Some(schema @ Value::Object(_)) => {
            Some(json!({"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}))
        }
        _ => None,
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    let mut out = super::object_of([
        ("model", Some(body["model"].clone())),
        ("messages", Some(Value::Array(openai_messages(body)))),
        ("tools", body.get("tools").filter(|t| t.as_array().is_some_and(|t| !t.is_empty())).cloned()),
        ("reasoning_effort", effort),
        ("response_format", format),
        ("stream", Some(stream.into())),
        ("stream_options", stream.then(|| json!({"include_usage": true}))),
    ]);
    let opts = &body["options"];
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("seed", "seed"),
        ("num_predict", "max_tokens"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
        ("stop", "stop"),
    ] {
        if let Some(v) = opts.get(from).filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// Ollama messages as OpenAI's: images as data-URL parts, tool-call arguments as JSON text, and
/// each tool result tied to the latest call of its tool (Ollama names the tool, not the call).
fn openai_messages(body: &Value) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut call_ids: Vec<(String, String)> = Vec::new();
    for (mi, m) in body.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let text = m.get("content").and_then(Value::as_str).unwrap_or("");
        let images = m.get("images").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let mut out = json!({"role": role, "content": text});
        if !images.is_empty() {
            let mut parts = vec![json!({"type": "text", "text": text})];
            for img in images.iter().filter_map(Value::as_str) {
                let url = format!("data:{};base64,{img}", image_media_type(img));
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            out["content"] = Value::Array(parts);
        }
        if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
            let mut openai_calls = Vec::new();
            for (i, c) in calls.iter().enumerate() {
                let name = c.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string();
                let id = c.get("id").and_then(Value::as_str).map_or_else(|| format!("call_{mi}_{i}"), String::from);
                call_ids.push((name.clone(), id.clone()));
                let args = c.pointer("/function/arguments").cloned().unwrap_or_else(|| json!({}));
                let args = if let Value::String(s) = args { s } else { args.to_string() };
                openai_calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}}));
            }
            if text.is_empty() {
                out["content"] = Value::Null;
            }
            out["tool_calls"] = Value::Array(openai_calls);
        }
        if role == "tool" {
            let by_name = |n: &str| call_ids.iter().rev().find(|(name, _)| name == n).map(|(_, id)| id.clone());
            let id = m["tool_call_id"].as_str().map(String::from).or_else(|| m["tool_name"].as_str().and_then(by_name));
            out["tool_call_id"] = id.unwrap_or_default().into();
        }
        messages.push(out);
    }
    messages
}

/// OpenAI tool calls (string arguments) → Ollama's (object arguments).
fn ollama_tool_calls(calls: &[Value]) -> Vec<Value> {
    let call = |(i, c)| {
        let b = super::response::tool_use_block(c);
        json!({"id": b["id"], "function": {"index": i, "name": b["name"], "arguments": b["input"]}})
    };
    calls.iter().enumerate().map(call).collect()
}

/// The last line of an Ollama answer: its `message`, then the reason, token counts and
/// (nanosecond) durations.
fn done_line(model: &str, message: Value, finish: Option<&str>, usage: Option<&Value>, elapsed_ns: u64) -> Value {
    let n = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    let reason = if finish == Some("length") { "length" } else { "stop" };
    json!({"model": model, "created_at": rfc3339(unix_now()), "message": message, "done": true, "done_reason": reason,
           "total_duration": elapsed_ns, "load_duration": 0, "prompt_eval_count": n("prompt_tokens"),
           "prompt_eval_duration": 0, "eval_count": n("completion_tokens"), "eval_duration": elapsed_ns})
}

/// A complete Chat Completions answer → Ollama's chat answer.
pub fn response_from_openai(resp: &Value, model: &str, elapsed_ns: u64) -> Value {
    let message = resp.pointer("/choices/0/message").cloned().unwrap_or_default();
    let mut msg = json!({"role": "assistant", "content": message.get("content").and_then(Value::as_str).unwrap_or("")});
    if let Some(r) = message.get("reasoning_content").or(message.get("reasoning")).and_then(Value::as_str) {
        msg["thinking"] = r.into();
    }
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty()) {
        msg["tool_calls"] = Value::Array(ollama_tool_calls(calls));
    }
    let finish = resp.pointer("/choices/0/finish_reason").and_then(Value::as_str);
    done_line(model, msg, finish, resp.get("usage"), elapsed_ns)
}

/// An error body of either dialect → Ollama's `{"error":"…"}`.
pub fn error(body: &[u8]) -> Value {
    let v = super::response::error_to_openai(body);
    json!({"error": v["error"]["message"]})
}

/// Chat Completions chunks → Ollama NDJSON lines. Tool calls are gathered and sent whole
/// (Ollama's arguments are objects, so they cannot be streamed in pieces).
pub struct OpenAiToOllama {
    model: String,
    started: Instant,
    calls: Vec<Value>,
    finish: Option<String>,
    usage: Option<Value>,
    done: bool,
}

impl OpenAiToOllama {
    /// A translator answering as `model`.
    pub fn new(model: &str) -> Self {
        OpenAiToOllama {
            model: model.into(),
            started: Instant::now(),
            calls: Vec::new(),
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn line(out: &mut Vec<Event>, v: &Value) {
        out.push(Event::data(v.to_string()));
    }

    fn message(&self, msg: Value) -> Value {
        json!({"model": self.model, "created_at": rfc3339(unix_now()), "message": msg, "done": false})
    }

    fn complete(&mut self, out: &mut Vec<Event>) {
        let mut msg = json!({"role": "assistant", "content": ""});
        if !self.calls.is_empty() {
            msg["tool_calls"] = Value::Array(ollama_tool_calls(&self.calls));
        }
        let elapsed = self.started.elapsed().as_nanos() as u64;
        Self::line(out, &done_line(&self.model, msg, self.finish.as_deref(), self.usage.as_ref(), elapsed));
        self.done = true;
    }
}

impl Transform for OpenAiToOllama {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        if ev.data.trim() == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return Ok(()) };
        if chunk.get("error").is_some() {
            Self::line(out, &error(ev.data.as_bytes()));
            self.done = true;
            return Ok(());
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else { return Ok(()) };
        let d = &choice["delta"];
        let mut msg = json!({"role": "assistant", "content": d.get("content").and_then(Value::as_str).unwrap_or("")});
        let thinking =
            d.get("reasoning_content").or(d.get("reasoning")).and_then(Value::as_str).filter(|t| !t.is_empty());
        if let Some(t) = thinking {
            msg["thinking"] = t.into();
        }
        for tc in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let i = super::stream_index("tool call", tc.get("index").and_then(Value::as_u64).unwrap_or(0))? as usize;
            if self.calls.len() <= i {
                self.calls.resize(i + 1, json!({"id": "", "function": {"name": "", "arguments": ""}}));
            }
            let call = &mut self.calls[i];
            if let Some(id) = tc.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                call["id"] = id.into();
            }
            if let Some(name) = tc.pointer("/function/name").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                call["function"]["name"] = name.into();
            }
            if let Some(a) = tc.pointer("/function/arguments").and_then(Value::as_str) {
                if let Some(Value::String(args)) = call.pointer_mut("/function/arguments") {
                    super::accumulate("tool call's arguments", args, a)?;
                }
            }
        }
        if msg["content"] != "" || thinking.is_some() {
            Self::line(out, &self.message(msg));
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        super::end_of_chunks(self.done, self.finish.is_some(), || self.complete(out))
    }

    fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_request_maps_images_tools_options_and_empty_tools() {
        let body = json!({"model": "m", "tools": [], "think": true, "format": "json",
            "options": {"temperature": 0.2, "num_predict": 64, "top_k": 5},
            "messages": [
                {"role": "user", "content": "look", "images": ["/9j/4AAQ"]},
                {"role": "assistant", "tool_calls": [{"function": {"name": "get", "arguments": {"q": 1}}}]},
                {"role": "tool", "tool_name": "get", "content": "42"}]});
        let v = request_to_openai(&body);
        assert!(v.get("tools").is_none(), "empty tools removed");
        assert_eq!(v["messages"][0]["content"][1]["image_url"]["url"], "data:image/jpeg;base64,/9j/4AAQ");
        assert_eq!(v["messages"][1]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
        assert_eq!(v["messages"][1]["content"], Value::Null);
        assert_eq!(v["messages"][2]["tool_call_id"], v["messages"][1]["tool_calls"][0]["id"]);
        assert_eq!((v["temperature"].as_f64(), v["max_tokens"].as_u64()), (Some(0.2), Some(64)));
        assert_eq!((v["stream"].as_bool(), v["reasoning_effort"].as_str()), (Some(true), Some("medium")));
        assert_eq!(v["response_format"]["type"], "json_object");
        assert!(v.get("top_k").is_none());
    }

    #[test]
    fn stream_becomes_ndjson_with_whole_tool_calls_and_a_final_done_line() {
        let mut t = OpenAiToOllama::new("m");
        let mut out = Vec::new();
        for data in [
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"get","arguments":"{\"q\""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
            "[DONE]",
        ] {
            t.event(Event::data(data), &mut out).unwrap();
        }
        let mut text = Vec::new();
        out.iter().for_each(|ev| crate::sse::Framing::Ndjson.write(ev, &mut text));
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(!text.contains("\n\n"));
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0]["message"]["content"].as_str(), lines[0]["done"].as_bool()), (Some("Hi"), Some(false)));
        let last = &lines[1];
        assert_eq!((last["done"].as_bool(), last["done_reason"].as_str()), (Some(true), Some("stop")));
        assert_eq!(last["message"]["tool_calls"][0]["function"]["arguments"], json!({"q": 1}));
        assert_eq!((last["prompt_eval_count"].as_u64(), last["eval_count"].as_u64()), (Some(3), Some(4)));
        assert!(t.done());
    }
}
