//! The Ollama surface: GitHub Copilot's discovery and chat sequence replayed as it sends it,
//! Ollama's native `/api/chat` against OpenAI and Anthropic deployments, and both auth modes.

use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;

/// One OpenAI deployment (`gpt-*`) and one Anthropic deployment (`claude-*`), both replaying
/// fixture streams, with model_info for the capabilities Copilot reads.
fn setup(env: &[(&str, &str)]) -> (FakeUpstream, FakeUpstream, Proxy) {
    let oa = FakeUpstream::start(|r| {
        if r.json()["stream"] == true {
            Script::sse(&fixture("upstream/chat-stream.sse"), 41)
        } else {
            Script::json(200, &fixture("upstream/chat.json"))
        }
    });
    let an = FakeUpstream::start(|r| match r.json()["stream"] == true {
        true => Script::sse(&fixture("translate/openai-to-anthropic-stream-tools/upstream_response.sse"), 37),
        false => Script::json(200, &fixture("translate/openai-to-claudecode-identity/upstream_response.json")),
    });
    let yaml = format!(
        "model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: '{}/v1', api_key: sk-upstream}}
    model_info: {{max_input_tokens: 128000, supports_vision: true}}
  - model_name: claude-sonnet-4
    litellm_params: {{model: anthropic/claude-sonnet-4, api_base: '{}', api_key: sk-upstream}}
    model_info: {{max_input_tokens: 200000, supports_reasoning: true, supports_vision: true}}
",
        oa.url(),
        an.url()
    );
    let proxy = Proxy::start(&yaml, env);
    (oa, an, proxy)
}

/// NDJSON lines, refusing blank lines (the ollama SDK chokes on them).
fn ndjson(text: &str) -> Vec<Value> {
    assert!(!text.contains("\n\n") && text.ends_with('\n'), "not clean NDJSON: {text:?}");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn copilot_discovery_and_chat_sequence_works_with_only_the_secret_path() {
    let (_oa, an, proxy) = setup(&[
        ("LOCAL_AUTH_TOKEN", "tok"),
        ("LOCAL_OLLAMA_SECRET", "/k3y-123"),
        ("LOCAL_OLLAMA_SECRET_WEAK_OK", "true"),
    ]);
    let base = proxy.url("/k3y-123");
    // Copilot sends an empty bearer: the path is the credential.
    let hs = [("Authorization", "Bearer "), ("Content-Type", "application/json")];

    let v = call("GET", &format!("{base}/api/version"), &hs, "").json();
    let parts: Vec<u32> = v["version"].as_str().unwrap().split('.').map(|p| p.parse().unwrap()).collect();
    assert!(parts >= vec![0, 6, 4], "{v}");

    let tags = call("GET", &format!("{base}/api/tags"), &hs, "").json();
    let ids: Vec<&str> = tags["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gpt-4o", "claude-sonnet-4"]);
    for m in tags["models"].as_array().unwrap() {
        assert!(m["modified_at"].as_str().unwrap().ends_with('Z') && m["size"].is_u64() && m["digest"].is_string());
        assert!(m["details"].is_object() && m["name"] == m["model"]);
    }
    for (id, context, caps) in [
        ("gpt-4o", 128000, vec!["completion", "tools", "vision"]),
        ("claude-sonnet-4", 200000, vec!["completion", "tools", "vision", "thinking"]),
    ] {
        let show = call("POST", &format!("{base}/api/show"), &hs, &json!({"model": id}).to_string()).json();
        assert_eq!(show["capabilities"], json!(caps), "{id}");
        let arch = show["model_info"]["general.architecture"].as_str().unwrap();
        assert_eq!(show["model_info"][format!("{arch}.context_length")], context, "{id}");
        assert_eq!(show["model_info"]["general.basename"], id);
    }

    // The chat, as Copilot sends it: always streamed with usage, OpenAI-shaped, to a Claude model.
    let body = json!({"model": "claude-sonnet-4", "messages": [{"role": "system", "content": "You are Copilot."},
        {"role": "user", "content": "refactor", "copilot_cache_control": {"type": "ephemeral"}}],
        "temperature": 0.1, "top_p": 1, "n": 1, "stream": true, "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "read_file", "description": "", "parameters": {"type": "object", "properties": {}}}}]});
    let chat_hs = [
        ("Authorization", "Bearer "),
        ("Content-Type", "application/json"),
        ("X-GitHub-Api-Version", "2025-05-01"),
        ("OpenAI-Intent", "conversation-panel"),
    ];
    let r = call("POST", &format!("{base}/v1/chat/completions"), &chat_hs, &body.to_string());
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(text.ends_with("data: [DONE]\n\n") && !text.contains("event:"), "Copilot reads only data: lines");
    assert!(text.contains("\"finish_reason\":\"tool_calls\"") && text.contains("\"usage\":{"));
    assert_eq!(an.requests()[0].path, "/v1/messages");
    assert!(an.requests()[0].header("authorization").is_none(), "the empty bearer is not forwarded");
}

#[test]
fn default_mount_requires_the_token_and_says_so_in_ollama_shape() {
    let (_oa, _an, proxy) = setup(&[("LOCAL_AUTH_TOKEN", "tok")]);
    let r = call("GET", &proxy.url("/ollama/api/tags"), &[("Authorization", "Bearer ")], "");
    assert_eq!(r.status, 401);
    assert!(r.json()["error"].as_str().unwrap().contains("API key"), "{}", r.text());
    let ok = call("GET", &proxy.url("/ollama/api/tags"), &[("Authorization", "Bearer tok")], "");
    assert_eq!(ok.status, 200);
    // An explicit secret elsewhere does not open the default path.
    let (_o, _a, proxy) =
        setup(&[("LOCAL_AUTH_TOKEN", "tok"), ("LOCAL_OLLAMA_SECRET", "abc"), ("LOCAL_OLLAMA_SECRET_WEAK_OK", "true")]);
    assert_eq!(call("GET", &proxy.url("/ollama/api/tags"), &[], "").status, 401);
    assert_eq!(call("GET", &proxy.url("/abc/api/tags"), &[], "").status, 200);
}

#[test]
fn nothing_outside_the_mount_is_reachable_through_it() {
    let (oa, an, proxy) =
        setup(&[("LOCAL_AUTH_TOKEN", "tok"), ("LOCAL_OLLAMA_SECRET", "abc"), ("LOCAL_OLLAMA_SECRET_WEAK_OK", "true")]);
    let body = r#"{"model":"gpt-4o","input":"x","max_tokens":1,"messages":[]}"#;
    for path in [
        "/abc/v1/messages",
        "/abc/v1/embeddings",
        "/abc/v1/messages/count_tokens",
        "/abc//v1/chat/completions",
        "/abc/%2e%2e/v1/models",
    ] {
        let r = call("POST", &proxy.url(path), &[], body);
        assert!(r.status == 404 || r.status == 401, "{path}: {}", r.status);
    }
    assert!(oa.requests().is_empty() && an.requests().is_empty());
}

#[test]
fn native_chat_streams_ndjson_from_an_openai_deployment() {
    let (oa, _an, proxy) = setup(&[]);
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi", "images": ["iVBORw0KGgo="]}], "tools": [], "options": {"temperature": 0.2, "num_predict": 50}});
    let r = call("POST", &proxy.url("/ollama/api/chat"), &[], &body.to_string());
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines = ndjson(&r.text());
    let text: String = lines.iter().filter_map(|l| l["message"]["content"].as_str()).collect();
    assert_eq!(text, "用户点击了确定后 会卡住半天 — so `submitAnswer` is called twice.\n");
    let last = lines.last().unwrap();
    assert_eq!((last["done"].as_bool(), last["done_reason"].as_str()), (Some(true), Some("stop")));
    assert_eq!((last["prompt_eval_count"].as_u64(), last["eval_count"].as_u64()), (Some(30), Some(12)));
    assert!(last["total_duration"].as_u64().unwrap() > 0);
    let sent = oa.requests()[0].json();
    assert!(sent.get("tools").is_none(), "tools: [] is not forwarded");
    assert_eq!(
        (sent["max_tokens"].as_u64(), sent["stream_options"]["include_usage"].as_bool()),
        (Some(50), Some(true))
    );
    assert_eq!(sent["messages"][0]["content"][1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
}

#[test]
fn native_chat_gets_whole_tool_calls_with_object_arguments_from_a_claude_deployment() {
    let (_oa, an, proxy) = setup(&[]);
    let body = json!({"model": "claude-sonnet-4", "think": true, "messages": [{"role": "user", "content": "refactor"}],
        "tools": [{"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}]});
    let lines = ndjson(&call("POST", &proxy.url("/ollama/api/chat"), &[], &body.to_string()).text());
    let last = lines.last().unwrap();
    assert_eq!(last["done"], true);
    let call0 = &last["message"]["tool_calls"][0]["function"];
    assert_eq!(call0["name"], "read_file");
    assert_eq!(call0["arguments"], json!({"target_file": "/home/dev/projects/rsszip/app/jobs/youtube_rss_job.rb"}));
    assert!(lines[0]["message"]["content"].as_str().unwrap().starts_with('I'));
    let sent = an.requests()[0].json();
    assert_eq!(sent["thinking"]["type"], "enabled", "think: true asks for thinking");
}

#[test]
fn native_chat_without_stream_is_one_json_object() {
    let (_oa, _an, proxy) = setup(&[]);
    for model in ["gpt-4o", "claude-sonnet-4"] {
        let body = json!({"model": model, "stream": false, "messages": [{"role": "user", "content": "hi"}]});
        let v = call("POST", &proxy.url("/ollama/api/chat"), &[], &body.to_string()).json();
        assert_eq!((v["done"].as_bool(), v["message"]["role"].as_str()), (Some(true), Some("assistant")), "{model}");
        assert!(!v["message"]["content"].as_str().unwrap().is_empty());
        assert!(v["eval_count"].as_u64().unwrap() > 0);
    }
}

#[test]
fn unknown_models_and_upstream_failures_are_ollama_errors() {
    let up = FakeUpstream::replay(|| {
        Script::paced(vec![
            (Duration::ZERO, b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n".to_vec()),
            (Duration::ZERO, b"data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n".to_vec()),
        ])
    });
    let proxy = Proxy::start(&models_yaml(&[("m", "openai/m", &format!("{}/v1", up.url()))]), &[]);
    let r = call("POST", &proxy.url("/ollama/api/show"), &[], r#"{"model":"nope"}"#);
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].as_str().unwrap().contains("nope"));
    let r = call("POST", &proxy.url("/ollama/api/chat"), &[], r#"{"model":"nope","messages":[]}"#);
    assert_eq!((r.status, r.json()["error"].is_string()), (404, true));
    let lines = ndjson(&call("POST", &proxy.url("/ollama/api/chat"), &[], r#"{"model":"m","messages":[]}"#).text());
    assert_eq!(lines[0]["message"]["content"], "Hel");
    assert_eq!(lines.last().unwrap(), &json!({"error": "boom"}));
}

#[test]
fn root_version_and_ps_answer_locally() {
    let (_oa, _an, proxy) = setup(&[]);
    let r = call("GET", &proxy.url("/ollama"), &[], "");
    assert_eq!((r.status, r.text().as_str()), (200, "Ollama is running"));
    assert_eq!(call("HEAD", &proxy.url("/ollama/api/version"), &[], "").status, 200);
    let ps = call("GET", &proxy.url("/ollama/api/ps"), &[], "").json();
    let running: Vec<&str> = ps["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
    assert_eq!(running, ["gpt-4o", "claude-sonnet-4"], "a remote model is always ready");
}
