//! Every stream transform (repair, Anthropic → OpenAI, OpenAI → Anthropic, OpenAI → Ollama,
//! OpenAI → Responses),
//! fed arbitrary SSE: no panic, and once a transform says it is done it stays done.
#![no_main]
use gpt_reverse_proxy::repair::{Options, Repair};
use gpt_reverse_proxy::dialect::Dialect;
use gpt_reverse_proxy::sse::Parser;
use gpt_reverse_proxy::translate::{self, Pipeline, Transform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let request = serde_json::json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}});
    let repair = |o: Options| vec![Box::new(Repair::new(o)) as Box<dyn Transform>];
    let (stages, client) = match which % 6 {
        0 => (repair(Options::default()), Dialect::OpenAi),
        1 => (repair(Options { drop_null_finish_reason: true, think_tags: true, custom_tools: vec!["f".into()] }), Dialect::OpenAi),
        2 => (translate::stream(Dialect::OpenAi, Dialect::Anthropic, "m", &request), Dialect::OpenAi),
        3 => (translate::stream(Dialect::Anthropic, Dialect::OpenAi, "m", &request), Dialect::Anthropic),
        4 => (translate::stream(Dialect::Responses, Dialect::OpenAi, "m", &request), Dialect::Responses),
        _ => (translate::stream(Dialect::Ollama, Dialect::Anthropic, "m", &request), Dialect::Ollama),
    };
    let mut t = Pipeline::new(stages, client);
    let mut usage = gpt_reverse_proxy::usage::StreamUsage::default();
    let _ = usage.push(body);
    let _ = usage.tokens();
    let mut p = Parser::default();
    let mut out = Vec::new();
    for ev in p.push(body).into_iter().chain(p.finish()) {
        t.push(ev, &mut out);
        if t.done() {
            break;
        }
    }
    let done = t.done();
    t.end(&mut out);
    assert!(t.done() || !done);
});
