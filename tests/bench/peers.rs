//! The peers `make bench-peers` measures beside the proxy: started on the same fake upstream
//! with the same model names, stopped when dropped.

use super::{running, Proxy, TOKEN};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// LiteLLM's proxy (`litellm` from PyPI, one worker, the bench token as its master key, no
/// network) in front of the same upstream, with the same model names.
pub fn start_litellm(exe: &std::ffi::OsStr, up: SocketAddr, dir: &std::path::Path) -> Proxy {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut yaml = format!("general_settings:\n  master_key: {TOKEN}\nmodel_list:\n");
    for model in ["bench", "paced-64-20", "paced-2-1"] {
        yaml += &format!("  - model_name: gpt-{model}\n    litellm_params: {{model: openai/gpt-{model}, api_base: 'http://{up}/v1', api_key: sk-bench}}\n");
        yaml += &format!("  - model_name: claude-{model}\n    litellm_params: {{model: anthropic/claude-{model}, api_base: 'http://{up}', api_key: sk-bench}}\n");
    }
    let config = dir.join("litellm_peer.yaml");
    std::fs::write(&config, yaml).unwrap();
    let start = Instant::now();
    let child = Command::new(exe)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--num_workers", "1"])
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        // Its default for `/v1/messages` on an OpenAI model is the Responses API.
        .env("LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("LiteLLM starts");
    running(child, port, "/health/liveliness", start, Duration::from_secs(120))
}

/// TensorZero's gateway in front of the same upstream: the `tensorzero` wheel embeds it, and
/// `_start_http_gateway` is how its Python client starts one. OpenAI routes only (under
/// `/openai`), models named `tensorzero::model_name::…`. It has no health route, so it counts
/// as running once it prints its address.
pub fn start_tensorzero(python: &std::ffi::OsStr, up: SocketAddr, dir: &std::path::Path) -> Proxy {
    let mut toml = String::from("[gateway.observability]\nenabled = false\n");
    for model in
        ["gpt-bench", "gpt-paced-64-20", "gpt-paced-2-1", "claude-bench", "claude-paced-64-20", "claude-paced-2-1"]
    {
        // Both provider types append their path (`/chat/completions`, `/messages`) to `/v1`.
        let (kind, key) = match model.starts_with("gpt-") {
            true => ("openai", "none"),
            false => ("anthropic", "env::TZ_BENCH_KEY"),
        };
        let base = format!("http://{up}/v1");
        toml += &format!("[models.{model:?}]\nrouting = [\"up\"]\n[models.{model:?}.providers.up]\ntype = \"{kind}\"\napi_base = \"{base}\"\nmodel_name = \"{model}\"\napi_key_location = \"{key}\"\n");
    }
    let config = dir.join("tensorzero.toml");
    std::fs::write(&config, toml).unwrap();
    let script = "import sys, time, tensorzero\ngw = tensorzero._start_http_gateway(config_file=sys.argv[1], clickhouse_url=None, postgres_url=None, valkey_url=None, async_setup=False)\nprint('ADDRESS', gw.base_url, flush=True)\ntime.sleep(86400)\n";
    let start = Instant::now();
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&config)
        .env("TZ_BENCH_KEY", "sk-bench")
        .env("TENSORZERO_DISABLE_PSEUDONYMOUS_USAGE_ANALYTICS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("TensorZero starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("ADDRESS ").map(str::to_string))
        .expect("TensorZero printed its address");
    let cold_start = start.elapsed();
    // Its logs go to stdout too: keep reading, or a full pipe would stall it.
    thread::spawn(move || lines.for_each(drop));
    let addr = base.trim_start_matches("http://").split('/').next().unwrap().parse().unwrap();
    Proxy {
        child,
        addr,
        cold_start,
        path_prefix: "/openai",
        model_prefix: "tensorzero::model_name::",
        openai_only: true,
        translates: true,
    }
}

/// nginx doing this proxy's passthrough job, the ceiling for any HTTP reverse proxy here: the
/// token checked, the upstream key injected, upstream keep-alive, unbuffered streaming, one
/// process (`master_process off`, so its RSS is one process's like this proxy's).
pub fn start_nginx(exe: &std::ffi::OsStr, up: SocketAddr, dir: &std::path::Path) -> Proxy {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = dir.join("nginx");
    std::fs::create_dir_all(d.join("tmp")).unwrap();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 4096; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  upstream up {{ server {up}; keepalive 64; }}\n  server {{\n    listen 127.0.0.1:{port};\n    location = /health {{ return 200 ok; }}\n    location / {{\n      if ($http_authorization != \"Bearer {TOKEN}\") {{ return 401; }}\n      proxy_pass http://up;\n      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      proxy_set_header Authorization \"Bearer sk-bench\";\n      proxy_buffering off;\n      proxy_request_buffering off;\n    }}\n  }}\n}}\n",
        d = d.display()
    );
    std::fs::write(d.join("nginx.conf"), conf).unwrap();
    let start = Instant::now();
    let child = Command::new(exe)
        .args(["-p", &d.display().to_string(), "-c", &d.join("nginx.conf").display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let mut p = running(child, port, "/health", start, Duration::from_secs(10));
    (p.openai_only, p.translates) = (true, false);
    p
}
