//! Ollama's API beyond chat, as Ollama clients use it: `/api/generate` (streamed and whole, with
//! `system` and `images`) against OpenAI and Anthropic deployments, `/api/embed` and
//! `/api/embeddings` against an OpenAI deployment's embeddings, `/api/ps`, `/api/show` for every
//! listed model, `GET|HEAD /`, and each error class in Ollama's `{"error": "…"}` shape.

use crate::support::*;
use serde_json::{json, Value};

/// What the real OpenAI embeddings API refuses: unknown fields, an empty input, empty strings.
fn embeddings_problem(body: &Value) -> Option<String> {
    let known = ["model", "input", "dimensions", "encoding_format", "user"];
    if let Some(k) = body.as_object()?.keys().find(|k| !known.contains(&k.as_str())) {
        return Some(format!("Unrecognized request argument supplied: {k}"));
    }
    let ok = match &body["input"] {
        Value::String(s) => !s.is_empty(),
        Value::Array(list) => !list.is_empty() && list.iter().all(|s| s.as_str().is_some_and(|s| !s.is_empty())),
        _ => false,
    };
    (!ok).then(|| "'$.input' is invalid".to_string())
}

/// OpenAI's embeddings answer: one two-number vector per input, listed in reverse order (the
/// `index` says which is which), two tokens per input.
fn embeddings(body: &Value) -> Script {
    if let Some(problem) = embeddings_problem(body) {
        let e = json!({"error": {"message": problem, "type": "invalid_request_error", "param": null, "code": null}});
        return Script::json(400, e.to_string().as_bytes());
    }
    let n = body["input"].as_array().map_or(1, Vec::len);
    let data: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"object": "embedding", "index": i, "embedding": [i as f64 + 0.5, -0.25]}))
        .collect();
    let usage = json!({"prompt_tokens": 2 * n, "total_tokens": 2 * n});
    Script::json(
        200,
        json!({"object": "list", "data": data, "model": body["model"], "usage": usage}).to_string().as_bytes(),
    )
}

/// An OpenAI deployment (`gpt-4o`, the `text-embedding-*` glob, `broken` answering 500) and an
/// Anthropic one (`claude-sonnet-4`, streaming thinking then "4"), with an alias `fast`.
fn setup() -> (FakeUpstream, FakeUpstream, Proxy) {
    let oa = FakeUpstream::start(|r| {
        if r.method == "GET" {
            return Script::json(200, &fixture("upstream/models.json"));
        }
        let body = r.json();
        if body["model"] == "broken" {
            let e = br#"{"error":{"message":"the upstream fell over","type":"server_error","param":null,"code":null}}"#;
            return Script::json(500, e);
        }
        match (r.path.ends_with("/embeddings"), body["stream"] == true) {
            (true, _) => embeddings(&body),
            (false, true) => Script::sse(&fixture("upstream/chat-stream.sse"), 41),
            (false, false) => Script::json(200, &fixture("upstream/chat.json")),
        }
    });
    let an = FakeUpstream::start(|r| match r.json()["stream"] == true {
        true => Script::sse(&fixture("translate/openai-to-anthropic-stream-thinking/upstream_response.sse"), 37),
        false => Script::json(200, &fixture("translate/openai-to-claudecode-identity/upstream_response.json")),
    });
    let yaml = format!(
        "model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_base: '{oa}/v1', api_key: sk-upstream}}
    model_info: {{max_input_tokens: 128000, supports_vision: true}}
  - model_name: claude-sonnet-4
    litellm_params: {{model: anthropic/claude-sonnet-4, api_base: '{an}', api_key: sk-upstream}}
    model_info: {{max_input_tokens: 200000, supports_reasoning: true, supports_vision: true}}
  - model_name: 'text-embedding-*'
    litellm_params: {{model: openai/*, api_base: '{oa}/v1', api_key: sk-upstream}}
    model_info: {{mode: embedding}}
  - model_name: broken
    litellm_params: {{model: openai/broken, api_base: '{oa}/v1', api_key: sk-upstream}}
router_settings:
  model_group_alias: {{fast: gpt-4o}}
",
        oa = oa.url(),
        an = an.url()
    );
    let proxy = Proxy::start(&yaml, &[]);
    (oa, an, proxy)
}

/// NDJSON lines, refusing blank lines.
fn ndjson(text: &str) -> Vec<Value> {
    assert!(!text.contains("\n\n") && text.ends_with('\n'), "not clean NDJSON: {text:?}");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn ollama(proxy: &Proxy, path: &str, body: &Value) -> Resp {
    call("POST", &proxy.url(&format!("/ollama{path}")), &[], &body.to_string())
}

/// The statistics Ollama closes an answer with, all present and whole numbers.
fn assert_statistics(last: &Value) {
    for k in
        ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"]
    {
        assert!(last[k].is_u64(), "{k} in {last}");
    }
    assert!(last["total_duration"].as_u64().unwrap() > 0 && last.get("message").is_none(), "{last}");
}

#[test]
fn generate_streams_ndjson_with_system_and_images_from_an_openai_deployment() {
    let (oa, _an, proxy) = setup();
    let body = json!({"model": "gpt-4o", "prompt": "what broke?", "system": "Be brief.", "images": ["iVBORw0KGgo="],
        "options": {"temperature": 0.2, "num_predict": 50, "num_ctx": 8192}, "keep_alive": "5m", "raw": false});
    let r = ollama(&proxy, "/api/generate", &body);
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/x-ndjson")));
    let lines = ndjson(&r.text());
    let text: String = lines.iter().map(|l| l["response"].as_str().unwrap()).collect();
    assert_eq!(text, "用户点击了确定后 会卡住半天 — so `submitAnswer` is called twice.\n");
    assert!(lines[..lines.len() - 1].iter().all(|l| l["done"] == false && l["model"] == "gpt-4o"));
    let last = lines.last().unwrap();
    assert_eq!((last["done"].as_bool(), last["done_reason"].as_str()), (Some(true), Some("stop")));
    assert_eq!((last["prompt_eval_count"].as_u64(), last["eval_count"].as_u64()), (Some(30), Some(12)));
    assert_statistics(last);
    let sent = oa.requests()[0].json();
    assert_eq!(oa.requests()[0].path, "/v1/chat/completions");
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(sent["messages"][1]["content"][0], json!({"type": "text", "text": "what broke?"}));
    assert_eq!(sent["messages"][1]["content"][1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
    assert_eq!((sent["max_tokens"].as_u64(), sent["stream"].as_bool()), (Some(50), Some(true)));
}

#[test]
fn generate_whole_answers_from_an_openai_and_a_claude_deployment() {
    let (oa, an, proxy) = setup();
    for (model, text, counts) in
        [("gpt-4o", "用户点击了 确定 — fixed ✓", (12, 9)), ("claude-sonnet-4", "Bonjour", (20, 3))]
    {
        let body = json!({"model": model, "prompt": "hi", "system": "Be brief.", "images": ["/9j/4AAQ"],
            "stream": false, "format": "json", "context": [1, 2, 3]});
        let r = ollama(&proxy, "/api/generate", &body);
        assert_eq!((r.status, r.header("content-type")), (200, Some("application/json")), "{model}");
        let v = r.json();
        assert_eq!(
            (v["response"].as_str(), v["done"].as_bool(), v["done_reason"].as_str()),
            (Some(text), Some(true), Some("stop"))
        );
        assert_eq!(
            (v["prompt_eval_count"].as_u64(), v["eval_count"].as_u64()),
            (Some(counts.0), Some(counts.1)),
            "{model}"
        );
        assert_eq!(v["model"], model);
        assert_statistics(&v);
    }
    let sent = oa.requests()[0].json();
    assert_eq!(sent["response_format"], json!({"type": "json_object"}));
    let sent = an.requests()[0].json();
    assert_eq!(an.requests()[0].path, "/v1/messages");
    assert!(sent["system"].to_string().contains("Be brief."), "{}", sent["system"]);
    let image =
        &sent["messages"][0]["content"].as_array().unwrap().iter().find(|b| b["type"] == "image").unwrap()["source"];
    assert_eq!((image["media_type"].as_str(), image["data"].as_str()), (Some("image/jpeg"), Some("/9j/4AAQ")));
}

#[test]
fn generate_streams_thinking_from_a_claude_deployment() {
    let (_oa, an, proxy) = setup();
    let r = ollama(&proxy, "/api/generate", &json!({"model": "claude-sonnet-4", "prompt": "2+2?", "think": true}));
    let lines = ndjson(&r.text());
    let thinking: String = lines.iter().filter_map(|l| l["thinking"].as_str()).collect();
    let text: String = lines.iter().filter_map(|l| l["response"].as_str()).collect();
    assert!(thinking.starts_with("Simple arithmetic"), "{thinking}");
    assert_eq!(text.trim(), "4");
    assert_statistics(lines.last().unwrap());
    assert_eq!(an.requests()[0].json()["thinking"]["type"], "enabled");
}

#[test]
fn generate_without_a_prompt_loads_or_unloads_here_and_a_suffix_is_refused() {
    let (oa, an, proxy) = setup();
    let v = ollama(&proxy, "/api/generate", &json!({"model": "gpt-4o"})).json();
    assert_eq!(
        (v["done"].as_bool(), v["done_reason"].as_str(), v["response"].as_str()),
        (Some(true), Some("load"), Some(""))
    );
    let v = ollama(&proxy, "/api/generate", &json!({"model": "claude-sonnet-4", "prompt": "", "keep_alive": 0})).json();
    assert_eq!(v["done_reason"], "unload");
    let r = ollama(&proxy, "/api/generate", &json!({"model": "gpt-4o", "prompt": "def f(", "suffix": "  return x"}));
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("`suffix`"), "{}", r.text());
    let r = ollama(&proxy, "/api/generate", &json!({"model": "gpt-4o", "prompt": "hi", "suffix": "", "stream": false}));
    assert_eq!(r.status, 200, "an empty suffix is no suffix");
    assert_eq!((oa.requests().len(), an.requests().len()), (1, 0));
}

#[test]
fn embed_takes_one_input_or_a_batch_and_the_older_route_one_prompt() {
    let (oa, _an, proxy) = setup();
    let v = ollama(
        &proxy,
        "/api/embed",
        &json!({"model": "text-embedding-3-small", "input": "hello", "truncate": true,
        "options": {"num_ctx": 512}, "keep_alive": "5m", "dimensions": 2}),
    )
    .json();
    assert_eq!((v["model"].as_str(), v["embeddings"].clone()), (Some("text-embedding-3-small"), json!([[0.5, -0.25]])));
    assert_eq!((v["prompt_eval_count"].as_u64(), v["load_duration"].as_u64()), (Some(2), Some(0)));
    assert!(v["total_duration"].as_u64().unwrap() > 0);
    let sent = &oa.requests().into_iter().filter(|r| r.method == "POST").collect::<Vec<_>>()[0];
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-upstream"));
    assert_eq!(sent.json(), json!({"model": "text-embedding-3-small", "input": ["hello"], "dimensions": 2}));

    let v = ollama(&proxy, "/api/embed", &json!({"model": "fast", "input": ["a", "b", "c"]})).json();
    assert_eq!(v["embeddings"], json!([[0.5, -0.25], [1.5, -0.25], [2.5, -0.25]]), "in input order");
    assert_eq!(v["prompt_eval_count"], 6);

    let v = ollama(&proxy, "/api/embeddings", &json!({"model": "gpt-4o", "prompt": "hello"})).json();
    assert_eq!(v, json!({"embedding": [0.5, -0.25]}));

    // Nothing to embed is answered here, as Ollama does (OpenAI would refuse an empty input).
    let before = oa.requests().len();
    assert_eq!(ollama(&proxy, "/api/embed", &json!({"model": "gpt-4o", "input": ""})).json()["embeddings"], json!([]));
    assert_eq!(
        ollama(&proxy, "/api/embeddings", &json!({"model": "gpt-4o", "prompt": ""})).json(),
        json!({"embedding": []})
    );
    assert_eq!(oa.requests().len(), before);
}

#[test]
fn ps_lists_the_models_and_show_answers_for_every_listed_one() {
    let (_oa, _an, proxy) = setup();
    let get = |path: &str| call("GET", &proxy.url(&format!("/ollama{path}")), &[], "").json();
    let tags: Vec<String> =
        get("/api/tags")["models"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap().into()).collect();
    assert!(tags.contains(&"text-embedding-3-small".into()) && tags.contains(&"fast".into()), "{tags:?}");
    let ps = get("/api/ps");
    let running: Vec<&Value> = ps["models"].as_array().unwrap().iter().collect();
    assert_eq!(running.iter().map(|m| m["model"].as_str().unwrap()).collect::<Vec<_>>(), tags);
    for m in &running {
        assert!(
            m["expires_at"].as_str().unwrap().ends_with('Z') && m["size_vram"] == 0 && m["details"].is_object(),
            "{m}"
        );
        assert_eq!(m["digest"].as_str().unwrap().len(), 64);
    }
    let claude = running.iter().find(|m| m["model"] == "claude-sonnet-4").unwrap();
    assert_eq!(claude["context_length"], 200000);
    for id in &tags {
        let r = ollama(&proxy, "/api/show", &json!({"model": id}));
        assert_eq!(r.status, 200, "{id}: {}", r.text());
        let caps = r.json()["capabilities"].clone();
        match id.starts_with("text-embedding") {
            true => assert_eq!(caps, json!(["embedding"]), "{id}"),
            false => assert_eq!(caps[0], "completion", "{id}"),
        }
    }
}

#[test]
fn root_answers_get_and_head_as_ollama_does() {
    let (_oa, _an, proxy) = setup();
    for path in ["/ollama", "/ollama/"] {
        let r = call("GET", &proxy.url(path), &[], "");
        assert_eq!((r.status, r.text().as_str()), (200, "Ollama is running"), "{path}");
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        let r = call("HEAD", &proxy.url(path), &[], "");
        assert_eq!((r.status, r.body.len()), (200, 0), "{path}");
    }
}

#[test]
fn every_error_under_the_mount_is_in_ollamas_shape_with_its_status() {
    let (_oa, _an, proxy) = setup();
    let error = |r: &Resp, status: u16, says: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let v = r.json();
        let text = v["error"].as_str().unwrap_or_else(|| panic!("not Ollama's shape: {v}"));
        assert!(text.contains(says), "{text}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    };
    for path in ["/api/generate", "/api/embed", "/api/embeddings", "/api/show", "/api/chat"] {
        error(
            &ollama(&proxy, path, &json!({"model": "nope", "prompt": "x", "input": "x", "messages": []})),
            404,
            "nope",
        );
        error(&call("POST", &proxy.url(&format!("/ollama{path}")), &[], "{not json"), 400, "JSON");
    }
    error(&call("POST", &proxy.url("/ollama/api/pull"), &[], "{}"), 404, "route");
    error(&call("GET", &proxy.url("/ollama/api/generate"), &[], ""), 405, "Method");
    error(&ollama(&proxy, "/api/embed", &json!({"model": "gpt-4o", "input": 7})), 400, "input");
    error(&ollama(&proxy, "/api/embed", &json!({"model": "claude-sonnet-4", "input": "x"})), 400, "embeddings");
    // The upstream's own failure keeps its status and says what the upstream said.
    for stream in [false, true] {
        let r = ollama(&proxy, "/api/generate", &json!({"model": "broken", "prompt": "x", "stream": stream}));
        error(&r, 500, "the upstream fell over");
    }
    error(&ollama(&proxy, "/api/embed", &json!({"model": "broken", "input": "x"})), 500, "the upstream fell over");
    // The OpenAI routes under the mount keep OpenAI's shape: their clients are OpenAI clients.
    let r = call("POST", &proxy.url("/ollama/v1/chat/completions"), &[], r#"{"model":"nope","messages":[]}"#);
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (404, Some("model_not_found")));
}
