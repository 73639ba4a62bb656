//! The limits every stream stage enforces on what an upstream sends: how high an index may go
//! and how much text one item may gather across deltas. Past either, the stream ends with an
//! error event in the client's dialect.

use crate::error::Error;

/// The highest index a stream may give a choice, a tool call or a content block. Stages keep
/// state per index, so an upstream's number is checked before it is used (one chunk naming tool
/// call 1,000,000 made a million empty calls); real APIs count from 0 and stay far below (`n` is
/// at most 128, parallel tool calls a few dozen).
pub const MAX_STREAM_INDEX: u64 = 255;

/// The most bytes one tool call's arguments, or one text or reasoning item, may gather across a
/// stream's deltas in a stage that keeps them whole (Ollama's tool calls, a Responses item, a
/// custom tool's held input). Real answers stay far below (128k output tokens is about 512 KiB);
/// without it, an upstream dripping arguments forever grew memory without end.
pub const MAX_ACCUMULATED_BYTES: usize = 16 << 20;

/// The most citations one text block keeps (web search answers cite a handful).
pub const MAX_BLOCK_CITATIONS: usize = 1024;

/// The most bytes a web search's input (its query) may gather across deltas.
pub const MAX_SEARCH_INPUT_BYTES: usize = 64 << 10;

/// `index`, the index of a `what` in an upstream stream, when it is at most
/// [`MAX_STREAM_INDEX`]; otherwise the error that ends the stream.
pub fn stream_index(what: &str, index: u64) -> Result<u64, Error> {
    match index <= MAX_STREAM_INDEX {
        true => Ok(index),
        false => Err(Error::UpstreamInvalid(format!("a stream {what} index above {MAX_STREAM_INDEX}"))),
    }
}

/// Appends `part` to `buf`, the text a stage gathers for one `what`, in place (rebuilding it per
/// delta was quadratic); errs, leaving `buf` as it was, when that would pass
/// [`MAX_ACCUMULATED_BYTES`].
pub fn accumulate(what: &str, buf: &mut String, part: &str) -> Result<(), Error> {
    if buf.len().saturating_add(part.len()) > MAX_ACCUMULATED_BYTES {
        let mib = MAX_ACCUMULATED_BYTES >> 20;
        return Err(Error::UpstreamInvalid(format!("a stream {what} longer than {mib} MiB")));
    }
    buf.push_str(part);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;
    use crate::sse::Event;
    use crate::translate::{stream, Pipeline, Transform};
    use serde_json::json;

    #[test]
    fn tool_call_arguments_dripped_past_the_cap_end_every_stream_with_an_error_event() {
        const PIECE: usize = 64 << 10;
        let piece = "x".repeat(PIECE);
        let call = |first: bool| {
            let tc = match first {
                true => json!({"index": 0, "id": "c", "function": {"name": "ApplyPatch", "arguments": ""}}),
                false => json!({"index": 0, "function": {"arguments": piece}}),
            };
            Event::data(json!({"choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]}).to_string())
        };
        let text = || Event::data(json!({"choices": [{"index": 0, "delta": {"content": piece}}]}).to_string());
        let opts = crate::repair::Options { custom_tools: vec!["ApplyPatch".into()], ..Default::default() };
        let repair = vec![Box::new(crate::repair::Repair::new(opts)) as Box<dyn Transform>];
        let r = json!({"model": "m"});
        let cases = [
            (stream(Dialect::Ollama, Dialect::OpenAi, "m", &r), Dialect::Ollama, true, "tool call's arguments"),
            (stream(Dialect::Responses, Dialect::OpenAi, "m", &r), Dialect::Responses, true, "tool call's arguments"),
            (stream(Dialect::Responses, Dialect::OpenAi, "m", &r), Dialect::Responses, false, "message item"),
            (repair, Dialect::OpenAi, true, "custom tool call's input"),
        ];
        for (stages, client, tool, what) in cases {
            let mut p = Pipeline::new(stages, client);
            let mut out = Vec::new();
            if tool {
                p.push(call(true), &mut out);
            }
            for _ in 0..=MAX_ACCUMULATED_BYTES / PIECE {
                p.push(if tool { call(false) } else { text() }, &mut out);
            }
            assert!(p.done(), "{client:?} {what}");
            let last = &out.last().expect("an error event").data;
            assert!(last.contains(&format!("a stream {what} longer than 16 MiB")), "{client:?}: {last}");
        }
    }

    #[test]
    fn accumulate_appends_up_to_the_cap_and_leaves_the_text_as_it_was_past_it() {
        let mut buf = "x".repeat(MAX_ACCUMULATED_BYTES - 1);
        accumulate("t", &mut buf, "y").unwrap();
        assert!(accumulate("t", &mut buf, "z").is_err());
        assert_eq!((buf.len(), buf.ends_with('y')), (MAX_ACCUMULATED_BYTES, true));
    }
}
