//! Streams across dialects, one upstream event in, zero or more client events out, as soon as
//! it arrives: Anthropic events → Chat Completions chunks, and Chat Completions chunks →
//! Anthropic events. Pure state machines; `respond.rs` feeds them.

use super::limits::{MAX_BLOCK_CITATIONS, MAX_SEARCH_INPUT_BYTES};
use super::response::anthropic_event;
use super::{finish_from_stop, minted_signature, stop_from_finish, stream_index, Transform};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::Event;
use serde_json::{json, Value};

/// Anthropic events → OpenAI chunks (OpenAI clients on Anthropic deployments).
#[derive(Default)]
pub struct AnthropicToOpenAi {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    started: bool,
    /// The Anthropic block index of each OpenAI tool call, in call order.
    tools: Vec<u64>,
    /// The forced tool whose input is the answer (structured output), and its block once open.
    answer_tool: Option<String>,
    answer_block: Option<u64>,
    /// Whether to report web searches.
    web_searches: bool,
    /// The web searches started and not answered yet (when reported).
    searches: Vec<Search>,
    /// How many web searches have started (each an output item of a Responses stream).
    searched: u64,
    /// Characters of text sent so far.
    chars: usize,
    /// The open text block: its index, where its text starts, its citations.
    cited: Option<(u64, usize, Vec<Value>)>,
    usage: Value,
    finished: bool,
    done: bool,
}

/// A web search Anthropic started: its block, its id, its input so far.
#[derive(Debug)]
struct Search {
    block: u64,
    id: Value,
    input: String,
}

impl AnthropicToOpenAi {
    /// A translator answering as `model`, with a usage chunk at the end when asked for.
    pub fn new(model: &str, include_usage: bool) -> Self {
        AnthropicToOpenAi {
            id: "chatcmpl-proxy".into(),
            model: model.into(),
            created: crate::clock::unix_now(),
            include_usage,
            usage: json!({}),
            ..Default::default()
        }
    }

    /// Streams the input of the tool `name` (when given) as the message content: the
    /// structured answer a client asked for, which the request asked for as that tool's call.
    pub fn answer_tool(mut self, name: Option<String>) -> Self {
        self.answer_tool = name;
        self
    }

    /// Reports each web search Anthropic ran as a `web_search_call` delta (`query`): not a
    /// Chat Completions field, only the Responses translation reads it.
    pub fn web_searches(mut self) -> Self {
        self.web_searches = true;
        self
    }

    fn chunk(&self, out: &mut Vec<Event>, delta: Value, finish: Option<&str>) {
        let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        out.push(Event::data(c.to_string()));
    }

    fn start(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            self.chunk(out, json!({"role": "assistant", "content": ""}), None);
        }
    }

    fn finish(&mut self, out: &mut Vec<Event>, stop: Option<&str>) {
        self.start(out);
        for search in std::mem::take(&mut self.searches) {
            self.report_search(out, search, true);
        }
        if !self.finished {
            self.finished = true;
            // The structured answer's call ends the turn like text would.
            let answered = self.answer_block.is_some() && self.tools.is_empty();
            let stop = if answered && stop == Some("tool_use") { Some("end_turn") } else { stop };
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

    /// One `content_block_delta`: text, reasoning, a tool call's argument fragment, or a
    /// fragment of the structured answer (the forced tool's input, which is the content).
    fn delta(&mut self, data: &Value, out: &mut Vec<Event>) {
        self.start(out);
        let d = &data["delta"];
        // A block's index is only compared, never used to size anything: no limit (answers with
        // citations come in hundreds of text blocks); tool calls are counted and limited.
        let block = data["index"].as_u64().unwrap_or(0);
        let part = d["partial_json"].as_str().unwrap_or("");
        let delta = match d.get("type").and_then(Value::as_str) {
            // Both kept within bounds an upstream cannot stretch: a query, a block's citations.
            Some("citations_delta") => {
                let open = self.cited.as_mut().filter(|c| c.0 == block && c.2.len() < MAX_BLOCK_CITATIONS);
                return open.into_iter().for_each(|c| c.2.push(d["citation"].clone()));
            }
            Some("input_json_delta") if self.searches.iter().any(|s| s.block == block) => {
                let open = self
                    .searches
                    .iter_mut()
                    .find(|s| s.block == block && s.input.len() + part.len() <= MAX_SEARCH_INPUT_BYTES);
                return open.into_iter().for_each(|s| s.input.push_str(part));
            }
            Some("text_delta") => {
                self.chars += d["text"].as_str().map_or(0, |t| t.chars().count());
                json!({"content": d["text"]})
            }
            Some("thinking_delta") => json!({"reasoning_content": d["thinking"]}),
            Some("input_json_delta") if part.is_empty() => return,
            Some("input_json_delta") if self.answer_block == Some(block) => json!({"content": part}),
            Some("input_json_delta") => match self.tools.iter().position(|b| *b == block) {
                Some(k) => json!({"tool_calls": [{"index": k, "function": {"arguments": part}}]}),
                None => return,
            },
            _ => return,
        };
        self.chunk(out, delta, None);
    }

    /// One `content_block_start`: a tool call (numbered from 0, at most [`super::MAX_STREAM_INDEX`]
    /// of them), the structured answer's block, or text.
    fn block_start(&mut self, data: &Value, out: &mut Vec<Event>) -> Result<(), Error> {
        self.start(out);
        let index = data["index"].as_u64().unwrap_or(0);
        let b = &data["content_block"];
        match b.get("type").and_then(Value::as_str) {
            Some("tool_use") if self.answer_tool.as_ref().is_some_and(|n| b["name"] == n.as_str()) => {
                self.answer_block = Some(index);
            }
            Some("tool_use") => {
                let k = stream_index("tool call", self.tools.len() as u64)?;
                self.tools.push(index);
                let call = json!({"index": k, "id": b["id"], "type": "function",
                                  "function": {"name": b["name"], "arguments": ""}});
                self.chunk(out, json!({"tool_calls": [call]}), None);
            }
            Some("server_tool_use") if self.web_searches && b["name"] == "web_search" => {
                self.searched = stream_index("web search", self.searched)? + 1;
                // Streamed, the query comes in deltas; a whole answer shown as a stream has it here.
                let input = b["input"].as_object().filter(|i| !i.is_empty()).map(|_| b["input"].to_string());
                self.searches.push(Search { block: index, id: b["id"].clone(), input: input.unwrap_or_default() });
            }
            Some("web_search_tool_result") => {
                if let Some(at) = self.searches.iter().position(|s| s.id == b["tool_use_id"]) {
                    let search = self.searches.remove(at);
                    self.report_search(out, search, super::response::search_failed(b));
                }
            }
            Some("text") => {
                self.cited = Some((index, self.chars, Vec::new()));
                if let Some(t) = b["text"].as_str().filter(|t| !t.is_empty()) {
                    self.chars += t.chars().count();
                    self.chunk(out, json!({"content": t}), None);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A web search once its result (or the end) is there: `failed` when Anthropic answered with
    /// an error (`max_uses_exceeded`, `unavailable`, …) or never ran it.
    fn report_search(&mut self, out: &mut Vec<Event>, search: Search, failed: bool) {
        let query = serde_json::from_str::<Value>(&search.input).ok().and_then(|i| i.get("query").cloned());
        self.chunk(out, json!({"web_search_call": {"query": query.unwrap_or_default(), "failed": failed}}), None);
    }

    /// One `content_block_stop`: a text block's citations as `url_citation` annotations of the
    /// text it spans.
    fn block_stop(&mut self, data: &Value, out: &mut Vec<Event>) {
        let index = data["index"].as_u64().unwrap_or(0);
        if let Some((_, start, citations)) = self.cited.take_if(|c| c.0 == index) {
            let annotations: Vec<Value> =
                citations.iter().filter_map(|c| super::response::url_citation(c, start, self.chars)).collect();
            if !annotations.is_empty() {
                self.chunk(out, json!({"annotations": annotations}), None);
            }
        }
    }
}

impl Transform for AnthropicToOpenAi {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        let Ok(data) = serde_json::from_str::<Value>(&ev.data) else { return Ok(()) };
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
            "content_block_start" => return self.block_start(&data, out),
            "content_block_delta" => self.delta(&data, out),
            "content_block_stop" => self.block_stop(&data, out),
            "message_delta" => {
                self.merge_usage(data.get("usage"));
                if let Some(stop) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.finish(out, Some(stop));
                }
            }
            "message_stop" => {
                self.finish(out, None);
                if self.include_usage {
                    let usage = super::response::openai_usage(&self.usage);
                    let c = json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                   "model": self.model, "choices": [], "usage": usage});
                    out.push(Event::data(c.to_string()));
                }
                out.push(Event::data("[DONE]"));
                self.done = true;
            }
            "error" => {
                let body = super::response::error_to_openai(ev.data.as_bytes());
                out.push(Event::data(body.to_string()));
                self.done = true;
            }
            // Keep idle connections (and front proxies) alive without a chunk clients would parse.
            "ping" => out.push(Event::comment("ping")),
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<Event>) -> Result<(), Error> {
        match self.done {
            true => Ok(()),
            false => Err(Error::UpstreamInvalid("the stream ended before message_stop".into())),
        }
    }

    fn done(&self) -> bool {
        self.done
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
#[derive(Default)]
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
            ..Default::default()
        }
    }

    fn start(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            let usage = json!({"input_tokens": self.input_estimate, "output_tokens": 0});
            let message = json!({"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                                 "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage});
            out.push(anthropic_event(json!({"type": "message_start", "message": message})));
        }
    }

    /// Closes the open block (a thinking block gets its signature first) and opens `next`.
    fn switch(&mut self, out: &mut Vec<Event>, next: Option<(Block, Value)>) {
        if let Some(open) = self.open.take() {
            if open == Block::Thinking {
                self.block_delta(out, json!({"type": "signature_delta", "signature": minted_signature()}));
            }
            out.push(anthropic_event(json!({"type": "content_block_stop", "index": self.next_index - 1})));
        }
        if let Some((block, start)) = next {
            let index = self.next_index;
            out.push(anthropic_event(json!({"type": "content_block_start", "index": index, "content_block": start})));
            self.next_index += 1;
            self.open = Some(block);
        }
    }

    /// A delta to the block last opened.
    fn block_delta(&self, out: &mut Vec<Event>, delta: Value) {
        out.push(anthropic_event(json!({"type": "content_block_delta", "index": self.next_index - 1, "delta": delta})));
    }

    /// A delta to a `block`, opened with `start` unless it is the open one.
    fn delta(&mut self, out: &mut Vec<Event>, block: Block, start: Value, delta: Value) {
        if self.open != Some(block) {
            self.switch(out, Some((block, start)));
        }
        self.block_delta(out, delta);
    }

    fn complete(&mut self, out: &mut Vec<Event>) {
        self.start(out);
        self.switch(out, None);
        let mut usage = super::response::anthropic_usage(self.usage.as_ref().unwrap_or(&Value::Null));
        if self.usage.is_none() {
            usage["input_tokens"] = self.input_estimate.into();
        }
        let delta = json!({"stop_reason": self.stop.unwrap_or("end_turn"), "stop_sequence": null});
        out.push(anthropic_event(json!({"type": "message_delta", "delta": delta, "usage": usage})));
        out.push(anthropic_event(json!({"type": "message_stop"})));
        self.done = true;
    }
}

impl Transform for OpenAiToAnthropic {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        if ev.data.trim() == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return Ok(()) };
        if chunk.get("error").is_some() {
            self.start(out);
            out.push(anthropic_event(super::response::error_to_anthropic(500, ev.data.as_bytes(), None)));
            self.done = true;
            return Ok(());
        }
        if let (false, Some(id)) = (self.started, chunk.get("id").and_then(Value::as_str)) {
            self.id = format!("msg_{}", id.trim_start_matches("chatcmpl-"));
        }
        self.start(out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else { return Ok(()) };
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
            let idx = stream_index("tool call", tc.get("index").and_then(Value::as_u64).unwrap_or(0))?;
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
                self.block_delta(out, json!({"type": "input_json_delta", "partial_json": args}));
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.stop = Some(stop_from_finish(Some(f), !self.seen_tools.is_empty()));
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        super::end_of_chunks(self.done, self.stop.is_some(), || self.complete(out))
    }

    fn done(&self) -> bool {
        self.done
    }

    /// An Anthropic stream opens with `message_start`, error or not.
    fn fail(&mut self, e: &Error, out: &mut Vec<Event>) -> bool {
        self.start(out);
        out.push(e.event(Dialect::Anthropic));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut dyn Transform, events: &[Event]) -> Vec<Event> {
        let mut out = Vec::new();
        for ev in events {
            t.event(ev.clone(), &mut out).unwrap();
        }
        out
    }

    fn json_of(ev: &Event) -> Value {
        serde_json::from_str(&ev.data).unwrap_or(Value::Null)
    }

    fn anthropic(v: Value) -> Event {
        Event::named(v["type"].as_str().unwrap(), v.to_string())
    }

    #[test]
    fn anthropic_text_tool_and_usage_become_openai_chunks_in_order() {
        let mut t = AnthropicToOpenAi::new("gpt-x", true);
        let start = |i: u64, block: Value| {
            anthropic(json!({"type": "content_block_start", "index": i, "content_block": block}))
        };
        let delta =
            |i: u64, delta: Value| anthropic(json!({"type": "content_block_delta", "index": i, "delta": delta}));
        let usage = json!({"output_tokens": 3});
        let out = feed(
            &mut t,
            &[
                anthropic(json!({"type": "message_start", "message": {"id": "m1", "usage": {"input_tokens": 7}}})),
                start(0, json!({"type": "text", "text": ""})),
                delta(0, json!({"type": "text_delta", "text": "Hi"})),
                start(1, json!({"type": "tool_use", "id": "t1", "name": "get", "input": {}})),
                delta(1, json!({"type": "input_json_delta", "partial_json": "{\"q\":1}"})),
                Event::named("ping", "{\"type\":\"ping\"}"),
                anthropic(json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": usage})),
                anthropic(json!({"type": "message_stop"})),
            ],
        );
        let chunks: Vec<Value> = out.iter().map(json_of).collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[0]["id"], "chatcmpl-m1");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(chunks[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "get");
        assert_eq!(chunks[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
        assert_eq!(out[4].raw, b": ping\n\n", "pings stay comments");
        assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[6]["usage"]["prompt_tokens"], 7);
        assert_eq!(chunks[6]["usage"]["completion_tokens"], 3);
        assert_eq!(out.last().unwrap().data, "[DONE]");
        assert!(out.iter().all(|e| e.name.is_none()), "OpenAI events are unnamed");
        assert!(t.done() && t.end(&mut Vec::new()).is_ok());
    }

    #[test]
    fn an_anthropic_stream_cut_short_is_an_error_at_the_end() {
        let mut t = AnthropicToOpenAi::new("m", false);
        feed(&mut t, &[anthropic(json!({"type": "message_start", "message": {"id": "m1"}}))]);
        assert!(!t.done());
        let e = t.end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("message_stop"), "{e}");
    }

    #[test]
    fn an_anthropic_error_event_becomes_an_openai_error_and_ends_the_stream() {
        let mut t = AnthropicToOpenAi::new("m", false);
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let out = feed(&mut t, &[Event::named("error", body)]);
        assert_eq!(json_of(&out[0])["error"]["message"], "Overloaded");
        assert!(t.done());
    }

    #[test]
    fn openai_chunks_become_anthropic_blocks_with_thinking_signed_and_tool_use_stop() {
        let mut t = OpenAiToAnthropic::new("claude-x", 42);
        let chunk = |delta: Value, finish: Value| {
            let choice = json!({"index": 0, "delta": delta, "finish_reason": finish});
            Event::data(json!({"id": "chatcmpl-9", "choices": [choice]}).to_string())
        };
        let call = json!({"index": 0, "id": "c1", "function": {"name": "get", "arguments": "{\"q\""}});
        let mut out = feed(
            &mut t,
            &[
                chunk(json!({"reasoning_content": "hmm"}), Value::Null),
                chunk(json!({"content": "Hi"}), Value::Null),
                chunk(json!({"tool_calls": [call]}), Value::Null),
                chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}), json!("stop")),
                Event::data(json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 6}}).to_string()),
                Event::data("[DONE]"),
            ],
        );
        assert!(t.end(&mut out).is_ok());
        let names: Vec<&str> = out.iter().map(|e| e.name.as_deref().unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let v: Vec<Value> = out.iter().map(json_of).collect();
        assert_eq!(v[0]["message"]["id"], "msg_9");
        assert_eq!(v[0]["message"]["usage"]["input_tokens"], 42, "the estimate until real usage arrives");
        assert!(v[3]["delta"]["signature"].as_str().unwrap().starts_with(crate::translate::MINTED_SIGNATURE));
        assert_eq!(v[8]["content_block"]["id"], "c1");
        assert_eq!(v[12]["delta"]["stop_reason"], "tool_use", "a finish of stop after tool calls is tool_use");
        assert_eq!(v[12]["usage"]["output_tokens"], 6);
    }

    #[test]
    fn an_openai_stream_without_done_still_ends_after_its_finish_and_errors_without_one() {
        let mut t = OpenAiToAnthropic::new("m", 1);
        let finish = json!({"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "length"}]});
        let mut out = feed(&mut t, &[Event::data(finish.to_string())]);
        assert!(t.end(&mut out).is_ok());
        assert_eq!(json_of(&out[out.len() - 2])["delta"]["stop_reason"], "max_tokens");
        let mut cut = OpenAiToAnthropic::new("m", 1);
        feed(&mut cut, &[Event::data(json!({"choices": [{"index": 0, "delta": {"content": "x"}}]}).to_string())]);
        assert!(cut.end(&mut Vec::new()).is_err());
        let mut failed = Vec::new();
        assert!(OpenAiToAnthropic::new("m", 1).fail(&Error::UpstreamTimeout("t".into()), &mut failed));
        assert_eq!(failed[0].name.as_deref(), Some("message_start"), "an error event follows message_start");
        assert_eq!(failed[1].name.as_deref(), Some("error"));
    }
}
