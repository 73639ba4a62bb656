//! Golden files for the stream repair: each folder in `fixtures/repair/` holds an upstream stream
//! with a defect seen in the recordings (scrubbed), and what the client must receive with the
//! default settings and with the opt-in Cursor rewrites.

use crate::support::*;
use std::path::PathBuf;
use std::time::Duration;

fn case(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/repair").join(name);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let piece = meta["piece"].as_u64().unwrap() as usize;
    let stream = std::fs::read(dir.join("upstream.sse")).unwrap();
    let up = FakeUpstream::replay(move || Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "text/event-stream".into())],
        parts: stream.chunks(piece).map(|c| (Duration::ZERO, c.to_vec())).collect(),
    });
    let models = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let cursor = "gpt_reverse_proxy:\n  drop_null_finish_reason: true\n  reasoning_as_think_tags: true\n";
    for (yaml, golden) in
        [(models.clone(), "client.golden.sse"), (format!("{models}{cursor}"), "client.cursor.golden.sse")]
    {
        let proxy = Proxy::start(&yaml, &[]);
        let r = post(
            &proxy,
            "/v1/chat/completions",
            "",
            r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#,
        );
        assert_eq!(r.status, 200);
        golden_file(&dir.join(golden), &sse_golden(&r.text()));
    }
}

#[test]
fn gemini_relay_extra_stop_after_tool_calls() {
    case("gemini-relay-extra-stop-after-tool-calls");
}

#[test]
fn gemini_relay_runaway_after_finish() {
    case("gemini-relay-runaway-after-finish");
}

#[test]
fn crlf_legacy_function_call_no_done() {
    case("crlf-legacy-function-call-no-done");
}

#[test]
fn empty_continuation_fields_and_stop_after_tools() {
    case("empty-continuation-fields-and-stop-after-tools");
}
