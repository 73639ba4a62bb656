//! LiteLLM configs as people write them: the 77 real files of `../shared/litellm-configs`, every
//! provider family on the wire (URL, headers, body), and the router settings that change what
//! a request does (fallbacks, aliases, drop_params, extra_body, skipped entries).

use crate::support::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TOKEN: &str = "t";

fn chat_json() -> Script {
    Script::json(200, &fixture("upstream/chat.json"))
}

/// Answers Chat Completions, streamed when asked, so every client dialect can be served.
fn chat_upstream() -> FakeUpstream {
    FakeUpstream::start(|r| match r.json().get("stream").and_then(|s| s.as_bool()) {
        Some(true) => Script::sse(&fixture("upstream/chat-stream.sse"), 64),
        _ => chat_json(),
    })
}

fn user(model: &str, stream: bool) -> String {
    format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}],"stream":{stream},"max_tokens":50}}"#)
}

fn anthropic(proxy: &Proxy, model: &str, stream: bool) -> Resp {
    let body = user(model, stream);
    let headers = [("x-api-key", TOKEN), ("anthropic-version", "2023-06-01"), ("Content-Type", "application/json")];
    call("POST", &proxy.url("/v1/messages"), &headers, &body)
}

/// `file`'s expected `--check` outcome: `None` loads; `Some(text)` is refused with that text.
/// The three refused files are not YAML (LiteLLM's `yaml.safe_load` refuses them too).
fn expected(file: &str) -> Option<&'static str> {
    match &file[..3] {
        "002" => Some("cannot start any token"),
        "048" | "902" => Some("did not find expected key"),
        _ => None,
    }
}

/// A dummy value for every `os.environ/NAME` a file names, the way `check.sh` makes them.
fn dummy_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("os.environ/") {
        let name: String = text[i + 11..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let key = text[..i].rsplit(['\n', '{', ',']).next().unwrap_or("").to_ascii_lowercase();
        let value = if key.contains("base") || key.contains("url") || key.contains("host") {
            "http://127.0.0.1:9/v1".to_string()
        } else {
            format!("dummy-{name}")
        };
        out.push((name, value));
    }
    out
}

#[test]
fn every_corpus_config_loads_as_litellm_loads_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/litellm-configs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        let why = format!("{} is absent (the shared/ folder sits beside the checkout in CI)", dir.display());
        skipped("litellm::every_corpus_config_loads_as_litellm_loads_it", &why);
        return;
    };
    let mut files: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    files.sort();
    assert!(files.len() >= 77, "{} files", files.len());
    let mut ok = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gpt-reverse-proxy"));
        cmd.env_clear().env("PATH", "/usr/bin:/bin").current_dir(std::env::temp_dir());
        cmd.envs(dummy_env(&text)).args(["--check", "--config"]).arg(f);
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let took = started.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        match expected(&name) {
            None => {
                assert_eq!(out.status.code(), Some(0), "{name} should load: {err}");
                ok += 1;
            }
            Some(why) => {
                assert_eq!(out.status.code(), Some(2), "{name} should be refused");
                assert!(err.contains(why), "{name}: {err}");
            }
        }
        // A generous bound: on an idle machine each check takes a few milliseconds.
        assert!(took < Duration::from_secs(2), "{name}: --check took {took:?}");
    }
    assert!(ok >= 72, "{ok} of {} load", files.len());
}

/// Every OpenAI-compatible prefix that uses `Authorization: Bearer` and the plain layout.
const BEARER_FAMILIES: &[&str] = &[
    "openai",
    "gemini",
    "openrouter",
    "groq",
    "deepseek",
    "mistral",
    "dashscope",
    "together_ai",
    "xai",
    "cerebras",
    "nvidia_nim",
    "moonshot",
    "minimax",
    "perplexity",
    "github",
    "volcengine",
    "lm_studio",
    "hosted_vllm",
    "vllm",
    "openai_like",
    "custom_openai",
    "lemonade",
    "sambanova",
];

#[test]
fn every_bearer_provider_gets_its_path_key_and_model_streamed_and_not_and_from_anthropic_clients() {
    let up = chat_upstream();
    let mut yaml = String::from("model_list:\n");
    for f in BEARER_FAMILIES {
        yaml.push_str(&format!(
            "  - model_name: {f}\n    litellm_params: {{model: {f}/m-{f}, api_base: \"{}/base-{f}/\", api_key: sk-{f}}}\n",
            up.url()
        ));
    }
    yaml.push_str(&format!("  - model_name: fw\n    litellm_params: {{model: fireworks_ai/llama-v3, api_base: \"{}/fw\", api_key: sk-fw}}\n", up.url()));
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    for f in BEARER_FAMILIES {
        assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user(f, false)).status, 200, "{f}");
        let streamed = post(&proxy, "/v1/chat/completions", TOKEN, &user(f, true));
        assert!(streamed.text().contains("data: [DONE]"), "{f}: {}", streamed.text());
        let a = anthropic(&proxy, f, false);
        assert_eq!((a.status, a.json()["type"].as_str()), (200, Some("message")), "{f}");
        let recorded: Vec<Recorded> =
            up.requests().into_iter().filter(|r| r.path.starts_with(&format!("/base-{f}/"))).collect();
        assert_eq!(recorded.len(), 3, "{f}");
        for r in &recorded {
            assert_eq!(r.path, format!("/base-{f}/chat/completions"));
            assert_eq!(r.header("authorization"), Some(format!("Bearer sk-{f}").as_str()));
            assert_eq!(r.header("api-key"), None);
            assert_eq!(r.json()["model"], format!("m-{f}"));
            assert_eq!(r.json()["messages"][0]["content"], "hi");
        }
    }
    assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user("fw", false)).status, 200);
    let fw = up.requests().into_iter().find(|r| r.path.starts_with("/fw/")).unwrap();
    assert_eq!(fw.json()["model"], "accounts/fireworks/models/llama-v3", "Fireworks' short names get its account path");
}

#[test]
fn ollama_gets_v1_appended_to_its_server_root() {
    let up = chat_upstream();
    let yaml = format!(
        "model_list:\n  - {{model_name: a, litellm_params: {{model: ollama/llama3, api_base: \"{0}\"}}}}\n  - {{model_name: b, litellm_params: {{model: ollama_chat/qwen, api_base: \"{0}/v1\"}}}}\n",
        up.url()
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user("a", false)).status, 200);
    assert!(post(&proxy, "/v1/chat/completions", TOKEN, &user("b", true)).text().contains("[DONE]"));
    assert_eq!(anthropic(&proxy, "a", true).status, 200);
    let r = up.requests();
    assert_eq!(r.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/v1/chat/completions"; 3]);
    assert_eq!((r[0].json()["model"].as_str(), r[1].json()["model"].as_str()), (Some("llama3"), Some("qwen")));
    assert!(r.iter().all(|r| r.header("authorization").is_none()), "no key, no header");
}

#[test]
fn azure_deployments_get_their_path_api_version_and_api_key_header() {
    let up = chat_upstream();
    let yaml = format!(
        r#"model_list:
  - {{model_name: dated, litellm_params: {{model: azure/my-gpt4o, api_base: "{0}/", api_key: az-key, api_version: "2024-10-21"}}}}
  - {{model_name: default, litellm_params: {{model: azure/dep2, api_base: "{0}", api_key: az-key}}}}
  - {{model_name: v1, litellm_params: {{model: azure/gpt-5, api_base: "{0}", api_key: az-key, api_version: preview}}}}
  - {{model_name: foundry, litellm_params: {{model: azure_ai/mistral-large, api_base: "{0}/models", api_key: az-key}}}}
"#,
        up.url()
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    for m in ["dated", "default", "v1", "foundry"] {
        assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user(m, false)).status, 200, "{m}");
        assert!(post(&proxy, "/v1/chat/completions", TOKEN, &user(m, true)).text().contains("[DONE]"), "{m}");
        assert_eq!(anthropic(&proxy, m, false).status, 200, "{m}");
    }
    let r = up.requests();
    let paths: Vec<&str> = r.iter().step_by(3).map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
            "/openai/deployments/dep2/chat/completions?api-version=2025-02-01-preview",
            "/openai/v1/chat/completions",
            "/models/chat/completions",
        ]
    );
    for rec in &r {
        assert_eq!((rec.header("api-key"), rec.header("authorization")), (Some("az-key"), None), "{}", rec.path);
    }
    assert_eq!(r[6].json()["model"], "gpt-5", "the v1 API takes the model in the body");
}

#[test]
fn azure_wildcard_model_names_cannot_send_the_key_to_another_path() {
    let up = chat_upstream();
    let yaml = format!(
        "model_list:\n  - {{model_name: 'az-*', litellm_params: {{model: 'azure/*', api_base: '{}', api_key: az-key, api_version: '2024-10-21'}}}}\n",
        up.url()
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    for m in [
        "az-a/../../../../admin/delete",
        "az-a/embeddings?x=",
        "az-a#frag",
        "az-x/../../other/chat/completions?api-version=1&",
    ] {
        let r = post(&proxy, "/v1/chat/completions", TOKEN, &user(m, false));
        assert_eq!(r.status, 400, "{m}: {}", r.text());
        assert!(r.text().contains("not an Azure deployment name"), "{}", r.text());
    }
    assert!(up.requests().is_empty(), "nothing was sent with the key");
    assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user("az-gpt-4o.mini_2", false)).status, 200);
    assert_eq!(up.requests()[0].path, "/openai/deployments/az-gpt-4o.mini_2/chat/completions?api-version=2024-10-21");
}

#[test]
fn anthropic_bases_given_with_v1_are_not_doubled() {
    const MESSAGE: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    let up = FakeUpstream::replay(|| Script::json(200, MESSAGE.as_bytes()));
    let yaml = format!("model_list:\n  - {{model_name: c, litellm_params: {{model: claude-sonnet-4-20250514, api_base: \"{}/v1\", api_key: sk-ant}}}}\n", up.url());
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let _ = post(&proxy, "/v1/chat/completions", TOKEN, &user("c", false));
    let r = &up.requests()[0];
    assert_eq!((r.path.as_str(), r.header("x-api-key")), ("/v1/messages", Some("sk-ant")));
    assert_eq!(r.json()["model"], "claude-sonnet-4-20250514", "a bare claude-* name is Anthropic's");
}

/// An upstream that fails with `status` and `body`.
fn failing(status: u16, body: &'static str) -> FakeUpstream {
    FakeUpstream::replay(move || Script::json(status, body.as_bytes()))
}

#[test]
fn a_failing_group_falls_back_and_metrics_say_which_served() {
    let (down, good) = (failing(503, r#"{"error":{"message":"overloaded"}}"#), chat_upstream());
    let yaml = format!(
        "{}router_settings:\n  fallbacks: [{{primary: [missing, backup]}}]\n",
        models_yaml(&[
            ("primary", "openai/p", &format!("{}/v1", down.url())),
            ("backup", "openai/b", &format!("{}/v1", good.url()))
        ])
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let r = post(&proxy, "/v1/chat/completions", TOKEN, &user("primary", false));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(good.requests()[0].json()["model"], "b");
    assert_eq!(down.requests().len(), 1);
    let a = anthropic(&proxy, "primary", true);
    assert!(a.text().contains("message_stop"), "{}", a.text());
    let metrics = call("GET", &proxy.url("/metrics"), &[("Authorization", "Bearer t")], "").text();
    assert!(metrics.contains("grp_fallbacks_total{from=\"primary\",to=\"backup\",reason=\"down\"} 2"), "{metrics}");
}

#[test]
fn a_context_length_error_goes_to_context_window_fallbacks_and_otherwise_passes_through_whole() {
    const TOO_LONG: &str = r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
    let (small, big) = (failing(400, TOO_LONG), chat_upstream());
    let yaml = format!(
        "{}router_settings:\n  context_window_fallbacks: [{{small: [big]}}]\n  fallbacks: [{{small: [nothing-here]}}]\n",
        models_yaml(&[
            ("small", "openai/s", &format!("{}/v1", small.url())),
            ("big", "openai/b", &format!("{}/v1", big.url())),
            ("alone", "openai/s", &format!("{}/v1", small.url())),
        ])
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user("small", false)).status, 200);
    assert_eq!(big.requests().len(), 1);
    let alone = post(&proxy, "/v1/chat/completions", TOKEN, &user("alone", false));
    assert_eq!((alone.status, alone.text().as_str()), (400, TOO_LONG), "read to classify, then passed on intact");
}

#[test]
fn model_group_alias_routes_to_its_group() {
    let up = chat_upstream();
    let yaml = format!(
        "{}router_settings:\n  model_group_alias: {{gpt-4: real, legacy: {{model: real, hidden: true}}}}\n",
        models_yaml(&[("real", "openai/the-real-one", &format!("{}/v1", up.url()))])
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    for m in ["gpt-4", "legacy"] {
        assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user(m, false)).status, 200, "{m}");
    }
    assert!(up.requests().iter().all(|r| r.json()["model"] == "the-real-one"));
    let listed = call("GET", &proxy.url("/v1/models"), &[("Authorization", "Bearer t")], "").json();
    let ids: Vec<&str> = listed["data"].as_array().unwrap().iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["real", "gpt-4"], "a hidden alias is served but not listed");
}

#[test]
fn drop_params_sends_again_without_a_parameter_the_upstream_refuses() {
    const REFUSED: &str = r#"{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_parameter"}}"#;
    let up = FakeUpstream::start(|r| match r.json().get("temperature") {
        Some(_) => Script::json(400, REFUSED.as_bytes()),
        None => chat_json(),
    })
    // On purpose: extra_body exists to send what OpenAI's schema lacks (vLLM's chat_template_kwargs).
    .expect_violation("openai/unknown-field");
    let base = format!("{}/v1", up.url());
    let yaml = format!(
        "model_list:\n  - {{model_name: lax, litellm_params: {{model: openai/o3, api_base: \"{base}\", drop_params: true, additional_drop_params: [user], extra_body: {{chat_template_kwargs: {{enable_thinking: false}}}}}}}}\n  - {{model_name: strict, litellm_params: {{model: openai/o3, api_base: \"{base}\"}}}}\n"
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let body = |m: &str| {
        format!(r#"{{"model":"{m}","messages":[{{"role":"user","content":"hi"}}],"temperature":0.2,"user":"u1"}}"#)
    };
    assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &body("lax")).status, 200);
    let sent: Vec<serde_json::Value> = up.requests().iter().map(Recorded::json).collect();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].get("user").is_none(), "additional_drop_params always apply");
    assert_eq!(sent[0]["chat_template_kwargs"]["enable_thinking"], false, "extra_body is merged");
    assert!(sent[1].get("temperature").is_none() && sent[1]["messages"][0]["content"] == "hi");
    let strict = post(&proxy, "/v1/chat/completions", TOKEN, &body("strict"));
    assert_eq!(
        (strict.status, strict.text().as_str()),
        (400, REFUSED),
        "without drop_params the refusal is the answer"
    );
}

#[test]
fn a_skipped_entry_answers_in_the_clients_dialect_naming_its_provider() {
    let up = chat_upstream();
    let yaml = format!(
        "model_list:\n  - {{model_name: aws, litellm_params: {{model: bedrock/anthropic.claude-v2}}}}\n  - {{model_name: typo, litellm_params: {{model: openai/x, api_base: __API_BASE__}}}}\n  - {{model_name: typo, litellm_params: {{model: openai/x, api_base: \"{}/v1\"}}}}\n  - {{model_name: bad, litellm_params: {{model: openai/x, api_base: not-a-url}}}}\n",
        up.url()
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let r = post(&proxy, "/v1/chat/completions", TOKEN, &user("aws", false));
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("bedrock") && msg.contains("SigV4"), "{msg}");
    assert_eq!(r.json()["error"]["code"], "model_not_supported");
    let a = anthropic(&proxy, "aws", false);
    assert_eq!((a.status, a.json()["type"].as_str()), (400, Some("error")));
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("bedrock"));
    // An api_base that is not a URL fails that deployment only; the group fails over.
    for _ in 0..2 {
        assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &user("typo", false)).status, 200);
    }
    let bad = post(&proxy, "/v1/chat/completions", TOKEN, &user("bad", false));
    assert_eq!(bad.status, 502);
    assert!(bad.text().contains("not-a-url"), "{}", bad.text());
}
