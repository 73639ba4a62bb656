//! Every stream transform (repair, Anthropic → OpenAI, OpenAI → Anthropic, OpenAI → Ollama),
//! fed arbitrary SSE: no panic, and once a transform says it is done it stays done.
#![no_main]
use gpt_reverse_proxy::repair::{Options, Repair};
use gpt_reverse_proxy::route::Dialect;
use gpt_reverse_proxy::sse::Parser;
use gpt_reverse_proxy::translate::{self, Transform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let request = serde_json::json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}});
    let mut t: Box<dyn Transform> = match which % 5 {
        0 => Box::new(Repair::new(Options::default())),
        1 => Box::new(Repair::new(Options { drop_null_finish_reason: true, think_tags: true, custom_tools: vec!["f".into()] })),
        2 => translate::stream(Dialect::OpenAi, Dialect::Anthropic, "m", &request).unwrap(),
        3 => translate::stream(Dialect::Anthropic, Dialect::OpenAi, "m", &request).unwrap(),
        _ => translate::stream(Dialect::Ollama, Dialect::Anthropic, "m", &request).unwrap(),
    };
    let mut usage = gpt_reverse_proxy::metrics::StreamUsage::default();
    let _ = usage.push(body);
    let _ = usage.tokens();
    let mut p = Parser::default();
    let mut out = Vec::new();
    for ev in p.push(body).into_iter().chain(p.finish()) {
        t.event(&ev, &mut out);
        if t.done() {
            break;
        }
    }
    let done = t.done();
    t.end(&mut out);
    assert!(t.done() || !done);
});
