//! OpenAI's Responses API (`POST /v1/responses`) in terms of Chat Completions, as Ollama's native
//! chat is: a Responses request becomes a Chat Completions request (then goes wherever those go,
//! Anthropic included), and Chat Completions answers and chunks become a Response object and
//! its event stream (`sequence_number` on every event, ids stable from the first event to the
//! final object). Calls of `custom` (freeform) tools travel as one-string-argument functions and
//! come back as `custom_tool_call` items with their raw text.

use super::request::openai_content;
use super::Transform;
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::Event;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Tool types a Responses client may declare that only OpenAI's Responses API itself can run.
pub fn builtin_tools(body: &Value) -> Vec<String> {
    let tools = body.get("tools").and_then(Value::as_array).into_iter().flatten();
    let kinds = tools.filter_map(|t| t.get("type").and_then(Value::as_str));
    kinds.filter(|k| !matches!(*k, "function" | "custom" | "namespace")).map(String::from).collect()
}

/// `namespace` tools (Codex groups its sub-agent tools so) as the tools inside them; the model
/// calls them by their own names, and the calls say their namespace on the way back.
fn flat_tools(tools: &[Value]) -> Vec<Value> {
    let inner = |t: &Value| t["tools"].as_array().cloned().unwrap_or_default();
    tools.iter().flat_map(|t| if t["type"] == "namespace" { inner(t) } else { vec![t.clone()] }).collect()
}

/// The Chat Completions keys a translated request keeps: everything else a Responses body
/// carries (`store`, `include`, `metadata`, `truncation`, …) means nothing to a chat upstream.
const CHAT_KEYS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_tokens",
    "reasoning_effort",
    "response_format",
    "stream",
    "stream_options",
    "user",
];

/// A Responses request → a Chat Completions request (streamed with usage when it streams).
pub fn request_to_openai(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(o) = v.as_object_mut() {
        o.entry("input").or_insert_with(|| json!([]));
        o.remove("messages");
        if let Some(Value::Array(tools)) = o.get_mut("tools") {
            *tools = flat_tools(tools);
        }
        into_chat(o);
    }
    super::normalize::chat(&mut v);
    let Some(o) = v.as_object_mut() else { return v };
    o.retain(|k, _| CHAT_KEYS.contains(&k.as_str()));
    o.remove("stream_options");
    if o.get("stream") == Some(&Value::Bool(true)) {
        o.insert("stream_options".into(), json!({"include_usage": true}));
    }
    v
}

/// Responses content (a string, or `input_text` / `output_text` / `input_image` / `input_file`
/// parts) as Chat Completions parts.
fn chat_parts(content: &Value) -> Vec<Value> {
    let part = |p: &Value| match p.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text" | "refusal") => {
            Some(json!({"type": "text", "text": p.get("text").or(p.get("refusal")).cloned().unwrap_or_default()}))
        }
        Some("input_image") => {
            let url = p.get("image_url").and_then(Value::as_str)?;
            Some(json!({"type": "image_url", "image_url": {"url": url}}))
        }
        Some("input_file") => {
            let data = p.get("file_data").and_then(Value::as_str)?;
            let name = p.get("filename").cloned().unwrap_or("file".into());
            Some(json!({"type": "file", "file": {"file_data": data, "filename": name}}))
        }
        _ => None,
    };
    match content {
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(parts) => parts.iter().filter_map(part).collect(),
        _ => vec![],
    }
}

/// A tool call item (`function_call`, `custom_tool_call`) as a Chat Completions tool call.
fn chat_call(item: &Value) -> Value {
    let arguments = match item.get("type").and_then(Value::as_str) {
        Some("function_call") => item.get("arguments").and_then(Value::as_str).unwrap_or("{}").to_string(),
        _ => json!({"input": item.get("input").cloned().unwrap_or_default()}).to_string(),
    };
    json!({"id": item["call_id"], "type": "function", "function": {"name": item["name"], "arguments": arguments}})
}

/// Responses input items as Chat Completions messages: calls join the assistant turn before
/// them; reasoning items and references are left out (a chat upstream cannot take them).
pub fn chat_messages(items: &[Value]) -> Vec<Value> {
    let mut messages: Vec<Value> = Vec::new();
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("message");
        match kind {
            "message" => {
                let role = match item.get("role").and_then(Value::as_str).unwrap_or("user") {
                    "developer" => "system",
                    r => r,
                };
                let parts = chat_parts(item.get("content").unwrap_or(&Value::Null));
                messages.push(json!({"role": role, "content": openai_content(parts)}));
            }
            "function_call" | "custom_tool_call" => match messages.last_mut() {
                Some(last) if last["role"] == "assistant" => {
                    if !last["tool_calls"].is_array() {
                        last["tool_calls"] = json!([]);
                    }
                    if last["content"] == "" {
                        last["content"] = Value::Null;
                    }
                    last["tool_calls"].as_array_mut().expect("tool_calls is a list").push(chat_call(item));
                }
                _ => messages.push(json!({"role": "assistant", "content": null, "tool_calls": [chat_call(item)]})),
            },
            "function_call_output" | "custom_tool_call_output" => {
                let output = match item.get("output") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => chat_parts(other).iter().filter_map(|p| p["text"].as_str()).collect(),
                    None => String::new(),
                };
                messages.push(json!({"role": "tool", "tool_call_id": item["call_id"], "content": output}));
            }
            _ => {}
        }
    }
    messages
}

/// The input of a Responses request as items (a string is one user message).
pub fn input_items(body: &Value) -> Vec<Value> {
    items_of(body.get("input").cloned().unwrap_or_default())
}

/// `input` as items.
fn items_of(input: Value) -> Vec<Value> {
    match input {
        Value::String(s) => vec![json!({"type": "message", "role": "user", "content": s})],
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// A Responses-shaped body → Chat Completions, in place (also for Cursor, which posts these to
/// the chat path): `instructions` and `input` become messages, `max_output_tokens`,
/// `reasoning.effort` and `text.format` their chat names; Responses-only keys are removed.
pub fn into_chat(obj: &mut Map<String, Value>) {
    let mut messages: Vec<Value> = Vec::new();
    if let Some(Value::String(i)) = obj.remove("instructions") {
        messages.push(json!({"role": "system", "content": i}));
    }
    messages.extend(chat_messages(&items_of(obj.remove("input").unwrap_or_default())));
    obj.insert("messages".into(), Value::Array(messages));
    chat_params(obj);
}

/// The parameters with other names in Chat Completions; Responses-only keys removed.
fn chat_params(obj: &mut Map<String, Value>) {
    if let Some(n) = obj.remove("max_output_tokens") {
        obj.insert("max_tokens".into(), n);
    }
    if let Some(effort) = obj.remove("reasoning").and_then(|r| r.get("effort").cloned()).filter(|e| e.is_string()) {
        obj.insert("reasoning_effort".into(), effort);
    }
    if let Some(text) = obj.remove("text") {
        if let Some(v) = text.get("verbosity") {
            obj.insert("verbosity".into(), v.clone());
        }
        let f = &text["format"];
        match f.get("type").and_then(Value::as_str) {
            Some("json_schema") => {
                let schema = json!({"name": f.get("name").cloned().unwrap_or("response".into()), "schema": f["schema"],
                                    "strict": f.get("strict").cloned().unwrap_or(Value::Bool(false))});
                obj.insert("response_format".into(), json!({"type": "json_schema", "json_schema": schema}));
            }
            Some("json_object") => {
                obj.insert("response_format".into(), json!({"type": "json_object"}));
            }
            _ => {}
        }
    }
    for k in [
        "input",
        "include",
        "store",
        "previous_response_id",
        "truncation",
        "prompt_cache_retention",
        "background",
        "context_management",
    ] {
        obj.remove(k);
    }
}
/// A fresh id with `prefix` (`resp`, `msg`, …): the time and a process-wide counter, mixed so
/// that ids of one proxy never repeat and do not read as a sequence.
pub fn mint_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mix = |x: u64| (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (x >> 29);
    format!("{prefix}_{:016x}{:08x}", mix(nanos ^ n.rotate_left(40)), mix(n) as u32)
}

/// Request fields a Response object repeats.
const ECHOED: &[&str] = &[
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "reasoning",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
];

/// What OpenAI reports for an [`ECHOED`] field the request left unset.
fn unset(key: &str) -> Value {
    match key {
        "metadata" => json!({}),
        "parallel_tool_calls" | "store" => Value::Bool(true),
        "reasoning" => json!({"effort": null, "summary": null}),
        "temperature" | "top_p" => json!(1.0),
        "text" => json!({"format": {"type": "text"}}),
        "tool_choice" => json!("auto"),
        "tools" => json!([]),
        "truncation" => json!("disabled"),
        _ => Value::Null,
    }
}

/// What a Response needs from its request: its id (minted once, so the stream's events and the
/// final object agree), the model, and the request fields it repeats.
#[derive(Debug, Clone)]
pub struct Context {
    /// `resp_…`.
    pub id: String,
    /// The model name the client asked for.
    pub model: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The fields of [`ECHOED`], as asked or defaulted.
    echo: Map<String, Value>,
    /// Names of the request's `custom` tools.
    custom_tools: Vec<String>,
    /// Tools declared inside a `namespace`: `(name, namespace)`.
    namespaced: Vec<(String, String)>,
}

impl Context {
    /// The context of a Responses request for `model`.
    pub fn new(request: &Value, model: &str) -> Context {
        let echo = ECHOED
            .iter()
            .map(|k| (k.to_string(), request.get(*k).filter(|v| !v.is_null()).cloned().unwrap_or_else(|| unset(k))))
            .collect();
        let tools = request.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let name = |t: &Value| t.get("name").and_then(Value::as_str).map(String::from);
        let custom_tools = flat_tools(tools).iter().filter(|t| t["type"] == "custom").filter_map(name).collect();
        let namespaced = (tools.iter().filter(|t| t["type"] == "namespace"))
            .flat_map(|ns| {
                ns["tools"].as_array().into_iter().flatten().filter_map(move |t| Some((name(t)?, name(ns)?)))
            })
            .collect();
        let created_at = crate::clock::unix_now();
        Context { id: mint_id("resp"), model: model.into(), created_at, echo, custom_tools, namespaced }
    }

    /// The Response object with this status, output and usage (`null` while in progress).
    pub fn response(&self, status: &str, output: Vec<Value>, usage: Value) -> Value {
        let mut r = json!({"id": self.id, "object": "response", "created_at": self.created_at, "status": status,
                           "background": false, "error": null, "incomplete_details": null, "model": self.model,
                           "output": output, "usage": usage});
        let o = r.as_object_mut().expect("an object");
        o.extend(self.echo.iter().map(|(k, v)| (k.clone(), v.clone())));
        r
    }

    /// An output item's id: the response's own suffix under the item's prefix, and its position.
    fn item_id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}{index}", self.id.trim_start_matches("resp_"))
    }

    /// The namespace a tool was declared in.
    fn namespace(&self, name: &str) -> Option<&str> {
        self.namespaced.iter().find(|(n, _)| n == name).map(|(_, ns)| ns.as_str())
    }

    /// Whether `name` is a `custom` tool (its calls come back as raw text).
    fn is_custom(&self, name: &str) -> bool {
        self.custom_tools.iter().any(|t| t == name)
    }
}

/// Chat Completions `usage` → Responses `usage` (cached and reasoning tokens included).
pub fn usage_from_openai(u: &Value) -> Value {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/prompt_tokens"), n("/completion_tokens"));
    json!({"input_tokens": input,
           "input_tokens_details": {"cached_tokens": n("/prompt_tokens_details/cached_tokens"), "cache_write_tokens": 0},
           "output_tokens": output,
           "output_tokens_details": {"reasoning_tokens": n("/completion_tokens_details/reasoning_tokens")},
           "total_tokens": u.get("total_tokens").and_then(Value::as_u64).unwrap_or(input + output)})
}

/// A response's status and `incomplete_details` for a Chat Completions `finish_reason`.
fn status_of(finish: Option<&str>) -> (&'static str, Value) {
    match finish {
        Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// The raw text of a custom tool's call from the `{"input": "…"}` it travelled as.
fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) if o.get("input").is_some_and(Value::is_string) => {
            o["input"].as_str().unwrap_or("").into()
        }
        _ => arguments.to_string(),
    }
}

/// One output item of a response being built.
#[derive(Debug, Clone)]
enum Item {
    /// Reasoning, shown as its summary.
    Reasoning { id: String, text: String },
    /// The assistant's text.
    Message { id: String, text: String },
    /// A tool call; `custom` for a freeform tool, whose `arguments` hold `{"input": "…"}`.
    Call { id: String, call_id: String, name: String, arguments: String, custom: bool },
}

impl Item {
    /// The item as JSON; `done` with its content, otherwise as just added.
    fn json(&self, done: bool, status: &str, ctx: &Context) -> Value {
        let status = if done { status } else { "in_progress" };
        match self {
            Item::Reasoning { id, text } => {
                let summary = if done { json!([{"type": "summary_text", "text": text}]) } else { json!([]) };
                json!({"id": id, "type": "reasoning", "summary": summary})
            }
            Item::Message { id, text } => {
                let content = if done { json!([text_part(text)]) } else { json!([]) };
                json!({"id": id, "type": "message", "role": "assistant", "status": status, "content": content})
            }
            Item::Call { id, call_id, name, arguments, custom: true } => {
                let input = if done { custom_input(arguments) } else { String::new() };
                json!({"id": id, "type": "custom_tool_call", "call_id": call_id, "name": name, "input": input})
            }
            Item::Call { id, call_id, name, arguments, custom: false } => {
                let arguments = if done { arguments.as_str() } else { "" };
                let mut call = json!({"id": id, "type": "function_call", "status": status, "call_id": call_id,
                                      "name": name, "arguments": arguments});
                if let Some(ns) = ctx.namespace(name) {
                    call["namespace"] = ns.into();
                }
                call
            }
        }
    }
}

/// An `output_text` content part.
fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// The items of a complete Chat Completions message, in the order a stream gives them.
fn items_of_message(message: &Value, ctx: &Context) -> Vec<Item> {
    let mut items = Vec::new();
    let reasoning = message.get("reasoning_content").or(message.get("reasoning")).and_then(Value::as_str);
    if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
        items.push(Item::Reasoning { id: ctx.item_id("rs", items.len()), text: r.into() });
    }
    let text = message.get("content").and_then(Value::as_str).or(message.get("refusal").and_then(Value::as_str));
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        items.push(Item::Message { id: ctx.item_id("msg", items.len()), text: t.into() });
    }
    for c in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let name = c.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string();
        let call_id = c.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
        let call_id = call_id.map_or_else(|| mint_id("call"), String::from);
        let arguments = c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("").to_string();
        let (prefix, custom) = if ctx.is_custom(&name) { ("ctc", true) } else { ("fc", false) };
        items.push(Item::Call { id: ctx.item_id(prefix, items.len()), call_id, name, arguments, custom });
    }
    items
}

/// A complete Chat Completions answer → a Response object.
pub fn response_from_openai(resp: &Value, ctx: &Context) -> Value {
    let message = resp.pointer("/choices/0/message").cloned().unwrap_or_default();
    let (status, incomplete) = status_of(resp.pointer("/choices/0/finish_reason").and_then(Value::as_str));
    let output = items_of_message(&message, ctx).iter().map(|i| i.json(true, status, ctx)).collect();
    let mut r = ctx.response(status, output, usage_from_openai(resp.get("usage").unwrap_or(&Value::Null)));
    r["incomplete_details"] = incomplete;
    if status == "completed" {
        r["completed_at"] = crate::clock::unix_now().into();
    }
    r
}

/// The Responses error `code` for an error body's message and code (the OpenAI SDK accepts only
/// a fixed list in a failed Response; Codex reads `context_length_exceeded` and
/// `rate_limit_exceeded`).
fn failure_code(error: &Value) -> &'static str {
    let text = format!("{} {} {}", error["code"], error["type"], error["message"]).to_ascii_lowercase();
    match () {
        _ if text.contains("context_length") || text.contains("too long") => "context_length_exceeded",
        _ if text.contains("rate_limit") || text.contains("429") => "rate_limit_exceeded",
        _ => "server_error",
    }
}

/// What a stage does with the final Response object (the proxy keeps it for
/// `previous_response_id`).
pub type OnComplete = Box<dyn FnOnce(&Value) + Send>;

/// Chat Completions chunks → Responses events (Responses clients on Chat Completions
/// deployments; after `AnthropicToOpenAi` for Anthropic ones). One item is open at a time:
/// reasoning, then text, then each tool call, as chat upstreams send them.
pub struct OpenAiToResponses {
    ctx: Context,
    seq: u64,
    started: bool,
    items: Vec<Item>,
    /// The open item's position in `items`.
    open: Option<usize>,
    /// Chat tool-call index → position in `items`.
    calls: Vec<(u64, usize)>,
    finish: Option<String>,
    usage: Option<Value>,
    done: bool,
    on_complete: Option<OnComplete>,
}

impl OpenAiToResponses {
    /// A translator for the response `ctx` describes; `on_complete` gets the final object.
    pub fn new(ctx: Context, on_complete: Option<OnComplete>) -> Self {
        OpenAiToResponses {
            ctx,
            seq: 0,
            started: false,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            finish: None,
            usage: None,
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

    fn start(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            for kind in ["response.created", "response.in_progress"] {
                let response = self.ctx.response("in_progress", Vec::new(), Value::Null);
                self.emit(out, json!({"type": kind, "response": response}));
            }
        }
    }

    /// Adds an item and announces it (its first part too, for reasoning and text).
    fn open(&mut self, out: &mut Vec<Event>, item: Item) {
        self.close(out);
        let index = self.items.len();
        let (id, added) = (item_id(&item).to_string(), item.json(false, "", &self.ctx));
        self.items.push(item);
        self.open = Some(index);
        self.emit(out, json!({"type": "response.output_item.added", "output_index": index, "item": added}));
        match &self.items[index] {
            Item::Reasoning { .. } => self.emit(out, json!({"type": "response.reasoning_summary_part.added",
                "item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}})),
            Item::Message { .. } => self.emit(out, json!({"type": "response.content_part.added",
                "item_id": id, "output_index": index, "content_index": 0, "part": text_part("")})),
            Item::Call { .. } => {}
        }
    }

    /// Finishes the open item: its `.done` events, then `output_item.done`.
    fn close(&mut self, out: &mut Vec<Event>) {
        let Some(index) = self.open.take() else { return };
        let item = self.items[index].clone();
        let id = item_id(&item);
        let at = json!({"item_id": id, "output_index": index});
        let with = |mut v: Value, more: Value| {
            for (k, x) in at.as_object().into_iter().flatten().chain(more.as_object().into_iter().flatten()) {
                v[k] = x.clone();
            }
            v
        };
        let events = match &item {
            Item::Reasoning { text, .. } => vec![
                with(
                    json!({"type": "response.reasoning_summary_text.done"}),
                    json!({"summary_index": 0, "text": text}),
                ),
                with(
                    json!({"type": "response.reasoning_summary_part.done"}),
                    json!({"summary_index": 0, "part": {"type": "summary_text", "text": text}}),
                ),
            ],
            Item::Message { text, .. } => vec![
                with(
                    json!({"type": "response.output_text.done"}),
                    json!({"content_index": 0, "text": text, "logprobs": []}),
                ),
                with(
                    json!({"type": "response.content_part.done"}),
                    json!({"content_index": 0, "part": text_part(text)}),
                ),
            ],
            Item::Call { arguments, custom: true, .. } => {
                let input = custom_input(arguments);
                vec![
                    with(json!({"type": "response.custom_tool_call_input.delta"}), json!({"delta": input})),
                    with(json!({"type": "response.custom_tool_call_input.done"}), json!({"input": input})),
                ]
            }
            Item::Call { arguments, .. } => {
                vec![with(json!({"type": "response.function_call_arguments.done"}), json!({"arguments": arguments}))]
            }
        };
        for ev in events {
            self.emit(out, ev);
        }
        let done = item.json(true, "completed", &self.ctx);
        self.emit(out, json!({"type": "response.output_item.done", "output_index": index, "item": done}));
    }

    /// Text or reasoning: into the open item of that kind, or a new one.
    fn text(&mut self, out: &mut Vec<Event>, reasoning: bool, delta: &str) {
        let fits = |i: &Item| matches!((i, reasoning), (Item::Reasoning { .. }, true) | (Item::Message { .. }, false));
        if !self.open.is_some_and(|i| fits(&self.items[i])) {
            let n = self.items.len();
            let item = match reasoning {
                true => Item::Reasoning { id: self.ctx.item_id("rs", n), text: String::new() },
                false => Item::Message { id: self.ctx.item_id("msg", n), text: String::new() },
            };
            self.open(out, item);
        }
        let index = self.open.expect("an open item");
        let id = item_id(&self.items[index]).to_string();
        if let Item::Reasoning { text, .. } | Item::Message { text, .. } = &mut self.items[index] {
            text.push_str(delta);
        }
        let ev = match reasoning {
            true => json!({"type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": index,
                           "summary_index": 0, "delta": delta}),
            false => json!({"type": "response.output_text.delta", "item_id": id, "output_index": index,
                            "content_index": 0, "delta": delta, "logprobs": []}),
        };
        self.emit(out, ev);
    }

    /// One tool-call fragment: a new call opens an item; arguments stream as deltas (a custom
    /// tool's are held: they are JSON around the raw text until the call is whole).
    fn call(&mut self, out: &mut Vec<Event>, tc: &Value) {
        let chat_index = tc.get("index").and_then(Value::as_u64).unwrap_or(0);
        let index = match self.calls.iter().find(|(c, _)| *c == chat_index) {
            Some((_, i)) if self.open == Some(*i) => *i,
            Some(_) => {
                log::warn!("upstream interleaved tool call {chat_index}; its late argument fragment is dropped");
                return;
            }
            None => {
                let name = tc.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string();
                let call_id = tc.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
                let call_id = call_id.map_or_else(|| mint_id("call"), String::from);
                let custom = self.ctx.is_custom(&name);
                let id = self.ctx.item_id(if custom { "ctc" } else { "fc" }, self.items.len());
                self.open(out, Item::Call { id, call_id, name, arguments: String::new(), custom });
                let index = self.items.len() - 1;
                self.calls.push((chat_index, index));
                index
            }
        };
        let fragment = tc.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("");
        let Item::Call { id, arguments, custom, .. } = &mut self.items[index] else { return };
        arguments.push_str(fragment);
        if !*custom && !fragment.is_empty() {
            let ev = json!({"type": "response.function_call_arguments.delta", "item_id": id, "output_index": index,
                            "delta": fragment});
            self.emit(out, ev);
        }
    }

    /// The end: the open item closed, then `response.completed` (or `.incomplete`).
    fn complete(&mut self, out: &mut Vec<Event>) {
        self.start(out);
        self.close(out);
        let (status, incomplete) = status_of(self.finish.as_deref());
        let output = self.items.iter().map(|i| i.json(true, status, &self.ctx)).collect();
        let usage = usage_from_openai(self.usage.as_ref().unwrap_or(&Value::Null));
        let mut r = self.ctx.response(status, output, usage);
        r["incomplete_details"] = incomplete;
        if status == "completed" {
            r["completed_at"] = crate::clock::unix_now().into();
        }
        if let Some(f) = self.on_complete.take() {
            f(&r);
        }
        let kind = if status == "completed" { "response.completed" } else { "response.incomplete" };
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
}

/// An item's id.
fn item_id(item: &Item) -> &str {
    match item {
        Item::Reasoning { id, .. } | Item::Message { id, .. } | Item::Call { id, .. } => id,
    }
}

impl Transform for OpenAiToResponses {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) {
        if self.done {
            return;
        }
        if ev.data.trim() == "[DONE]" {
            return self.complete(out);
        }
        let Ok(chunk) = serde_json::from_str::<Value>(&ev.data) else { return };
        if let Some(e) = chunk.get("error") {
            let e = if e.is_object() { e.clone() } else { json!({"message": e}) };
            return self.failed(out, &e);
        }
        self.start(out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choice) = chunk.pointer("/choices/0") else { return };
        let d = &choice["delta"];
        let reasoning = d.get("reasoning_content").or(d.get("reasoning")).and_then(Value::as_str);
        if let Some(r) = reasoning.filter(|r| !r.is_empty()) {
            self.text(out, true, r);
        }
        let text = d.get("content").and_then(Value::as_str).or(d.get("refusal").and_then(Value::as_str));
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.text(out, false, t);
        }
        for tc in d.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            self.call(out, tc);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish = Some(f.to_string());
        }
    }

    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        match (self.done, &self.finish) {
            (true, _) => Ok(()),
            // Some upstreams never send [DONE]; a finish reason is as good an ending.
            (false, Some(_)) => {
                self.complete(out);
                Ok(())
            }
            (false, None) => Err(Error::UpstreamInvalid("the stream ended before it finished".into())),
        }
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

impl OpenAiToResponses {
    /// A finished item of a whole response, as the events that would have built it.
    fn replay(&mut self, out: &mut Vec<Event>, item: &Value) {
        let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        match s("type").as_str() {
            "reasoning" => {
                let text: String =
                    item["summary"].as_array().into_iter().flatten().filter_map(|p| p["text"].as_str()).collect();
                self.text(out, true, &text);
            }
            "message" => {
                let text: String =
                    item["content"].as_array().into_iter().flatten().filter_map(|p| p["text"].as_str()).collect();
                self.text(out, false, &text);
            }
            kind @ ("function_call" | "custom_tool_call") => {
                let custom = kind == "custom_tool_call";
                let arguments = if custom { json!({"input": s("input")}).to_string() } else { s("arguments") };
                self.open(
                    out,
                    Item::Call {
                        id: s("id"),
                        call_id: s("call_id"),
                        name: s("name"),
                        arguments: String::new(),
                        custom,
                    },
                );
                let index = self.items.len() - 1;
                if let Item::Call { arguments: a, .. } = &mut self.items[index] {
                    a.push_str(&arguments);
                }
                if !custom {
                    let ev = json!({"type": "response.function_call_arguments.delta", "item_id": s("id"),
                                    "output_index": index, "delta": arguments});
                    self.emit(out, ev);
                }
            }
            _ => {}
        }
    }
}

/// A complete answer from a `wire`-dialect deployment → the Response object for `ctx`.
pub fn whole(wire: Dialect, body: &[u8], ctx: &Context) -> Result<Value, Error> {
    let v = super::response::parse(body)?;
    let chat = match wire {
        Dialect::Anthropic => super::response::anthropic_to_openai(&v, &ctx.model),
        _ => v,
    };
    Ok(response_from_openai(&chat, ctx))
}

/// The stages that turn a `wire`-dialect stream into the Responses stream of `ctx`.
pub fn stages(wire: Dialect, ctx: Context, on_complete: Option<OnComplete>) -> Vec<Box<dyn Transform>> {
    let last: Box<dyn Transform> = Box::new(OpenAiToResponses::new(ctx.clone(), on_complete));
    match wire {
        Dialect::Anthropic => vec![Box::new(super::stream::AnthropicToOpenAi::new(&ctx.model, true)), last],
        Dialect::Responses => Vec::new(),
        // Not after the Chat Completions repair: it would close a stream cut short as if it had
        // finished, where a Responses client must learn that it failed.
        _ => vec![last],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::Pipeline;

    fn chunk(delta: Value, finish: Value) -> Event {
        Event::data(
            json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string(),
        )
    }

    fn events(out: &[Event]) -> Vec<Value> {
        out.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
    }

    fn kinds(v: &[Value]) -> Vec<&str> {
        v.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    fn request() -> Value {
        json!({"model": "m", "instructions": "Be brief.", "stream": true, "store": false, "max_output_tokens": 100,
            "reasoning": {"effort": "high", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "metadata": {"k": "v"}, "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
            "tools": [{"type": "function", "name": "read", "parameters": {"type": "object"}},
                      {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
            "tool_choice": {"type": "function", "name": "read"},
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"},
                                                                       {"type": "input_image", "image_url": "data:image/png;base64,AA"}]},
                      {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "xyz"},
                      {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look."}]},
                      {"type": "function_call", "call_id": "c1", "name": "read", "arguments": "{}"},
                      {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin Patch"},
                      {"type": "function_call_output", "call_id": "c1", "output": "file"},
                      {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "Done"}]}]})
    }

    #[test]
    fn a_responses_request_becomes_a_chat_request() {
        let v = request_to_openai(&request());
        let m = &v["messages"];
        assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(m[1]["content"][1]["image_url"]["url"], "data:image/png;base64,AA");
        assert_eq!(m[2]["content"], "Let me look.", "calls join the assistant turn before them");
        assert_eq!(m[2]["tool_calls"][1]["function"]["arguments"], "{\"input\":\"*** Begin Patch\"}");
        assert_eq!(m[3], json!({"role": "tool", "tool_call_id": "c1", "content": "file"}));
        assert_eq!(m[4], json!({"role": "tool", "tool_call_id": "c2", "content": "Done"}));
        assert_eq!(m.as_array().unwrap().len(), 5);
        assert_eq!(v["tools"][0]["function"]["name"], "read");
        assert_eq!(v["tools"][1]["function"]["parameters"]["required"], json!(["input"]));
        assert_eq!(v["tool_choice"], json!({"type": "function", "function": {"name": "read"}}));
        assert_eq!(v["response_format"]["json_schema"]["name"], "out");
        assert_eq!((v["max_tokens"].as_u64(), v["reasoning_effort"].as_str()), (Some(100), Some("high")));
        assert_eq!(v["stream_options"], json!({"include_usage": true}));
        for gone in ["input", "instructions", "store", "include", "metadata", "text", "reasoning", "max_output_tokens"]
        {
            assert!(v.get(gone).is_none(), "{gone}");
        }
        let plain =
            request_to_openai(&json!({"model": "m", "input": "hello", "text": {"format": {"type": "json_object"}}}));
        assert_eq!(plain["messages"], json!([{"role": "user", "content": "hello"}]));
        assert_eq!(plain["response_format"], json!({"type": "json_object"}));
        assert_eq!(builtin_tools(&json!({"tools": [{"type": "web_search"}, {"type": "function"}]})), ["web_search"]);
    }

    /// Reasoning, text, a function call in pieces and a freeform call, then usage.
    fn chat_stream() -> Vec<Event> {
        vec![
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"reasoning_content": "Think"}), Value::Null),
            chunk(json!({"reasoning_content": "ing."}), Value::Null),
            chunk(json!({"content": "Hel"}), Value::Null),
            chunk(json!({"content": "lo"}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_9", "function": {"name": "read", "arguments": ""}}]}),
                Value::Null,
            ),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"pa"}}]}), Value::Null),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "th\":1}"}}]}), Value::Null),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_10", "function": {"name": "apply_patch", "arguments": "{\"input\":"}}]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "function": {"arguments": "\"*** Begin\"}"}}]}),
                json!("tool_calls"),
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
        let ctx = Context::new(&request(), "m");
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Value::Null));
        let sink = kept.clone();
        let mut t = OpenAiToResponses::new(ctx.clone(), Some(Box::new(move |r| *sink.lock().unwrap() = r.clone())));
        let mut out = Vec::new();
        for ev in chat_stream() {
            t.event(ev, &mut out);
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
        t.event(chunk(json!({"content": "x"}), Value::Null), &mut out);
        t.event(Event::data(r#"{"error":{"message":"Overloaded","type":"overloaded_error"}}"#), &mut out);
        let v = events(&out);
        let last = v.last().unwrap();
        assert_eq!(
            (last["type"].as_str(), last["response"]["status"].as_str()),
            (Some("response.failed"), Some("failed"))
        );
        assert_eq!(last["response"]["error"], json!({"code": "server_error", "message": "Overloaded"}));
        assert!(t.done());

        let stages = stages(Dialect::OpenAi, Context::new(&json!({}), "m"), None);
        let mut p = Pipeline::new(stages, Dialect::Responses);
        let mut out = Vec::new();
        p.push(chunk(json!({"content": "x"}), Value::Null), &mut out);
        p.end(&mut out);
        let v = events(&out);
        assert_eq!(kinds(&v).last(), Some(&"response.failed"), "{v:?}");
        assert!(v.last().unwrap()["response"]["error"]["message"].as_str().unwrap().contains("ended before"));
        assert!(p.done());
    }

    #[test]
    fn a_whole_answer_becomes_a_response_and_its_stream() {
        let ctx = Context::new(&json!({"tools": [{"type": "custom", "name": "apply_patch"}]}), "m");
        let chat = json!({"choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant",
            "content": "Hi", "reasoning_content": "Hmm",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"raw\"}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}});
        let r = response_from_openai(&chat, &ctx);
        assert_eq!(
            (r["status"].as_str(), r["incomplete_details"]["reason"].as_str()),
            (Some("incomplete"), Some("max_output_tokens"))
        );
        assert_eq!(kinds(r["output"].as_array().unwrap()), ["reasoning", "message", "custom_tool_call"]);
        assert_eq!(r["output"][2]["input"], "raw");
        assert_eq!(r["usage"]["total_tokens"], 5);
        let v = events(&as_events(&r).unwrap());
        assert_eq!(kinds(&v).last(), Some(&"response.incomplete"));
        let added: Vec<&Value> =
            v.iter().filter(|e| e["type"] == "response.output_item.added").map(|e| &e["item"]["id"]).collect();
        let final_ids: Vec<&Value> = r["output"].as_array().unwrap().iter().map(|i| &i["id"]).collect();
        assert_eq!(added, final_ids, "the stream's ids are the object's");
        assert!(as_events(&json!({"object": "chat.completion"})).is_none());
    }
}
