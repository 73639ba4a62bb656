//! The shipped nginx configuration (`deploy/nginx-site.conf`) in front of the proxy, for real on
//! loopback: with TLS (the test certificate in place of Let's Encrypt's) a streamed chat arrives
//! and port 80 serves the ACME challenge and redirects; the request shapes tiny_http cannot
//! defend against are stopped in front, and the proxy keeps serving. Skips (and says so) where
//! nginx or curl is not installed; `make test` installs them as root.

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

/// `text` with `from` replaced, which must be there: a change to the shipped file then breaks the
/// test instead of leaving it testing something else.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "deploy/ no longer contains {from:?}");
    text.replace(from, to)
}

/// The shipped site running in front of a proxy.
struct Site {
    _nginx: Nginx,
    /// The main server (TLS or plain), `127.0.0.1:PORT`.
    addr: String,
    /// The port-80 server (ACME challenge and redirect), `127.0.0.1:PORT`.
    http: String,
    /// The folder its port-80 server serves `/.well-known/acme-challenge/` from.
    webroot: std::path::PathBuf,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.webroot);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The shipped site (`deploy/nginx-site.conf`) in front of `proxy` on free loopback ports, with the
/// test certificate of `fixtures/tls/` in place of Let's Encrypt's, the ACME webroot in a temporary
/// folder and the client timeouts shortened so that the tests are quick (the mechanism is the
/// same). With `tls` false the main server listens in plain HTTP, for raw requests over TCP (its
/// limits are the same). `None` without nginx.
fn shipped_nginx(proxy: &Proxy, tls: bool) -> Option<Site> {
    shipped_nginx_before(&[proxy.addr], tls)
}

/// The shipped site with several proxy instances in its upstream block.
fn shipped_nginx_before(proxies: &[std::net::SocketAddr], tls: bool) -> Option<Site> {
    let (port, http_port) = (free_port(), free_port());
    let tls_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls");
    let webroot = std::env::temp_dir().join(format!("grp-acme-{}-{port}", std::process::id()));
    std::fs::create_dir_all(webroot.join(".well-known/acme-challenge")).unwrap();
    let site = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx-site.conf")).unwrap();
    let main_listen =
        if tls { format!("listen 127.0.0.1:{port} ssl http2;") } else { format!("listen 127.0.0.1:{port};") };
    let servers: Vec<String> = proxies.iter().map(|addr| format!("server {addr};")).collect();
    let mut site = swap(&site, "server 127.0.0.1:12000;", &servers.join("\n    "));
    for (from, to) in [
        ("listen 443 ssl http2;", main_listen),
        ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
        ("listen [::]:443 ssl http2;", String::new()),
        ("listen [::]:80;", String::new()),
        ("/etc/letsencrypt/live/proxy.example.com/fullchain.pem", format!("{tls_dir}/server.pem")),
        ("/etc/letsencrypt/live/proxy.example.com/privkey.pem", format!("{tls_dir}/server.key")),
        ("root /var/www/html;", format!("root {};", webroot.display())),
        ("client_header_timeout 15s;", "client_header_timeout 1s;".to_string()),
        ("client_body_timeout 30s;", "client_body_timeout 1s;".to_string()),
    ] {
        site = swap(&site, from, &to);
    }
    let nginx = Nginx::start(&site, port)?;
    Some(Site { _nginx: nginx, addr: format!("127.0.0.1:{port}"), http: format!("127.0.0.1:{http_port}"), webroot })
}

#[test]
fn nginx_in_front_stops_huge_bodies_slowloris_and_big_heads_and_the_proxy_keeps_serving() {
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let Some(site) = shipped_nginx(&proxy, false) else { return };
    let addr = site.addr.clone();
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

/// The site as shipped, TLS included, with a client that trusts only the test CA: a streamed
/// chat arrives over HTTP/2 unbuffered, a huge declared body is refused in front, and the port-80
/// server answers the ACME challenge and redirects everything else to HTTPS.
#[test]
fn the_shipped_nginx_site_serves_tls_streams_refuses_huge_bodies_and_redirects_port_80() {
    if curl(&["--version"]).is_none() {
        return;
    }
    let proxy = Proxy::start(DEMO_CONFIG, &[]);
    let Some(site) = shipped_nginx(&proxy, true) else { return };
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/ca.pem");
    let chat_url = format!("https://{}/v1/chat/completions", site.addr);
    let chat = r#"{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let json = "Content-Type: application/json";
    let (code, out) = curl(&["-N", "-i", "--cacert", ca, "-H", json, "-d", chat, &chat_url]).unwrap();
    assert_eq!(code, 0, "{out}");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/event-stream"), "{head}");
    assert!(body.contains("Hello ") && body.trim_end().ends_with("data: [DONE]"), "{body}");
    // It is TLS for real: without the test CA the certificate is refused (curl's exit code 60).
    let (code, _) = curl(&["-o", "/dev/null", &format!("https://{}/health", site.addr)]).unwrap();
    assert_eq!(code, 60);

    // A huge declared body: refused in front, before tiny_http could abort on it.
    let status = ["--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca];
    let huge = ["-H", json, "-H", "Content-Length: 99999999999999", "--data-binary", "{", &chat_url];
    assert_eq!(curl(&[&status[..], &huge[..]].concat()).unwrap().1, "413");

    // Port 80: certbot's challenge file is served as it is, anything else goes to HTTPS.
    std::fs::write(site.webroot.join(".well-known/acme-challenge/t0ken"), "t0ken.proof").unwrap();
    let challenge = format!("http://{}/.well-known/acme-challenge/t0ken", site.http);
    assert_eq!(curl(&[&challenge]).unwrap().1, "t0ken.proof");
    let other = format!("http://{}/v1/models?x=1", site.http);
    let (_, moved) = curl(&["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", &other]).unwrap();
    assert_eq!(moved, "301 https://127.0.0.1/v1/models?x=1");

    // And the proxy, behind it, is fine.
    let health = format!("https://{}/health", site.addr);
    assert_eq!(curl(&[&status[..], &[&health]].concat()).unwrap().1, "200");
}

/// The rows of issue 13 that only a change inside tiny_http could close for the bare binary
/// (docs/security.md): through the shipped nginx site each gets a prompt answer in front, and
/// the proxy behind keeps serving.
#[test]
fn nginx_in_front_answers_http2_lines_huge_heads_bare_lf_and_huge_lengths_without_the_proxy() {
    let proxy = Proxy::start(DEMO_CONFIG, &[("LOCAL_AUTH_TOKEN", "tok")]);
    let Some(site) = shipped_nginx(&proxy, false) else { return };
    let addr = site.addr.clone();
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

/// The release-shaped binary on a free port with the demo model, as a process of its own (so it
/// can be killed); `(child, 127.0.0.1:PORT)`.
fn instance() -> (std::process::Child, std::net::SocketAddr) {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("grp-instance-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"))
        .current_dir(&dir)
        .env_clear()
        .envs([("HOST", "127.0.0.1"), ("PORT", &port.to_string()), ("RUST_LOG", "error")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_until("the instance to listen", Duration::from_secs(10), || TcpStream::connect(addr).is_ok());
    (child, addr)
}

/// Past one machine: two instances behind the shipped nginx site. An instance that is killed
/// costs no request that had not started: nginx sends it (and the next ones) to the other.
#[test]
fn two_instances_behind_nginx_and_one_killed_costs_no_request_that_had_not_started() {
    let ((mut a, a_addr), (mut b, b_addr)) = (instance(), instance());
    let Some(site) = shipped_nginx_before(&[a_addr, b_addr], false) else {
        let _ = (a.kill(), b.kill());
        return;
    };
    let chat = r#"{"model":"demo","stream":true,"messages":[]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{chat}",
        chat.len()
    );
    for _ in 0..10 {
        assert_eq!(exchange(&site.addr, request.as_bytes(), None), 200, "both instances serve");
    }
    b.kill().unwrap();
    b.wait().unwrap();
    for i in 0..20 {
        assert_eq!(exchange(&site.addr, request.as_bytes(), None), 200, "request {i} after one instance died");
    }
    let _ = (a.kill(), a.wait());
}
