//! The Responses API (`/v1/responses`) through a Chat-Completions-only upstream, an Anthropic
//! upstream and one that serves the Responses API itself: text, tools over two turns with
//! `previous_response_id`, freeform tools, JSON-schema output, refusals and errors.

use crate::support::*;
use serde_json::{json, Value};

/// Chat Completions as a scripted model: a tool call when tools are offered and no tool result
/// is in the conversation yet (its `input` for a freeform tool), else text quoting the result.
fn chat_answer(body: &Value) -> Script {
    let msgs = body["messages"].as_array().unwrap();
    let result = msgs.iter().find(|m| m["role"] == "tool").map(|m| m["content"].as_str().unwrap().to_string());
    let tool = body["tools"][0]["function"].clone();
    let message = match (&result, tool.is_object()) {
        (None, true) => {
            let custom = tool["parameters"]["properties"]["input"].is_object();
            let args =
                if custom { json!({"input": "*** Begin Patch\n*** End Patch\n"}) } else { json!({"path": "a.txt"}) };
            json!({"role": "assistant", "content": null, "reasoning_content": "Need a tool.",
                   "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": tool["name"], "arguments": args.to_string()}}]})
        }
        _ if body["response_format"]["type"] == "json_schema" => {
            json!({"role": "assistant", "content": "{\"answer\":4}"})
        }
        (Some(r), _) => json!({"role": "assistant", "content": format!("The file says: {r}")}),
        (None, false) => json!({"role": "assistant", "content": "Hello there"}),
    };
    let finish = if message["tool_calls"].is_array() { "tool_calls" } else { "stop" };
    let usage = json!({"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18});
    if body["stream"] != true {
        let whole = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                           "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage});
        return Script::json(200, whole.to_string().as_bytes());
    }
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": body["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let mut sse = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    if let Some(r) = message["reasoning_content"].as_str() {
        sse += &chunk(json!({"reasoning_content": r}), Value::Null);
    }
    if let Some(t) = message["content"].as_str() {
        sse += &chunk(json!({"content": &t[..3]}), Value::Null);
        sse += &chunk(json!({"content": &t[3..]}), Value::Null);
    }
    for c in message["tool_calls"].as_array().into_iter().flatten() {
        let args = c["function"]["arguments"].as_str().unwrap();
        sse += &chunk(
            json!({"tool_calls": [{"index": 0, "id": c["id"], "type": "function",
                                             "function": {"name": c["function"]["name"], "arguments": ""}}]}),
            Value::Null,
        );
        for piece in args.as_bytes().chunks(5) {
            let piece = String::from_utf8(piece.to_vec()).unwrap();
            sse += &chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), Value::Null);
        }
    }
    sse += &chunk(json!({}), json!(finish));
    sse += &format!("data: {}\n\ndata: [DONE]\n\n", json!({"id": "chatcmpl-1", "choices": [], "usage": usage}));
    Script::sse(sse.as_bytes(), 29)
}

/// Anthropic Messages as the same scripted model (whole answers only; its streams are covered by
/// the golden files).
fn anthropic_answer(body: &Value) -> Script {
    let result =
        body["messages"].as_array().unwrap().iter().flat_map(|m| m["content"].as_array().cloned().unwrap_or_default());
    let result = result.filter(|b| b["type"] == "tool_result").map(|b| b["content"].clone()).next();
    if body["tools"][0]["type"] == "web_search_20250305" {
        return Script::json(200, web_search_answer(body).to_string().as_bytes());
    }
    let content = match (&result, body["tools"][0]["name"].as_str()) {
        (None, Some(name)) => json!([{"type": "tool_use", "id": "toolu_1", "name": name, "input": {"path": "a.txt"}}]),
        (Some(r), _) => json!([{"type": "text", "text": format!("The file says: {}", r.as_str().unwrap_or(""))}]),
        (None, None) => json!([{"type": "text", "text": "Hello there"}]),
    };
    let stop = if result.is_none() && body["tools"].is_array() { "tool_use" } else { "end_turn" };
    let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": content,
                     "stop_reason": stop, "stop_sequence": null,
                     "usage": {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 3}});
    Script::json(200, msg.to_string().as_bytes())
}

/// Claude's answer with its web search tool: the search, its results, then text citing one.
fn web_search_answer(body: &Value) -> Value {
    let hit = json!({"type": "web_search_result", "url": "https://example.org/news", "title": "News",
                     "encrypted_content": "EqgfCioIARgB", "page_age": "1 day ago"});
    let cite = json!({"type": "web_search_result_location", "url": "https://example.org/news", "title": "News",
                      "encrypted_index": "Eo8BCioIAhgB", "cited_text": "Rain is due."});
    json!({"id": "msg_ws", "type": "message", "role": "assistant", "model": body["model"], "stop_reason": "end_turn",
           "stop_sequence": null, "usage": {"input_tokens": 20, "output_tokens": 9, "server_tool_use": {"web_search_requests": 1}},
           "content": [{"type": "text", "text": "Let me look."},
                       {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "weather news"}},
                       {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [hit]},
                       {"type": "text", "text": "Rain", "citations": [cite]}, {"type": "text", "text": " tomorrow."}]})
}

/// A chat-only upstream (`gpt-*`), an Anthropic one (`claude-*`) and a Responses one (`native-*`).
fn setup() -> (FakeUpstream, FakeUpstream, FakeUpstream, Proxy) {
    let chat = FakeUpstream::start(|r| match r.path.as_str() {
        "/v1/chat/completions" => chat_answer(&r.json()),
        _ => Script::json(404, br#"{"error":{"message":"Not found","type":"invalid_request_error"}}"#),
    });
    let anthropic = FakeUpstream::start(|r| anthropic_answer(&r.json()));
    let native = FakeUpstream::start(|r| match r.json()["stream"] == true {
        true => {
            Script::sse(b"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n", 7)
        }
        false => Script::json(200, br#"{"id":"resp_native","object":"response","output":[]}"#),
    });
    let yaml = format!(
        "model_list:
  - model_name: 'gpt-*'
    litellm_params: {{model: 'openai/*', api_base: '{}/v1', api_key: sk-upstream}}
  - model_name: 'claude-*'
    litellm_params: {{model: 'anthropic/*', api_base: '{}', api_key: sk-upstream}}
  - model_name: 'native-*'
    litellm_params: {{model: 'openai/*', api_base: '{}/v1', api_key: sk-upstream}}
    gpt_reverse_proxy: {{responses_api: true}}
",
        chat.url(),
        anthropic.url(),
        native.url()
    );
    (
        chat,
        anthropic,
        native,
        Proxy::start(
            &yaml,
            &[
                ("LOCAL_AUTH_TOKEN", "tok"),
                ("LOCAL_OLLAMA_SECRET", "/olla-5e0c2b7d9a41f3"),
                ("LOCAL_OLLAMA_SECRET_WEAK_OK", "false"),
            ],
        ),
    )
}

/// The events of a Responses stream: each named after its `type` and numbered from 0.
fn events(resp: &Resp) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{}", resp.text());
    let mut p = gpt_reverse_proxy::sse::Parser::default();
    let mut evs = p.push(&resp.body);
    evs.extend(p.finish());
    evs.retain(|e| !e.is_comment());
    let v: Vec<Value> = evs.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    for (i, (e, v)) in evs.iter().zip(&v).enumerate() {
        assert_eq!((e.name.as_deref(), v["sequence_number"].as_u64()), (v["type"].as_str(), Some(i as u64)), "{v}");
    }
    v
}

/// The final Response object of a stream.
fn last_response(events: &[Value]) -> Value {
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed", "{last}");
    last["response"].clone()
}

fn responses(proxy: &Proxy, body: Value) -> Resp {
    post(proxy, "/v1/responses", "tok", &body.to_string())
}

fn tools() -> Value {
    json!([{"type": "function", "name": "read_file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}])
}

#[test]
fn text_whole_and_streamed_from_a_chat_completions_upstream() {
    let (chat, _, _, proxy) = setup();
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": "hi", "instructions": "Be kind."}));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!((v["object"].as_str(), v["status"].as_str()), (Some("response"), Some("completed")));
    assert!(v["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(v["output"][0]["content"][0]["text"], "Hello there");
    assert_eq!((v["usage"]["input_tokens"].as_u64(), v["usage"]["output_tokens"].as_u64()), (Some(11), Some(7)));
    let got = &chat.requests()[0];
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.json()["messages"],
        json!([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}])
    );

    let evs = events(&responses(&proxy, json!({"model": "gpt-4o", "input": "hi", "stream": true})));
    let text: String = evs
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hello there");
    let done = last_response(&evs);
    assert_eq!(
        (done["id"].clone(), done["usage"]["total_tokens"].as_u64()),
        (evs[0]["response"]["id"].clone(), Some(18))
    );
    assert_eq!(chat.requests()[1].json()["stream_options"], json!({"include_usage": true}));
}

/// Turn one asks with tools and gets a call; turn two sends only the tool's output with
/// `previous_response_id`, and the upstream sees the whole conversation.
fn two_turns(proxy: &Proxy, model: &str, stream: bool) -> Value {
    let ask = json!({"model": model, "input": "read a.txt", "tools": tools(), "stream": stream});
    let first = match stream {
        true => last_response(&events(&responses(proxy, ask))),
        false => responses(proxy, ask).json(),
    };
    let call = first["output"].as_array().unwrap().iter().find(|i| i["type"] == "function_call").unwrap().clone();
    assert_eq!(
        (call["name"].as_str(), call["arguments"].as_str()),
        (Some("read_file"), Some("{\"path\":\"a.txt\"}")),
        "{first}"
    );
    let follow = json!({"model": model, "previous_response_id": first["id"], "tools": tools(), "stream": stream,
                        "input": [{"type": "function_call_output", "call_id": call["call_id"], "output": "hello world"}]});
    let second = match stream {
        true => last_response(&events(&responses(proxy, follow))),
        false => responses(proxy, follow).json(),
    };
    assert_eq!(second["previous_response_id"], first["id"]);
    let text = second["output"].as_array().unwrap().iter().find(|i| i["type"] == "message").unwrap()["content"][0]
        ["text"]
        .clone();
    assert_eq!(text, "The file says: hello world", "{second}");
    second
}

#[test]
fn tools_over_two_turns_with_previous_response_id_on_a_chat_upstream() {
    let (chat, _, _, proxy) = setup();
    two_turns(&proxy, "gpt-4o", true);
    let second = chat.requests()[1].json();
    let roles: Vec<&str> = second["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool"]);
    assert_eq!(second["messages"][1]["tool_calls"][0]["id"], "call_1");
    two_turns(&proxy, "gpt-4o", false);
}

#[test]
fn tools_over_two_turns_with_previous_response_id_on_an_anthropic_upstream() {
    let (_, anthropic, _, proxy) = setup();
    let second = two_turns(&proxy, "claude-sonnet-4", false);
    assert_eq!(second["usage"]["input_tokens_details"]["cached_tokens"], 3);
    let up = anthropic.requests()[1].json();
    assert_eq!(anthropic.requests()[1].path, "/v1/messages");
    assert_eq!(up["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(
        up["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "hello world"})
    );
    assert_eq!(up["tools"][0]["name"], "read_file");
    // Asked for a stream, answered whole: shown as the stream.
    let evs = events(&responses(&proxy, json!({"model": "claude-x", "input": "hi", "stream": true})));
    assert_eq!(last_response(&evs)["output"][0]["content"][0]["text"], "Hello there");
}

#[test]
fn freeform_tools_travel_as_one_string_argument_and_come_back_raw() {
    let (chat, _, _, proxy) = setup();
    let custom = json!([{"type": "custom", "name": "apply_patch", "description": "Edit files",
                         "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}}]);
    for stream in [false, true] {
        let ask = json!({"model": "gpt-5", "input": "patch it", "tools": custom, "stream": stream});
        let r = match stream {
            true => {
                let evs = events(&responses(&proxy, ask));
                let done = evs.iter().find(|e| e["type"] == "response.custom_tool_call_input.done").unwrap();
                assert_eq!(done["input"], "*** Begin Patch\n*** End Patch\n");
                last_response(&evs)
            }
            false => responses(&proxy, ask).json(),
        };
        let call = r["output"].as_array().unwrap().iter().find(|i| i["type"] == "custom_tool_call").unwrap().clone();
        assert_eq!(
            (call["name"].as_str(), call["input"].as_str()),
            (Some("apply_patch"), Some("*** Begin Patch\n*** End Patch\n"))
        );
    }
    let up = chat.requests()[0].json();
    assert_eq!(up["tools"][0]["function"]["parameters"]["required"], json!(["input"]));
}

#[test]
fn json_schema_output_becomes_response_format() {
    let (chat, _, _, proxy) = setup();
    let format = json!({"type": "json_schema", "name": "sum", "strict": true,
                        "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"],
                                   "additionalProperties": false}});
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": "2+2?", "text": {"format": format}})).json();
    assert_eq!(r["output"][0]["content"][0]["text"], "{\"answer\":4}");
    assert_eq!(r["text"]["format"]["name"], "sum", "the request's text config is repeated");
    let up = chat.requests()[0].json();
    assert_eq!(up["response_format"]["json_schema"]["name"], "sum");
    assert_eq!(up["response_format"]["json_schema"]["schema"], format["schema"]);
}

/// On a Claude deployment without Anthropic's structured outputs, `text.format` is asked for as
/// a forced tool; its call comes back as the message text, whole and as a stream.
#[test]
fn json_schema_output_on_claude_comes_back_as_text() {
    let (_, anthropic, _, proxy) = setup();
    let format = json!({"type": "json_schema", "name": "where", "schema": {"type": "object", "properties": {"path": {"type": "string"}}}});
    for stream in [false, true] {
        let ask = json!({"model": "claude-x", "input": "which file?", "text": {"format": format}, "stream": stream});
        let r = match stream {
            true => last_response(&events(&responses(&proxy, ask))),
            false => responses(&proxy, ask).json(),
        };
        let output = r["output"].as_array().unwrap();
        assert!(output.iter().all(|i| i["type"] == "message"), "{stream}: no function call: {r}");
        assert_eq!(output[0]["content"][0]["text"], "{\"path\":\"a.txt\"}", "{stream}");
    }
    let up = anthropic.requests()[0].json();
    assert_eq!(up["tool_choice"], json!({"type": "tool", "name": "json_response"}));
}

#[test]
fn built_in_tools_and_unknown_previous_ids_are_refused_in_the_responses_shape() {
    let (chat, _, native, proxy) = setup();
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": "x", "tools": [{"type": "code_interpreter"}]}));
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert!(e["message"].as_str().unwrap().contains("code_interpreter") && e["type"] == "invalid_request_error", "{e}");
    let r = responses(&proxy, json!({"model": "claude-x", "input": "x", "previous_response_id": "resp_gone"}));
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(
        (e["param"].as_str(), e["code"].as_str()),
        (Some("previous_response_id"), Some("previous_response_not_found"))
    );
    assert!(chat.requests().is_empty());
    // A deployment that serves the Responses API runs its own tools and keeps its own responses.
    let r = responses(
        &proxy,
        json!({"model": "native-1", "input": "x", "tools": [{"type": "web_search"}], "previous_response_id": "resp_up"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(native.requests()[0].json()["previous_response_id"], "resp_up");
}

/// Codex's default `web_search` tool: Anthropic's own web search tool for Claude, its searches
/// and citations back as `web_search_call` items and `url_citation`s, which the next turn's
/// history may carry; a chat deployment answers without the tool.
#[test]
fn web_search_runs_on_claude_and_is_left_out_for_chat_deployments() {
    let (chat, anthropic, _, proxy) = setup();
    let tool = json!({"type": "web_search", "external_web_access": false, "filters": {"allowed_domains": ["example.org"]},
                      "user_location": {"type": "approximate", "country": "GB", "city": "London"}});
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": "news?", "tools": [tool]}));
    assert_eq!(r.json()["output"][0]["content"][0]["text"], "Hello there");
    let up = chat.requests()[0].json();
    assert!(up.get("tools").is_none() && up.get("web_search_options").is_none(), "{up}");

    let r = responses(&proxy, json!({"model": "claude-x", "input": "news?", "tools": [tool]})).json();
    let up = anthropic.requests()[0].json();
    assert_eq!(
        up["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search", "allowed_domains": ["example.org"],
                "user_location": {"type": "approximate", "country": "GB", "city": "London"}}])
    );
    let output = r["output"].as_array().unwrap();
    assert_eq!(output[0]["type"], "web_search_call");
    assert_eq!(
        (output[0]["status"].as_str(), &output[0]["action"]),
        (Some("completed"), &json!({"type": "search", "query": "weather news"}))
    );
    let text = &output[1]["content"][0];
    assert_eq!(text["text"], "Let me look.Rain tomorrow.");
    assert_eq!(
        text["annotations"],
        json!([{"type": "url_citation", "start_index": 12, "end_index": 16, "url": "https://example.org/news", "title": "News"}])
    );
    // Codex sends the whole conversation back, the search call included.
    let history = json!([{"type": "message", "role": "user", "content": "news?"}, output[0], output[1],
                         {"type": "message", "role": "user", "content": "thanks"}]);
    let r = responses(&proxy, json!({"model": "claude-x", "input": history, "tools": [tool], "stream": true}));
    let last = last_response(&events(&r));
    assert_eq!(last["output"][0]["type"], "web_search_call", "{last}");
    let up = anthropic.requests()[1].json();
    assert!(!up["messages"].to_string().contains("server_tool_use"), "{up}");
    assert_eq!(up["messages"][1]["content"][0]["text"], "Let me look.Rain tomorrow.");
}

/// The Vercel AI SDK's openai provider (its default, Responses mode) sends each earlier output
/// item back as `{"type": "item_reference", "id": …}` while `store` is on; translated upstreams
/// lost the earlier answers (the next request reached them as two user turns in a row).
#[test]
fn item_references_to_kept_output_items_reach_the_upstream_as_those_items() {
    let (chat, anthropic, _, proxy) = setup();
    for (model, up) in [("gpt-4o", &chat), ("claude-sonnet-4", &anthropic)] {
        let first = responses(&proxy, json!({"model": model, "input": "hi"})).json();
        let answer = first["output"][0]["id"].as_str().unwrap();
        assert!(answer.starts_with("msg_"), "{first}");
        let input = json!([{"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                           // `type` is optional: an untyped reference was an empty user turn.
                           if model == "gpt-4o" { json!({"type": "item_reference", "id": answer}) } else { json!({"id": answer}) },
                           {"role": "user", "content": [{"type": "input_text", "text": "again"}]}]);
        let second = responses(&proxy, json!({"model": model, "input": input}));
        assert_eq!(second.status, 200, "{}", second.text());
        let sent = up.requests().last().unwrap().json();
        let turns: Vec<(String, String)> = (sent["messages"].as_array().unwrap().iter())
            .map(|m| {
                let text = m["content"].as_str().map(String::from);
                (
                    m["role"].as_str().unwrap().into(),
                    text.unwrap_or_else(|| m["content"][0]["text"].as_str().unwrap().into()),
                )
            })
            .collect();
        let want = [("user", "hi"), ("assistant", "Hello there"), ("user", "again")];
        assert_eq!(turns, want.map(|(r, t)| (r.to_string(), t.to_string())), "{model}: {sent}");
        // The next turn's kept conversation holds the item itself, not the reference.
        let next = json!({"model": model, "previous_response_id": second.json()["id"], "input": "more"});
        assert_eq!(responses(&proxy, next).status, 200);
        let sent = up.requests().last().unwrap().json();
        assert_eq!(sent["messages"].as_array().unwrap().len(), 5, "{model}: {sent}");
        // One this proxy does not hold (a restart, another instance) was dropped without a word.
        let before = up.requests().len();
        let lost = json!([{"type": "item_reference", "id": "msg_unknown"}, {"role": "user", "content": "again"}]);
        let r = responses(&proxy, json!({"model": model, "input": lost}));
        assert_eq!(
            (r.status, r.json()["error"]["type"].as_str()),
            (400, Some("invalid_request_error")),
            "{}",
            r.text()
        );
        assert!(r.text().contains("msg_unknown") && up.requests().len() == before, "{}", r.text());
    }
}

/// 2,000 references to one kept 256 KB answer in a 134 KB request made 512 MB of copies (3 GB
/// peak, 8.6 s CPU); 1,000,000 fit in the body limit. Each kept item stands for one reference, and
/// one named twice is refused.
#[test]
fn an_item_referenced_many_times_is_refused_not_copied_per_reference() {
    let (chat, _, _, proxy) = setup();
    let first = responses(&proxy, json!({"model": "gpt-4o", "input": "hi"})).json();
    let answer = &first["output"][0]["id"];
    let mut input = vec![json!({"type": "item_reference", "id": answer}); 500];
    input.push(json!({"role": "user", "content": "again"}));
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": input}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("names it twice") && chat.requests().len() == 1, "{}", r.text());
}

#[test]
fn store_false_answers_are_not_kept() {
    let (_, _, _, proxy) = setup();
    let first = responses(&proxy, json!({"model": "gpt-4o", "input": "hi", "store": false})).json();
    assert_eq!(first["store"], false);
    let r = responses(&proxy, json!({"model": "gpt-4o", "input": "again", "previous_response_id": first["id"]}));
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn a_responses_upstream_gets_the_bytes_and_its_answer_passes_untouched() {
    let (_, _, native, proxy) = setup();
    let body = r#"{"model":"native-1", "input":"hi",  "store":true}"#;
    let r = post(&proxy, "/v1/responses", "tok", body);
    assert_eq!(r.text(), r#"{"id":"resp_native","object":"response","output":[]}"#);
    let got = &native.requests()[0];
    assert_eq!((got.path.as_str(), got.body.as_slice()), ("/v1/responses", body.as_bytes()));
    assert_eq!(got.header("authorization"), Some("Bearer sk-upstream"));
    let r = post(&proxy, "/v1/responses", "tok", r#"{"model":"native-1","input":"hi","stream":true}"#);
    assert_eq!(r.text(), "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n");
}

#[test]
fn upstream_errors_keep_their_status_in_the_responses_shape() {
    let up = FakeUpstream::replay(|| {
        Script::json(429, br#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#)
    });
    let proxy =
        Proxy::start(&models_yaml(&[("claude-x", "anthropic/claude-x", &up.url())]), &[("LOCAL_AUTH_TOKEN", "tok")]);
    let r = responses(&proxy, json!({"model": "claude-x", "input": "hi"}));
    assert_eq!(r.status, 429);
    let e = &r.json()["error"];
    assert_eq!((e["message"].as_str(), e["code"].as_str()), (Some("Slow down"), Some("rate_limit_error")));
    assert!(e.get("param").is_some() && e.get("type").is_some());
    let r = responses(&proxy, json!({"model": "nope", "input": "hi"}));
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (404, Some("model_not_found")));
}

#[test]
fn the_ollama_mount_serves_responses_and_a_version_codex_accepts() {
    let (_, _, _, proxy) = setup();
    let hs = [("Authorization", "Bearer "), ("Content-Type", "application/json")];
    let v = call("GET", &proxy.url("/olla-5e0c2b7d9a41f3/api/version"), &hs, "").json();
    let parts: Vec<u32> = v["version"].as_str().unwrap().split('.').map(|p| p.parse().unwrap()).collect();
    assert!(parts >= vec![0, 13, 4], "{v}");
    let body = json!({"model": "gpt-oss", "input": "hi"}).to_string();
    let r = call("POST", &proxy.url("/olla-5e0c2b7d9a41f3/v1/responses"), &hs, &body);
    assert_eq!(r.json()["output"][0]["content"][0]["text"], "Hello there");
}

#[test]
fn the_demo_model_answers_in_the_responses_shape() {
    let yaml = "model_list:\n  - model_name: demo\n    litellm_params: {model: openai/demo, mock_response: 'Hi from the demo'}\n";
    let proxy = Proxy::start(yaml, &[("LOCAL_AUTH_TOKEN", "tok")]);
    let r = responses(&proxy, json!({"model": "demo", "input": "hi"})).json();
    assert_eq!(r["output"][0]["content"][0]["text"], "Hi from the demo");
    let evs = events(&responses(&proxy, json!({"model": "demo", "input": "hi", "stream": true})));
    assert_eq!(last_response(&evs)["output"][0]["content"][0]["text"], "Hi from the demo");
}
