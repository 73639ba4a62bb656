//! Chat Completions chunks as the Responses event stream: numbered events, one output item open
//! at a time, and the final Response object (also a whole Response replayed as its stream).

use super::{custom_input, failure_code, reasoning_and_text, text_part, Context, Item, OnComplete};
use crate::error::Error;
use crate::sse::Event;
use crate::translate::{accumulate, stream_index, Transform};
use serde_json::{json, Value};

/// Chat Completions chunks → Responses events (Responses clients on Chat Completions
/// deployments; after `AnthropicToOpenAi` for Anthropic ones). One item is open at a time:
/// reasoning, then text, then each tool call, as chat upstreams send them.
pub struct OpenAiToResponses {
    ctx: Context,
    /// The next event's number (0: nothing emitted yet, not even `response.created`).
    seq: u64,
    items: Vec<Item>,
    /// The open item's position in `items`.
    open: Option<usize>,
    /// Characters of the message items closed so far (a citation's offsets are the chat
    /// message's; each message item's start from here, not summed again per citation).
    closed_chars: u64,
    /// Chat tool-call index → position in `items`.
    calls: Vec<(u64, usize)>,
    finish: Option<String>,
    /// The last `usage` (`null` until one comes).
    usage: Value,
    done: bool,
    on_complete: Option<OnComplete>,
}

impl OpenAiToResponses {
    /// A translator for the response `ctx` describes; `on_complete` gets the final object.
    pub fn new(ctx: Context, on_complete: Option<OnComplete>) -> Self {
        OpenAiToResponses {
            ctx,
            seq: 0,
            items: Vec::new(),
            open: None,
            closed_chars: 0,
            calls: Vec::new(),
            finish: None,
            usage: Value::Null,
            done: false,
            on_complete,
        }
    }

    /// Appends an event named after its `type`, numbered.
    fn emit(&mut self, out: &mut Vec<Event>, mut v: Value) {
        v["sequence_number"] = self.seq.into();
        self.seq += 1;
        let name = v["type"].as_str().unwrap_or("").to_string();
        out.push(Event::named(&name, v.to_string()));
    }

    /// The first two events, once (every other event comes after them).
    fn start(&mut self, out: &mut Vec<Event>) {
        if self.seq > 0 {
            return;
        }
        for kind in ["response.created", "response.in_progress"] {
            let response = self.ctx.response("in_progress", Vec::new(), Value::Null);
            self.emit(out, json!({"type": kind, "response": response}));
        }
    }

    /// Adds an item and announces it (its first part too, for reasoning and text); returns its position.
    fn open(&mut self, out: &mut Vec<Event>, item: Item) -> usize {
        self.close(out);
        let (index, id) = (self.items.len(), item.id().to_string());
        let follow = match &item {
            Item::Reasoning { .. } => vec![json!({"type": "response.reasoning_summary_part.added", "item_id": id,
                "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}})],
            Item::Message { .. } => vec![json!({"type": "response.content_part.added", "item_id": id,
                "output_index": index, "content_index": 0, "part": text_part("", &[])})],
            Item::Search { .. } => ["in_progress", "searching"]
                .map(|s| json!({"type": format!("response.web_search_call.{s}"), "item_id": id, "output_index": index}))
                .into(),
            Item::Call { .. } => Vec::new(),
        };
        let added = item.json(false, "", &self.ctx);
        self.items.push(item);
        self.open = Some(index);
        self.emit(out, json!({"type": "response.output_item.added", "output_index": index, "item": added}));
        follow.into_iter().for_each(|ev| self.emit(out, ev));
        index
    }

    /// Finishes the open item: its `.done` events, then `output_item.done`.
    fn close(&mut self, out: &mut Vec<Event>) {
        let Some(index) = self.open.take() else { return };
        let item = &self.items[index];
        if let Item::Message { text, .. } = item {
            self.closed_chars += text.chars().count() as u64;
        }
        let id = item.id();
        let mut events = match item {
            Item::Reasoning { text, .. } => vec![
                json!({"type": "response.reasoning_summary_text.done", "item_id": id, "output_index": index,
                       "summary_index": 0, "text": text}),
                json!({"type": "response.reasoning_summary_part.done", "item_id": id, "output_index": index,
                       "summary_index": 0, "part": {"type": "summary_text", "text": text}}),
            ],
            Item::Message { text, annotations, .. } => vec![
                json!({"type": "response.output_text.done", "item_id": id, "output_index": index, "content_index": 0,
                       "text": text, "logprobs": []}),
                json!({"type": "response.content_part.done", "item_id": id, "output_index": index, "content_index": 0,
                       "part": text_part(text, annotations)}),
            ],
            Item::Search { failed: true, .. } => Vec::new(),
            Item::Search { .. } => {
                vec![json!({"type": "response.web_search_call.completed", "item_id": id, "output_index": index})]
            }
            Item::Call { arguments, custom: true, .. } => {
                let input = custom_input(arguments);
                vec![
                    json!({"type": "response.custom_tool_call_input.delta", "item_id": id, "output_index": index,
                           "delta": input}),
                    json!({"type": "response.custom_tool_call_input.done", "item_id": id, "output_index": index,
                           "input": input}),
                ]
            }
            Item::Call { arguments, .. } => vec![json!({"type": "response.function_call_arguments.done",
                "item_id": id, "output_index": index, "arguments": arguments})],
        };
        let done = item.json(true, "completed", &self.ctx);
        events.push(json!({"type": "response.output_item.done", "output_index": index, "item": done}));
        for ev in events {
            self.emit(out, ev);
        }
    }

    /// Text or reasoning: into the open item of that kind, or a new one. A streamed delta
    /// (`capped`) errs when the item would pass [`crate::translate::MAX_ACCUMULATED_BYTES`]; a
    /// whole answer replayed is already bounded by the body limit.
    fn text(&mut self, out: &mut Vec<Event>, reasoning: bool, delta: &str, capped: bool) -> Result<(), Error> {
        let fits = |i: &Item| matches!((i, reasoning), (Item::Reasoning { .. }, true) | (Item::Message { .. }, false));
        let index = match self.open.filter(|&i| fits(&self.items[i])) {
            Some(i) => i,
            None => {
                let n = self.items.len();
                let item = match reasoning {
                    true => Item::Reasoning { id: self.ctx.item_id("rs", n), text: String::new() },
                    false => {
                        Item::Message { id: self.ctx.item_id("msg", n), text: String::new(), annotations: Vec::new() }
                    }
                };
                self.open(out, item)
            }
        };
        let id = self.items[index].id().to_string();
        if let Item::Reasoning { text, .. } | Item::Message { text, .. } = &mut self.items[index] {
            match capped {
                true => accumulate(if reasoning { "reasoning item" } else { "message item" }, text, delta)?,
                false => text.push_str(delta),
            }
        }
        let ev = match reasoning {
            true => json!({"type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": index,
                           "summary_index": 0, "delta": delta}),
            false => json!({"type": "response.output_text.delta", "item_id": id, "output_index": index,
                            "content_index": 0, "delta": delta, "logprobs": []}),
        };
        self.emit(out, ev);
        Ok(())
    }

    /// One tool-call fragment: a new call opens an item; arguments stream as deltas (a custom
    /// tool's are held: they are JSON around the raw text until the call is whole).
    fn call(&mut self, out: &mut Vec<Event>, tc: &Value) -> Result<(), Error> {
        let chat_index = stream_index("tool call", tc.get("index").and_then(Value::as_u64).unwrap_or(0))?;
        let index = match self.calls.iter().find(|(c, _)| *c == chat_index) {
            Some((_, i)) if self.open == Some(*i) => *i,
            Some(_) => {
                log::warn!("upstream interleaved tool call {chat_index}; its late argument fragment is dropped");
                return Ok(());
            }
            None => {
                let item = self.ctx.call_item(tc, self.items.len(), String::new());
                let index = self.open(out, item);
                self.calls.push((chat_index, index));
                index
            }
        };
        let fragment = tc.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("");
        let Item::Call { id, arguments, custom, .. } = &mut self.items[index] else { return Ok(()) };
        accumulate("tool call's arguments", arguments, fragment)?;
        if !*custom && !fragment.is_empty() {
            let ev = json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": index,
                            "delta": fragment});
            self.emit(out, ev);
        }
        Ok(())
    }

    /// Responses `url_citation`s of the open message, kept and each announced.
    fn annotate(&mut self, out: &mut Vec<Event>, new: Vec<Value>) {
        let Some(index) = self.open else { return };
        let Item::Message { id, annotations, .. } = &mut self.items[index] else { return };
        let (id, first) = (id.clone(), annotations.len());
        annotations.extend(new.iter().cloned());
        for (k, a) in new.into_iter().enumerate() {
            let ev = json!({"type": "response.output_text.annotation.added", "item_id": id, "output_index": index,
                            "content_index": 0, "annotation_index": first + k, "annotation": a});
            self.emit(out, ev);
        }
    }

    /// The end: the open item closed, then `response.completed` (or `.incomplete`).
    fn complete(&mut self, out: &mut Vec<Event>) {
        self.start(out);
        self.close(out);
        let r = self.ctx.finished(&self.items, self.finish.as_deref(), &self.usage);
        if let Some(f) = self.on_complete.take() {
            f(&r);
        }
        let kind = if r["status"] == "completed" { "response.completed" } else { "response.incomplete" };
        self.emit(out, json!({"type": kind, "response": r}));
        self.done = true;
    }

    /// The response failed: `response.failed` with the error and what was produced so far.
    fn failed(&mut self, out: &mut Vec<Event>, error: &Value) {
        self.start(out);
        let output = self.items.iter().map(|i| i.json(true, "incomplete", &self.ctx)).collect();
        let mut r = self.ctx.response("failed", output, Value::Null);
        let message = error.get("message").and_then(Value::as_str).unwrap_or("The upstream failed");
        r["error"] = json!({"code": failure_code(error), "message": message});
        self.emit(out, json!({"type": "response.failed", "response": r}));
        self.done = true;
    }

    /// A finished item of a whole response, as the events that would have built it.
    fn replay(&mut self, out: &mut Vec<Event>, item: &Value) {
        let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        match s("type").as_str() {
            kind @ ("reasoning" | "message") => {
                let parts = if kind == "reasoning" { &item["summary"] } else { &item["content"] };
                let text: String = parts.as_array().into_iter().flatten().filter_map(|p| p["text"].as_str()).collect();
                self.text(out, kind == "reasoning", &text, false).expect("uncapped");
                self.annotate(
                    out,
                    item.pointer("/content/0/annotations").and_then(Value::as_array).cloned().unwrap_or_default(),
                );
            }
            "web_search_call" => {
                let query = item.pointer("/action/query").and_then(Value::as_str).unwrap_or("").to_string();
                self.open(out, Item::Search { id: s("id"), query, failed: item["status"] == "failed" });
            }
            kind @ ("function_call" | "custom_tool_call") => {
                let custom = kind == "custom_tool_call";
                let arguments = if custom { json!({"input": s("input")}).to_string() } else { s("arguments") };
                let call = Item::Call { id: s("id"), call_id: s("call_id"), name: s("name"), arguments, custom };
                let index = self.open(out, call);
                if let Item::Call { id, arguments, custom: false, .. } = &self.items[index] {
                    let ev = json!({"type": "response.function_call_arguments.delta", "item_id": id,
                                    "output_index": index, "delta": arguments});
                    self.emit(out, ev);
                }
            }
            _ => {}
        }
    }
}

impl Transform for OpenAiToResponses {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        if ev.data.trim() == "[DONE]" {
            self.complete(out);
            return Ok(());
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return Ok(()) };
        if let Some(e) = chunk.get("error") {
            let e = if e.is_object() { e.clone() } else { json!({"message": e}) };
            self.failed(out, &e);
            return Ok(());
        }
        self.start(out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = u.clone();
        }
        let Some(choice) = chunk.pointer("/choices/0") else { return Ok(()) };
        let (reasoning, text) = reasoning_and_text(&choice["delta"]);
        if let Some(r) = reasoning {
            self.text(out, true, r, true)?;
        }
        if let Some(t) = text {
            self.text(out, false, t, true)?;
        }
        for tc in choice["delta"].get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            self.call(out, tc)?;
        }
        if let Some(search) = choice["delta"].get("web_search_call") {
            let (query, failed) = (search["query"].as_str().unwrap_or("").to_string(), search["failed"] == true);
            self.open(out, Item::Search { id: self.ctx.item_id("ws", self.items.len()), query, failed });
        }
        if let Some(Value::Array(a)) = choice["delta"].get("annotations") {
            // Chat offsets count the whole message, which is split into items around the others.
            let shift = self.closed_chars;
            self.annotate(out, a.iter().filter_map(|a| super::annotation(a, shift)).collect());
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        crate::translate::end_of_chunks(self.done, self.finish.is_some(), || self.complete(out))
    }

    fn done(&self) -> bool {
        self.done
    }

    fn fail(&mut self, e: &Error, out: &mut Vec<Event>) -> bool {
        self.failed(out, &e.openai_body()["error"]);
        true
    }
}

/// A complete Response as the event stream a client asked for (some upstreams ignore
/// `stream: true`): each item added, its content in one delta, done; then the final event.
pub fn as_events(response: &Value) -> Option<Vec<Event>> {
    if response.get("object")?.as_str()? != "response" {
        return None;
    }
    let id = response.get("id")?.as_str()?.to_string();
    let ctx = Context { id, ..Context::new(response, response["model"].as_str().unwrap_or("")) };
    let mut t = OpenAiToResponses::new(ctx, None);
    let mut out = Vec::new();
    t.start(&mut out);
    for item in response["output"].as_array().into_iter().flatten() {
        t.replay(&mut out, item);
    }
    t.close(&mut out);
    let kind = match response["status"].as_str() {
        Some("completed") => "response.completed",
        Some("failed") => "response.failed",
        _ => "response.incomplete",
    };
    t.emit(&mut out, json!({"type": kind, "response": response}));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, kinds};
    use super::*;
    use crate::dialect::Dialect;
    use crate::translate::Pipeline;

    fn chunk(delta: Value, finish: Option<&str>) -> Event {
        let chunk = json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        Event::data(chunk.to_string())
    }

    /// Reasoning, text, a function call in pieces and a freeform call, then usage.
    fn chat_stream() -> Vec<Event> {
        vec![
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"reasoning_content": "Think"}), None),
            chunk(json!({"reasoning_content": "ing."}), None),
            chunk(json!({"content": "Hel"}), None),
            chunk(json!({"content": "lo"}), None),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_9", "function": {"name": "read", "arguments": ""}}]}),
                None,
            ),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"pa"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "th\":1}"}}]}), None),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_10", "function": {"name": "apply_patch", "arguments": "{\"input\":"}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"*** Begin\"}"}}]}),
                Some("tool_calls"),
            ),
            Event::data(
                json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13,
                "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 3}}})
                .to_string(),
            ),
            Event::data("[DONE]"),
        ]
    }

    #[test]
    fn a_chat_stream_becomes_numbered_responses_events_with_stable_ids() {
        let ctx = Context::new(
            &json!({"store": false, "metadata": {"k": "v"}, "tools": [{"type": "function", "name": "read"}, {"type": "custom", "name": "apply_patch"}]}),
            "m",
        );
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
        let sink = kept.clone();
        let mut t = OpenAiToResponses::new(ctx.clone(), Some(Box::new(move |r| *sink.lock().unwrap() = r.clone())));
        let mut out = Vec::new();
        for ev in chat_stream() {
            t.event(ev, &mut out).unwrap();
        }
        assert!(t.done() && t.end(&mut out).is_ok());
        let v = events(&out);
        assert_eq!(
            kinds(&v),
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done",
                "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.custom_tool_call_input.delta",
                "response.custom_tool_call_input.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        assert!(out
            .iter()
            .all(|e| e.name.as_deref() == serde_json::from_str::<Value>(&e.data).unwrap()["type"].as_str()));
        for (i, e) in v.iter().enumerate() {
            assert_eq!(e["sequence_number"], i, "numbered in order");
        }
        let done = &v[25]["response"];
        assert_eq!(
            (done["id"].as_str(), v[0]["response"]["id"].as_str()),
            (Some(ctx.id.as_str()), Some(ctx.id.as_str()))
        );
        assert_eq!(done["status"], "completed");
        let output = done["output"].as_array().unwrap();
        assert_eq!(output[0]["summary"][0]["text"], "Thinking.");
        assert_eq!(output[1]["content"][0]["text"], "Hello");
        assert_eq!(
            (output[2]["call_id"].as_str(), output[2]["arguments"].as_str()),
            (Some("call_9"), Some("{\"path\":1}"))
        );
        assert_eq!(
            (output[3]["type"].as_str(), output[3]["input"].as_str()),
            (Some("custom_tool_call"), Some("*** Begin"))
        );
        for (i, item) in output.iter().enumerate() {
            assert_eq!(
                v.iter().find(|e| e["type"] == "response.output_item.added" && e["output_index"] == i).unwrap()["item"]
                    ["id"],
                item["id"]
            );
        }
        assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 2);
        assert_eq!(done["usage"]["output_tokens_details"]["reasoning_tokens"], 3);
        assert_eq!((done["store"].as_bool(), done["metadata"]["k"].as_str()), (Some(false), Some("v")));
        assert_eq!(*kept.lock().unwrap(), *done, "the final object is kept as sent");
    }

    #[test]
    fn upstream_errors_and_cut_streams_end_in_response_failed() {
        let mut t = OpenAiToResponses::new(Context::new(&json!({}), "m"), None);
        let mut out = Vec::new();
        t.event(chunk(json!({"content": "x"}), None), &mut out).unwrap();
        t.event(Event::data(r#"{"error":{"message":"Overloaded","type":"overloaded_error"}}"#), &mut out).unwrap();
        let v = events(&out);
        let last = v.last().unwrap();
        assert_eq!(
            (last["type"].as_str(), last["response"]["status"].as_str()),
            (Some("response.failed"), Some("failed"))
        );
        assert_eq!(last["response"]["error"], json!({"code": "server_error", "message": "Overloaded"}));
        assert!(t.done());

        let stages = super::super::stages(Dialect::OpenAi, Context::new(&json!({}), "m"), None);
        let mut p = Pipeline::new(stages, Dialect::Responses);
        let mut out = Vec::new();
        p.push(chunk(json!({"content": "x"}), None), &mut out);
        p.end(&mut out);
        let v = events(&out);
        assert_eq!(kinds(&v).last(), Some(&"response.failed"), "{v:?}");
        assert!(v.last().unwrap()["response"]["error"]["message"].as_str().unwrap().contains("ended before"));
        assert!(p.done());
    }
}
