//! Request normalisation, every request translation, the whole-answer repairs and streams, and
//! the dump reader, on arbitrary JSON: no panic, and a translated request is always an object.
#![no_main]
use gpt_reverse_proxy::config::ModelInfo;
use gpt_reverse_proxy::dialect::Dialect;
use gpt_reverse_proxy::translate::{self, normalize, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    normalize::chat(&mut body);
    normalize::strip_think_tags(&mut body);
    let (info, none) = (ModelInfo::default(), serde_json::Map::new());
    for claude_code in [false, true] {
        let t = Target { model: "m", info: &info, claude_code, max_completion_tokens: true, default_params: &none, force_params: &none, drop_params: [&[], &[]] };
        for client in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Ollama, Dialect::Responses] {
            for wire in [Dialect::OpenAi, Dialect::Anthropic] {
                assert!(translate::request(client, wire, &body, &t).is_object());
            }
        }
    }
    let _ = translate::count_tokens(&body);
    let opts = gpt_reverse_proxy::repair::Options { drop_null_finish_reason: true, think_tags: true, custom_tools: vec!["f".into()] };
    if let Ok(mut v) = serde_json::from_slice(data) {
        let _ = gpt_reverse_proxy::repair::complete_value(&mut v, &opts);
    }
    for client in [Dialect::OpenAi, Dialect::Anthropic, Dialect::Ollama, Dialect::Responses] {
        let _ = translate::as_events(client, data, true);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gpt_reverse_proxy::dump::show::render(text);
    }
    for (client, wire) in [(Dialect::OpenAi, Dialect::Anthropic), (Dialect::Anthropic, Dialect::OpenAi), (Dialect::Ollama, Dialect::Anthropic), (Dialect::Responses, Dialect::Anthropic)] {
        let _ = translate::response(client, wire, data, "m", 0);
        let _ = translate::error(client, 400, data, Some(1000));
    }
});
