//! The shipped nginx configuration (`deploy/nginx-site.conf`) in front of the proxy, for real on
//! loopback: the request shapes tiny_http cannot defend against are stopped in front, and the
//! proxy keeps serving. Skips (and says so) where nginx is not installed; `.ci/run` installs it.

use crate::support::*;
use gpt_reverse_proxy::config::DEMO_CONFIG;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Status of a raw exchange (0 when the connection was closed without an answer).
fn exchange(addr: &str, request: &[u8], pause: Option<Duration>) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    if let Some(p) = pause {
        std::thread::sleep(p);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The shipped site in front of `proxy` on a free loopback port, with its client timeouts
/// shortened so that the tests are quick (the mechanism is the same); `None` without nginx.
fn nginx_before(proxy: &Proxy) -> Option<(Nginx, String)> {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let site = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx-site.conf")).unwrap();
    let site = site
        .replace("server 127.0.0.1:12000;", &format!("server {};", proxy.addr))
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("client_header_timeout 15s;", "client_header_timeout 1s;")
        .replace("client_body_timeout 30s;", "client_body_timeout 1s;");
    assert!(site.contains(&format!("listen 127.0.0.1:{port};")));
    Some((Nginx::start(&site, port)?, format!("127.0.0.1:{port}")))
}

#[test]
fn nginx_in_front_stops_huge_bodies_slowloris_and_big_heads_and_the_proxy_keeps_serving() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let Some((_nginx, addr)) = nginx_before(&proxy) else { return };
    let chat = r#"{"model":"demo","stream":true,"messages":[]}"#;
    let ok = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{chat}",
        chat.len()
    );
    assert_eq!(exchange(&addr, ok.as_bytes(), None), 200, "a normal request passes");

    // A huge declared body: refused in front, before tiny_http could abort on it.
    let huge = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n{";
    assert_eq!(exchange(&addr, huge.as_bytes(), None), 413);
    // A slowloris head: cut off in front after client_header_timeout.
    let t = Instant::now();
    let slow = exchange(&addr, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: 1", None);
    assert!(t.elapsed() < Duration::from_secs(5) && slow != 200, "slow head answered {slow} after {:?}", t.elapsed());
    // A body that trickles: nginx waits for it and gives up after client_body_timeout; the
    // proxy never sees the request, so none of its workers is held meanwhile.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let metrics = call("GET", &format!("http://{}/metrics", proxy.addr), &[], "").text();
    assert!(metrics.contains("grp_requests_in_flight 1\n"), "a proxy worker is held:\n{metrics}");
    let t = Instant::now();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(t.elapsed() < Duration::from_secs(5), "the slow body was not timed out in front");
    assert!(!String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // An oversized header: refused in front.
    let big =
        format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "y".repeat(64 * 1024));
    assert!(matches!(exchange(&addr, big.as_bytes(), None), 400 | 414 | 494), "oversized header got through");

    // And the proxy, behind it, is fine.
    assert_eq!(exchange(&addr, ok.as_bytes(), None), 200);
    let direct = format!("http://{}/health", proxy.addr);
    assert_eq!(call("GET", &direct, &[], "").status, 200);
}

/// The rows of issue 13 that only a change inside tiny_http could close for the bare binary
/// (docs/security.md): through the shipped nginx site each gets a prompt answer in front, and
/// the proxy behind keeps serving.
#[test]
fn nginx_in_front_answers_http2_lines_huge_heads_bare_lf_and_huge_lengths_without_the_proxy() {
    let proxy = Proxy::start(DEMO_CONFIG, &[("LOCAL_AUTH_TOKEN", "tok")]);
    let Some((_nginx, addr)) = nginx_before(&proxy) else { return };
    let within = |request: &[u8], expect: &[u16]| {
        let t = Instant::now();
        let status = exchange(&addr, request, None);
        assert!(expect.contains(&status), "{:?}: {status}", String::from_utf8_lossy(&request[..40.min(request.len())]));
        assert!(t.elapsed() < Duration::from_secs(2), "answered after {:?}", t.elapsed());
    };
    // Row 1 without a token: a `GET /health` declaring a body larger than memory.
    within(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n", &[413]);
    // Row 4: a request line in HTTP/2.0 (tiny_http deadlocks writing its own 505).
    for line in ["GET /health HTTP/2.0\r\nHost: x\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        within(line.as_bytes(), &[0, 400, 505]);
    }
    // Row 5: a 26 MB head of short header lines (tiny_http keeps it all in memory).
    let mut head = b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec();
    head.extend(b"X-A: b\r\n".repeat(26 << 17));
    within(&head, &[0, 400, 494]);
    // Row 20: a bare-LF head (tiny_http waits for a CR forever) reaches the proxy as a proper one.
    within(b"GET /health HTTP/1.1\nHost: x\nConnection: close\n\n", &[200]);
    let direct = format!("http://{}/health", proxy.addr);
    assert_eq!(call("GET", &direct, &[], "").status, 200);
}

#[test]
fn nginx_is_stopped_the_way_nginx_is_meant_to_be_and_leaves_no_worker_behind() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let site = format!("server {{ listen 127.0.0.1:{port}; location / {{ return 204; }} }}\n");
    let Some(nginx) = Nginx::start(&site, port) else { return };
    let workers = nginx.workers();
    assert!(!workers.is_empty(), "nginx runs a worker");
    drop(nginx);
    let alive: Vec<&u32> = workers.iter().filter(|w| std::path::Path::new(&format!("/proc/{w}")).exists()).collect();
    assert!(alive.is_empty(), "workers left behind: {alive:?}");
}
