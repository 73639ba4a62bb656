//! Web search on Claude (Codex's default `web_search` tool, a chat client's `web_search_options`)
//! over event lists: Anthropic's `server_tool_use` and citations as Responses `web_search_call`
//! items and `url_citation`s, and as Chat Completions annotations.

use crate::support::*;
use gpt_reverse_proxy::dialect::Dialect;
use gpt_reverse_proxy::sse::Event;
use gpt_reverse_proxy::translate::{self, Pipeline};
use serde_json::{json, Value};

fn ev(data: Value) -> Event {
    Event::named(data["type"].as_str().unwrap(), data.to_string())
}

/// Two searches (the second's query never streamed), text between them, one cited text block.
fn anthropic_events() -> Vec<Event> {
    let cite = json!({"type": "web_search_result_location", "url": "https://a.org/x", "title": "A", "cited_text": "c",
                      "encrypted_index": "Eo8B"});
    let result = |id: &str| json!({"type": "web_search_tool_result", "tool_use_id": id, "content": []});
    let mut v = vec![json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5}}})];
    for (i, id) in [(0, "srvtoolu_1"), (4, "srvtoolu_2")] {
        v.push(json!({"type": "content_block_start", "index": i,
                      "content_block": {"type": "server_tool_use", "id": id, "name": "web_search", "input": {}}}));
        if i == 0 {
            for part in ["{\"query\":", " \"héllo\"}"] {
                v.push(json!({"type": "content_block_delta", "index": i,
                              "delta": {"type": "input_json_delta", "partial_json": part}}));
            }
        }
        v.push(json!({"type": "content_block_stop", "index": i}));
        v.push(json!({"type": "content_block_start", "index": i + 1, "content_block": result(id)}));
        v.push(json!({"type": "content_block_stop", "index": i + 1}));
        for (k, text, cited) in [(i + 2, "Héllo ", false), (i + 3, "wörld", i == 0)] {
            v.push(json!({"type": "content_block_start", "index": k, "content_block": {"type": "text", "text": ""}}));
            if cited {
                v.push(json!({"type": "content_block_delta", "index": k, "delta": {"type": "citations_delta", "citation": cite}}));
            }
            v.push(json!({"type": "content_block_delta", "index": k, "delta": {"type": "text_delta", "text": text}}));
            v.push(json!({"type": "content_block_stop", "index": k}));
        }
    }
    v.push(json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}));
    v.push(json!({"type": "message_stop"}));
    v.into_iter().map(ev).collect()
}

/// A stream of `blocks`, each started whole and stopped, ending the turn.
fn whole_blocks(blocks: &[Value]) -> Vec<Event> {
    let mut events = vec![json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5}}})];
    for (i, b) in blocks.iter().enumerate() {
        events.push(json!({"type": "content_block_start", "index": i, "content_block": b}));
        events.push(json!({"type": "content_block_stop", "index": i}));
    }
    events.push(json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}));
    events.push(json!({"type": "message_stop"}));
    events.into_iter().map(ev).collect()
}

fn run(client: Dialect, request: &Value) -> Vec<Value> {
    let stages = translate::stream(client, Dialect::Anthropic, "claude-x", request);
    let out = Pipeline::new(stages, client).run_whole(anthropic_events());
    out.iter()
        .filter(|e| !e.is_comment() && e.data != "[DONE]")
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

#[test]
fn searches_and_citations_become_web_search_calls_and_url_citations_in_a_responses_stream() {
    let v = run(Dialect::Responses, &json!({"stream": true, "tools": [{"type": "web_search"}]}));
    let kinds: Vec<&str> = v.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let search = [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.output_item.done",
    ];
    assert_eq!(kinds[2..7], search, "{kinds:?}");
    let at = kinds.iter().position(|k| *k == "response.output_text.annotation.added").unwrap();
    assert_eq!(
        v[at]["annotation"],
        json!({"type": "url_citation", "start_index": 6, "end_index": 11, "url": "https://a.org/x", "title": "A"}),
        "offsets in characters of the message item's own text"
    );
    let done = &v.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    let output = done["output"].as_array().unwrap();
    let types: Vec<&str> = output.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["web_search_call", "message", "web_search_call", "message"]);
    assert_eq!(output[0]["action"], json!({"type": "search", "query": "héllo"}));
    assert_eq!((output[0]["status"].as_str(), output[2]["action"]["query"].as_str()), (Some("completed"), Some("")));
    assert_eq!(output[1]["content"][0]["text"], "Héllo wörld");
    assert_eq!(output[1]["content"][0]["annotations"][0]["start_index"], 6);
    assert_eq!(output[3]["content"][0]["annotations"], json!([]));
    // The same response replayed as its stream (an upstream that ignored `stream: true`).
    let replay = translate::value_as_events(Dialect::Responses, done, false).unwrap();
    let again: Vec<Value> = replay.iter().map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    let again_kinds: Vec<&str> = again.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(again_kinds[2..7], search);
    assert_eq!(again.last().unwrap()["response"]["output"], done["output"]);
}

#[test]
fn a_chat_client_gets_annotations_and_no_search_calls() {
    let v = run(Dialect::OpenAi, &json!({"stream": true, "web_search_options": {}}));
    let deltas: Vec<&Value> = v.iter().filter_map(|c| c.pointer("/choices/0/delta")).collect();
    assert!(deltas.iter().all(|d| d.get("web_search_call").is_none() && d.get("tool_calls").is_none()), "{deltas:?}");
    let notes: Vec<&Value> = deltas.iter().filter_map(|d| d.get("annotations")).collect();
    assert_eq!(
        notes,
        [&json!([{"type": "url_citation",
                  "url_citation": {"start_index": 6, "end_index": 11, "url": "https://a.org/x", "title": "A"}}])]
    );
    let text: String = deltas.iter().filter_map(|d| d["content"].as_str()).collect();
    assert_eq!(text, "Héllo wörldHéllo wörld");
}

/// A Chat Completions client's `web_search_options` on Claude: Anthropic's web search tool with
/// the user's location; the answer's citations as the message's annotations.
#[test]
fn chat_web_search_options_become_the_anthropic_web_search_tool() {
    let up = FakeUpstream::start(|_| {
        let cite =
            json!({"type": "web_search_result_location", "url": "https://a.org/x", "title": "A", "cited_text": "c"});
        let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "end_turn",
            "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 2},
            "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                        {"type": "text", "text": "Sunny", "citations": [cite]}]});
        Script::json(200, msg.to_string().as_bytes())
    });
    let proxy = Proxy::start(&models_yaml(&[("claude-*", "anthropic/*", &up.url())]), &[("LOCAL_AUTH_TOKEN", "tok")]);
    let ask = json!({"model": "claude-x", "messages": [{"role": "user", "content": "weather?"}],
                     "web_search_options": {"user_location": {"type": "approximate", "approximate": {"city": "Oslo", "x": 1}}}});
    let r = post(&proxy, "/v1/chat/completions", "tok", &ask.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        up.requests()[0].json()["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search", "user_location": {"type": "approximate", "city": "Oslo"}}])
    );
    let m = &r.json()["choices"][0]["message"];
    assert_eq!((m["content"].as_str(), m.get("tool_calls")), (Some("Sunny"), None));
    assert_eq!(m["annotations"][0]["url_citation"]["end_index"], 5);
}

#[test]
fn a_search_anthropic_could_not_run_is_a_failed_web_search_call_streamed_and_whole() {
    // Reported as completed before: an error result (`max_uses_exceeded`), or no result at all.
    let search = |id: &str| json!({"type": "server_tool_use", "id": id, "name": "web_search", "input": {"query": "q"}});
    let error = json!({"type": "web_search_tool_result", "tool_use_id": "s1",
                       "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}});
    let text = json!({"type": "text", "text": "Sorry."});
    let blocks = [search("s1"), error, search("s2"), text];
    let request = json!({"stream": true, "tools": [{"type": "web_search"}]});
    let stages = translate::stream(Dialect::Responses, Dialect::Anthropic, "claude-x", &request);
    let out = Pipeline::new(stages, Dialect::Responses).run_whole(whole_blocks(&blocks));
    let v: Vec<Value> =
        out.iter().filter(|e| !e.is_comment()).map(|e| serde_json::from_str(&e.data).unwrap()).collect();
    assert!(v.iter().all(|e| e["type"] != "response.web_search_call.completed"), "{v:?}");
    let streamed = &v.last().unwrap()["response"]["output"];

    let message = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": blocks,
                         "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 2}});
    let ctx = translate::responses::Context::new(&request, "claude-x");
    let whole = translate::responses::whole(Dialect::Anthropic, message.to_string().as_bytes(), &ctx).unwrap();
    for output in [streamed, &whole["output"]] {
        let searches: Vec<(&str, &str)> = output
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "web_search_call")
            .map(|i| (i["status"].as_str().unwrap(), i["action"]["query"].as_str().unwrap()))
            .collect();
        assert_eq!(searches, [("failed", "q"), ("failed", "q")], "{output}");
    }
}

#[test]
fn a_deployment_that_drops_web_search_options_gets_no_web_search_tool() {
    // A Claude model or organisation without web search refused every default Codex turn, with
    // no way to turn the tool off for that deployment.
    let up = FakeUpstream::replay(|| {
        let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "end_turn",
            "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}, "content": [{"type": "text", "text": "Hi"}]});
        Script::json(200, msg.to_string().as_bytes())
    });
    let yaml = format!(
        "model_list:\n  - {{model_name: claude-x, litellm_params: {{model: anthropic/claude-x, api_base: \"{}\", additional_drop_params: [web_search_options]}}}}\n",
        up.url()
    );
    let proxy = Proxy::start(&yaml, &[("LOCAL_AUTH_TOKEN", "tok")]);
    let ask = json!({"model": "claude-x", "input": "news?", "tools": [{"type": "web_search"}]});
    let r = post(&proxy, "/v1/responses", "tok", &ask.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(up.requests()[0].json().get("tools").is_none(), "{}", up.requests()[0].json());
}

/// `n` web searches, each with its result and a text block of `chars` characters; then `cited` one-character
/// text blocks, each with a citation (all in the last message item).
fn many_searches(n: u64, chars: usize, cited: u64) -> Vec<Event> {
    let cite = json!({"type": "web_search_result_location", "url": "https://a.org/x", "title": "A", "cited_text": "c"});
    let mut v = vec![json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5}}})];
    let text = "x".repeat(chars);
    for k in 0..n {
        let id = format!("s{k}");
        let blocks = [
            json!({"type": "server_tool_use", "id": id, "name": "web_search", "input": {}}),
            json!({"type": "web_search_tool_result", "tool_use_id": id, "content": []}),
            json!({"type": "text", "text": text}),
        ];
        for (i, block) in (3 * k..).zip(blocks) {
            v.push(json!({"type": "content_block_start", "index": i, "content_block": block}));
            v.push(json!({"type": "content_block_stop", "index": i}));
        }
    }
    for i in 3 * n..3 * n + cited {
        v.push(json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}));
        v.push(
            json!({"type": "content_block_delta", "index": i, "delta": {"type": "citations_delta", "citation": cite}}),
        );
        v.push(json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": "y"}}));
        v.push(json!({"type": "content_block_stop", "index": i}));
    }
    v.push(json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}));
    v.push(json!({"type": "message_stop"}));
    v.into_iter().map(ev).collect()
}

fn responses_stream(events: Vec<Event>) -> Vec<Value> {
    let request = json!({"stream": true, "tools": [{"type": "web_search"}]});
    let stages = translate::stream(Dialect::Responses, Dialect::Anthropic, "claude-x", &request);
    let out = Pipeline::new(stages, Dialect::Responses).run_whole(events);
    out.iter().filter(|e| !e.is_comment()).map(|e| serde_json::from_str(&e.data).unwrap()).collect()
}

/// Each web search is an output item, and each item was kept to the end: 80,000 searches
/// (72 MB of upstream events) took 27 s of CPU and 827 MB. The 257th ends the stream.
#[test]
fn more_than_256_web_searches_end_a_responses_stream_with_an_error_event() {
    let v = responses_stream(many_searches(257, 1, 0));
    let last = v.last().unwrap();
    assert_eq!(last["type"], "response.failed", "{last}");
    assert!(last["response"]["error"]["message"].as_str().unwrap().contains("web search index above 255"), "{last}");
    assert_eq!(responses_stream(many_searches(256, 1, 0)).last().unwrap()["type"], "response.completed");
}

/// A citation's offset in its message item summed the text of every earlier message item again:
/// 20,000 cited blocks after 250 searches with 60,000 characters each took 21 s of CPU (release
/// build; a debug build spends more on serde than the recount, so this checks the offsets).
#[test]
fn citation_offsets_are_not_recounted_over_earlier_message_items() {
    let v = responses_stream(many_searches(4, 100_000, 2_000));
    let done = &v.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    let output = done["output"].as_array().unwrap();
    assert_eq!(output.len(), 8);
    let notes = output[7]["content"][0]["annotations"].as_array().unwrap();
    assert_eq!(notes.len(), 2_000);
    assert_eq!((&notes[1_999]["start_index"], &notes[1_999]["end_index"]), (&json!(101_999), &json!(102_000)));
    let added = v.iter().rfind(|e| e["type"] == "response.output_text.annotation.added").unwrap();
    assert_eq!((&added["output_index"], &added["annotation"]), (&json!(7), &notes[1_999]));
}

#[test]
fn each_search_gets_the_status_of_its_own_result_when_results_come_later_or_out_of_order() {
    // One open search was kept: the first was reported failed when the second began, and the
    // second took the first's result.
    let search =
        |id: &str, q: &str| json!({"type": "server_tool_use", "id": id, "name": "web_search", "input": {"query": q}});
    let result = |id: &str, ok: bool| {
        let content =
            if ok { json!([]) } else { json!({"type": "web_search_tool_result_error", "error_code": "unavailable"}) };
        json!({"type": "web_search_tool_result", "tool_use_id": id, "content": content})
    };
    let blocks = [search("s1", "a"), search("s2", "b"), result("s2", false), result("s1", true)];
    let done = responses_stream(whole_blocks(&blocks));
    let mut got: Vec<(String, String)> = done.last().unwrap()["response"]["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["action"]["query"].as_str().unwrap().into(), i["status"].as_str().unwrap().into()))
        .collect();
    got.sort();
    assert_eq!(got, [("a".to_string(), "completed".to_string()), ("b".into(), "failed".into())]);
}

#[test]
fn an_upstream_that_refuses_the_web_search_tool_is_asked_again_without_it() {
    // Codex offers web search on every turn: a Claude relay, cloud or organisation without it
    // answered every turn with its 400.
    const REFUSED: &str = r#"{"type":"error","error":{"type":"invalid_request_error","message":"tools.0: Input tag 'web_search_20250305' found using 'type' does not match any of the expected tags: 'custom'"}}"#;
    let up = FakeUpstream::start(|r| match r.json().get("tools") {
        Some(_) => Script::json(400, REFUSED.as_bytes()),
        None => {
            let msg = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "stop_reason": "end_turn",
                "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}, "content": [{"type": "text", "text": "Hi"}]});
            Script::json(200, msg.to_string().as_bytes())
        }
    });
    let proxy = Proxy::start(&models_yaml(&[("claude-*", "anthropic/*", &up.url())]), &[("LOCAL_AUTH_TOKEN", "tok")]);
    let ask = json!({"model": "claude-x", "input": "news?", "tools": [{"type": "web_search"}]});
    let r = post(&proxy, "/v1/responses", "tok", &ask.to_string());
    assert_eq!((r.status, r.json()["output"][0]["content"][0]["text"].as_str()), (200, Some("Hi")), "{}", r.text());
    let sent = up.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].json().get("tools").is_some() && sent[1].json().get("tools").is_none());
}
