//! The SSE parser, fed arbitrary bytes split at arbitrary points: no panic, and the events' raw
//! bytes always reassemble what went in, line for line (what byte-faithful passthrough relies
//! on), but for blank lines that dispatch nothing, which the parser drops.
#![no_main]
use gpt_reverse_proxy::sse::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else { return };
    let cut = usize::from(cut).max(1);
    let mut p = Parser::default();
    let mut raw = Vec::new();
    for piece in body.chunks(cut) {
        for ev in p.push(piece) {
            raw.extend_from_slice(&ev.raw);
        }
    }
    let ended_with_event = p.finish().map(|ev| raw.extend_from_slice(&ev.raw)).is_some();
    let (raw, body) = (lines(&raw), lines(body));
    if ended_with_event {
        assert_eq!(raw, body);
    } else {
        assert!(body.starts_with(&raw));
    }
});

/// The lines that are not blank, each with its own line end.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').filter(|l| l.iter().any(|&b| b != b'\r' && b != b'\n')).collect()
}
