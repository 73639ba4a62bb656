//! Translation between the OpenAI (Chat Completions) and Anthropic (Messages) dialects: request
//! bodies, complete answers, streams and errors. Pure functions and state machines; nothing here
//! does I/O. Same dialect in and out is not translation: the body passes through.

pub mod generate;
mod limits;
pub mod normalize;
pub mod ollama;
pub mod request;
pub mod response;
pub mod responses;
pub mod stream;
pub mod structured;

use crate::config::ModelInfo;
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::Event;
use serde_json::{Map, Value};

pub use limits::{accumulate, stream_index, MAX_ACCUMULATED_BYTES, MAX_STREAM_INDEX};

/// The system text that identifies Claude Code (the original project's `openai2claudecode`).
pub const CLAUDE_CODE_SYSTEM: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

/// Prefix of the thinking signatures this proxy invents for OpenAI reasoning, so they can be
/// recognised and removed before a conversation reaches a real Anthropic upstream.
pub const MINTED_SIGNATURE: &str = "gpt-reverse-proxy-minted-";

/// A signature for reasoning that came from an OpenAI-dialect upstream.
pub fn minted_signature() -> String {
    format!("{MINTED_SIGNATURE}{}", crate::clock::unix_now())
}

/// What a request translation needs to know about the deployment it is for.
pub struct Target<'a> {
    /// The model name to send upstream.
    pub model: &'a str,
    /// The deployment's `model_info` (output ceiling, reasoning support).
    pub info: &'a ModelInfo,
    /// Add the Claude Code client identity (`openai2claudecode`).
    pub claude_code: bool,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI wire only).
    pub max_completion_tokens: bool,
    /// Parameters set when the body has none (in the wire's own names).
    pub default_params: &'a Map<String, Value>,
    /// Parameters that replace the body's.
    pub force_params: &'a Map<String, Value>,
    /// Parameters removed from the body: the deployment's `additional_drop_params`, then those
    /// the upstream refused during this request (`drop_params`).
    pub drop_params: [&'a [String]; 2],
}

impl Target<'_> {
    /// Every parameter to remove, from both lists.
    pub fn dropped(&self) -> impl Iterator<Item = &String> {
        self.drop_params.iter().flat_map(|l| l.iter())
    }

    /// Whether a body in the wire's dialect would change beyond its model name.
    pub fn rewrites(&self, body: &Value, wire: Dialect) -> bool {
        !self.default_params.is_empty()
            || !self.force_params.is_empty()
            || self.dropped().any(|k| body.get(k).is_some())
            || self.claude_code
            || (wire == Dialect::OpenAi && self.max_completion_tokens && body.get("max_tokens").is_some())
    }
}

/// One stage of a stream's way to the client (a translation, the repair): events in, events out.
/// Stages know nothing of bytes: the upstream's are parsed once before the first stage, and the
/// client's written once after the last.
pub trait Transform: Send {
    /// One event; appends what goes on now (to the next stage, or the client). Errs when the
    /// upstream broke a limit: what was appended still goes on, then the stream ends with the error.
    fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error>;
    /// The upstream ended: appends the closing events, or says why the stream is incomplete.
    fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error>;
    /// The stream is complete: nothing more should be read.
    fn done(&self) -> bool;
    /// Appends `e` as this stage's dialect ends a failed stream, when the stage renders its own
    /// errors (a Responses stream fails with `response.failed`, an Anthropic one opens first);
    /// `false` leaves it to the pipeline.
    fn fail(&mut self, _e: &Error, _out: &mut Vec<Event>) -> bool {
        false
    }
}

/// The stages an upstream stream goes through, in order, and the client's dialect, in which
/// the pipeline alone renders errors.
pub struct Pipeline {
    stages: Vec<Box<dyn Transform>>,
    client: Dialect,
    failed: bool,
}

impl Pipeline {
    /// A pipeline of `stages` (none: events pass unchanged) ending in `client`'s dialect.
    pub fn new(stages: Vec<Box<dyn Transform>>, client: Dialect) -> Pipeline {
        Pipeline { stages, client, failed: false }
    }

    /// The same pipeline with `stage` after its last.
    pub fn then(mut self, stage: Box<dyn Transform>) -> Pipeline {
        self.stages.push(stage);
        self
    }

    /// One upstream event; appends what the client gets now. A comment (a keep-alive) goes to
    /// the client at once, past every stage: clients and the intermediaries between rely on them
    /// during long silences (NDJSON has no comments: its framing drops them).
    pub fn push(&mut self, ev: Event, out: &mut Vec<Event>) {
        if self.done() {
            return;
        }
        if ev.is_comment() {
            return out.push(ev);
        }
        let ran = match &mut self.stages[..] {
            // One stage (the repair alone, most streams): no list to carry the event between stages.
            [only] => only.event(ev, out),
            _ => self.run(0, vec![ev], out),
        };
        if let Err(e) = ran {
            self.fail(&e, out);
        }
    }

    /// `events` through the stages from `first` on. A stage that errs takes no more events, but
    /// what it made before goes on through the stages after it; the first error is returned.
    fn run(&mut self, first: usize, events: Vec<Event>, out: &mut Vec<Event>) -> Result<(), Error> {
        let (mut events, mut failed) = (events, None);
        for stage in &mut self.stages[first..] {
            let (mut next, mut ok) = (Vec::with_capacity(events.len()), true);
            for ev in events {
                if ev.is_comment() {
                    next.push(ev);
                } else if ok {
                    if let Err(e) = stage.event(ev, &mut next) {
                        ok = false;
                        failed.get_or_insert(e);
                    }
                }
            }
            events = next;
        }
        out.extend(events);
        failed.map_or(Ok(()), Err)
    }

    /// The upstream ended: each stage's closing events go through the stages after it.
    pub fn end(&mut self, out: &mut Vec<Event>) {
        if self.done() {
            return;
        }
        for i in 0..self.stages.len() {
            let mut closing = Vec::new();
            let ended = self.stages[i].end(&mut closing);
            let ran = self.run(i + 1, closing, out);
            if let Err(e) = ended.and(ran) {
                return self.fail(&e, out);
            }
        }
    }

    /// The stream cannot go on: the client gets `e` as an event in its dialect, unless the
    /// stream already ended.
    pub fn fail(&mut self, e: &Error, out: &mut Vec<Event>) {
        if self.done() {
            return;
        }
        self.failed = true;
        if !self.stages.last_mut().is_some_and(|last| last.fail(e, out)) {
            out.push(e.event(self.client));
        }
    }

    /// The client's stream is complete.
    pub fn done(&self) -> bool {
        self.failed || self.stages.last().is_some_and(|s| s.done())
    }

    /// A whole stream at once: every event, then the end.
    pub fn run_whole(mut self, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        for ev in events {
            self.push(ev, &mut out);
        }
        self.end(&mut out);
        out
    }

    /// The client's dialect.
    pub fn client(&self) -> Dialect {
        self.client
    }
}

/// The request body for a `wire`-dialect deployment, from a `client`-dialect body.
pub fn request(client: Dialect, wire: Dialect, body: &Value, t: &Target) -> Value {
    if !body.is_object() {
        // Only objects are requests; anything else is translated as an empty one.
        return request(client, wire, &Value::Object(Map::new()), t);
    }
    let renamed = || {
        let mut b = body.clone();
        b["model"] = t.model.into();
        b
    };
    if client == Dialect::Ollama {
        return request(Dialect::OpenAi, wire, &ollama::request_to_openai(body), t);
    }
    if client == Dialect::Responses && wire == Dialect::Responses {
        return renamed();
    }
    if client == Dialect::Responses {
        let mut chat = responses::request_to_openai(body);
        if t.info.supports_reasoning == Some(false) {
            chat.as_object_mut().map(|o| o.remove("reasoning_effort"));
        }
        // Web search is Anthropic's own tool for Claude; a chat deployment answers without it
        // (Codex offers it on every turn by default, and most chat models have no such option).
        if wire != Dialect::Anthropic {
            chat.as_object_mut().map(|o| o.remove("web_search_options"));
        }
        return request(Dialect::OpenAi, wire, &chat, t);
    }
    let mut out = match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => request::openai_to_anthropic(body, t),
        (Dialect::Anthropic, Dialect::OpenAi) => request::anthropic_to_openai(body, t),
        _ => renamed(),
    };
    if wire == Dialect::Anthropic {
        request::strip_minted_thinking(&mut out);
        if t.claude_code {
            request::add_claude_code_system(&mut out);
        }
    }
    if let Some(o) = out.as_object_mut() {
        for (k, v) in t.default_params {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
        o.extend(t.force_params.iter().map(|(k, v)| (k.clone(), v.clone())));
        for k in t.dropped() {
            o.remove(k);
        }
        if wire == Dialect::OpenAi && t.max_completion_tokens {
            if let Some(n) = o.remove("max_tokens") {
                o.entry("max_completion_tokens").or_insert(n);
            }
        }
    }
    out
}

/// A complete `wire`-dialect answer → the `client` dialect (`elapsed_ns` for Ollama's timings),
/// for a request that asked for no structured output (see [`response_value`]).
pub fn response(client: Dialect, wire: Dialect, body: &[u8], model: &str, elapsed_ns: u64) -> Result<Vec<u8>, Error> {
    let (v, translated) = response_value(client, wire, body, model, elapsed_ns, &Value::Null)?;
    Ok(if translated { v.to_string().into_bytes() } else { body.to_vec() })
}

/// A complete `wire`-dialect answer to the client's `request` → the `client` dialect, with the
/// call of the tool that carries a structured answer made its content; and whether it was
/// translated: if not, the value is the answer as parsed, and its bytes can go as they came.
pub fn response_value(
    client: Dialect,
    wire: Dialect,
    body: &[u8],
    model: &str,
    elapsed_ns: u64,
    request: &Value,
) -> Result<(Value, bool), Error> {
    let mut v = response::parse(body)?;
    if let (Dialect::Anthropic, Some(name)) = (wire, answer_tool(client, request)) {
        structured::tool_as_text(&mut v, &name);
    }
    let out = match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => response::anthropic_to_openai(&v, model),
        (Dialect::Anthropic, Dialect::OpenAi) => response::openai_to_anthropic(&v, model),
        (Dialect::Ollama, Dialect::OpenAi) => ollama::response_from_openai(&v, model, elapsed_ns),
        (Dialect::Ollama, Dialect::Anthropic) => {
            ollama::response_from_openai(&response::anthropic_to_openai(&v, model), model, elapsed_ns)
        }
        (Dialect::Responses, Dialect::OpenAi | Dialect::Anthropic) => {
            responses::whole(wire, body, &responses::Context::new(&Value::Null, model))?
        }
        _ => return Ok((v, false)),
    };
    Ok((out, true))
}

/// A `wire`-dialect error answer → the `client` dialect (same status).
pub fn error(client: Dialect, status: u16, body: &[u8], max_input: Option<u64>) -> Vec<u8> {
    let v = match client {
        Dialect::OpenAi | Dialect::Responses => response::error_to_openai(body),
        Dialect::Anthropic => response::error_to_anthropic(status, body, max_input),
        Dialect::Ollama => ollama::error(body),
    };
    v.to_string().into_bytes()
}

/// The forced tool whose call is the structured answer a `client`-dialect request asked an
/// Anthropic deployment for (see [`structured`]); `None` when it asked for none.
fn answer_tool(client: Dialect, request: &Value) -> Option<String> {
    if !request.is_object() {
        return None;
    }
    match client {
        Dialect::OpenAi => structured::tool_name(request),
        Dialect::Ollama => structured::tool_name(&ollama::request_to_openai(request)),
        Dialect::Responses => structured::tool_name(&responses::request_to_openai(request)),
        Dialect::Anthropic => None,
    }
}

/// The stages that translate a `wire`-dialect stream for a `client`-dialect one (none when
/// they are the same dialect).
pub fn stream(client: Dialect, wire: Dialect, model: &str, request: &Value) -> Vec<Box<dyn Transform>> {
    let include_usage = request.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    let from_anthropic = |usage| stream::AnthropicToOpenAi::new(model, usage).answer_tool(answer_tool(client, request));
    match (client, wire) {
        (Dialect::OpenAi, Dialect::Anthropic) => vec![Box::new(from_anthropic(include_usage))],
        (Dialect::Anthropic, Dialect::OpenAi) => {
            vec![Box::new(stream::OpenAiToAnthropic::new(model, count_tokens(request)))]
        }
        (Dialect::Ollama, Dialect::OpenAi) => vec![Box::new(ollama::OpenAiToOllama::new(model))],
        (Dialect::Ollama, Dialect::Anthropic) => {
            vec![Box::new(from_anthropic(true)), Box::new(ollama::OpenAiToOllama::new(model))]
        }
        (Dialect::Responses, _) => responses::stages(wire, responses::Context::new(request, model), None),
        _ => Vec::new(),
    }
}

/// A complete answer in the client's dialect as the stream the client asked for (some
/// upstreams ignore `stream: true`); `None` when the body is not an answer of that dialect.
pub fn as_events(client: Dialect, body: &[u8], include_usage: bool) -> Option<Vec<Event>> {
    value_as_events(client, &serde_json::from_slice(body).ok()?, include_usage)
}

/// [`as_events`] of an answer already parsed.
pub fn value_as_events(client: Dialect, v: &Value, include_usage: bool) -> Option<Vec<Event>> {
    match client {
        Dialect::OpenAi => response::openai_as_events(v, include_usage),
        Dialect::Anthropic => response::anthropic_as_events(v),
        // One NDJSON line (the last, `done: true`) is a whole Ollama stream.
        Dialect::Ollama => Some(vec![Event::data(v.to_string())]),
        Dialect::Responses => responses::as_events(v),
    }
}

/// How a stage fed Chat Completions chunks ends: nothing more once it is done; completed when a
/// finish reason came (some upstreams never send `[DONE]`: a finish is as good an ending);
/// otherwise the stream was cut short.
pub fn end_of_chunks(done: bool, finished: bool, complete: impl FnOnce()) -> Result<(), Error> {
    match (done, finished) {
        (true, _) => {}
        (false, true) => complete(),
        (false, false) => return Err(Error::UpstreamInvalid("the stream ended before it finished".into())),
    }
    Ok(())
}

/// An object of the `fields` that have a value.
fn object_of<'a>(fields: impl IntoIterator<Item = (&'a str, Option<Value>)>) -> Map<String, Value> {
    fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect()
}

/// OpenAI `finish_reason` from Anthropic `stop_reason`.
pub fn finish_from_stop(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Anthropic `stop_reason` from OpenAI `finish_reason`; a turn that `called` tools ends in
/// `tool_use` even when the upstream said `stop`.
pub fn stop_from_finish(finish: Option<&str>, called: bool) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ if called => "tool_use",
        _ => "end_turn",
    }
}

/// A deliberately generous token estimate for a Messages request (Claude Code compacts on it,
/// so erring high is the safe side): one token per 3 bytes of text, 1,600 per image.
pub fn count_tokens(body: &Value) -> u64 {
    fn walk(v: &Value, bytes: &mut u64, images: &mut u64) {
        match v {
            Value::String(s) => *bytes += s.len() as u64,
            Value::Array(a) => a.iter().for_each(|x| walk(x, bytes, images)),
            Value::Object(o) => {
                if matches!(o.get("type").and_then(Value::as_str), Some("image" | "image_url")) {
                    *images += 1;
                    return;
                }
                for (k, x) in o {
                    *bytes += k.len() as u64;
                    walk(x, bytes, images);
                }
            }
            _ => *bytes += 2,
        }
    }
    let (mut bytes, mut images) = (0, 0);
    ["system", "messages", "tools"].iter().filter_map(|k| body.get(k)).for_each(|v| walk(v, &mut bytes, &mut images));
    bytes.div_ceil(3) + images * 1600 + 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Appends each event's data with a mark, and says done at `"end"`.
    struct Mark(&'static str, bool);
    impl Transform for Mark {
        fn event(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<(), Error> {
            self.1 |= ev.data.ends_with("end");
            out.push(Event::data(format!("{}{}", ev.data, self.0)));
            Ok(())
        }
        fn end(&mut self, out: &mut Vec<Event>) -> Result<(), Error> {
            out.push(Event::data(format!("closed{}", self.0)));
            Ok(())
        }
        fn done(&self) -> bool {
            self.1
        }
    }

    fn datas(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn stages_chain_in_order_and_each_end_goes_through_the_stages_after_it() {
        let mut p = Pipeline::new(vec![Box::new(Mark("a", false)), Box::new(Mark("b", false))], Dialect::OpenAi);
        let mut out = Vec::new();
        p.push(Event::data("x"), &mut out);
        p.end(&mut out);
        assert_eq!(datas(&out), ["xab", "closedab", "closedb"]);
        assert!(!p.done());
        p.fail(&Error::UpstreamTimeout("t".into()), &mut out);
        assert!(p.done() && out.last().unwrap().data.contains("upstream_timeout"));
        let before = out.len();
        p.fail(&Error::UpstreamTimeout("t".into()), &mut out);
        assert_eq!(out.len(), before, "one error at most");
    }

    #[test]
    fn upstream_comments_reach_the_client_at_once_past_every_stage() {
        let keepalive = Event { raw: b": OPENROUTER PROCESSING\r\n\r\n".to_vec(), ..Event::default() };
        let mut p = Pipeline::new(vec![Box::new(Mark("a", false)), Box::new(Mark("b", false))], Dialect::OpenAi);
        let mut out = Vec::new();
        p.push(keepalive.clone(), &mut out);
        assert_eq!(out, std::slice::from_ref(&keepalive), "passed on as it came");
        // Through each translation too: the SSE dialects write it as it came, NDJSON drops it.
        let r = json!({"model": "m"});
        for (client, wire, written) in [
            (Dialect::OpenAi, Dialect::OpenAi, true),
            (Dialect::Anthropic, Dialect::OpenAi, true),
            (Dialect::OpenAi, Dialect::Anthropic, true),
            (Dialect::Responses, Dialect::OpenAi, true),
            (Dialect::Ollama, Dialect::Anthropic, false),
        ] {
            let mut p = Pipeline::new(stream(client, wire, "m", &r), client);
            p.push(Event::data(r#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#), &mut Vec::new());
            let mut out = Vec::new();
            p.push(keepalive.clone(), &mut out);
            let mut bytes = Vec::new();
            out.iter().for_each(|ev| client.framing().write(ev, &mut bytes));
            let want: &[u8] = if written { &keepalive.raw } else { b"" };
            assert_eq!(bytes, want, "{client:?} from {wire:?}");
        }
        // A comment a stage makes of its own (Anthropic's ping) is not read by the stages after it.
        let mut p = Pipeline::new(stream(Dialect::Responses, Dialect::Anthropic, "m", &r), Dialect::Responses);
        let mut out = Vec::new();
        p.push(Event::named("ping", r#"{"type":"ping"}"#), &mut out);
        assert_eq!(out, [Event::comment("ping")]);
    }

    #[test]
    fn an_upstream_index_past_the_limit_ends_every_stream_with_an_error_event() {
        let chunk = |choice: u64, call: u64| {
            let tc = json!({"index": call, "id": "c", "function": {"name": "f", "arguments": "{}"}});
            Event::data(json!({"choices": [{"index": choice, "delta": {"tool_calls": [tc]}}]}).to_string())
        };
        let block = |index: u64, kind: &str| {
            let b = json!({"type": "content_block_start", "index": index, "content_block": {"type": kind, "text": ""}});
            Event::named("content_block_start", b.to_string())
        };
        let many_tools: Vec<Event> = (0..=MAX_STREAM_INDEX + 1).map(|i| block(i % 4, "tool_use")).collect();
        let r = json!({"model": "m"});
        let repair = || vec![Box::new(crate::repair::Repair::new(Default::default())) as Box<dyn Transform>];
        let from = |client, wire| (stream(client, wire, "m", &r), client);
        let (openai, anthropic) = (Dialect::OpenAi, Dialect::Anthropic);
        let cases = [
            ((repair(), openai), vec![chunk(256, 0)], "choice"),
            ((repair(), openai), vec![chunk(0, 1_000_000)], "tool call"),
            (from(anthropic, openai), vec![chunk(0, 10_000)], "tool call"),
            (from(Dialect::Ollama, openai), vec![chunk(0, 10_000)], "tool call"),
            (from(Dialect::Responses, openai), vec![chunk(0, 256)], "tool call"),
            (from(Dialect::Ollama, anthropic), many_tools, "tool call"),
        ];
        for ((stages, client), events, what) in cases {
            let mut p = Pipeline::new(stages, client);
            let mut out = Vec::new();
            events.into_iter().for_each(|ev| p.push(ev, &mut out));
            let last = out.last().expect("an error event").data.clone();
            assert!(p.done(), "{client:?} {what}");
            assert!(last.contains(&format!("a stream {what} index above 255")), "{client:?}: {last}");
            let n = out.len();
            p.push(chunk(0, 0), &mut out);
            assert_eq!(out.len(), n, "nothing after the error");
        }
        // Content blocks are only compared, never counted: 300 text blocks (citations) pass.
        let mut p = Pipeline::new(stream(Dialect::OpenAi, Dialect::Anthropic, "m", &r), Dialect::OpenAi);
        let mut out = Vec::new();
        (0..300).for_each(|i| p.push(block(i, "text"), &mut out));
        assert!(!p.done() && out.iter().all(|ev| !ev.data.contains("index above")));
        // At the limit, all is well.
        let p = Pipeline::new(repair(), Dialect::OpenAi);
        let out = p.run_whole(vec![chunk(MAX_STREAM_INDEX, MAX_STREAM_INDEX)]);
        assert_eq!(out.last().map(|e| e.data.as_str()), Some("[DONE]"));
    }

    #[test]
    fn a_finished_stream_gets_no_error_event() {
        let mut p = Pipeline::new(vec![Box::new(Mark("", false))], Dialect::Anthropic);
        let mut out = Vec::new();
        p.push(Event::data("end"), &mut out);
        assert!(p.done());
        p.fail(&Error::UpstreamTimeout("t".into()), &mut out);
        assert_eq!(datas(&out), ["end"]);
    }

    #[test]
    fn errors_are_rendered_in_the_clients_dialect() {
        for (client, name) in [(Dialect::OpenAi, None), (Dialect::Anthropic, Some("error")), (Dialect::Ollama, None)] {
            let mut out = Vec::new();
            Pipeline::new(Vec::new(), client).fail(&Error::UpstreamInvalid("x".into()), &mut out);
            assert_eq!(out[0].name.as_deref(), name, "{client:?}");
        }
    }

    #[test]
    fn stages_by_dialect_pair() {
        let r = json!({"model": "m"});
        assert_eq!(stream(Dialect::OpenAi, Dialect::OpenAi, "m", &r).len(), 0);
        assert_eq!(stream(Dialect::Anthropic, Dialect::Anthropic, "m", &r).len(), 0);
        assert_eq!(stream(Dialect::OpenAi, Dialect::Anthropic, "m", &r).len(), 1);
        assert_eq!(stream(Dialect::Anthropic, Dialect::OpenAi, "m", &r).len(), 1);
        assert_eq!(stream(Dialect::Ollama, Dialect::Anthropic, "m", &r).len(), 2);
    }

    #[test]
    fn a_whole_ollama_answer_is_one_line_and_other_dialects_refuse_foreign_bodies() {
        let events = as_events(Dialect::Ollama, br#"{"done":true}"#, false).unwrap();
        assert_eq!(datas(&events), [r#"{"done":true}"#]);
        assert!(as_events(Dialect::Anthropic, br#"{"choices":[]}"#, false).is_none());
        assert!(as_events(Dialect::OpenAi, br#"{"type":"message"}"#, false).is_none());
        assert!(as_events(Dialect::OpenAi, b"not json", false).is_none());
    }
}
