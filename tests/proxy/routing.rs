//! Which upstream gets which request, under which model name and path.

use crate::support::*;

const TOKEN: &str = "t";

fn ok() -> Script {
    Script::json(200, b"{\"ok\":true}")
}

#[test]
fn exact_glob_alias_and_wildcard_each_reach_their_upstream_with_the_right_model() {
    let (exact, glob, alias, star) =
        (FakeUpstream::replay(ok), FakeUpstream::replay(ok), FakeUpstream::replay(ok), FakeUpstream::replay(ok));
    let v1 = |u: &FakeUpstream| format!("{}/v1", u.url());
    let yaml = models_yaml(&[
        ("claude-*", "openai/*", &v1(&glob)),
        ("claude-exact", "openai/claude-exact", &v1(&exact)),
        ("fast", "openai/gpt-4o-mini", &v1(&alias)),
        ("*", "openai/*", &v1(&star)),
    ]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    for model in ["claude-exact", "claude-opus", "fast", "llama-3"] {
        let body = format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"x"}}],"stream":false}}"#);
        assert_eq!(post(&proxy, "/v1/chat/completions", TOKEN, &body).status, 200, "{model}");
    }
    let only = |u: &FakeUpstream| {
        let r = u.requests();
        assert_eq!(r.len(), 1);
        r[0].clone()
    };
    assert_eq!(only(&exact).json()["model"], "claude-exact");
    assert_eq!(only(&glob).json()["model"], "claude-opus");
    let aliased = only(&alias).json();
    assert_eq!(aliased["model"], "gpt-4o-mini");
    assert_eq!(aliased["messages"][0]["content"], "x", "the rest of the body survives the rename");
    assert_eq!(only(&star).json()["model"], "llama-3");
}

#[test]
fn prefix_is_segment_aware() {
    let up = FakeUpstream::replay(ok);
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN), ("LOCAL_PATH_PREFIX", "/p")]);
    let body = r#"{"model":"m","messages":[]}"#;
    assert_eq!(post(&proxy, "/p/v1/chat/completions", TOKEN, body).status, 200);
    assert_eq!(post(&proxy, "/p/chat/completions", TOKEN, body).status, 200);
    for path in
        ["/px/v1/chat/completions", "/v1/chat/completions", "/p/../v1/chat/completions", "/P/v1/chat/completions"]
    {
        assert_eq!(post(&proxy, path, TOKEN, body).status, 404, "{path}");
    }
    assert_eq!(up.requests().len(), 2);
    assert!(up.requests().iter().all(|r| r.path == "/v1/chat/completions"));
}

#[test]
fn other_v1_endpoints_pass_through_to_openai_deployments() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/embeddings.json")));
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", TOKEN)]);
    let r = post(&proxy, "/v1/embeddings?api-version=1", TOKEN, r#"{"model":"text-embedding-3-small","input":"hi"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture("upstream/embeddings.json"));
    let got = &up.requests()[0];
    assert_eq!((got.method.as_str(), got.path.as_str()), ("POST", "/v1/embeddings"));
    assert_eq!(got.header("authorization"), Some("Bearer sk-upstream"));
}

#[test]
fn anthropic_deployments_refuse_openai_passthrough_with_a_clear_400() {
    let yaml = "model_list:\n  - {model_name: claude-x, litellm_params: {model: anthropic/claude-x, api_base: 'http://127.0.0.1:9'}}\n";
    let proxy = Proxy::start(yaml, &[]);
    let r = post(&proxy, "/v1/embeddings", "", r#"{"model":"claude-x","input":"a"}"#);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("Anthropic"));
}

#[test]
fn outbound_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it() {
    let up = FakeUpstream::replay(|| Script::json(200, &fixture("upstream/chat.json")));
    let fwd = ConnectProxy::start();
    let yaml = models_yaml(&[("*", "openai/*", &format!("{}/v1", up.url()))]);
    let proxy_url = format!("http://{}", fwd.addr);
    let body = r#"{"model":"m","messages":[]}"#;

    let via = Proxy::start(&yaml, &[("https_proxy", &proxy_url)]);
    let r = post(&via, "/v1/chat/completions", "", body);
    assert_eq!((r.status, r.body.clone()), (200, fixture("upstream/chat.json")));
    assert_eq!(*fwd.targets.lock().unwrap(), [up.addr.to_string()]);

    let bypass = Proxy::start(&yaml, &[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "localhost,127.0.0.1")]);
    assert_eq!(post(&bypass, "/v1/chat/completions", "", body).status, 200);
    assert_eq!(fwd.targets.lock().unwrap().len(), 1, "NO_PROXY host went through the proxy");
    assert_eq!(up.requests().len(), 2);
}
