//! `make soak`: the proxy binary under a steady mix of requests with upstream faults, for
//! `SOAK_SECONDS` (180). Sixteen clients loop over the scenarios below — plain and streamed
//! answers, translated streams, upstream 500s, upstreams that stall past the timeouts, streams
//! cut mid-way, HTML where JSON is due, clients that leave mid-stream — and three hostile ones
//! (issue 13): pipelining thousands of requests without reading, declaring bodies and never
//! sending them, sending oversized heads. The proxy's RSS, open descriptors and threads are
//! sampled every five seconds.
//!
//! Prints the samples and a verdict; exits 1 when any answer was not the one its scenario calls
//! for (a hostile client's "answer" is the proxy closing on it in time, or a 431), when RSS grew
//! after warm-up (first quarter) by more than 10% + 1 MB, or when descriptors and threads are
//! not back to their idle count once the clients stop.
//!
//! Usage: soak PROXY_BINARY

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const CHUNK: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}"#;
const CHAT: &str = r#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;

/// A scenario: the model name (which tells the fake upstream what to do), whether the client
/// streams, the path, and the statuses that are right for it.
struct Scenario {
    model: &'static str,
    stream: bool,
    path: &'static str,
    ok: &'static [u16],
    /// The client hangs up after the first bytes of the answer.
    leaves: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { model: "ok", stream: false, path: "/v1/chat/completions", ok: &[200], leaves: false },
    Scenario { model: "ok", stream: true, path: "/v1/chat/completions", ok: &[200], leaves: false },
    Scenario { model: "ok", stream: true, path: "/v1/messages", ok: &[200], leaves: false },
    Scenario { model: "claude-ok", stream: true, path: "/v1/chat/completions", ok: &[200], leaves: false },
    Scenario { model: "fail", stream: false, path: "/v1/chat/completions", ok: &[500], leaves: false },
    Scenario { model: "stall", stream: false, path: "/v1/chat/completions", ok: &[504], leaves: false },
    // The head arrives, then the stream stops: an error event inside a 200.
    Scenario { model: "cut", stream: true, path: "/v1/chat/completions", ok: &[200], leaves: false },
    Scenario { model: "html", stream: false, path: "/v1/messages", ok: &[502], leaves: false },
    Scenario { model: "ok", stream: true, path: "/v1/chat/completions", ok: &[200], leaves: true },
];

/// The hostile clients, tallied after the scenarios.
const HOSTILE: [&str; 3] =
    ["pipelines 2,000 requests, reads nothing", "declares a body, never sends it", "sends a 100 KB head"];

/// The proxy's `client_read_timeout` here: a silent connection is closed after it.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

// ---- the fake upstream ------------------------------------------------------------------

fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = serve(conn);
            });
        }
    });
    addr
}

fn serve(conn: TcpStream) -> std::io::Result<()> {
    let mut r = BufReader::new(conn.try_clone()?);
    let mut w = conn;
    loop {
        let (mut line, mut len) = (String::new(), 0usize);
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            let mut h = String::new();
            r.read_line(&mut h)?;
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        let body = String::from_utf8_lossy(&body);
        let model = body.split("\"model\":\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
        let stream = body.contains("\"stream\":true");
        match model {
            "fail" => {
                reply(&mut w, "500 Internal Server Error", "application/json", r#"{"error":{"message":"boom"}}"#)?
            }
            "html" => reply(&mut w, "200 OK", "text/html", "<html>maintenance</html>")?,
            "stall" => {
                thread::sleep(Duration::from_secs(3));
                return Ok(());
            }
            "claude-ok" => {
                let events = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
                reply(&mut w, "200 OK", "text/event-stream", events)?;
            }
            "cut" => {
                w.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                )?;
                let e = format!("{CHUNK}\n\n");
                w.write_all(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes())?;
                return Ok(()); // and the connection drops
            }
            _ if stream => {
                w.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                )?;
                for _ in 0..20 {
                    let e = format!("{CHUNK}\n\n");
                    w.write_all(format!("{:x}\r\n{e}\r\n", e.len()).as_bytes())?;
                    thread::sleep(Duration::from_millis(2));
                }
                let end = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
                w.write_all(format!("{:x}\r\n{end}\r\n0\r\n\r\n", end.len()).as_bytes())?;
            }
            _ => reply(&mut w, "200 OK", "application/json", CHAT)?,
        }
    }
}

fn reply(w: &mut TcpStream, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len());
    w.write_all(format!("{head}{body}").as_bytes())
}

// ---- the clients ------------------------------------------------------------------------

/// Per scenario: requests, wrong answers, and how often each status (or none) came back.
type Tally = (u64, u64, BTreeMap<Option<u16>, u64>);

/// One request on a fresh connection: the status, or `None` when there was no answer.
fn request(proxy: SocketAddr, sc: &Scenario) -> Option<u16> {
    let body = format!(
        r#"{{"model":"{}","max_tokens":9,"stream":{},"messages":[{{"role":"user","content":"hi"}}]}}"#,
        sc.model, sc.stream
    );
    let mut s = TcpStream::connect(proxy).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sc.path,
        body.len()
    );
    s.write_all(format!("{head}{body}").as_bytes()).ok()?;
    let mut buf = [0u8; 16];
    s.read_exact(&mut buf[..12]).ok()?;
    let status = std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()?;
    if !sc.leaves {
        std::io::copy(&mut s, &mut std::io::sink()).ok()?;
    }
    Some(status)
}

/// One hostile client of kind `k` (see [`HOSTILE`]); true when the proxy did what it should.
fn hostile(proxy: SocketAddr, k: usize) -> bool {
    let Ok(mut s) = TcpStream::connect(proxy) else { return false };
    let _ = s.set_read_timeout(Some(READ_TIMEOUT * 5));
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    match k {
        0 => {
            let one = "GET /v1/models HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer tok\r\n\r\n";
            let _ = s.write_all(one.repeat(2000).as_bytes());
            thread::sleep(Duration::from_millis(500));
            true // and it goes away without reading; the legitimate clients must not notice
        }
        1 => {
            let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{";
            let t = Instant::now();
            let _ = s.write_all(head.as_bytes());
            // The body read times out (a 400), the drain of the rest times out, and the wait for a
            // next head: the connection ends within about three read timeouts.
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
            t.elapsed() < READ_TIMEOUT * 4
        }
        _ => {
            let head = format!(
                "GET /health HTTP/1.1\r\nHost: soak\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
                "y".repeat(100 << 10)
            );
            let _ = s.write_all(head.as_bytes());
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf).is_ok() && &buf[9..12] == b"431"
        }
    }
}

/// `VmRSS` in kB, open descriptors and threads of `pid`.
fn sample(pid: u32) -> (u64, usize, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok());
    let count = |d: &str| std::fs::read_dir(format!("/proc/{pid}/{d}")).map_or(0, |r| r.count());
    (rss.unwrap_or(0), count("fd"), count("task"))
}

fn main() {
    let binary = std::env::args().nth(1).expect("usage: soak PROXY_BINARY");
    let secs: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(180);
    let up = upstream();
    let dir = std::env::temp_dir().join(format!("grp-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "model_list:\n  - model_name: 'claude-*'\n    litellm_params: {{model: anthropic/*, api_base: 'http://{up}', api_key: k}}\n  - model_name: '*'\n    litellm_params: {{model: openai/*, api_base: 'http://{up}/v1', api_key: k}}\ngpt_reverse_proxy:\n  response_header_timeout: 1\n  stream_idle_timeout: 1\n  client_read_timeout: {}\n  idle_worker_exit: 1\n",
        READ_TIMEOUT.as_secs()
    );
    std::fs::write(dir.join("litellm_config.yaml"), config).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(std::fs::canonicalize(&binary).expect("the proxy binary exists"))
        .current_dir(&dir)
        .env_clear()
        .envs([("HOST", "127.0.0.1"), ("LOCAL_AUTH_TOKEN", "tok"), ("RUST_LOG", "error")])
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("proxy.log")).unwrap())
        .spawn()
        .expect("the proxy starts");
    let proxy: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    while TcpStream::connect(proxy).is_err() {
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(300));
    let idle = sample(child.id());
    let died = |child: &mut std::process::Child| {
        let status = child.try_wait().ok().flatten()?;
        let log = std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        Some(format!(
            "the proxy exited ({status}); its log ends with:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    };

    let stop = Arc::new(AtomicBool::new(false));
    let tally: Arc<Mutex<BTreeMap<usize, Tally>>> = Arc::default();
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (stop, tally) = (stop.clone(), tally.clone());
            thread::spawn(move || {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let sc = &SCENARIOS[i % SCENARIOS.len()];
                    let got = request(proxy, sc);
                    let right = got.is_some_and(|s| sc.ok.contains(&s));
                    let mut t = tally.lock().unwrap();
                    let e = t.entry(i % SCENARIOS.len()).or_default();
                    e.0 += 1;
                    e.1 += u64::from(!right);
                    *e.2.entry(got).or_default() += 1;
                    i += 1;
                }
            })
        })
        .collect();
    let hostiles: Vec<_> = (0..HOSTILE.len())
        .map(|k| {
            let (stop, tally) = (stop.clone(), tally.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let right = hostile(proxy, k);
                    let mut t = tally.lock().unwrap();
                    let e = t.entry(SCENARIOS.len() + k).or_default();
                    e.0 += 1;
                    e.1 += u64::from(!right);
                }
            })
        })
        .collect();

    println!(
        "soak: {secs} s, 16 clients and {} hostile ones, {} scenarios; idle: RSS {:.1} MB, {} fds, {} threads",
        HOSTILE.len(),
        SCENARIOS.len(),
        idle.0 as f64 / 1024.0,
        idle.1,
        idle.2
    );
    println!();
    println!("| time | requests | RSS | fds | threads |");
    println!("|---|---|---|---|---|");
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < Duration::from_secs(secs) {
        thread::sleep(Duration::from_secs(5).min(Duration::from_secs(secs)));
        let s = sample(child.id());
        let n: u64 = tally.lock().unwrap().values().map(|e| e.0).sum();
        println!("| {:>4} s | {n} | {:.1} MB | {} | {} |", start.elapsed().as_secs(), s.0 as f64 / 1024.0, s.1, s.2);
        samples.push((start.elapsed(), s));
        if let Some(why) = died(&mut child) {
            println!("\n{why}");
            std::process::exit(1);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients.into_iter().chain(hostiles) {
        let _ = c.join();
    }
    // Connections close and idle workers leave (a few seconds). tiny_http's connection threads
    // leave after 5 s without work, but the watchdog's connection every 25 ms wakes one of them
    // each time, so its pool stays at the size it reached: threads must not exceed what they
    // were under load.
    let peak = samples.iter().map(|(_, s)| s.2).max().unwrap_or(idle.2);
    let back = |a: (u64, usize, usize)| a.1 <= idle.1 + 2 && a.2 <= peak;
    let t = Instant::now();
    let mut after = sample(child.id());
    while !back(after) && t.elapsed() < Duration::from_secs(20) {
        thread::sleep(Duration::from_millis(250));
        after = sample(child.id());
    }
    let leftover = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };

    println!();
    println!("| scenario | requests | wrong | statuses |");
    println!("|---|---|---|---|");
    let mut wrong = 0;
    for (i, (n, bad, statuses)) in tally.lock().unwrap().iter() {
        let Some(sc) = SCENARIOS.get(*i) else {
            println!("| hostile: {} | {n} | {bad} | |", HOSTILE[*i - SCENARIOS.len()]);
            wrong += bad;
            continue;
        };
        let name = format!(
            "{} {}{}{}",
            sc.path,
            sc.model,
            if sc.stream { " stream" } else { "" },
            if sc.leaves { ", client leaves" } else { "" }
        );
        let seen: Vec<String> =
            statuses.iter().map(|(s, n)| format!("{}×{n}", s.map_or("none".into(), |s| s.to_string()))).collect();
        println!("| {name} | {n} | {bad} | {} |", seen.join(" "));
        wrong += bad;
    }
    // RSS after warm-up (the first quarter) against the end.
    let warm = samples.iter().find(|(t, _)| *t >= Duration::from_secs(secs / 4)).map_or(idle.0, |s| s.1 .0);
    let end = samples.last().map_or(idle.0, |s| s.1 .0);
    let flat = end <= warm + warm / 10 + 1024;
    let fds_back = back(after);
    if !fds_back {
        // Which threads stayed, by name, and where they wait.
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for t in std::fs::read_dir(format!("/proc/{}/task", child.id())).into_iter().flatten().flatten() {
            let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let wchan = std::fs::read_to_string(t.path().join("wchan")).unwrap_or_default();
            *names.entry(format!("{} ({wchan})", name.trim())).or_default() += 1;
        }
        println!("threads left: {names:?}");
    }
    println!();
    println!(
        "wrong answers: {wrong}; RSS after warm-up {:.1} MB → end {:.1} MB ({}); fds idle {} → after {}, threads idle {} → peak {peak} → after {} ({})",
        warm as f64 / 1024.0,
        end as f64 / 1024.0,
        if flat { "flat" } else { "GREW" },
        idle.1,
        after.1,
        idle.2,
        after.2,
        if fds_back { "back" } else { "LEAKED" },
    );
    leftover(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
    if wrong > 0 || !flat || !fds_back {
        std::process::exit(1);
    }
}
