//! Type confusion from the upstream side: realistic upstream stream events and whole answers of
//! each dialect, each JSON node in turn (every member and element, recursively, and the whole
//! value) replaced by a value of every other type, through every stream pipeline and every
//! whole-answer conversion the proxy runs; and client request bodies, mutated the same way,
//! through every request translation. Deterministic; nothing may panic.

use gpt_reverse_proxy::config::ModelInfo;
use gpt_reverse_proxy::dialect::Dialect::{self, Anthropic, Ollama, OpenAi, Responses};
use gpt_reverse_proxy::repair::{self, Options, Repair};
use gpt_reverse_proxy::sse::Event;
use gpt_reverse_proxy::translate::{self, generate, normalize, responses, Pipeline, Target, Transform};
use gpt_reverse_proxy::usage;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

/// What each node is replaced by: every JSON type, numbers no token count or index can hold.
fn replacements() -> Vec<Value> {
    serde_json::from_str(r#"[null, 7, -1, 1e300, "s", true, [], {}, [1], 18446744073709551615]"#).unwrap()
}

/// One upstream event: its SSE `event:` name and its data.
type Ev = (Option<&'static str>, Value);

fn chunk(choice: Value) -> Ev {
    (
        None,
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "g", "choices": [choice]}),
    )
}

fn openai_stream() -> Vec<Ev> {
    let call =
        |i, id, name| json!({"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
    vec![
        chunk(json!({"index": 0, "delta": {"role": "assistant", "content": "", "reasoning_content": "Hm"},
                     "logprobs": null, "finish_reason": null})),
        chunk(json!({"index": 0, "delta": {"reasoning": "Hm", "content": "Hi"}, "finish_reason": null})),
        chunk(
            json!({"index": 0, "delta": {"tool_calls": [call(0, "call_1", "f"), call(1, "call_2", "json_response")]}}),
        ),
        chunk(
            json!({"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"input\":\"a\"}"}}]}}),
        ),
        chunk(json!({"index": 0, "delta": {"function_call": {"name": "h", "arguments": "{}"}}})),
        chunk(json!({"index": 0, "delta": {}, "finish_reason": "tool_calls"})),
        (
            None,
            json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                      "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 2}}}),
        ),
    ]
}

fn openai_error_stream() -> Vec<Ev> {
    let first = chunk(json!({"index": 0, "delta": {"role": "assistant", "content": "a"}}));
    vec![first, (None, json!({"error": {"message": "boom", "type": "server_error", "code": 429}}))]
}

fn anthropic_stream() -> Vec<Ev> {
    let ev = |name, v: Value| (Some(name), v);
    let start = |i, block: Value| {
        ev("content_block_start", json!({"type": "content_block_start", "index": i, "content_block": block}))
    };
    let delta = |i, d: Value| ev("content_block_delta", json!({"type": "content_block_delta", "index": i, "delta": d}));
    let stop = |i| ev("content_block_stop", json!({"type": "content_block_stop", "index": i}));
    vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "model": "c", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 3}}}),
        ),
        ev("ping", json!({"type": "ping"})),
        start(0, json!({"type": "thinking", "thinking": "", "signature": ""})),
        delta(0, json!({"type": "thinking_delta", "thinking": "Hm"})),
        delta(0, json!({"type": "signature_delta", "signature": "EuYB"})),
        stop(0),
        start(1, json!({"type": "text", "text": ""})),
        delta(1, json!({"type": "text_delta", "text": "Hi"})),
        stop(1),
        start(2, json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}})),
        delta(2, json!({"type": "input_json_delta", "partial_json": "{\"a\":"})),
        delta(2, json!({"type": "input_json_delta", "partial_json": "1}"})),
        stop(2),
        start(3, json!({"type": "tool_use", "id": "toolu_2", "name": "json_response", "input": {}})),
        delta(3, json!({"type": "input_json_delta", "partial_json": "{}"})),
        stop(3),
        start(4, json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}})),
        delta(4, json!({"type": "input_json_delta", "partial_json": "{\"query\": \"q\"}"})),
        stop(4),
        start(5, json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []})),
        stop(5),
        start(6, json!({"type": "text", "text": ""})),
        delta(
            6,
            json!({"type": "citations_delta", "citation": {"type": "web_search_result_location",
            "url": "https://a.org", "title": "A", "cited_text": "c", "encrypted_index": "Eo"}}),
        ),
        delta(6, json!({"type": "text_delta", "text": "Sun"})),
        stop(6),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 25}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ]
}

fn anthropic_error_stream() -> Vec<Ev> {
    let mut s = anthropic_stream();
    s.truncate(1);
    s.push((Some("error"), json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})));
    s
}

/// A Responses stream: only metered (a Responses upstream's stream goes to the client as it came).
fn responses_stream() -> Vec<Ev> {
    let r = json!({"id": "resp_1", "object": "response", "status": "completed", "output": [],
                   "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}});
    vec![(Some("response.completed"), json!({"type": "response.completed", "sequence_number": 9, "response": r}))]
}

/// Ollama chat lines (the last a whole answer), as the Ollama translation writes them and
/// `/api/generate` reads them.
fn ollama_lines() -> Vec<Ev> {
    let call = json!({"function": {"name": "f", "arguments": {"a": 1}}, "id": "c1"});
    vec![
        (
            None,
            json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "a", "thinking": "h"}, "done": false}),
        ),
        (
            None,
            json!({"model": "m", "message": {"role": "assistant", "content": "", "tool_calls": [call]}, "done": false}),
        ),
        (
            None,
            json!({"model": "m", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
                      "total_duration": 5, "prompt_eval_count": 3, "eval_count": 4}),
        ),
    ]
}

fn openai_answer() -> Value {
    let call = json!({"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"input\":\"a\"}"}});
    json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "g", "system_fingerprint": null,
           "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {"role": "assistant",
               "content": "<think>x</think>Hi", "reasoning_content": "Hm", "tool_calls": [call],
               "function_call": {"name": "h", "arguments": "{}"}}}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8,
                     "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 2}}})
}

fn anthropic_answer() -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "stop_reason": "tool_use", "stop_sequence": null,
           "content": [{"type": "thinking", "thinking": "Hm", "signature": "EuYB"}, {"type": "text", "text": "Hi"},
                       {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
                       {"type": "tool_use", "id": "toolu_2", "name": "json_response", "input": {"b": 2}},
                       {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                       {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
                        "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}},
                       {"type": "text", "text": "Sun", "citations": [{"type": "web_search_result_location",
                        "url": "https://a.org", "title": "A", "cited_text": "c"}]}],
           "usage": {"input_tokens": 12, "output_tokens": 25, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 3}})
}

fn responses_answer() -> Value {
    json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "g",
           "output": [{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Hm"}]},
                      {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
                      {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{}", "status": "completed"},
                      {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_2", "name": "g", "input": "raw"}],
           "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7,
                     "input_tokens_details": {"cached_tokens": 1}, "output_tokens_details": {"reasoning_tokens": 2}}})
}

fn error_answers() -> Vec<Value> {
    vec![
        json!({"error": {"message": "too long", "type": "invalid_request_error", "param": null, "code": "context_length_exceeded"}}),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "prompt is too long: 250000 tokens > 200000 maximum"}}),
    ]
}

/// A client request of each dialect, with what moves the translations off their plain paths
/// (tools, images, reasoning, structured output, history with calls and results).
fn requests() -> Vec<(Dialect, Value)> {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer", "minimum": 1}}, "required": ["a"]});
    let openai = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 100,
        "reasoning_effort": "high", "tool_choice": {"type": "function", "function": {"name": "f"}}, "stop": ["x"],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": true}},
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": schema}}],
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
                     {"role": "assistant", "content": null, "reasoning_content": "Hm",
                      "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                     {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]});
    let anthropic = json!({"model": "m", "max_tokens": 100, "stream": true, "system": [{"type": "text", "text": "Be brief."}],
        "thinking": {"type": "enabled", "budget_tokens": 2000}, "tool_choice": {"type": "tool", "name": "f"},
        "output_config": {"format": {"type": "json_schema", "schema": schema}}, "stop_sequences": ["x"],
        "tools": [{"name": "f", "description": "d", "input_schema": schema}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"},
                         {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
                     {"role": "assistant", "content": [{"type": "thinking", "thinking": "Hm", "signature": "s"},
                         {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "ok"}]}]}]});
    let ollama = json!({"model": "m", "stream": true, "format": schema, "think": true, "options": {"temperature": 0, "num_predict": 9},
        "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
        "messages": [{"role": "user", "content": "hi", "images": ["iVBO"]},
                     {"role": "assistant", "content": "", "thinking": "Hm", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                     {"role": "tool", "content": "ok", "tool_name": "f"}]});
    let responses = json!({"model": "m", "stream": true, "instructions": "Be brief.", "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "a", "schema": schema}}, "max_output_tokens": 100,
        "tools": [{"type": "function", "name": "f", "parameters": schema}, {"type": "custom", "name": "g"},
                  {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "h"}]},
                  {"type": "web_search", "filters": {"allowed_domains": ["a.org"]},
                   "user_location": {"type": "approximate", "city": "Oslo"}}],
        "input": [{"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
                  {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"},
                      {"type": "input_image", "image_url": "data:image/png;base64,iVBO"}]},
                  {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Hm"}]},
                  {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
                  {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
                  {"type": "custom_tool_call", "call_id": "call_2", "name": "g", "input": "raw"},
                  {"type": "custom_tool_call_output", "call_id": "call_2", "output": "ok"}]});
    vec![(OpenAi, openai), (Anthropic, anthropic), (Ollama, ollama), (Responses, responses)]
}

/// The JSON pointer of every node of `v`, the whole value first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    let child = |k: &str| format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
    match v {
        Value::Object(o) => o.iter().for_each(|(k, x)| pointers(x, child(k), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| pointers(x, child(&i.to_string()), out)),
        _ => {}
    }
    out.push(at);
}

/// Every variant of `v` with one node replaced: its label and its value.
fn variants(v: &Value) -> Vec<(String, Value)> {
    let mut at = Vec::new();
    pointers(v, String::new(), &mut at);
    let mut out = Vec::new();
    for p in at {
        for r in replacements() {
            let mut m = v.clone();
            *m.pointer_mut(&p).unwrap() = r.clone();
            out.push((format!("{p} = {r}"), m));
        }
    }
    out
}

thread_local! {
    /// Set while a panic is expected to be caught here: the hook keeps its message quiet.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The panics caught: where and why, in which function, from which input.
#[derive(Default)]
struct Panics(Vec<String>);

impl Panics {
    fn run(&mut self, input: &str, function: &str, f: impl FnOnce()) {
        QUIET.with(|q| q.set(true));
        let caught = panic::catch_unwind(AssertUnwindSafe(f)).is_err();
        QUIET.with(|q| q.set(false));
        if caught {
            let why = LAST.with(|l| l.take());
            self.0.push(format!("{why} ← {function} ← {input}"));
        }
    }
}

fn quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let before = panic::take_hook();
        panic::set_hook(Box::new(move |info| match QUIET.with(Cell::get) {
            true => LAST.with(|l| *l.borrow_mut() = why(info)),
            false => before(info),
        }));
    });
}

/// Where in the proxy a panic happened (the first of its frames, for a panic inside a
/// dependency such as serde_json's `IndexMut`), and its message.
fn why(info: &panic::PanicHookInfo) -> String {
    let at = info.location().map_or(String::new(), |l| l.to_string());
    let trace = (!at.starts_with("src/")).then(|| std::backtrace::Backtrace::force_capture().to_string());
    let ours = trace.as_deref().and_then(|t| t.split("at ./").find(|f| f.starts_with("src/")));
    let at = ours.and_then(|f| f.lines().next()).unwrap_or(&at);
    let message = info.payload().downcast_ref::<String>().map_or("", String::as_str);
    format!("{at}: {}", info.payload().downcast_ref::<&str>().copied().unwrap_or(message))
}

fn all_options() -> Options {
    Options { drop_null_finish_reason: true, think_tags: true, custom_tools: vec!["f".into()] }
}

fn repair_stage(o: Options) -> Box<dyn Transform> {
    Box::new(Repair::new(o))
}

/// A stream's stages, in order.
type Stages = Vec<Box<dyn Transform>>;

fn then(mut stages: Stages, last: Box<dyn Transform>) -> Stages {
    stages.push(last);
    stages
}

/// Every chain of stages the proxy runs a `wire`-dialect stream through, for the client
/// requests `reqs` (one of each dialect): `(name, stages, client)`. An Ollama client's are
/// those of `/api/generate`, which are `/api/chat`'s and one more.
fn pipelines(wire: Dialect, reqs: &[(Dialect, Value)]) -> Vec<(String, Stages, Dialect)> {
    let mut out = Vec::new();
    for (client, req) in reqs {
        let stages = || match client {
            Responses => responses::stages(wire, responses::Context::new(req, "m"), Some(Box::new(|_: &Value| {}))),
            _ => translate::stream(*client, wire, "m", req),
        };
        let name = format!("{client:?} client of {wire:?}");
        match client {
            OpenAi => {
                let mut with =
                    |o: Options, n| out.push((format!("{name}, repair {n}"), then(stages(), repair_stage(o)), OpenAi));
                with(Options::default(), "default");
                with(all_options(), "all options");
            }
            // `/api/chat`'s stages, then `/api/generate`'s last one.
            Ollama => out.push((
                format!("{name}, /api/generate"),
                then(stages(), Box::<generate::ChatToGenerate>::default()),
                Ollama,
            )),
            _ if *client == wire => {}
            _ => out.push((name, stages(), *client)),
        }
    }
    out
}

/// A stream of `wire` events through every pipeline and the usage meters.
fn feed(panics: &mut Panics, label: &str, wire: Dialect, events: &[Ev], reqs: &[(Dialect, Value)]) {
    let mut evs: Vec<Event> =
        events.iter().map(|(n, v)| Event { name: n.map(String::from), ..Event::data(v.to_string()) }).collect();
    if wire == OpenAi {
        evs.push(Event::data("[DONE]"));
    }
    let mut bytes = Vec::new();
    evs.iter().for_each(|ev| gpt_reverse_proxy::sse::Framing::Sse.write(ev, &mut bytes));
    panics.run(label, "usage::StreamUsage and Meter", || {
        let (mut s, mut m) = (usage::StreamUsage::default(), usage::Meter::default());
        let _ = s.push(&bytes);
        evs.iter().for_each(|ev| m.data(ev.data.as_bytes()));
        let _ = (s.tokens(), m.tokens());
    });
    if wire == Responses {
        return;
    }
    for (name, stages, client) in pipelines(wire, reqs) {
        panics.run(label, &name, || drop(Pipeline::new(stages, client).run_whole(evs.clone())));
    }
}

/// Every stream with one node of one event replaced, through every pipeline.
fn streams(panics: &mut Panics) {
    let reqs = requests();
    let plain: Vec<(Dialect, Value)> = reqs.iter().map(|(d, _)| (*d, json!({"model": "m"}))).collect();
    let cases = [
        ("openai stream", OpenAi, openai_stream()),
        ("openai error stream", OpenAi, openai_error_stream()),
        ("anthropic stream", Anthropic, anthropic_stream()),
        ("anthropic error stream", Anthropic, anthropic_error_stream()),
        ("responses stream", Responses, responses_stream()),
    ];
    for (what, wire, events) in cases {
        // An error stream's first event is the plain stream's: only its error is varied.
        let first = if what.contains("error") { events.len() - 1 } else { 0 };
        for (i, (_, v)) in events.iter().enumerate().skip(first) {
            for (n, (at, m)) in variants(v).into_iter().enumerate() {
                let mut mutated = events.clone();
                mutated[i].1 = m;
                // The rich requests on every variant, the plain ones on every other.
                let reqs = if n % 2 == 0 { &reqs[..] } else { &plain[..] };
                feed(panics, &format!("{what} event {i} {at}"), wire, &mutated, reqs);
            }
        }
    }
    for (i, (_, v)) in ollama_lines().iter().enumerate() {
        for (at, m) in variants(v) {
            let label = format!("ollama line {i} {at}");
            panics.run(&label, "generate::ChatToGenerate", || {
                let stages = vec![Box::<generate::ChatToGenerate>::default() as Box<dyn Transform>];
                drop(Pipeline::new(stages, Ollama).run_whole(vec![Event::data(m.to_string())]));
            });
            panics.run(&label, "generate::from_chat_body", || {
                drop(generate::from_chat_body(format!("{m}\n").as_bytes()))
            });
        }
    }
}

/// A whole `wire` answer through every conversion of it the proxy makes, for each client.
fn whole(panics: &mut Panics, label: &str, wire: Dialect, v: &Value, reqs: &[(Dialect, Value)]) {
    let body = v.to_string().into_bytes();
    panics.run(label, "usage::of_whole", || _ = usage::of_whole(&body));
    for (client, req) in reqs {
        panics.run(label, &format!("translate::error({client:?})"), || {
            drop(translate::error(*client, 400, &body, Some(9)))
        });
        if wire == Responses {
            continue;
        }
        let f = format!("translate::response_value({client:?}, {wire:?}) and what follows");
        panics.run(label, &f, || {
            let Ok((out, _)) = translate::response_value(*client, wire, &body, "m", 0, req) else { return };
            if let Some(events) = translate::value_as_events(*client, &out, true) {
                let stages = if *client == OpenAi { vec![repair_stage(all_options())] } else { Vec::new() };
                drop(Pipeline::new(stages, *client).run_whole(events));
            }
            match client {
                OpenAi => [Options::default(), all_options()]
                    .iter()
                    .for_each(|o| _ = repair::complete_value(&mut out.clone(), o)),
                Ollama => drop(generate::from_chat_body(out.to_string().as_bytes())),
                _ => {}
            }
        });
    }
    match wire {
        Responses => panics.run(label, "responses::as_events", || drop(responses::as_events(v))),
        _ => panics.run(label, "responses::whole and as_events", || {
            let ctx = responses::Context::new(&reqs[3].1, "m");
            let r = responses::whole(wire, &body, &ctx);
            drop(r.map(|r| responses::as_events(&r)));
        }),
    }
}

fn answers(panics: &mut Panics) {
    let reqs = requests();
    let plain: Vec<(Dialect, Value)> = reqs.iter().map(|(d, _)| (*d, json!({"model": "m"}))).collect();
    let mut cases = vec![
        ("openai answer", OpenAi, openai_answer()),
        ("anthropic answer", Anthropic, anthropic_answer()),
        ("responses answer", Responses, responses_answer()),
    ];
    cases.extend(error_answers().into_iter().map(|e| ("error answer", OpenAi, e)));
    for (what, wire, v) in cases {
        for (n, (at, m)) in variants(&v).into_iter().enumerate() {
            whole(panics, &format!("{what} {at}"), wire, &m, if n % 2 == 0 { &reqs } else { &plain });
        }
    }
}

/// Client request bodies with one node replaced, through every request translation.
fn client_requests(panics: &mut Panics) {
    let info = ModelInfo { max_output_tokens: Some(4096), supports_reasoning: Some(false), ..ModelInfo::default() };
    let (none, default_info) = (Map::new(), ModelInfo::default());
    let targets = [(&default_info, false, false), (&info, true, true)].map(|(info, claude_code, mct)| Target {
        model: "m",
        info,
        claude_code,
        max_completion_tokens: mct,
        default_params: &none,
        force_params: &none,
        drop_params: [&[], &[]],
    });
    for (client, body) in requests() {
        for (at, m) in variants(&body) {
            let label = format!("{client:?} request {at}");
            for (t, wire) in targets.iter().flat_map(|t| [OpenAi, Anthropic, Responses].map(|w| (t, w))) {
                panics.run(&label, &format!("translate::request({client:?}, {wire:?})"), || {
                    drop(translate::request(client, wire, &m, t))
                });
            }
            panics.run(
                &label,
                "normalize, count_tokens, generate, responses::Context and input, stream stages",
                || {
                    let mut n = m.clone();
                    normalize::chat(&mut n);
                    normalize::strip_think_tags(&mut n);
                    let _ =
                        (translate::count_tokens(&m), generate::request_to_chat(&m), responses::Context::new(&m, "m"));
                    let _ = (responses::input_items(&m), responses::builtin_tools(&m));
                    [OpenAi, Anthropic].iter().for_each(|w| drop(translate::stream(client, *w, "m", &m)));
                },
            );
        }
    }
}

#[test]
fn no_upstream_answer_or_client_request_of_a_wrong_json_type_panics() {
    quiet_hook();
    let started = std::time::Instant::now();
    // The three parts side by side: each thread keeps its own panics (and its hook quiet).
    let parts: [fn(&mut Panics); 3] = [streams, answers, client_requests];
    let found = |part: fn(&mut Panics)| {
        let mut p = Panics::default();
        part(&mut p);
        p.0
    };
    let panics: Vec<String> = std::thread::scope(|s| {
        let running = parts.map(|part| s.spawn(move || found(part)));
        running.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    // Each place that panicked once, with its first input, then every input that panicked.
    let mut sites: Vec<&str> = Vec::new();
    for p in &panics {
        if !sites.iter().any(|s| s.split(':').take(2).eq(p.split(':').take(2))) {
            sites.push(p);
        }
    }
    let list = |l: &[&str]| l.iter().take(300).copied().collect::<Vec<_>>().join("\n");
    let all: Vec<&str> = panics.iter().map(String::as_str).collect();
    let (n, took) = (all.len(), started.elapsed());
    assert!(n == 0, "{n} panics in {took:?}, at {} places:\n{}\n\nall:\n{}", sites.len(), list(&sites), list(&all));
}
