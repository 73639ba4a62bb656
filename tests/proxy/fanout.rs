//! One client request, or many at once, never fans out without bound to the upstreams: the
//! merged model list is refreshed by one caller at a time.

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
