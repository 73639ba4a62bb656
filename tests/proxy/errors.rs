//! Every failure gets the right status and an OpenAI-shaped body; failover happens before the
//! first byte; timeouts bound waits, not healthy streams.

use crate::support::*;
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;

fn openai_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], code, "{}", r.text());
    assert!(e["message"].is_string() && e["type"].is_string() && e.get("param").is_some());
}

/// An address where nothing listens.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/v1", l.local_addr().unwrap())
}

fn one(up_v1: &str, extra: &str) -> Proxy {
    let yaml = format!("{}{extra}", models_yaml(&[("m", "openai/m", up_v1)]));
    Proxy::start(&yaml, &[])
}

#[test]
fn client_mistakes_get_4xx() {
    let up = FakeUpstream::replay(|| Script::json(200, b"{}"));
    let proxy =
        one(&format!("{}/v1", up.url()), "gpt_reverse_proxy:\n  max_body_bytes: 200\n  max_header_bytes: 2000\n");
    openai_error(&post(&proxy, "/v1/chat/completions", "", "{not json"), 400, "invalid_request");
    openai_error(&post(&proxy, "/v1/chat/completions", "", r#"{"messages":[]}"#), 400, "invalid_request");
    openai_error(
        &post(&proxy, "/v1/chat/completions", "", r#"{"model":"other","messages":[]}"#),
        404,
        "model_not_found",
    );
    openai_error(&call("GET", &proxy.url("/v1/chat/completions"), &[], ""), 405, "method_not_allowed");
    openai_error(&call("GET", &proxy.url("/nothing/here"), &[], ""), 404, "not_found");
    let big = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(300));
    openai_error(&post(&proxy, "/v1/chat/completions", "", &big), 413, "request_too_large");
    let huge = "y".repeat(3000);
    openai_error(&call("GET", &proxy.url("/v1/models"), &[("X-Big", &huge)], ""), 431, "headers_too_large");
    assert!(up.requests().is_empty());
}

#[test]
fn ambiguous_framing_is_refused() {
    let proxy = Proxy::start(gpt_reverse_proxy::config::DEMO_CONFIG, &[]);
    let bad_len = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\nConnection: close\r\n\r\n";
    assert!(read_all(raw(&proxy, bad_len.as_bytes())).starts_with("HTTP/1.1 400"));
    let both = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
    assert!(read_all(raw(&proxy, both.as_bytes())).starts_with("HTTP/1.1 400"));
}

#[test]
fn upstream_http_errors_pass_through_untouched() {
    let up = FakeUpstream::replay(|| {
        let Script::Answer { mut headers, parts, .. } = Script::json(429, &fixture("upstream/error-429.json")) else {
            unreachable!()
        };
        headers.push(("Retry-After".into(), "7".into()));
        Script::Answer { status: 429, headers, parts }
    });
    let proxy = one(&format!("{}/v1", up.url()), "");
    let r = post(&proxy, "/v1/chat/completions", "", CHAT);
    assert_eq!(r.status, 429);
    assert_eq!(r.body, fixture("upstream/error-429.json"));
    assert_eq!(r.header("retry-after"), Some("7"));
}

#[test]
fn unreachable_upstream_is_502() {
    let proxy = one(&closed_port(), "");
    openai_error(&post(&proxy, "/v1/chat/completions", "", CHAT), 502, "upstream_unreachable");
}

#[test]
fn silent_upstream_is_504_after_the_header_timeout() {
    // Silent far longer than the generous bound below, so only the timeout can end the wait.
    let up = FakeUpstream::replay(|| Script::Silence(Duration::from_secs(60)));
    let yaml =
        "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, api_base: 'BASE', timeout: 0.4}\n"
            .replace("BASE", &format!("{}/v1", up.url()));
    let proxy = Proxy::start(&yaml, &[]);
    let t = Instant::now();
    openai_error(&post(&proxy, "/v1/chat/completions", "", CHAT), 504, "upstream_timeout");
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
}

#[test]
fn stream_stalling_mid_way_ends_with_an_error_event_and_no_done() {
    // Stalls far longer than the generous bound below, so only the idle timeout can end it.
    let up = FakeUpstream::replay(|| Script::Gated {
        before: b"data: {\"n\":1}\n\n".to_vec(),
        gate: Gate::default(),
        bound: Duration::from_secs(60),
        after: b"data: [DONE]\n\n".to_vec(),
    });
    let yaml = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, api_base: 'BASE', stream_timeout: 0.4}\n".replace("BASE", &format!("{}/v1", up.url()));
    let proxy = Proxy::start(&yaml, &[]);
    let t = Instant::now();
    let r = post(&proxy, "/v1/chat/completions", "", r#"{"model":"m","stream":true,"messages":[]}"#);
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    let text = r.text();
    assert!(text.starts_with("data: {\"n\":1}\n\ndata: {\"error\":"), "{text}");
    assert!(text.contains("upstream_timeout") && !text.contains("[DONE]"), "{text}");
}

#[test]
fn a_slow_but_healthy_stream_is_never_cut_by_a_total_cap() {
    // Each gap is well under the idle timeout (slack for a loaded machine), the total well over it.
    let parts: Vec<_> = (0..6).map(|i| (Duration::from_millis(400), format!("data: {i}\n\n").into_bytes())).collect();
    let up = FakeUpstream::replay(move || Script::paced(parts.clone()));
    let yaml = "model_list:\n  - model_name: m\n    litellm_params: {model: openai/m, api_base: 'BASE', stream_timeout: 1.2}\n".replace("BASE", &format!("{}/v1", up.url()));
    let proxy = Proxy::start(&yaml, &[]);
    let r = post(&proxy, "/v1/chat/completions", "", r#"{"model":"m","stream":true,"messages":[]}"#);
    // Every event arrives; the stream repair adds the [DONE] this upstream forgot.
    let want: String = (0..6).map(|i| format!("data: {i}\n\n")).collect();
    assert_eq!(r.text(), format!("{want}data: [DONE]\n\n"));
}

#[test]
fn failover_to_the_next_deployment_on_5xx_and_on_connect_errors() {
    let broken = FakeUpstream::replay(|| Script::json(503, b"{\"error\":\"busy\"}"));
    let good = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml = models_yaml(&[
        ("m", "openai/m", &format!("{}/v1", broken.url())),
        ("m", "openai/m", &closed_port()),
        ("m", "openai/m", &format!("{}/v1", good.url())),
    ]);
    let proxy = Proxy::start(&yaml, &[]);
    for _ in 0..3 {
        let r = post(&proxy, "/v1/chat/completions", "", CHAT);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, fixture("upstream/chat.json"));
    }
    // Round robin spreads the starting point, and every request ended on the healthy one.
    assert_eq!(good.requests().len(), 3);
    assert!(!broken.requests().is_empty());
}

#[test]
fn when_every_deployment_fails_the_last_answer_is_passed_on() {
    let a = FakeUpstream::replay(|| Script::json(500, b"{\"error\":\"a\"}"));
    let yaml = format!(
        "{}litellm_settings:\n  num_retries: 2\n",
        models_yaml(&[("m", "openai/m", &format!("{}/v1", a.url()))])
    );
    let proxy = Proxy::start(&yaml, &[]);
    let r = post(&proxy, "/v1/chat/completions", "", CHAT);
    assert_eq!((r.status, r.body.as_slice()), (500, b"{\"error\":\"a\"}".as_slice()));
    assert_eq!(a.requests().len(), 3, "one try plus num_retries");
}

#[test]
fn beyond_the_concurrency_cap_requests_get_a_fast_503() {
    // The two busy requests are held until the third has been answered, however long that takes.
    let gate = Gate::default();
    let held = gate.clone();
    let up = FakeUpstream::replay(move || Script::Gated {
        before: Vec::new(),
        gate: held.clone(),
        bound: Duration::from_secs(30),
        after: b"data: x\n\n".to_vec(),
    });
    let yaml = format!(
        "{}gpt_reverse_proxy:\n  max_concurrent_requests: 2\n",
        models_yaml(&[("m", "openai/m", &format!("{}/v1", up.url()))])
    );
    let proxy = Proxy::start(&yaml, &[]);
    let url = proxy.url("/v1/chat/completions");
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || call("POST", &url, &[], CHAT).status)
        })
        .collect();
    wait_until("both busy requests at the upstream", Duration::from_secs(20), || up.requests().len() >= 2);
    let t = Instant::now();
    let r = call("POST", &url, &[], CHAT);
    openai_error(&r, 503, "overloaded");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Fast: it did not wait for capacity (the busy ones are held until the gate opens).
    assert!(t.elapsed() < Duration::from_secs(5), "503 took {:?}", t.elapsed());
    gate.open();
    for b in busy {
        assert_eq!(b.join().unwrap(), 200);
    }
    // Capacity comes back once the slow requests are done.
    assert_eq!(call("GET", &proxy.url("/health"), &[], "").status, 200);
}

/// Robust on a loaded machine: instead of counting requests inside a wall-clock window, the
/// failing deployment's own request times are checked (never tried again within its cooldown),
/// and its return is waited for as an event.
#[test]
fn a_deployment_that_keeps_failing_cools_down_and_comes_back_by_itself() {
    let cooldown = Duration::from_millis(500);
    let bad = FakeUpstream::replay(|| Script::json(500, b"{\"error\":\"down\"}"));
    let good = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let yaml = format!(
        "{}router_settings:\n  allowed_fails: 1\n  cooldown_time: {}\n",
        models_yaml(&[
            ("m", "openai/m", &format!("{}/v1", bad.url())),
            ("m", "openai/m", &format!("{}/v1", good.url()))
        ]),
        cooldown.as_secs_f64()
    );
    let proxy = Proxy::start(&yaml, &[]);
    for _ in 0..6 {
        assert_eq!(post(&proxy, "/v1/chat/completions", "", CHAT).status, 200);
    }
    assert!(!bad.requests().is_empty(), "round robin tried it");
    assert_eq!(good.requests().len(), 6, "every request ended on the healthy one");
    // Back in rotation after its cooldown: keep asking until it is tried again.
    wait_until("the cooled deployment to be tried again", Duration::from_secs(20), || {
        assert_eq!(post(&proxy, "/v1/chat/completions", "", CHAT).status, 200);
        bad.requests().len() >= 2
    });
    let tried: Vec<Instant> = bad.requests().iter().map(|r| r.at).collect();
    for pair in tried.windows(2) {
        // Each failure set it aside for the whole cooldown (a little slack for the clock reads).
        let gap = pair[1] - pair[0];
        assert!(gap + Duration::from_millis(50) >= cooldown, "tried again after {gap:?}, inside its cooldown");
    }
    let metrics = call("GET", &proxy.url("/metrics"), &[], "").text();
    let want = format!("grp_upstream_cooldowns_total{{deployment=\"#0 openai/m\"}} {}", tried.len());
    assert!(metrics.contains(&want), "{want} in {metrics}");
}

#[test]
fn when_the_whole_group_is_cooling_the_first_to_recover_is_still_tried() {
    let a = FakeUpstream::replay(|| Script::json(500, b"{\"error\":\"a\"}"));
    let b = FakeUpstream::replay(|| Script::json(503, b"{\"error\":\"b\"}"));
    let yaml = format!(
        "{}router_settings:\n  allowed_fails: 1\n  cooldown_time: 60\n",
        models_yaml(&[("m", "openai/m", &format!("{}/v1", a.url())), ("m", "openai/m", &format!("{}/v1", b.url()))])
    );
    let proxy = Proxy::start(&yaml, &[]);
    let first = post(&proxy, "/v1/chat/completions", "", CHAT);
    assert_eq!((first.status, a.requests().len(), b.requests().len()), (503, 1, 1), "both tried, both cooling");
    let second = post(&proxy, "/v1/chat/completions", "", CHAT);
    assert_eq!(a.requests().len(), 2, "a cooled first, so it recovers first and goes first");
    assert_eq!(second.status, 503, "and the last answer is passed on");
}
