//! The process's life: SIGTERM (what `docker stop` sends) lets running streams finish, refuses
//! new requests with a fast 503, and exits 0.

use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The proxy binary started in `dir` on 127.0.0.1:0 under `ulimit <limit>`.
fn under_ulimit(limit: &str, dir: &std::path::Path) -> std::process::Child {
    let bin = env!("CARGO_BIN_EXE_gpt-reverse-proxy");
    Command::new("sh")
        .args(["-c", &format!("ulimit {limit} && exec {bin}")])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The proxy binary started in `dir` on 127.0.0.1:0, its log piped.
fn proxy_in(dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"))
        .current_dir(dir)
        .env_clear()
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// How the process ended, waiting at most `bound` for it to end.
fn exit_within(child: &mut std::process::Child, bound: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < bound, "the proxy did not exit within {bound:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The proxy's log and address, once it says it is listening.
fn listening(child: &mut std::process::Child) -> (BufReader<std::process::ChildStderr>, String) {
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "the proxy exited early");
        if let Some(at) = line.find("listening on http://") {
            return (log, line[at + 20..].trim().to_string());
        }
    }
}

/// The running stream is held by its upstream until the refusal of a new request has been
/// seen, so the order is certain on a loaded machine, not a guess of 200 ms.
#[test]
fn sigterm_finishes_running_streams_refuses_new_requests_and_exits_0() {
    let gate = Gate::default();
    let held = gate.clone();
    let up = FakeUpstream::replay(move || {
        let rest: Vec<u8> = (1..10).flat_map(|i| format!("data: {{\"n\":{i}}}\n\n").into_bytes()).collect();
        Script::Gated {
            before: b"data: {\"n\":0}\n\n".to_vec(),
            gate: held.clone(),
            bound: Duration::from_secs(20),
            after: [rest, b"data: [DONE]\n\n".to_vec()].concat(),
        }
    });
    let dir = std::env::temp_dir().join(format!("grp-life-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("litellm_config.yaml"), models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]))
        .unwrap();
    let mut child = Killed(proxy_in(&dir));
    let (mut log, addr) = listening(&mut child.0);
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 512];
    assert!(stream.read(&mut first).unwrap() > 0);

    let term = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(term.success());
    // New requests are refused once the signal has been handled.
    let mut last = None;
    wait_until("a 503 for a new request after SIGTERM", Duration::from_secs(15), || {
        let r = call("GET", &format!("http://{addr}/v1/models"), &[], "");
        let refused = r.status == 503;
        last = Some(r);
        refused
    });
    assert_eq!(last.unwrap().json()["error"]["code"], "shutting_down");
    gate.open();

    let mut rest = String::new();
    stream.read_to_string(&mut rest).unwrap();
    assert!(rest.ends_with("data: [DONE]\n\n\r\n0\r\n\r\n"), "the running stream was cut: {rest:?}");
    let status = exit_within(&mut child.0, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
    let mut tail = String::new();
    let _ = log.read_to_string(&mut tail);
    assert!(tail.contains("shutting down") && tail.contains("all requests finished"), "{tail}");
}

/// tiny_http's accept thread dies when file descriptors run out (research/deps.md §2.7): the
/// process would hold the port and serve nothing. The watchdog must notice and exit 1.
#[test]
fn when_accepting_dies_the_process_exits_1_for_its_supervisor() {
    let dir = std::env::temp_dir().join(format!("grp-watchdog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("litellm_config.yaml"), "gpt_reverse_proxy:\n  watchdog_interval: 0.3\n").unwrap();
    let mut child = under_ulimit("-n 48", &dir);
    let (mut log, addr) = listening(&mut child);
    // Idle keep-alive connections: each costs the proxy two descriptors until none are left.
    let held: Vec<TcpStream> = (0..60).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    let status = exit_within(&mut child, Duration::from_secs(15));
    drop(held);
    assert_eq!(status.code(), Some(1));
    let mut tail = String::new();
    let _ = log.read_to_string(&mut tail);
    // Either the watchdog notices, or tiny_http reports the failed accept itself (seen in CI).
    assert!(tail.contains("exiting so that the supervisor restarts"), "{tail}");
}

#[test]
fn sighup_reloads_the_config_and_keeps_the_old_one_when_the_new_one_is_invalid() {
    let dir = std::env::temp_dir().join(format!("grp-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("litellm_config.yaml");
    let mock = |name: &str, text: &str| {
        format!("model_list:\n  - model_name: {name}\n    litellm_params: {{model: openai/x, mock_response: {text}}}\n")
    };
    std::fs::write(&file, mock("first", "one")).unwrap();
    // Killed even if an assertion fails: a panicking test must not leave a proxy running.
    let mut child = Killed(proxy_in(&dir));
    let (mut log, addr) = listening(&mut child.0);
    let chat = |model: &str| {
        let r = call(
            "POST",
            &format!("http://{addr}/v1/chat/completions"),
            &[],
            &format!(r#"{{"model":"{model}","messages":[]}}"#),
        );
        (
            r.status,
            if r.status == 200 {
                r.json()["choices"][0]["message"]["content"].as_str().unwrap().to_string()
            } else {
                String::new()
            },
        )
    };
    // The log, read as it is written: each reload is waited for by its log line, not a sleep.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let into = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        while log.read_line(&mut line).is_ok_and(|n| n > 0) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    let hup = |child: &std::process::Child, logged: &str| {
        assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
        wait_until(&format!("{logged:?} in the log"), Duration::from_secs(15), || {
            seen.lock().unwrap().contains(logged)
        });
    };
    assert_eq!(chat("first"), (200, "one".into()));

    std::fs::write(&file, mock("second", "two")).unwrap();
    hup(&child.0, "reloaded: model \"second\"");
    assert_eq!(chat("second"), (200, "two".into()));
    assert_eq!(chat("first").0, 404);

    std::fs::write(&file, "model_list:\n  - model_name: broken\n    litellm_params: {model: openai/x, timeout: -1}\n")
        .unwrap();
    hup(&child.0, "reload refused");
    assert_eq!(chat("second"), (200, "two".into()), "an invalid file changes nothing");

    // A reload caught mid-save must not open a proxy that has a token: a moved or truncated
    // file, or one without the key, keeps the running configuration.
    std::fs::write(&file, mock("keyed", "three") + "general_settings: {master_key: sk-reload-key-123}\n").unwrap();
    hup(&child.0, "reloaded: model \"keyed\"");
    assert_eq!(chat("keyed").0, 401);
    std::fs::remove_file(&file).unwrap();
    hup(&child.0, "is gone");
    std::fs::write(&file, "").unwrap();
    hup(&child.0, "lists no model");
    std::fs::write(&file, mock("open", "four")).unwrap();
    hup(&child.0, "sets no client token");
    std::fs::write(&file, mock("cut", "five") + "general_settings: {master_key: sk-rel}\n").unwrap();
    hup(&child.0, "the start of one in force");
    assert_eq!((chat("keyed").0, chat("open").0, chat("cut").0), (401, 401, 401), "still keyed, still the old list");

    let _ = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status();
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    reader.join().unwrap();
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit_at_startup() {
    let hard = Command::new("sh").args(["-c", "ulimit -Hn"]).output().unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_string();
    let dir = std::env::temp_dir().join(format!("grp-nofile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = under_ulimit("-Sn 64", &dir);
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let limit = loop {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "no limit line");
        if let Some(at) = line.find("open-file limit: ") {
            break line[at + 17..].split_whitespace().next().unwrap().to_string();
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    if hard != "unlimited" {
        assert_eq!(limit, hard, "raised from the soft 64 to the hard limit");
    }
}

/// Threads named "worker" in a process.
fn workers(pid: u32) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "worker"))
        .count()
}

/// After a burst, the workers it needed leave once idle for `idle_worker_exit` (a few stay), so
/// their stacks go back to the system instead of holding the burst's memory for good.
/// The burst is held by its upstream until all of it has arrived there, so "during the burst"
/// is an observed state rather than 150 ms after starting thirty threads.
#[test]
fn workers_started_for_a_burst_leave_when_idle() {
    const BURST: usize = 30;
    let gate = Gate::default();
    let held = gate.clone();
    let up = FakeUpstream::replay(move || Script::Gated {
        before: b"data: {\"n\":0}\n\n".to_vec(),
        gate: held.clone(),
        bound: Duration::from_secs(30),
        after: b"data: {\"n\":1}\n\ndata: {\"n\":2}\n\n".to_vec(),
    });
    let dir = std::env::temp_dir().join(format!("grp-idle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    std::fs::write(dir.join("litellm_config.yaml"), format!("{yaml}gpt_reverse_proxy:\n  idle_worker_exit: 0.3\n"))
        .unwrap();
    let mut child = Killed(under_ulimit("-n 1024", &dir));
    let (_log, addr) = listening(&mut child.0);
    let pid = child.0.id();
    let body = r#"{"model":"m","stream":true,"messages":[]}"#;
    let burst: Vec<_> = (0..BURST)
        .map(|_| {
            let url = format!("http://{addr}/v1/chat/completions");
            std::thread::spawn(move || call("POST", &url, &[], body).status)
        })
        .collect();
    wait_until("the whole burst to reach the upstream", Duration::from_secs(30), || up.requests().len() >= BURST);
    let during = workers(pid);
    gate.open();
    assert!(burst.into_iter().all(|t| t.join().unwrap() == 200));
    let t = Instant::now();
    while workers(pid) > 5 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = workers(pid);
    assert!(during >= 10 && after <= 5, "{during} workers during the burst, {after} after");
    // And the pool still serves.
    assert_eq!(call("POST", &format!("http://{addr}/v1/chat/completions"), &[], body).status, 200);
}

/// A child process killed when the test ends, passing or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
