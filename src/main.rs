//! The command line: parse arguments, load the configuration, start logging, run the server.

#![forbid(unsafe_code)]

use gpt_reverse_proxy::config::{Config, Env, Overrides};
use gpt_reverse_proxy::server;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const HELP: &str = "\
gpt-reverse-proxy: one binary between LLM clients and LLM providers

USAGE:
    gpt-reverse-proxy [OPTIONS]
    gpt-reverse-proxy dump FILE...   print dump files (DUMP_HTTP_CONTENT) as readable conversations

OPTIONS:
    --config PATH   model list in LiteLLM format (env LITELLM_CONFIG_PATH; default litellm_config.yaml,
                    or a built-in `demo` model when that file does not exist)
    --host ADDR     listen address (env HOST; default 127.0.0.1 without a token, 0.0.0.0 with one)
    --port N        listen port (env PORT; default 12000)
    --check         validate the configuration, print the effective settings and exit
    --help          print this help
    --version       print the version

ENVIRONMENT (also read from .env and .env.local; the real environment wins):
    LOCAL_AUTH_TOKEN     client token(s), comma-separated
    LOCAL_PATH_PREFIX    serve all routes under this path
    LOCAL_OLLAMA_SECRET  the Ollama mount's path (set: the path is the credential)
    DUMP_HTTP_CONTENT    true: one JSONL file per request under log/, viewer at /dumps/
    RUST_LOG, LOG_LEVEL  off, error, warn, info (default), debug, trace
    HTTPS_PROXY, NO_PROXY  outbound proxy for upstream calls
";

fn main() {
    if std::env::args().nth(1).as_deref() == Some("dump") {
        return dump(std::env::args().skip(2).collect());
    }
    let Some((ov, check)) = arguments() else { return };
    let env = Env::load(std::path::Path::new("."));
    let cfg = Config::load(&env, &ov).unwrap_or_else(|e| fail(&e));
    if check {
        println!("configuration OK");
        for line in cfg.summary() {
            println!("  {line}");
        }
        for line in cfg.warnings() {
            println!("  warning: {line}");
        }
        return;
    }
    start_logging(&cfg);
    serve(cfg, &ov);
}

/// The command line's overrides and whether `--check` was given; `None` when a flag such as
/// `--help` was answered already.
fn arguments() -> Option<(Overrides, bool)> {
    let mut ov = Overrides::default();
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline.clone().or_else(|| args.next()).unwrap_or_else(|| fail(&format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--help" | "-h" => {
                print!("{HELP}");
                return None;
            }
            "--version" | "-V" => {
                println!("gpt-reverse-proxy {}", env!("CARGO_PKG_VERSION"));
                return None;
            }
            "--check" => check = true,
            "--config" => ov.config_path = Some(value("--config")),
            "--host" => ov.host = Some(value("--host")),
            "--port" => ov.port = Some(value("--port")),
            _ => fail(&format!("unknown argument {arg:?} (see --help)")),
        }
    }
    Some((ov, check))
}

/// Logging at the configured level (the libraries' chatter held to info at most), then the
/// configuration's summary and warnings.
fn start_logging(cfg: &Config) {
    let noisy = cfg.log_level.min(log::LevelFilter::Info);
    let logger = simple_logger::SimpleLogger::new()
        .with_level(cfg.log_level)
        .with_module_level("ureq", noisy)
        .with_module_level("ureq_proto", noisy)
        .with_module_level("rustls", noisy);
    if let Err(e) = logger.init() {
        eprintln!("cannot start logging: {e}");
    }
    for line in cfg.summary() {
        log::info!("{line}");
    }
    for line in cfg.warnings() {
        log::warn!("{line}");
    }
}

/// Runs the server until SIGTERM/SIGINT (then drains) or a fatal accept error (exit 1);
/// SIGHUP reloads the configuration.
fn serve(cfg: Config, ov: &Overrides) {
    let demo = cfg.source.starts_with("built-in");
    let grace = cfg.settings.shutdown_grace;
    // tiny_http needs two descriptors per connection; the soft limit is often a mere 1,024.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => log::info!("open-file limit: {n} (about {} connections)", n / 2),
        Err(e) => log::warn!("cannot raise the open-file limit: {e}"),
    }
    // Handled before the first request can be served: a signal sent once "listening" is logged
    // must not meet the default action (which ends the process, SIGHUP included).
    let (stop, reload) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    for (signal, flag) in [(SIGTERM, &stop), (SIGINT, &stop), (SIGHUP, &reload)] {
        if let Err(e) = signal_hook::flag::register(signal, flag.clone()) {
            log::warn!("cannot handle signal {signal}: {e}");
        }
    }
    let running = server::start(cfg).unwrap_or_else(|e| fail(&e));
    log::info!("listening on http://{}", running.addr);
    if demo {
        log::info!(
            "no litellm_config.yaml here, so the built-in `demo` model answers locally. Try:\n  curl http://{}/v1/chat/completions -H 'Content-Type: application/json' -d '{{\"model\":\"demo\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}'\nTo use a real provider, create litellm_config.yaml (see README.md), e.g.\n  model_list:\n    - model_name: \"*\"\n      litellm_params: {{model: openai/*, api_base: https://api.openai.com/v1, api_key: os.environ/OPENAI_API_KEY}}",
            running.addr
        );
    }
    loop {
        if let Err(e) = running.wait_until(&[&stop, &reload]) {
            log::error!("accepting connections failed: {e}; exiting so that the supervisor restarts the proxy");
            exit(1);
        }
        if !reload.swap(false, Ordering::SeqCst) {
            break;
        }
        // SIGHUP: read everything again; a configuration that does not validate changes nothing.
        let env = Env::load(std::path::Path::new("."));
        match Config::load(&env, ov).and_then(|cfg| {
            let (summary, warnings) = (cfg.summary(), cfg.warnings());
            running.reload(cfg).map(|()| (summary, warnings))
        }) {
            Ok((summary, warnings)) => {
                summary.iter().for_each(|l| log::info!("reloaded: {l}"));
                warnings.iter().for_each(|l| log::warn!("reloaded: {l}"));
            }
            Err(e) => log::error!("reload refused, the previous configuration stays in force: {e}"),
        }
    }
    log::info!("shutting down: new requests get 503, running ones have {grace:?} to finish");
    match running.drain(grace) {
        0 => log::info!("all requests finished; bye"),
        n => log::warn!("{n} request(s) still running after {grace:?}; exiting anyway"),
    }
}

/// `dump FILE...`: each file as a readable conversation; exit 1 if any cannot be read.
fn dump(files: Vec<String>) {
    if files.is_empty() {
        fail("dump needs at least one file (see --help)");
    }
    let mut failed = false;
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(f).map_err(|e| e.to_string());
        match text.and_then(|t| gpt_reverse_proxy::dump::show::render(&t)).map_err(|e| format!("{f}: {e}")) {
            Ok(s) if files.len() == 1 => print!("{s}"),
            Ok(s) => print!("{}══ {f}\n{s}", if i > 0 { "\n" } else { "" }),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        exit(1);
    }
}

/// Prints an error and exits with status 2 (bad usage or configuration).
fn fail(msg: &str) -> ! {
    eprintln!("gpt-reverse-proxy: {msg}");
    exit(2)
}
