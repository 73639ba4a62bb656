//! The binary as a user runs it.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"));
    c.env_clear().current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

#[test]
fn the_original_example_config_loads_unchanged() {
    let out = bin().args(["--check", "--config", "fixtures/litellm_config.original.yaml"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("configuration OK"));
    assert!(stdout.contains("openai2claudecode/claude-sonnet-4-20250514"), "{stdout}");
    assert!(stdout.contains("#1 openai/* at https://your-host/v1"), "{stdout}");
    assert!(!stdout.contains("sk-you-keys"), "key leaked: {stdout}");
}

#[test]
fn version_and_help() {
    let out = bin().arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), concat!("gpt-reverse-proxy ", env!("CARGO_PKG_VERSION")));
    let out = bin().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--check"));
}

#[test]
fn bad_config_and_bad_arguments_exit_2_with_a_precise_message() {
    let dir = std::env::temp_dir().join(format!("grp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(&f, "model_list:\n  - model_name: x\n    litellm_params: {model: openai/x, timeout: -1}\n").unwrap();
    let out = bin().arg("--check").arg(format!("--config={}", f.display())).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model_list[0]") && err.contains("litellm_params.timeout"), "{err}");

    // An entry this proxy cannot serve does not refuse the file: --check names it and why.
    std::fs::write(&f, "model_list:\n  - model_name: x\n    litellm_params: {model: vertex_ai/gemini}\n  - model_name: y\n    litellm_params: {model: openai/y}\n").unwrap();
    let out = bin().arg("--check").arg(format!("--config={}", f.display())).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: model \"x\" (vertex_ai/gemini) skipped") && text.contains("Google Cloud"),
        "{text}"
    );

    let out = bin().args(["--check", "--config", "/nonexistent/x.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.yaml"));

    let out = bin().arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dotenv_files_are_read_and_the_real_environment_wins() {
    let dir = std::env::temp_dir().join(format!("grp-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), "LOCAL_AUTH_TOKEN=from-env-file\nPORT=1111\nLOCAL_PATH_PREFIX=/a\n").unwrap();
    std::fs::write(dir.join(".env.local"), "PORT=2222\n").unwrap();
    let out = bin().current_dir(&dir).env("LOCAL_PATH_PREFIX", "/b").arg("--check").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("listen address: 0.0.0.0:2222"), "{stdout}");
    assert!(stdout.contains("1 token(s)") && stdout.contains("path prefix: /b"), "{stdout}");
    assert!(stdout.contains("built-in demo"), "{stdout}");
}

#[test]
fn check_refuses_a_socks_proxy_and_a_bad_ca_bundle_without_printing_the_proxy_password() {
    let out = bin().arg("--check").env("ALL_PROXY", "socks5://me:hunter2@proxy.local:1080").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("only HTTP CONNECT proxies") && !err.contains("hunter2"), "{err}");
    let out = bin().arg("--check").env("SSL_CERT_FILE", "fixtures/tls/server.key").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SSL_CERT_FILE: no certificate"), "{err}");
}

/// Issue 13 rows 15 and 16, as the binary prints them: a guessable Ollama secret is refused
/// before the proxy starts, and an `api_base` holding a password or a key in its query never
/// reaches `--check`'s output whole.
#[test]
fn a_guessable_ollama_secret_is_refused_and_printed_urls_are_masked() {
    let out = bin().env("LOCAL_OLLAMA_SECRET", "ollama").arg("--check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("guessable"));
    let dir = std::env::temp_dir().join(format!("grp-cli-mask-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("c.yaml");
    let yaml = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_base: 'htp://u:hunter2@h/v1?api_key=sk-live-123'}\n  - model_name: b\n    litellm_params: {model: openai/x, api_base: 'https://u:hunter2@h/v1?key=sk-live-123'}\n";
    std::fs::write(&f, yaml).unwrap();
    let out = bin().arg("--check").arg("--config").arg(&f).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && all.contains("not an http(s) URL"), "{all}");
    assert!(!all.contains("hunter2") && !all.contains("sk-live"), "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}
