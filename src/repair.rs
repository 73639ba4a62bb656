//! Stream repair for every Chat Completions stream leaving the proxy, whatever produced it:
//! exactly one `finish_reason` per choice (an upstream's extra `stop` after `tool_calls` is
//! dropped), nothing generated after the finish (the upstream call is ended; a usage chunk is
//! kept), `data: [DONE]` last, tool-call fragments without empty `id`/`type`/`name`, legacy
//! `function_call` deltas upgraded to `tool_calls`. Events that need no repair leave as the
//! exact bytes they arrived as. Also the opt-in rewrites some clients want (Cursor): dropping
//! `"finish_reason": null`, mirroring reasoning into the content as `<think>…</think>`, and
//! giving calls of Responses-style `custom` tools their raw text as arguments.

use crate::error::Error;
use crate::sse::Event;
use crate::translate::{accumulate, stream_index, Transform, MAX_STREAM_INDEX};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

/// Which optional rewrites apply to this response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Remove `"finish_reason": null` from chunks (the original's `cursor-compatible`).
    pub drop_null_finish_reason: bool,
    /// Put reasoning into the content as `<think>…</think>` (LiteLLM's
    /// `merge_reasoning_content_in_choices`; the original's `reasoning-to-think`).
    pub think_tags: bool,
    /// Names of Responses-style `custom` tools: their calls come back as `{"input": "…"}`
    /// and leave with the raw text as arguments.
    pub custom_tools: Vec<String>,
}

/// One tool call of a choice.
#[derive(Debug, Default)]
struct Call {
    index: u64,
    /// A `custom` tool: arguments are held back until the call is complete.
    custom: bool,
    held: String,
}

/// One choice of the stream.
#[derive(Debug, Default)]
struct Choice {
    index: u64,
    finished: bool,
    calls: Vec<Call>,
    think_open: bool,
}

impl Choice {
    /// Adds the held arguments of this choice's custom-tool calls to `delta`, unwrapped; whether
    /// that changed it.
    fn flush_custom(&mut self, delta: &mut Map<String, Value>) -> bool {
        let mut calls = Vec::new();
        for call in self.calls.iter_mut().filter(|c| c.custom && !c.held.is_empty()) {
            let held = std::mem::take(&mut call.held);
            let raw = match serde_json::from_str::<Value>(&held) {
                Ok(Value::Object(o)) if o.len() == 1 && o.contains_key("input") => match &o["input"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                _ => held,
            };
            calls.push(json!({"index": call.index, "function": {"arguments": raw}}));
        }
        if calls.is_empty() {
            return false;
        }
        let Some(list) = delta.entry("tool_calls").or_insert(json!([])).as_array_mut() else { return false };
        list.extend(calls);
        true
    }

    /// Reasoning moved into the content between `<think>` and `</think>` (opt-in).
    fn think_tags(&mut self, c: &mut Map<String, Value>, changed: &mut bool) {
        let finishing = c.get("finish_reason").is_some_and(|f| !f.is_null());
        let delta = c.get_mut("delta").and_then(Value::as_object_mut).expect("delta is an object");
        // Both spellings go (collected first: a lazy search would stop at the first key).
        let removed: Vec<Value> = ["reasoning_content", "reasoning"].iter().filter_map(|k| delta.remove(*k)).collect();
        *changed |= !removed.is_empty();
        let reasoning = removed.iter().filter_map(Value::as_str).find(|r| !r.is_empty()).map(String::from);
        let content = delta.get("content").and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(r) = reasoning {
            let tag = if self.think_open { "" } else { "<think>" };
            delta.insert("content".into(), format!("{tag}{r}{content}").into());
            self.think_open = true;
            *changed = true;
        } else if self.think_open && (delta.contains_key("content") || delta.contains_key("tool_calls") || finishing) {
            delta.insert("content".into(), format!("</think>{content}").into());
            self.think_open = false;
            *changed = true;
        }
    }

    /// A choice's finish: `tool_calls` when it made calls, held custom arguments released; a
    /// `"finish_reason": null` dropped when opted in.
    fn finish(&mut self, c: &mut Map<String, Value>, drop_null: bool, changed: &mut bool) {
        match c.get("finish_reason").and_then(Value::as_str).map(String::from) {
            Some(f) => {
                let fixed = match f.as_str() {
                    "function_call" => "tool_calls",
                    "stop" if !self.calls.is_empty() => "tool_calls",
                    other => other,
                };
                if fixed != f {
                    c.insert("finish_reason".into(), fixed.into());
                    *changed = true;
                }
                let delta = c.get_mut("delta").and_then(Value::as_object_mut).expect("delta is an object");
                *changed |= self.flush_custom(delta);
                self.finished = true;
            }
            None if drop_null && c.contains_key("finish_reason") => {
                c.remove("finish_reason");
                *changed = true;
            }
            None => {}
        }
    }
}

/// The repairing state machine; see the module docs.
pub struct Repair {
    opts: Options,
    choices: Vec<Choice>,
    /// The [`TEMPLATE`] fields of the last chunk, for chunks the proxy has to add.
    template: Map<String, Value>,
    calls_minted: usize,
    done: bool,
}

impl Repair {
    /// A repairer with these optional rewrites.
    pub fn new(opts: Options) -> Repair {
        Repair { opts, choices: Vec::new(), template: Map::new(), calls_minted: 0, done: false }
    }

    fn choice(&mut self, index: u64) -> &mut Choice {
        if let Some(i) = self.choices.iter().position(|c| c.index == index) {
            return &mut self.choices[i];
        }
        self.choices.push(Choice { index, ..Choice::default() });
        self.choices.last_mut().expect("just pushed")
    }

    fn chunk(&self, choices: Value) -> Value {
        let mut c = self.template.clone();
        c.insert("object".into(), "chat.completion.chunk".into());
        c.insert("choices".into(), choices);
        Value::Object(c)
    }

    /// Finishes every open choice and writes `[DONE]`.
    fn close(&mut self, out: &mut Vec<Event>) {
        for i in 0..self.choices.len() {
            let choice = &mut self.choices[i];
            if std::mem::replace(&mut choice.finished, true) {
                continue;
            }
            let mut delta = Map::new();
            choice.flush_custom(&mut delta);
            if std::mem::take(&mut choice.think_open) {
                delta.insert("content".into(), "</think>".into());
            }
            let finish = if choice.calls.is_empty() { "stop" } else { "tool_calls" };
            let c = json!([{"index": choice.index, "delta": delta, "logprobs": null, "finish_reason": finish}]);
            out.push(Event::data(self.chunk(c).to_string()));
        }
        out.push(Event::data("[DONE]"));
        self.done = true;
    }

    /// Repairs one choice in place; returns `false` when it must be dropped (it comes after its
    /// own finish) and whether it generated anything. Errs on an index past the limit.
    fn repair_choice(&mut self, c: &mut Map<String, Value>, changed: &mut bool) -> Result<(bool, bool), Error> {
        let index = stream_index("choice", c.get("index").and_then(Value::as_u64).unwrap_or(0))?;
        // A missing delta, or one that is not an object (`"delta": null`), is an empty one.
        if !c.get("delta").is_some_and(Value::is_object) {
            c.insert("delta".into(), json!({}));
            *changed = true;
        }
        let delta = c.get_mut("delta").and_then(Value::as_object_mut).expect("delta is an object");
        let generates = ["content", "reasoning_content", "reasoning", "tool_calls", "function_call"]
            .iter()
            .any(|k| delta.get(*k).is_some_and(|v| !v.is_null() && v != "" && v != &json!([])));
        if self.choice(index).finished {
            *changed = true;
            return Ok((false, generates));
        }
        if let Some(fc) = delta.remove("function_call") {
            // The legacy single function call becomes tool call 0.
            let mut call = json!({"index": 0, "function": fc});
            if self.choice(index).calls.is_empty() {
                self.calls_minted += 1;
                call["id"] = format!("call_proxy_{}", self.calls_minted).into();
                call["type"] = "function".into();
            }
            delta.insert("tool_calls".into(), json!([call]));
            *changed = true;
        }
        if let Some(calls) = delta.get_mut("tool_calls").and_then(Value::as_array_mut) {
            self.repair_calls(index, calls, changed)?;
            if calls.is_empty() {
                delta.remove("tool_calls");
            }
        }
        if self.opts.think_tags {
            self.choice(index).think_tags(c, changed);
        }
        let drop_null = self.opts.drop_null_finish_reason;
        self.choice(index).finish(c, drop_null, changed);
        Ok((true, generates))
    }

    /// Tool-call fragments of one choice: empty `id`/`type`/`name` removed, the first fragment of
    /// each call given an `id` and `type`, a custom tool's arguments held until the call ends.
    /// Errs on an index past the limit.
    fn repair_calls(&mut self, index: u64, calls: &mut Vec<Value>, changed: &mut bool) -> Result<(), Error> {
        for tc in calls.iter_mut().filter_map(Value::as_object_mut) {
            let ti = stream_index("tool call", tc.get("index").and_then(Value::as_u64).unwrap_or(0))?;
            let empty = |v: &Value| v == "" || v.is_null();
            for key in ["id", "type"] {
                if tc.get(key).is_some_and(empty) {
                    tc.remove(key);
                    *changed = true;
                }
            }
            if let Some(f) = tc.get_mut("function").and_then(Value::as_object_mut) {
                if f.get("name").is_some_and(empty) {
                    f.remove("name");
                    *changed = true;
                }
            }
            if !self.choice(index).calls.iter().any(|k| k.index == ti) {
                if !tc.contains_key("id") {
                    self.calls_minted += 1;
                    tc.insert("id".into(), format!("call_proxy_{}", self.calls_minted).into());
                    *changed = true;
                }
                if !tc.contains_key("type") {
                    tc.insert("type".into(), "function".into());
                    *changed = true;
                }
                let name = tc.get("function").and_then(|f| f.get("name")).and_then(Value::as_str);
                let custom = name.is_some_and(|n| self.opts.custom_tools.iter().any(|t| t == n));
                self.choice(index).calls.push(Call { index: ti, custom, held: String::new() });
            }
            let call = self.choice(index).calls.iter_mut().find(|k| k.index == ti).expect("call was just recorded");
            if call.custom {
                if let Some(a) =
                    tc.get_mut("function").and_then(|f| f.as_object_mut()).and_then(|f| f.remove("arguments"))
                {
                    accumulate("custom tool call's input", &mut call.held, a.as_str().unwrap_or(""))?;
                    *changed = true;
                }
            }
        }
        // A fragment that only carried held arguments says nothing any more.
        let says = |(k, v): (&String, &Value)| k != "index" && (k != "function" || v != &json!({}));
        calls.retain(|tc| tc.as_object().is_some_and(|o| o.iter().any(says)));
        Ok(())
    }
}

/// The fields of the chunks the proxy adds that come from the stream's own; they rarely change
/// within a stream, so they are copied only when they do.
const TEMPLATE: [&str; 5] = ["id", "object", "created", "model", "system_fingerprint"];

/// A chunk as most of a stream's chunks are: only what decides that it needs no repair is read.
#[derive(Deserialize)]
struct Plain {
    #[serde(default, deserialize_with = "present")]
    error: bool,
    #[serde(default, deserialize_with = "some")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "some")]
    object: Option<Value>,
    #[serde(default, deserialize_with = "some")]
    created: Option<Value>,
    #[serde(default, deserialize_with = "some")]
    model: Option<Value>,
    #[serde(default, deserialize_with = "some")]
    system_fingerprint: Option<Value>,
    choices: Option<Vec<PlainChoice>>,
}

/// A choice of a [`Plain`] chunk: text or role only, not finishing.
#[derive(Deserialize)]
struct PlainChoice {
    index: u64,
    #[allow(dead_code)] // only that it parses counts
    delta: PlainDelta,
    #[serde(default, deserialize_with = "some")]
    finish_reason: Option<Value>,
}

/// A delta with nothing the repair touches (any other field: not plain); only that it parses counts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PlainDelta {
    role: Option<IgnoredAny>,
    content: Option<IgnoredAny>,
    refusal: Option<IgnoredAny>,
}

/// A field that is there, even as `null`.
fn some<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Whether a field is there at all.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

impl Repair {
    /// The common chunk, decided without building it: text of choices not yet finished, no
    /// finish, no calls, no opted-in rewrite. Records what the full path would (the template,
    /// the choices seen) and returns `true` when the event passes as it came.
    fn plain(&mut self, data: &str) -> bool {
        if self.opts.think_tags || !data.trim_start().starts_with('{') {
            return false;
        }
        let Ok(p) = serde_json::from_str::<Plain>(data) else { return false };
        let choices = p.choices.unwrap_or_default();
        let finishing = |c: &PlainChoice| match &c.finish_reason {
            Some(Value::Null) => self.opts.drop_null_finish_reason,
            other => other.is_some(),
        };
        let finished = |c: &PlainChoice| self.choices.iter().any(|k| k.index == c.index && k.finished);
        // An index past the limit takes the full path, which ends the stream there.
        if p.error || choices.iter().any(|c| c.index > MAX_STREAM_INDEX || finishing(c) || finished(c)) {
            return false;
        }
        for (key, v) in TEMPLATE.into_iter().zip([p.id, p.object, p.created, p.model, p.system_fingerprint]) {
            if let Some(v) = v.filter(|v| self.template.get(key) != Some(v)) {
                self.template.insert(key.into(), v);
            }
        }
        for c in &choices {
            self.choice(c.index);
        }
        true
    }
}

impl Transform for Repair {
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        if ev.data.trim() == "[DONE]" {
            self.close(out);
            return Ok(());
        }
        if self.plain(&ev.data) {
            out.push(ev);
            return Ok(());
        }
        let Ok(Value::Object(mut chunk)) = serde_json::from_str::<Value>(&ev.data) else {
            // Not a chunk: nothing to repair, pass it on as it came.
            out.push(ev);
            return Ok(());
        };
        if chunk.contains_key("error") {
            out.push(ev);
            self.done = true;
            return Ok(());
        }
        for key in TEMPLATE {
            if let Some(v) = chunk.get(key).filter(|v| self.template.get(key) != Some(*v)) {
                self.template.insert(key.into(), v.clone());
            }
        }
        let mut changed = false;
        let all_finished_before = !self.choices.is_empty() && self.choices.iter().all(|c| c.finished);
        let mut runaway = false;
        let had_choices = chunk.get("choices").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        if let Some(Value::Array(choices)) = chunk.remove("choices") {
            let mut kept = Vec::new();
            for mut c in choices {
                let Value::Object(ref mut obj) = c else {
                    changed = true; // a choice that is not an object is dropped
                    continue;
                };
                let (keep, generates) = self.repair_choice(obj, &mut changed)?;
                runaway |= !keep && generates;
                if keep {
                    kept.push(c);
                }
            }
            chunk.insert("choices".into(), Value::Array(kept));
        }
        if runaway && all_finished_before {
            // The upstream went on generating after its finish: end here (the caller stops
            // reading, which ends the upstream call).
            self.close(out);
            return Ok(());
        }
        let empty = chunk.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
        let usage = chunk.get("usage").is_some_and(|u| !u.is_null());
        if had_choices && empty && !usage {
            return Ok(()); // only a duplicate finish or after-finish output: drop it
        }
        out.push(if changed { Event::data(Value::Object(chunk).to_string()) } else { ev });
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
        if !self.done {
            self.close(out);
        }
        Ok(())
    }

    fn done(&self) -> bool {
        self.done
    }
}

/// The same repairs on a complete (non-streamed) Chat Completions answer, parsed: whether
/// anything changed (if not, the upstream's bytes can go out as they came).
pub fn complete_value(v: &mut Value, opts: &Options) -> bool {
    let mut changed = false;
    for c in v.get_mut("choices").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(m) = c.get_mut("message").and_then(Value::as_object_mut) else { continue };
        if let Some(fc) = m.remove("function_call") {
            m.insert("tool_calls".into(), json!([{"id": "call_proxy_1", "type": "function", "function": fc}]));
            changed = true;
        }
        for tc in m.get_mut("tool_calls").and_then(Value::as_array_mut).into_iter().flatten() {
            let name = tc.pointer("/function/name").and_then(Value::as_str).unwrap_or("");
            if !opts.custom_tools.iter().any(|t| t == name) {
                continue;
            }
            let args = tc.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("");
            let input =
                serde_json::from_str::<Value>(args).ok().and_then(|o| Some(o.get("input")?.as_str()?.to_string()));
            if let Some(raw) = input {
                tc["function"]["arguments"] = raw.into();
                changed = true;
            }
        }
        if opts.think_tags {
            let removed: Vec<Value> = ["reasoning_content", "reasoning"].iter().filter_map(|k| m.remove(*k)).collect();
            changed |= !removed.is_empty();
            if let Some(r) = removed.iter().filter_map(Value::as_str).find(|r| !r.is_empty()) {
                let content = m.get("content").and_then(Value::as_str).unwrap_or("");
                m.insert("content".into(), format!("<think>{r}</think>{content}").into());
                changed = true;
            }
        }
        if c.get("finish_reason").and_then(Value::as_str) == Some("function_call") {
            c["finish_reason"] = "tool_calls".into();
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(opts: Options, events: &[&str]) -> Vec<String> {
        let mut r = Repair::new(opts);
        let mut out = Vec::new();
        for data in events {
            let raw = format!("data: {data}\n\n").into_bytes();
            r.event(Event { name: None, data: data.to_string(), raw }, &mut out).unwrap();
            if r.done() {
                break;
            }
        }
        r.end(&mut out).unwrap();
        out.into_iter().map(|e| e.data).collect()
    }

    /// The string at `pointer` in the chunk `data`.
    fn field(data: &str, pointer: &str) -> Option<String> {
        serde_json::from_str::<Value>(data).unwrap().pointer(pointer).and_then(Value::as_str).map(String::from)
    }

    const TOOL: &str = r#"{"id":"a","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#;

    #[test]
    fn extra_stop_after_tool_calls_is_dropped_and_usage_kept() {
        let stop = r#"{"id":"a","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        let usage = r#"{"id":"a","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
        let out = run(Options::default(), &[TOOL, stop, usage, "[DONE]"]);
        assert_eq!(out, [TOOL, usage, "[DONE]"], "untouched events pass as they came");
    }

    #[test]
    fn generation_after_the_finish_ends_the_stream() {
        let more = r#"{"id":"a","choices":[{"index":0,"delta":{"content":"and more"},"finish_reason":null}]}"#;
        let out = run(Options::default(), &[TOOL, more, more]);
        assert_eq!(out, [TOOL, "[DONE]"]);
    }

    #[test]
    fn a_missing_finish_and_done_are_added() {
        let text = r#"{"id":"a","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
        let out = run(Options::default(), &[text]);
        assert_eq!(out.len(), 3);
        let fin: Value = serde_json::from_str(&out[1]).unwrap();
        assert_eq!((fin["choices"][0]["finish_reason"].as_str(), fin["model"].as_str()), (Some("stop"), Some("m")));
        assert_eq!(out[2], "[DONE]");
    }

    #[test]
    fn empty_continuation_fields_are_removed_and_a_missing_first_id_is_minted() {
        let first =
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":""}}]}}]}"#;
        let cont = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"","type":"","function":{"name":"","arguments":"{}"}}]}}]}"#;
        let out = run(Options::default(), &[first, cont]);
        let a: Value = serde_json::from_str(&out[0]).unwrap();
        assert!(a["choices"][0]["delta"]["tool_calls"][0]["id"].as_str().unwrap().starts_with("call_"));
        let b: Value = serde_json::from_str(&out[1]).unwrap();
        assert_eq!(b["choices"][0]["delta"]["tool_calls"][0], json!({"index": 0, "function": {"arguments": "{}"}}));
        let fin: Value = serde_json::from_str(&out[2]).unwrap();
        assert_eq!(fin["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn plain_chunks_pass_as_they_came_and_still_shape_the_chunks_the_proxy_adds() {
        let a = r#"{ "id":"c1", "model":"m", "system_fingerprint":null, "choices":[{"index":1,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
        let out = run(Options::default(), &[a, "[DONE]"]);
        assert_eq!(out[0], a, "passed byte for byte");
        let fin: Value = serde_json::from_str(&out[1]).unwrap();
        assert_eq!((fin["id"].as_str(), fin["model"].as_str()), (Some("c1"), Some("m")));
        assert!(fin["system_fingerprint"].is_null() && fin.as_object().unwrap().contains_key("system_fingerprint"));
        assert_eq!(
            (fin["choices"][0]["index"].as_u64(), fin["choices"][0]["finish_reason"].as_str()),
            (Some(1), Some("stop"))
        );
        // With the null finish to drop, the same chunk is rewritten.
        let opts = Options { drop_null_finish_reason: true, ..Options::default() };
        assert!(!run(opts, &[a])[0].contains("finish_reason"));
    }

    #[test]
    fn legacy_function_call_is_upgraded() {
        let f = r#"{"choices":[{"index":0,"delta":{"function_call":{"name":"f","arguments":"{}"}},"finish_reason":"function_call"}]}"#;
        let out = run(Options::default(), &[f, "[DONE]"]);
        let v: Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(v["choices"][0]["delta"]["tool_calls"][0]["function"]["name"], "f");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn opt_in_null_dropping_and_think_tags() {
        let opts = Options { drop_null_finish_reason: true, think_tags: true, ..Options::default() };
        let r1 =
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"hm","reasoning":"hm"},"finish_reason":null}]}"#;
        let r2 = r#"{"choices":[{"index":0,"delta":{"reasoning_content":"m."},"finish_reason":null}]}"#;
        let c = r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
        let out = run(opts, &[r1, r2, c, "[DONE]"]);
        let content: String = out[..3].iter().map(|e| field(e, "/choices/0/delta/content").unwrap()).collect();
        assert_eq!(content, "<think>hmm.</think>Hi");
        assert!(!out[0].contains("finish_reason") && !out[0].contains("reasoning"), "{}", out[0]);
    }

    #[test]
    fn a_null_delta_is_an_empty_one_and_odd_choices_or_empty_reasoning_leave_the_chunk() {
        // `"delta": null` panicked the worker.
        let null = r#"{"id":"a","choices":[{"index":0,"delta":null,"finish_reason":"stop"}]}"#;
        let out = run(Options::default(), &[null, "[DONE]"]);
        assert_eq!(field(&out[0], "/choices/0/finish_reason").as_deref(), Some("stop"), "{}", out[0]);
        assert!(out[0].contains(r#""delta":{}"#), "{}", out[0]);
        // A choice that is not an object is dropped from what goes out, not only from the parse.
        let odd = r#"{"id":"a","choices":[7],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#;
        let out = run(Options::default(), &[odd, "[DONE]"]);
        assert!(out[0].contains(r#""choices":[]"#), "{}", out[0]);
        // An empty reasoning is removed from what goes out when think tags are on.
        let opts = Options { think_tags: true, ..Options::default() };
        let empty = r#"{"choices":[{"index":0,"delta":{"reasoning_content":""},"finish_reason":null}]}"#;
        let out = run(opts, &[empty, "[DONE]"]);
        assert!(!out[0].contains("reasoning"), "{}", out[0]);
    }

    #[test]
    fn custom_tool_calls_leave_with_their_raw_text() {
        let opts = Options { custom_tools: vec!["ApplyPatch".into()], ..Options::default() };
        let a = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"ApplyPatch","arguments":"{\"inp"}}]}}]}"#;
        let b = r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ut\":\"*** Begin\\n\"}"}}]},"finish_reason":"tool_calls"}]}"#;
        let out = run(opts, &[a, b, "[DONE]"]);
        let args = out[..2].iter().filter_map(|e| field(e, "/choices/0/delta/tool_calls/0/function/arguments"));
        let args: String = args.collect();
        assert_eq!(args, "*** Begin\n");
    }
}
