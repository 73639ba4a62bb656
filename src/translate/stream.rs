//! Streams across dialects, one upstream event in, zero or more client events out, as soon as
//! it arrives: Anthropic events → Chat Completions chunks, and Chat Completions chunks →
//! Anthropic events. Pure state machines; `respond.rs` feeds them.

use super::{finish_from_stop, minted_signature, stop_from_finish, Transform};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::{self, Event};
use serde_json::{json, Value};

/// Anthropic events → OpenAI chunks (OpenAI clients on Anthropic deployments).
pub struct AnthropicToOpenAi {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    started: bool,
    /// Anthropic block index → 0-based OpenAI tool-call index.
    tools: Vec<(u64, usize)>,
    usage: Value,
    finished: bool,
    done: bool,
}

impl AnthropicToOpenAi {
    /// A translator answering as `model`, with a usage chunk at the end when asked for.
    pub fn new(model: &str, include_usage: bool) -> Self {
        AnthropicToOpenAi {
            id: "chatcmpl-proxy".into(),
            model: model.into(),
            created: crate::clock::unix_now(),
            include_usage,
            started: false,
            tools: Vec::new(),
            usage: json!({}),
            finished: false,
            done: false,
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: Value, finish: Option<&str>) {
        let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        sse::write_data(out, &c.to_string());
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.chunk(out, json!({"role": "assistant", "content": ""}), None);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, stop: Option<&str>) {
        if !self.finished {
            self.finished = true;
            self.chunk(out, json!({}), Some(finish_from_stop(stop)));
        }
    }

    fn merge_usage(&mut self, u: Option<&Value>) {
        for (k, v) in u.and_then(Value::as_object).into_iter().flatten() {
            if v.is_u64() {
                self.usage[k] = v.clone();
            }
        }
    }
}

impl Transform for AnthropicToOpenAi {
    fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        let Ok(data) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        let kind = data.get("type").and_then(Value::as_str).or(ev.name.as_deref()).unwrap_or("");
        match kind {
            "message_start" => {
                let m = &data["message"];
                if let Some(id) = m.get("id").and_then(Value::as_str) {
                    self.id = format!("chatcmpl-{id}");
                }
                self.merge_usage(m.get("usage"));
                self.start(out);
            }
            "content_block_start" => {
                self.start(out);
                let b = &data["content_block"];
                match b.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let k = self.tools.len();
                        self.tools.push((data["index"].as_u64().unwrap_or(0), k));
                        let call = json!({"index": k, "id": b["id"], "type": "function",
                                          "function": {"name": b["name"], "arguments": ""}});
                        self.chunk(out, json!({"tool_calls": [call]}), None);
                    }
                    Some("text") if b["text"].as_str().is_some_and(|t| !t.is_empty()) => {
                        self.chunk(out, json!({"content": b["text"]}), None)
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                self.start(out);
                let d = &data["delta"];
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => self.chunk(out, json!({"content": d["text"]}), None),
                    Some("thinking_delta") => self.chunk(out, json!({"reasoning_content": d["thinking"]}), None),
                    Some("input_json_delta") => {
                        let part = d["partial_json"].as_str().unwrap_or("");
                        let block = data["index"].as_u64().unwrap_or(0);
                        let tool = self.tools.iter().find(|(b, _)| *b == block).map(|(_, k)| *k);
                        if let (Some(k), false) = (tool, part.is_empty()) {
                            let call = json!({"index": k, "function": {"arguments": part}});
                            self.chunk(out, json!({"tool_calls": [call]}), None);
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                self.merge_usage(data.get("usage"));
                if let Some(stop) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.start(out);
                    self.finish(out, Some(stop));
                }
            }
            "message_stop" => {
                self.start(out);
                self.finish(out, None);
                if self.include_usage {
                    let usage = super::response::openai_usage(&self.usage);
                    let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                   "model": self.model, "choices": [], "usage": usage});
                    sse::write_data(out, &c.to_string());
                }
                sse::write_data(out, "[DONE]");
                self.done = true;
            }
            "error" => {
                let body = super::response::error_to_openai(ev.data.as_bytes());
                sse::write_data(out, &body.to_string());
                self.done = true;
            }
            // Keep idle connections (and front proxies) alive without a chunk clients would parse.
            "ping" => out.extend_from_slice(b": ping\n\n"),
            _ => {}
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if !self.done {
            self.fail(&Error::UpstreamInvalid("the stream ended before message_stop".into()), out);
        }
    }

    fn fail(&mut self, e: &Error, out: &mut Vec<u8>) {
        if !self.done {
            out.extend_from_slice(&e.sse(Dialect::OpenAi));
            self.done = true;
        }
    }

    fn done(&self) -> bool {
        self.done
    }

    fn tokens(&self) -> Option<(u64, u64)> {
        crate::metrics::tokens_in(&self.usage)
    }
}

/// The content block an Anthropic stream has open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Thinking,
    Text,
    /// A tool call, by its OpenAI tool-call index.
    Tool(u64),
}

/// OpenAI chunks → Anthropic events (Anthropic clients on OpenAI deployments).
pub struct OpenAiToAnthropic {
    id: String,
    model: String,
    input_estimate: u64,
    started: bool,
    open: Option<Block>,
    next_index: u64,
    /// OpenAI tool-call indexes already given a block (a block, once closed, cannot reopen).
    seen_tools: Vec<u64>,
    stop: Option<&'static str>,
    usage: Option<Value>,
    done: bool,
}

impl OpenAiToAnthropic {
    /// A translator answering as `model`; `input_estimate` fills `message_start` until the
    /// upstream's real usage arrives at the end.
    pub fn new(model: &str, input_estimate: u64) -> Self {
        OpenAiToAnthropic {
            id: format!("msg_proxy{}", crate::clock::unix_now()),
            model: model.into(),
            input_estimate,
            started: false,
            open: None,
            next_index: 0,
            seen_tools: Vec::new(),
            stop: None,
            usage: None,
            done: false,
        }
    }

    fn emit(out: &mut Vec<u8>, v: Value) {
        let name = v["type"].as_str().unwrap_or("").to_string();
        sse::write_named(out, &name, &v.to_string());
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            let usage = json!({"input_tokens": self.input_estimate, "output_tokens": 0});
            let message = json!({"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                                 "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage});
            Self::emit(out, json!({"type": "message_start", "message": message}));
        }
    }

    /// Closes the open block (a thinking block gets its signature first) and opens `next`.
    fn switch(&mut self, out: &mut Vec<u8>, next: Option<(Block, Value)>) {
        if let Some(open) = self.open.take() {
            let index = self.next_index - 1;
            if open == Block::Thinking {
                let delta = json!({"type": "signature_delta", "signature": minted_signature()});
                Self::emit(out, json!({"type": "content_block_delta", "index": index, "delta": delta}));
            }
            Self::emit(out, json!({"type": "content_block_stop", "index": index}));
        }
        if let Some((block, start)) = next {
            Self::emit(out, json!({"type": "content_block_start", "index": self.next_index, "content_block": start}));
            self.next_index += 1;
            self.open = Some(block);
        }
    }

    fn delta(&mut self, out: &mut Vec<u8>, block: Block, start: Value, delta: Value) {
        if self.open != Some(block) {
            self.switch(out, Some((block, start)));
        }
        Self::emit(out, json!({"type": "content_block_delta", "index": self.next_index - 1, "delta": delta}));
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.switch(out, None);
        let mut usage = super::response::anthropic_usage(self.usage.as_ref().unwrap_or(&Value::Null));
        if self.usage.is_none() {
            usage["input_tokens"] = self.input_estimate.into();
        }
        let delta = json!({"stop_reason": self.stop.unwrap_or("end_turn"), "stop_sequence": null});
        Self::emit(out, json!({"type": "message_delta", "delta": delta, "usage": usage}));
        Self::emit(out, json!({"type": "message_stop"}));
        self.done = true;
    }
}

impl Transform for OpenAiToAnthropic {
    fn event(&mut self, ev: &Event, out: &mut Vec<u8>) {
        if ev.data.trim() == "[DONE]" {
            return self.complete(out);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else {
            return;
        };
        if chunk.get("error").is_some() {
            self.start(out);
            let body = super::response::error_to_anthropic(500, ev.data.as_bytes(), None);
            Self::emit(out, body);
            self.done = true;
            return;
        }
        if let (false, Some(id)) = (self.started, chunk.get("id").and_then(Value::as_str)) {
            self.id = format!("msg_{}", id.trim_start_matches("chatcmpl-"));
        }
        self.start(out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return;
        };
        let d = &choice["delta"];
        let reasoning = d.get("reasoning_content").or(d.get("reasoning")).and_then(Value::as_str);
        if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
            let start = json!({"type": "thinking", "thinking": "", "signature": ""});
            self.delta(out, Block::Thinking, start, json!({"type": "thinking_delta", "thinking": r}));
        }
        if let Some(t) = d.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            self.delta(out, Block::Text, json!({"type": "text", "text": ""}), json!({"type": "text_delta", "text": t}));
        }
        for tc in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let idx = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
            let args = tc.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("");
            if self.open != Some(Block::Tool(idx)) {
                if self.seen_tools.contains(&idx) {
                    log::warn!("upstream interleaved tool call {idx}; its late argument fragment is dropped");
                    continue;
                }
                self.seen_tools.push(idx);
                let id = tc.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
                let id = id.map_or_else(|| format!("toolu_proxy_{}_{idx}", self.id), String::from);
                let name = tc.pointer("/function/name").cloned().unwrap_or_default();
                let start = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                self.switch(out, Some((Block::Tool(idx), start)));
            }
            if !args.is_empty() {
                let delta = json!({"type": "input_json_delta", "partial_json": args});
                Self::emit(out, json!({"type": "content_block_delta", "index": self.next_index - 1, "delta": delta}));
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            let mut stop = stop_from_finish(Some(f));
            if stop == "end_turn" && !self.seen_tools.is_empty() {
                stop = "tool_use";
            }
            self.stop = Some(stop);
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        match (self.done, self.stop) {
            (true, _) => {}
            // Some upstreams never send [DONE]; a finish reason is as good an ending.
            (false, Some(_)) => self.complete(out),
            (false, None) => self.fail(&Error::UpstreamInvalid("the stream ended before it finished".into()), out),
        }
    }

    fn fail(&mut self, e: &Error, out: &mut Vec<u8>) {
        if !self.done {
            self.start(out);
            out.extend_from_slice(&e.sse(Dialect::Anthropic));
            self.done = true;
        }
    }

    fn done(&self) -> bool {
        self.done
    }

    fn tokens(&self) -> Option<(u64, u64)> {
        self.usage.as_ref().and_then(crate::metrics::tokens_in)
    }
}

/// A complete Messages answer as the event stream a client asked for (some upstreams ignore
/// `stream: true`): `message_start`, each content block whole (start, one delta, stop), then
/// `message_delta` with the stop reason and output tokens, and `message_stop`.
pub fn message_as_events(body: &[u8]) -> Option<Vec<u8>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("type")?.as_str()? != "message" {
        return None;
    }
    let mut out = Vec::new();
    let mut event = |name: &str, data: Value| sse::write_named(&mut out, name, &data.to_string());
    let usage = v.get("usage").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut start = v.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["stop_sequence"] = Value::Null;
    start["usage"] = Value::Object(usage.clone());
    start["usage"]["output_tokens"] = json!(0);
    event("message_start", json!({"type": "message_start", "message": start}));
    for (index, b) in v.get("content").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let (shell, deltas) = match b["type"].as_str() {
            Some("text") => {
                (json!({"type": "text", "text": ""}), vec![json!({"type": "text_delta", "text": b["text"]})])
            }
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                vec![
                    json!({"type": "thinking_delta", "thinking": b["thinking"]}),
                    json!({"type": "signature_delta", "signature": b["signature"]}),
                ],
            ),
            Some("tool_use") => (
                json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}),
                vec![json!({"type": "input_json_delta", "partial_json": b["input"].to_string()})],
            ),
            // Anything else (redacted thinking, server tools) travels whole in its start event.
            _ => (b.clone(), Vec::new()),
        };
        event("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": shell}));
        for delta in deltas {
            event("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": delta}));
        }
        event("content_block_stop", json!({"type": "content_block_stop", "index": index}));
    }
    let stop =
        json!({"stop_reason": v["stop_reason"], "stop_sequence": v.get("stop_sequence").unwrap_or(&Value::Null)});
    let output = json!({"output_tokens": usage.get("output_tokens").and_then(Value::as_u64).unwrap_or(0)});
    event("message_delta", json!({"type": "message_delta", "delta": stop, "usage": output}));
    event("message_stop", json!({"type": "message_stop"}));
    Some(out)
}
