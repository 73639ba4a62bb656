//! OpenAI's Responses API (`POST /v1/responses`) in terms of Chat Completions, as Ollama's native
//! chat is: a Responses request becomes a Chat Completions request (then goes wherever those go,
//! Anthropic included), and Chat Completions answers and chunks become a Response object and
//! its event stream (`sequence_number` on every event, ids stable from the first event to the
//! final object). Calls of `custom` (freeform) tools travel as one-string-argument functions and
//! come back as `custom_tool_call` items with their raw text.

mod input; // a Responses request as a Chat Completions request
mod stream; // Chat Completions chunks as Responses events

pub use input::{builtin_tools, input_items, into_chat, request_to_openai};
pub use stream::as_events;

use crate::dialect::Dialect;
use crate::error::Error;
use crate::translate::Transform;
use serde_json::{json, Map, Value};
use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A fresh id with `prefix` (`resp`, `msg`, …): a process-wide counter hashed with keys drawn
/// from the system's randomness once per process (std's `RandomState`), so that ids never repeat
/// and cannot be guessed: a `previous_response_id` or an `item_reference` is the only thing that
/// reaches a kept conversation, whichever client token sends it.
fn mint_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let word = |lane: u64| KEYS.get_or_init(RandomState::new).hash_one((n, lane));
    format!("{prefix}_{:016x}{:08x}", word(0), word(1) as u32)
}

/// How many hex digits follow `resp_` in a minted response id ([`mint_id`]: 16 and 8).
const ID_DIGITS: usize = 24;

/// The id of the response an output item of this proxy's belongs to: [`Context::item_id`] the
/// other way (`msg_` + the response id's digits + the item's position → `resp_` + those digits).
pub fn response_of_item(item_id: &str) -> Option<String> {
    let (_, rest) = item_id.split_once('_')?;
    let digits = rest.get(..ID_DIGITS).filter(|_| rest.len() > ID_DIGITS)?;
    Some(format!("resp_{digits}"))
}

/// Request fields a Response object repeats, each with what OpenAI reports when the request left it unset.
fn echoed_defaults() -> Value {
    json!({"instructions": null, "max_output_tokens": null, "metadata": {}, "parallel_tool_calls": true,
           "previous_response_id": null, "reasoning": {"effort": null, "summary": null}, "store": true,
           "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
           "truncation": "disabled", "user": null})
}

/// What a Response needs from its request: its id (minted once, so the stream's events and the
/// final object agree), the model, and the request fields it repeats.
#[derive(Debug, Clone)]
pub struct Context {
    /// `resp_…`.
    id: String,
    /// The model name the client asked for.
    model: String,
    /// Unix seconds.
    created_at: u64,
    /// The fields of [`echoed_defaults`], as asked or defaulted.
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
        let asked = |(k, unset): (&String, &Value)| {
            (k.clone(), request.get(k).filter(|v| !v.is_null()).unwrap_or(unset).clone())
        };
        let echo = echoed_defaults().as_object().into_iter().flatten().map(asked).collect();
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

    /// A Chat Completions tool call as the output item at `index` (a `custom_tool_call` for a `custom` tool).
    fn call_item(&self, tc: &Value, index: usize, arguments: String) -> Item {
        let name = tc.pointer("/function/name").and_then(Value::as_str).unwrap_or("").to_string();
        let call_id = tc.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
        let call_id = call_id.map_or_else(|| mint_id("call"), String::from);
        let custom = self.custom_tools.contains(&name);
        let id = self.item_id(if custom { "ctc" } else { "fc" }, index);
        Item::Call { id, call_id, name, arguments, custom }
    }

    /// The finished Response of these items, for a Chat Completions `finish_reason` and `usage`.
    fn finished(&self, items: &[Item], finish: Option<&str>, usage: &Value) -> Value {
        let incomplete = match finish {
            Some("length") => json!({"reason": "max_output_tokens"}),
            Some("content_filter") => json!({"reason": "content_filter"}),
            _ => Value::Null,
        };
        let status = if incomplete.is_null() { "completed" } else { "incomplete" };
        let output = items.iter().map(|i| i.json(true, status, self)).collect();
        let mut r = self.response(status, output, usage_from_openai(usage));
        r["incomplete_details"] = incomplete;
        if status == "completed" {
            r["completed_at"] = crate::clock::unix_now().into();
        }
        r
    }
}

/// Chat Completions `usage` → Responses `usage` (cached and reasoning tokens included).
fn usage_from_openai(u: &Value) -> Value {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/prompt_tokens"), n("/completion_tokens"));
    json!({"input_tokens": input,
           "input_tokens_details": {"cached_tokens": n("/prompt_tokens_details/cached_tokens"), "cache_write_tokens": 0},
           "output_tokens": output,
           "output_tokens_details": {"reasoning_tokens": n("/completion_tokens_details/reasoning_tokens")},
           "total_tokens": u.get("total_tokens").and_then(Value::as_u64).unwrap_or(input.saturating_add(output))})
}

/// The raw text of a custom tool's call from the `{"input": "…"}` it travelled as.
fn custom_input(arguments: &str) -> String {
    let v: Option<Value> = serde_json::from_str(arguments).ok();
    v.as_ref().and_then(|v| v.get("input")?.as_str()).unwrap_or(arguments).to_string()
}

/// The reasoning and the text (or refusal) of a Chat Completions message or delta, each if not empty.
fn reasoning_and_text(m: &Value) -> (Option<&str>, Option<&str>) {
    let reasoning = m.get("reasoning_content").or(m.get("reasoning")).and_then(Value::as_str);
    let text = m.get("content").and_then(Value::as_str).or(m.get("refusal").and_then(Value::as_str));
    (reasoning.filter(|r| !r.is_empty()), text.filter(|t| !t.is_empty()))
}

/// One output item of a response being built.
#[derive(Debug, Clone)]
enum Item {
    /// Reasoning, shown as its summary.
    Reasoning { id: String, text: String },
    /// The assistant's text, with its `url_citation` annotations (Responses-shaped).
    Message { id: String, text: String, annotations: Vec<Value> },
    /// A web search the upstream ran (Anthropic's web search tool): its query, and whether it failed.
    Search { id: String, query: String, failed: bool },
    /// A tool call; `custom` for a freeform tool, whose `arguments` hold `{"input": "…"}`.
    Call { id: String, call_id: String, name: String, arguments: String, custom: bool },
}

impl Item {
    /// The item's id.
    fn id(&self) -> &str {
        match self {
            Item::Reasoning { id, .. } | Item::Message { id, .. } | Item::Search { id, .. } | Item::Call { id, .. } => {
                id
            }
        }
    }

    /// The item as JSON; `done` with its content, otherwise as just added.
    fn json(&self, done: bool, status: &str, ctx: &Context) -> Value {
        let status = if done { status } else { "in_progress" };
        match self {
            Item::Reasoning { id, text } => {
                let summary = if done { json!([{"type": "summary_text", "text": text}]) } else { json!([]) };
                json!({"id": id, "type": "reasoning", "summary": summary})
            }
            Item::Message { id, text, annotations } => {
                let content = if done { json!([text_part(text, annotations)]) } else { json!([]) };
                json!({"id": id, "type": "message", "role": "assistant", "status": status, "content": content})
            }
            Item::Search { id, query, failed } => {
                let status = match (done, failed) {
                    (false, _) => "in_progress",
                    (true, true) => "failed",
                    (true, false) => "completed",
                };
                json!({"id": id, "type": "web_search_call", "status": status, "action": {"type": "search", "query": query}})
            }
            Item::Call { id, call_id, name, arguments, custom: true } => {
                let input = if done { custom_input(arguments) } else { String::new() };
                json!({"id": id, "type": "custom_tool_call", "call_id": call_id, "name": name, "input": input})
            }
            Item::Call { id, call_id, name, arguments, custom: false } => {
                let arguments = if done { arguments.as_str() } else { "" };
                let mut call = json!({"id": id, "type": "function_call", "status": status, "call_id": call_id,
                                      "name": name, "arguments": arguments});
                // A tool declared in a namespace: its calls say which.
                if let Some((_, ns)) = ctx.namespaced.iter().find(|(n, _)| n == name) {
                    call["namespace"] = ns.as_str().into();
                }
                call
            }
        }
    }
}

/// An `output_text` content part.
fn text_part(text: &str, annotations: &[Value]) -> Value {
    json!({"type": "output_text", "text": text, "annotations": annotations, "logprobs": []})
}

/// A Chat Completions `url_citation` annotation in the Responses shape, for a message item whose
/// text starts `shift` characters into the chat message's.
fn annotation(a: &Value, shift: u64) -> Option<Value> {
    let c = a.get("url_citation")?;
    let at = |k: &str| c[k].as_u64().unwrap_or(0).saturating_sub(shift);
    Some(json!({"type": "url_citation", "start_index": at("start_index"), "end_index": at("end_index"),
                "url": c["url"], "title": c["title"]}))
}

/// The web searches an Anthropic message ran with its web search tool: each query, and whether
/// it failed (its result is an error, or missing).
fn web_searches_of(msg: &Value) -> Vec<(String, bool)> {
    let blocks = msg["content"].as_array().map_or(&[][..], Vec::as_slice);
    let results = blocks.iter().filter(|r| r["type"] == "web_search_tool_result");
    let ran: HashSet<&str> =
        results.filter(|r| !super::response::search_failed(r)).filter_map(|r| r["tool_use_id"].as_str()).collect();
    let searches = blocks.iter().filter(|b| b["type"] == "server_tool_use" && b["name"] == "web_search");
    let query = |b: &Value| b.pointer("/input/query").and_then(Value::as_str).unwrap_or("").to_string();
    searches.map(|b| (query(b), !b["id"].as_str().is_some_and(|id| ran.contains(id)))).collect()
}

/// A complete Chat Completions answer → a Response object.
fn response_from_openai(resp: &Value, searches: Vec<(String, bool)>, ctx: &Context) -> Value {
    let message = resp.pointer("/choices/0/message").unwrap_or(&Value::Null);
    let mut items = Vec::new();
    let (reasoning, text) = reasoning_and_text(message);
    if let Some(r) = reasoning {
        items.push(Item::Reasoning { id: ctx.item_id("rs", items.len()), text: r.into() });
    }
    for (query, failed) in searches {
        items.push(Item::Search { id: ctx.item_id("ws", items.len()), query, failed });
    }
    if let Some(t) = text {
        let annotations =
            message["annotations"].as_array().into_iter().flatten().filter_map(|a| annotation(a, 0)).collect();
        items.push(Item::Message { id: ctx.item_id("msg", items.len()), text: t.into(), annotations });
    }
    for c in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let arguments = c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("").to_string();
        items.push(ctx.call_item(c, items.len(), arguments));
    }
    let finish = resp.pointer("/choices/0/finish_reason").and_then(Value::as_str);
    ctx.finished(&items, finish, resp.get("usage").unwrap_or(&Value::Null))
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
    let (chat, searches) = match wire {
        Dialect::Anthropic => {
            if let Some(name) = &ctx.answer_tool {
                super::structured::tool_as_text(&mut v, name);
            }
            (super::response::anthropic_to_openai(&v, &ctx.model), web_searches_of(&v))
        }
        _ => (v, Vec::new()),
    };
    Ok(response_from_openai(&chat, searches, ctx))
}

/// The stages that turn a `wire`-dialect stream into the Responses stream of `ctx`.
pub fn stages(wire: Dialect, ctx: Context, on_complete: Option<OnComplete>) -> Vec<Box<dyn Transform>> {
    let last: Box<dyn Transform> = Box::new(stream::OpenAiToResponses::new(ctx.clone(), on_complete));
    match wire {
        Dialect::Anthropic => {
            let answer_tool = ctx.answer_tool.clone();
            let first = super::stream::AnthropicToOpenAi::new(&ctx.model, true).answer_tool(answer_tool).web_searches();
            vec![Box::new(first), last]
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

    pub(super) fn events(out: &[Event]) -> Vec<Value> {
        out.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect()
    }

    pub(super) fn kinds(v: &[Value]) -> Vec<&str> {
        v.iter().map(|e| e["type"].as_str().unwrap()).collect()
    }

    #[test]
    fn an_output_items_id_names_its_response() {
        let ctx = Context::new(&json!({"input": "hi"}), "m");
        for (prefix, index) in [("msg", 0), ("rs", 3), ("fc", 12)] {
            assert_eq!(response_of_item(&ctx.item_id(prefix, index)).as_deref(), Some(ctx.id.as_str()));
        }
        assert_eq!(response_of_item("msg_unknown"), None);
        // Ids were the time and a counter mixed by a fixed function: an id told its counter, and
        // the time of another client's request was all that was left to guess.
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| mint_id("resp")).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 5 + ID_DIGITS && id[5..].bytes().all(|b| b.is_ascii_hexdigit())));
        assert_eq!(response_of_item(&ctx.id), None);
    }

    #[test]
    fn a_whole_answer_becomes_a_response_and_its_stream() {
        let ctx = Context::new(&json!({"tools": [{"type": "custom", "name": "apply_patch"}]}), "m");
        let chat = json!({"choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant",
            "content": "Hi", "reasoning_content": "Hmm",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"raw\"}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}});
        let r = response_from_openai(&chat, Vec::new(), &ctx);
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
        let r = response_from_openai(&answer, Vec::new(), &Context::new(&request, "m"));
        assert_eq!(
            (r["output"][0]["name"].as_str(), r["output"][0]["namespace"].as_str()),
            (Some("spawn_agent"), Some("multi_agent_v1"))
        );
    }
}
