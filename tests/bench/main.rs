//! `make bench`: the proxy's overhead against a direct call, on loopback, in one bounded run.
//!
//! A fast fake upstream (keep-alive, `TCP_NODELAY`, OpenAI and Anthropic wire formats, paced
//! streams on request) runs in this process; the proxy runs as the real binary given on the
//! command line; `wrk` measures latency and throughput; this program's own clients measure
//! paced streams and 1,000 concurrent streams (keep-alive, as SDK clients hold them). With
//! `BENCH_LITELLM` naming a `litellm` executable and `BENCH_TENSORZERO` a Python with the
//! `tensorzero` wheel, those peers are measured the same way in the same run. Prints one table.
//!
//! Usage: bench PROXY_BINARY [STATIC_BINARY]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod peers;
use peers::{start_litellm, start_nginx, start_tensorzero};

/// The client token, of the proxy and of a peer (LiteLLM refuses short master keys).
const TOKEN: &str = "sk-bench-5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5";

const CHAT_JSON: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":7,"total_tokens":16}}"#;
const MSG_JSON: &str = r#"{"id":"msg_bench","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello from the bench upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":7}}"#;

// ---- the fake upstream ------------------------------------------------------------------

/// One SSE event of a paced stream, in the wire format of the path.
fn event(anthropic: bool, i: usize, sent_us: u128) -> String {
    if anthropic {
        format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"t{i}@{sent_us} \"}}}}\n\n")
    } else {
        format!("data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"t{i}@{sent_us} \"}},\"finish_reason\":null}}]}}\n\n")
    }
}

/// A whole streamed answer: `n` events `gap` apart (sent as they are due).
fn stream(w: &mut TcpStream, anthropic: bool, n: usize, gap: Duration, epoch: Instant) -> std::io::Result<()> {
    w.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")?;
    let mut send = |s: &str| -> std::io::Result<()> {
        w.write_all(format!("{:x}\r\n{s}\r\n", s.len()).as_bytes())?;
        w.flush()
    };
    if anthropic {
        send("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_b\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")?;
    }
    for i in 0..n {
        if i > 0 {
            thread::sleep(gap);
        }
        send(&event(anthropic, i, epoch.elapsed().as_micros()))?;
    }
    if anthropic {
        send("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")?;
    } else {
        send("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")?;
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// Serves one keep-alive connection. The model name asks for a stream: `paced-N-MS`.
fn serve(conn: TcpStream, epoch: Instant) {
    let _ = conn.set_nodelay(true);
    let mut r = BufReader::new(conn.try_clone().expect("clone"));
    let mut w = conn;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let anthropic = line.contains("/v1/messages");
        let mut len = 0;
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body);
        let paced = body.find("paced-").map(|at| {
            let spec: String = body[at + 6..].chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
            let mut it = spec.split('-').map(|n| n.parse::<u64>().unwrap_or(1));
            (it.next().unwrap_or(1) as usize, Duration::from_millis(it.next().unwrap_or(0)))
        });
        let result = match paced {
            Some((n, gap)) => stream(&mut w, anthropic, n, gap, epoch),
            None => {
                let json = if anthropic { MSG_JSON } else { CHAT_JSON };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                w.write_all(resp.as_bytes())
            }
        };
        if result.is_err() {
            return;
        }
    }
}

fn upstream(epoch: Instant) -> SocketAddr {
    // A deep backlog: std's 128 overflows when 1,000 streams connect at once.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).expect("bind");
    sock.listen(4096).expect("listen");
    let l: TcpListener = sock.into();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for c in l.incoming().flatten() {
            thread::Builder::new().stack_size(64 * 1024).spawn(move || serve(c, epoch)).expect("thread");
        }
    });
    addr
}

// ---- the proxy --------------------------------------------------------------------------

/// A running server under test: this proxy, or a peer.
struct Proxy {
    child: Child,
    addr: SocketAddr,
    cold_start: Duration,
    /// Prepended to the OpenAI paths (a peer may serve them elsewhere).
    path_prefix: &'static str,
    /// Prepended to model names (a peer may name its models its own way).
    model_prefix: &'static str,
    /// Which client dialects it serves: `true` for OpenAI only (no Anthropic ingress), and
    /// whether it can translate at all (nginx passes bytes through).
    openai_only: bool,
    translates: bool,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(binary: &str, up: SocketAddr, dir: &std::path::Path, env: &[(&str, &str)]) -> Proxy {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(
        dir.join("litellm_config.yaml"),
        format!(
            "model_list:\n  - model_name: 'claude-*'\n    litellm_params: {{model: anthropic/*, api_base: 'http://{up}', api_key: sk-bench}}\n  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: 'http://{up}/v1', api_key: sk-bench}}\n"
        ),
    )
    .unwrap();
    let start = Instant::now();
    let child = Command::new(binary)
        .current_dir(dir)
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOCAL_AUTH_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the proxy binary starts");
    running(child, port, "/health", start, Duration::from_secs(10))
}

/// Waits until a started server answers `GET path` with 200: that moment is its cold start.
fn running(child: Child, port: u16, path: &str, start: Instant, limit: Duration) -> Proxy {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let probe = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    loop {
        if let Ok(mut s) = TcpStream::connect(addr) {
            s.write_all(probe.as_bytes()).unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(start.elapsed() < limit, "the server on {addr} did not come up");
        thread::sleep(Duration::from_micros(200));
    }
    Proxy {
        child,
        addr,
        cold_start: start.elapsed(),
        path_prefix: "",
        model_prefix: "",
        openai_only: false,
        translates: true,
    }
}

/// Resident memory of a process and its descendants, in kB.
fn tree_rss_kb(pid: u32) -> u64 {
    let parent = |p: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
    };
    let all: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(all.iter().copied().filter(|&c| parent(c) == Some(p)));
        i += 1;
    }
    tree.iter().map(|&p| rss_kb(p)).sum()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// Resident memory by kind of mapping (for finding where memory goes; `BENCH_DEBUG=1`).
fn smaps_summary(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_size: std::collections::BTreeMap<u64, (u64, u64)> = Default::default();
    let mut size = 0;
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("Size:") {
            size = v.trim().trim_end_matches(" kB").parse().unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Rss:") {
            let rss: u64 = v.trim().trim_end_matches(" kB").parse().unwrap_or(0);
            let e = by_size.entry(size).or_default();
            e.0 += 1;
            e.1 += rss;
        }
    }
    let mut top: Vec<_> = by_size.into_iter().collect();
    top.sort_by_key(|(_, (_, rss))| std::cmp::Reverse(*rss));
    top.iter().take(10).map(|(size, (n, rss))| format!("{n}x{size}kB maps={rss}kB")).collect::<Vec<_>>().join(", ")
}

// ---- measurements -----------------------------------------------------------------------

/// A scenario: what the client sends, to the proxy and (for the baseline) to the upstream.
struct Scenario {
    name: &'static str,
    proxy_path: &'static str,
    direct_path: &'static str,
    /// The client's body (with `MODEL` in place of the model name).
    body: &'static str,
    /// The upstream's dialect, for the direct baseline body.
    direct_body: &'static str,
    model_prefix: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "OpenAI passthrough",
        proxy_path: "/v1/chat/completions",
        direct_path: "/v1/chat/completions",
        body: r#"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]STREAM}"#,
        direct_body: r#"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]STREAM}"#,
        model_prefix: "gpt-",
    },
    Scenario {
        name: "OpenAI → Anthropic",
        proxy_path: "/v1/chat/completions",
        direct_path: "/v1/messages",
        // With `max_tokens`: TensorZero cannot call Anthropic without it.
        body: r#"{"model":"MODEL","max_tokens":100,"messages":[{"role":"user","content":"hi"}]STREAM}"#,
        direct_body: r#"{"model":"MODEL","max_tokens":100,"messages":[{"role":"user","content":"hi"}]STREAM}"#,
        model_prefix: "claude-",
    },
    Scenario {
        name: "Anthropic → OpenAI",
        proxy_path: "/v1/messages",
        direct_path: "/v1/chat/completions",
        body: r#"{"model":"MODEL","max_tokens":100,"messages":[{"role":"user","content":"hi"}]STREAM}"#,
        direct_body: r#"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]STREAM}"#,
        model_prefix: "gpt-",
    },
];

fn body(template: &str, model: &str, stream: bool) -> String {
    template.replace("MODEL", model).replace("STREAM", if stream { r#","stream":true"# } else { "" })
}

/// `wrk` against `url` with `body`: (requests/s, p50 ms, p99 ms).
fn wrk(url: &str, body: &str, conns: usize, secs: u64, dir: &std::path::Path) -> (f64, f64, f64) {
    let script = dir.join("post.lua");
    let escaped = body.replace('\\', "\\\\").replace('\'', "\\'");
    std::fs::write(
        &script,
        format!("wrk.method = 'POST'\nwrk.body = '{escaped}'\nwrk.headers['Content-Type'] = 'application/json'\nwrk.headers['Authorization'] = 'Bearer {TOKEN}'\nwrk.headers['x-api-key'] = '{TOKEN}'\nwrk.headers['anthropic-version'] = '2023-06-01'\n"),
    )
    .unwrap();
    let threads = conns.clamp(1, 2).to_string();
    let out = Command::new("wrk")
        .args(["-t", &threads, "-c", &conns.to_string(), "-d", &format!("{secs}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk runs (make bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let ms = |label: &str| -> f64 {
        let line = text.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or("");
        let v = line.split_whitespace().nth(1).unwrap_or("0");
        let (num, unit): (String, String) = v.chars().partition(|c| c.is_ascii_digit() || *c == '.');
        let n: f64 = num.parse().unwrap_or(f64::NAN);
        match unit.as_str() {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            _ => f64::NAN,
        }
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let non2xx = text.lines().any(|l| l.contains("Non-2xx"));
    assert!(!non2xx, "wrk saw errors against {url}:\n{text}");
    (rps, ms("50%"), ms("99%"))
}

/// Streams whose time to the first event is measured, direct and proxied (the median is shown).
const TTFB_RUNS: usize = 31;

/// Rounds of `wrk` at concurrency 32, direct and proxied (the median of each is shown).
const THROUGHPUT_RUNS: usize = 3;

/// One streamed request over a raw socket: (time to first event, largest gap between events).
fn paced_stream(addr: SocketAddr, path: &str, body: &str) -> (Duration, Duration, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nanthropic-version: 2023-06-01\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut first, mut last, mut max_gap, mut events) = (None, start, Duration::ZERO, 0);
    let mut head = Vec::new();
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        if head.len() < 300 {
            head.extend_from_slice(&buf[..n.min(300)]);
        }
        // Every paced event carries one `@` (its send time); nothing else does.
        let marks = buf[..n].iter().filter(|&&b| b == b'@').count();
        // A keep-alive server may not close: the end of the chunked body ends the response.
        let ended = buf[..n].ends_with(b"0\r\n\r\n");
        if marks > 0 {
            if first.is_none() {
                first = Some(now - start);
            } else {
                max_gap = max_gap.max(now - last);
            }
            last = now;
            events += marks;
        }
        if ended {
            break;
        }
    }
    if events == 0 && std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("no events; the answer began: {:?}", String::from_utf8_lossy(&head));
    }
    (first.unwrap_or(Duration::MAX), max_gap, events)
}

/// The latency, throughput and paced-stream columns of one scenario through the proxy at `addr`,
/// each against the direct call measured just before it.
fn measure(front: &Proxy, up: SocketAddr, sc: &Scenario, secs: u64, dir: &std::path::Path) -> String {
    let (addr, path) = (front.addr, format!("{}{}", front.path_prefix, sc.proxy_path));
    let model = |name: &str| format!("{}{}{name}", front.model_prefix, sc.model_prefix);
    let direct_url = format!("http://{up}{}", sc.direct_path);
    let proxy_url = format!("http://{addr}{path}");
    let direct_model = format!("{}bench", sc.model_prefix);
    let (pb, db) = (body(sc.body, &model("bench"), false), body(sc.direct_body, &direct_model, false));
    eprintln!("[{}] latency at concurrency 1", sc.name);
    let (_, d50, d99) = wrk(&direct_url, &db, 1, secs, dir);
    let (_, p50, p99) = wrk(&proxy_url, &pb, 1, secs, dir);
    eprintln!("[{}] throughput at concurrency 32", sc.name);
    // On two shared cores one run can land at half another's rate: the median of rounds,
    // direct and proxied in turn.
    let (mut drs, mut prs): (Vec<f64>, Vec<f64>) = (0..THROUGHPUT_RUNS)
        .map(|_| (wrk(&direct_url, &db, 32, secs, dir).0, wrk(&proxy_url, &pb, 32, secs, dir).0))
        .unzip();
    drs.sort_by(f64::total_cmp);
    prs.sort_by(f64::total_cmp);
    let (drps, prps) = (drs[THROUGHPUT_RUNS / 2], prs[THROUGHPUT_RUNS / 2]);
    eprintln!("[{}] a paced stream", sc.name);
    let (_, gap, events) = paced_stream(addr, &path, &body(sc.body, &model("paced-64-20"), true));
    assert!(events >= 64, "{}: only {events} events arrived", sc.name);
    // Time to the first event: the median of short streams, direct and proxied in turn (one
    // stream's figure moves by tenths of a millisecond from run to run).
    let short = format!("{}paced-2-1", sc.model_prefix);
    let (direct, proxied) = (body(sc.direct_body, &short, true), body(sc.body, &model("paced-2-1"), true));
    let (mut dts, mut pts): (Vec<Duration>, Vec<Duration>) = (0..TTFB_RUNS)
        .map(|_| (paced_stream(up, sc.direct_path, &direct).0, paced_stream(addr, &path, &proxied).0))
        .unzip();
    dts.sort();
    pts.sort();
    let (dt, pt) = (dts[TTFB_RUNS / 2], pts[TTFB_RUNS / 2]);
    format!(
        "{:+.3} ms | {:+.3} ms | {:.0} / {:.0} req/s ({:.0}%) | {:+.3} ms | {:.1} ms",
        p50 - d50,
        p99 - d99,
        prps,
        drps,
        100.0 * prps / drps,
        (pt.as_secs_f64() - dt.as_secs_f64()) * 1000.0,
        gap.as_secs_f64() * 1000.0,
    )
}

/// `n` concurrent streams (each `events` × `gap_ms`): how many completed, peak proxy RSS.
fn many_streams(proxy: &Proxy, n: usize, sc: &Scenario) -> (usize, u64) {
    let done = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(body(sc.body, &format!("{}paced-20-100", sc.model_prefix), true));
    let path = sc.proxy_path;
    let addr = proxy.addr;
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (done, body) = (done.clone(), body.clone());
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let (ttfb, _, events) = paced_stream(addr, path, &body);
                    if events >= 20 {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else if std::env::var_os("BENCH_DEBUG").is_some() {
                        eprintln!("stream failed: {events} events, first after {ttfb:?}");
                    }
                })
                .expect("client thread")
        })
        .collect();
    let pid = proxy.child.id();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
        let now = rss_kb(pid);
        if now > peak && std::env::var_os("BENCH_DEBUG").is_some() {
            let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
            eprintln!("smaps at {now} kB, {threads} threads: {}", smaps_summary(pid));
        }
        peak = peak.max(now);
        thread::sleep(Duration::from_millis(50));
    }
    for h in handles {
        let _ = h.join();
    }
    if std::env::var_os("BENCH_DEBUG").is_some() {
        eprintln!("smaps at the end of the run: {}", smaps_summary(pid));
    }
    (done.load(Ordering::Relaxed), peak)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args.next().expect("usage: bench PROXY_BINARY [STATIC_BINARY]");
    let binary = std::fs::canonicalize(&binary).expect("the proxy binary exists").to_string_lossy().into_owned();
    let static_binary = args.next();
    let epoch = Instant::now();
    let up = upstream(epoch);
    let dir = std::env::temp_dir().join(format!("grp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secs = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);

    let proxy = start_proxy(&binary, up, &dir, &[]);
    thread::sleep(Duration::from_millis(300));
    let idle_rss = rss_kb(proxy.child.id());
    let cold = (0..3).map(|_| start_proxy(&binary, up, &dir, &[]).cold_start).min().unwrap();

    println!(
        "gpt-reverse-proxy benchmark: loopback, {} cores, wrk {secs}s per run; ratios are proxy vs direct",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| scenario | c=1 P50 added | c=1 P99 added | c=32 throughput (proxy / direct) | TTFB P50 added | max gap (20 ms pacing) | 1,000 streams done | RSS at 1,000 |");
    println!("|---|---|---|---|---|---|---|---|");
    for sc in SCENARIOS {
        if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "streams") {
            let (completed, peak) = many_streams(&proxy, 1000, sc);
            println!("| {} | 1,000 streams: {completed} done, RSS {:.1} MB |", sc.name, peak as f64 / 1024.0);
            continue;
        }
        let row = measure(&proxy, up, sc, secs, &dir);
        eprintln!("[{}] 1,000 concurrent streams", sc.name);
        let (completed, peak) = many_streams(&proxy, 1000, sc);
        println!("| {} | {row} | {completed} / 1000 | {:.1} MB |", sc.name, peak as f64 / 1024.0);
    }
    // Dumps are written by a background thread; a request should not feel them.
    let sc = &SCENARIOS[0];
    eprintln!("[{}] again with DUMP_HTTP_CONTENT=true", sc.name);
    let dumping = start_proxy(&binary, up, &dir, &[("DUMP_HTTP_CONTENT", "true")]);
    println!("| {}, dumps on | {} | – | – |", sc.name, measure(&dumping, up, sc, secs, &dir));
    drop(dumping);
    // Peers in the same run, when `make bench-peers` installed them. TensorZero has no
    // Anthropic ingress.
    type Start = fn(&std::ffi::OsStr, SocketAddr, &std::path::Path) -> Proxy;
    let wanted: [(&str, &str, Start); 3] = [
        ("nginx", "BENCH_NGINX", start_nginx),
        ("LiteLLM", "BENCH_LITELLM", start_litellm),
        ("TensorZero", "BENCH_TENSORZERO", start_tensorzero),
    ];
    let mut peer_notes = Vec::new();
    for (name, var, start) in wanted {
        let Some(exe) = std::env::var_os(var) else { continue };
        let peer = start(&exe, up, &dir);
        let serves = |sc: &&Scenario| {
            (!peer.openai_only || sc.proxy_path != "/v1/messages")
                && (peer.translates || sc.name == "OpenAI passthrough")
        };
        for sc in SCENARIOS.iter().filter(serves) {
            let row = measure(&peer, up, sc, secs, &dir);
            // nginx is the ceiling: its memory at 1,000 streams is measured too.
            let streams = match peer.translates {
                true => "– | –".to_string(),
                false => {
                    let (completed, peak) = many_streams(&peer, 1000, sc);
                    format!("{completed} / 1000 | {:.1} MB", peak as f64 / 1024.0)
                }
            };
            println!("| {name}: {} | {row} | {streams} |", sc.name);
        }
        let rss = tree_rss_kb(peer.child.id()) as f64 / 1024.0;
        let cold = peer.cold_start.as_secs_f64() * 1000.0;
        peer_notes.push(format!("{name}: RSS after the run {rss:.1} MB; cold start: {cold:.0} ms"));
    }
    println!();
    println!(
        "idle RSS: {:.1} MB; cold start to first 200: {:.1} ms",
        idle_rss as f64 / 1024.0,
        cold.as_secs_f64() * 1000.0
    );
    peer_notes.iter().for_each(|n| println!("{n}"));
    if let Some(s) = static_binary {
        let size = std::fs::metadata(&s).map(|m| m.len()).unwrap_or(0);
        println!("stripped static binary: {:.2} MB ({size} bytes)", size as f64 / 1_048_576.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
