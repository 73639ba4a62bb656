//! Ollama's `/api/generate` in terms of its `/api/chat`: a prompt (with its `system` text and
//! `images`) becomes a one-turn chat, which then goes wherever Ollama chats go; each chat answer
//! or NDJSON line comes back with `response` (and `thinking`) in place of `message`.
//!
//! Of the request's other fields, `format`, `options`, `think`, `stream` and `keep_alive` mean
//! the same in a chat and travel with it; `raw` and `template` (how a local model's prompt is
//! laid out) and `context` (a local model's tokens) have no meaning for a model served through a
//! chat API and are left out. A `suffix` (fill-in-the-middle) is refused: no chat API has one.

use super::Transform;
use crate::clock::{rfc3339, unix_now};
use crate::error::Error;
use crate::sse::Event;
use serde_json::{json, Map, Value};

/// The fields of a generate request that a chat request has too.
const CHAT_FIELDS: [&str; 6] = ["model", "stream", "format", "options", "think", "keep_alive"];

/// A generate request → an Ollama chat request: the `system` text as a system message, then the
/// `prompt` with its `images` as the user's turn. A non-empty `suffix` is refused.
pub fn request_to_chat(body: &Value) -> Result<Value, Error> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    if body.get("suffix").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) {
        return Err(Error::BadRequest(format!(
            "`suffix` (fill-in-the-middle) is not supported: the model `{model}` is served here through a chat \
             API, which cannot complete text between a prompt and a suffix; send the prompt alone"
        )));
    }
    let mut messages = Vec::new();
    if let Some(system) = body.get("system").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    let mut user = json!({"role": "user", "content": prompt(body)});
    if let Some(images) = body.get("images").filter(|v| v.as_array().is_some_and(|a| !a.is_empty())) {
        user["images"] = images.clone();
    }
    messages.push(user);
    let mut out: Map<String, Value> =
        CHAT_FIELDS.iter().filter_map(|k| Some((k.to_string(), body.get(*k)?.clone()))).collect();
    out.insert("messages".into(), Value::Array(messages));
    Ok(Value::Object(out))
}

/// The request's prompt (empty when it has none).
pub fn prompt(body: &Value) -> &str {
    body.get("prompt").and_then(Value::as_str).unwrap_or("")
}

/// Whether a `keep_alive` asks for the model to be unloaded now (`0`, `"0"`, `"0s"`, `"0m"`…).
fn unloads(keep_alive: Option<&Value>) -> bool {
    match keep_alive {
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        Some(Value::String(s)) => s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<f64>() == Ok(0.0),
        _ => false,
    }
}

/// What Ollama answers a generate request without a prompt (clients send one to load a model
/// ahead of use, or to unload it with `keep_alive: 0`): done at once, nothing generated.
pub fn without_prompt(body: &Value, model: &str) -> Value {
    let reason = if unloads(body.get("keep_alive")) { "unload" } else { "load" };
    json!({"model": model, "created_at": rfc3339(unix_now()), "response": "", "done": true, "done_reason": reason})
}

/// One Ollama chat answer (or stream line) → generate's: the message's `content` as `response`
/// and its `thinking` beside it; everything else (timings, counts, `done_reason`, an `error`)
/// as it was.
pub fn from_chat(mut v: Value) -> Value {
    let Some(message) = v.as_object_mut().and_then(|o| o.remove("message")) else { return v };
    v["response"] = message.get("content").and_then(Value::as_str).unwrap_or("").into();
    if let Some(t) = message.get("thinking").and_then(Value::as_str) {
        v["thinking"] = t.into();
    }
    v
}

/// A whole Ollama chat answer, or the NDJSON lines of one shown as a stream → generate's.
pub fn from_chat_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        match serde_json::from_slice::<Value>(text) {
            Ok(v) => out.extend_from_slice(from_chat(v).to_string().as_bytes()),
            Err(_) => out.extend_from_slice(text),
        }
        out.extend_from_slice(&line[text.len()..]);
    }
    out
}

/// The last stage of a generate stream: Ollama chat lines → generate lines.
#[derive(Default)]
pub struct ChatToGenerate {
    done: bool,
}

impl Transform for ChatToGenerate {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            out.push(ev);
            return Ok(());
        };
        self.done |= v.get("done") == Some(&Value::Bool(true)) || v.get("error").is_some();
        out.push(Event::data(from_chat(v).to_string()));
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<Event>) -> Result<(), Error> {
        Ok(())
    }

    fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_becomes_one_turn_with_its_system_text_and_images() {
        let body = json!({"model": "m", "prompt": "describe", "system": "Be brief.", "images": ["iVBOR"],
            "format": "json", "options": {"temperature": 0}, "think": true, "raw": true, "keep_alive": "5m",
            "context": [1, 2], "template": "{{ .Prompt }}", "suffix": "", "stream": false});
        let v = request_to_chat(&body).unwrap();
        assert_eq!(
            v["messages"],
            json!([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "describe", "images": ["iVBOR"]}])
        );
        for k in CHAT_FIELDS {
            assert_eq!(v[k], body[k], "{k}");
        }
        for k in ["raw", "context", "template", "suffix", "prompt", "system", "images"] {
            assert!(v.get(k).is_none(), "{k}");
        }
        let chat = request_to_chat(&json!({"model": "m", "prompt": "hi"})).unwrap();
        assert_eq!(chat["messages"], json!([{"role": "user", "content": "hi"}]));
    }

    #[test]
    fn a_suffix_is_refused_by_name() {
        let e = request_to_chat(&json!({"model": "m", "prompt": "def f(", "suffix": "return x"})).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("`suffix`") && e.to_string().contains("`m`"), "{e}");
    }

    #[test]
    fn no_prompt_loads_and_keep_alive_zero_unloads() {
        assert_eq!(without_prompt(&json!({}), "m")["done_reason"], "load");
        for k in [json!(0), json!("0"), json!("0s"), json!("0m")] {
            assert_eq!(without_prompt(&json!({"keep_alive": k}), "m")["done_reason"], "unload", "{k}");
        }
        for k in [json!(-1), json!("5m"), json!(300)] {
            assert_eq!(without_prompt(&json!({"keep_alive": k}), "m")["done_reason"], "load", "{k}");
        }
        let v = without_prompt(&json!({}), "m");
        assert_eq!(
            (v["response"].as_str(), v["done"].as_bool(), v["model"].as_str()),
            (Some(""), Some(true), Some("m"))
        );
    }

    #[test]
    fn chat_lines_become_generate_lines_and_errors_stay() {
        let line = json!({"model": "m", "created_at": "t", "done": true, "done_reason": "stop", "eval_count": 4,
            "message": {"role": "assistant", "content": "Hi", "thinking": "hmm"}});
        let v = from_chat(line);
        assert_eq!((v["response"].as_str(), v["thinking"].as_str()), (Some("Hi"), Some("hmm")));
        assert!(v.get("message").is_none() && v["eval_count"] == 4 && v["done_reason"] == "stop");
        assert_eq!(from_chat(json!({"error": "boom"})), json!({"error": "boom"}));
        let body =
            b"{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"message\":{\"content\":\"\"},\"done\":true}\n";
        let lines: Vec<Value> = String::from_utf8(from_chat_body(body))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, [json!({"response": "a", "done": false}), json!({"response": "", "done": true})]);
        assert_eq!(from_chat_body(br#"{"message":{"content":"x"}}"#), br#"{"response":"x"}"#);
    }

    #[test]
    fn the_stage_is_done_at_the_done_line_or_an_error() {
        let mut t = ChatToGenerate::default();
        let mut out = Vec::new();
        t.event(Event::data(r#"{"message":{"content":"a"},"done":false}"#), &mut out).unwrap();
        assert!(!t.done());
        t.event(Event::data(r#"{"message":{"content":""},"done":true}"#), &mut out).unwrap();
        assert!(t.done());
        assert_eq!(out[0].data, r#"{"done":false,"response":"a"}"#);
        let mut t = ChatToGenerate::default();
        t.event(Event::data(r#"{"error":"boom"}"#), &mut out).unwrap();
        assert!(t.done());
    }
}
