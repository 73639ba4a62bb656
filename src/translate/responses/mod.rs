//! OpenAI's Responses API (`POST /v1/responses`) in terms of Chat Completions, as Ollama's native
//! chat is: a Responses request becomes a Chat Completions request (then goes wherever those go,
//! Anthropic included), and Chat Completions answers and chunks become a Response object and
//! its event stream (`sequence_number` on every event, ids stable from the first event to the
//! final object). Calls of `custom` (freeform) tools travel as one-string-argument functions and
//! come back as `custom_tool_call` items with their raw text.

mod input; // a Responses request as a Chat Completions request
mod stream; // Chat Completions chunks as Responses events

pub use input::{builtin_tools, chat_messages, input_items, into_chat, request_to_openai};
pub use stream::{as_events, OpenAiToResponses};

use crate::dialect::Dialect;
use crate::error::Error;
use crate::translate::Transform;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// The forced tool carrying the structured answer `text.format` asked an Anthropic deployment for.
    answer_tool: Option<String>,
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
        let custom_tools = input::flat_tools(tools).iter().filter(|t| t["type"] == "custom").filter_map(name).collect();
        let namespaced = (tools.iter().filter(|t| t["type"] == "namespace"))
            .flat_map(|ns| {
                ns["tools"].as_array().into_iter().flatten().filter_map(move |t| Some((name(t)?, name(ns)?)))
            })
            .collect();
        let created_at = crate::clock::unix_now();
        let json =
            matches!(request.pointer("/text/format/type").and_then(Value::as_str), Some("json_schema" | "json_object"));
        let answer_tool = json.then(|| super::structured::tool_name(&request_to_openai(request))).flatten();
        Context { id: mint_id("resp"), model: model.into(), created_at, echo, custom_tools, namespaced, answer_tool }
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

/// A complete answer from a `wire`-dialect deployment → the Response object for `ctx`.
pub fn whole(wire: Dialect, body: &[u8], ctx: &Context) -> Result<Value, Error> {
    let mut v = super::response::parse(body)?;
    let chat = match wire {
        Dialect::Anthropic => {
            if let Some(name) = &ctx.answer_tool {
                super::structured::tool_as_text(&mut v, name);
            }
            super::response::anthropic_to_openai(&v, &ctx.model)
        }
        _ => v,
    };
    Ok(response_from_openai(&chat, ctx))
}

/// The stages that turn a `wire`-dialect stream into the Responses stream of `ctx`.
pub fn stages(wire: Dialect, ctx: Context, on_complete: Option<OnComplete>) -> Vec<Box<dyn Transform>> {
    let last: Box<dyn Transform> = Box::new(OpenAiToResponses::new(ctx.clone(), on_complete));
    match wire {
        Dialect::Anthropic => {
            let answer_tool = ctx.answer_tool.clone();
            vec![Box::new(super::stream::AnthropicToOpenAi::new(&ctx.model, true).answer_tool(answer_tool)), last]
        }
        Dialect::Responses => Vec::new(),
        // Not after the Chat Completions repair: it would close a stream cut short as if it had
        // finished, where a Responses client must learn that it failed.
        _ => vec![last],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::Event;

    fn events(out: &[Event]) -> Vec<Value> {
        out.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
    }

    fn kinds(v: &[Value]) -> Vec<&str> {
        v.iter().map(|e| e["type"].as_str().unwrap()).collect()
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

    #[test]
    fn namespaced_tools_are_offered_flat_and_their_calls_name_the_namespace() {
        let request = json!({"input": "x", "tools": [{"type": "namespace", "name": "multi_agent_v1", "description": "Agents",
            "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}]}]});
        let chat = request_to_openai(&request);
        assert_eq!(chat["tools"][0]["function"]["name"], "spawn_agent");
        assert!(builtin_tools(&request).is_empty());
        let answer = json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "spawn_agent", "arguments": "{}"}}]}}]});
        let r = response_from_openai(&answer, &Context::new(&request, "m"));
        assert_eq!(
            (r["output"][0]["name"].as_str(), r["output"][0]["namespace"].as_str()),
            (Some("spawn_agent"), Some("multi_agent_v1"))
        );
    }
}
