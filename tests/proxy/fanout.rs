//! One client request, or many at once, never fans out without bound to the upstreams: the
//! merged model list is refreshed by one caller at a time, and one request's attempts across
//! retries and fallback groups stop at `MAX_ATTEMPTS` (20).

use crate::support::*;
use std::time::Duration;

#[test]
fn concurrent_model_list_requests_share_one_refresh_of_a_slow_upstream() {
    // 50 callers with 40 glob entries whose `/models` took 2 s made 2,000 upstream fetches.
    const ENTRIES: usize = 4;
    const CALLERS: usize = 16;
    let list = br#"{"object":"list","data":[{"id":"gpt-x","object":"model","created":1,"owned_by":"o"}]}"#;
    let up = FakeUpstream::start(move |_| Script::Answer {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        parts: vec![(Duration::from_millis(400), list.to_vec())],
    });
    let base = format!("{}/v1", up.url());
    let names: Vec<String> = (0..ENTRIES).map(|i| format!("g{i}-*")).collect();
    let entries: Vec<(&str, &str, &str)> = names.iter().map(|n| (n.as_str(), "openai/*", base.as_str())).collect();
    let proxy = Proxy::start(&models_yaml(&entries), &[]);
    let url = proxy.url("/v1/models");
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || call("GET", &url, &[], "").status)
        })
        .collect();
    for c in callers {
        assert_eq!(c.join().unwrap(), 200);
    }
    let fetches = up.requests().iter().filter(|r| r.path.ends_with("/models")).count();
    assert_eq!(fetches, ENTRIES, "one refresh for {CALLERS} callers");
}

#[test]
fn a_chain_of_failing_fallback_groups_stops_at_the_attempt_cap() {
    // 50 groups answering 503 with `num_retries: 3` made one request cost 200 upstream calls.
    const GROUPS: usize = 10;
    let down = FakeUpstream::replay(|| Script::json(503, br#"{"error":{"message":"overloaded"}}"#));
    let base = format!("{}/v1", down.url());
    let names: Vec<String> = (0..GROUPS).map(|i| format!("f{i}")).collect();
    let entries: Vec<(&str, &str, &str)> = names.iter().map(|n| (n.as_str(), "openai/m", base.as_str())).collect();
    let chain = names[1..].join(", ");
    let yaml = format!(
        "{}litellm_settings:\n  num_retries: 3\nrouter_settings:\n  fallbacks: [{{f0: [{chain}]}}]\n",
        models_yaml(&entries)
    );
    let proxy = Proxy::start(&yaml, &[]);
    let body = r#"{"model":"f0","messages":[{"role":"user","content":"hi"}]}"#;
    let r = call("POST", &proxy.url("/v1/chat/completions"), &[], body);
    assert_eq!(r.status, 503, "the last answer is passed on: {}", r.text());
    assert_eq!(down.requests().len(), 20, "{GROUPS} groups of 4 tries, capped");
}
