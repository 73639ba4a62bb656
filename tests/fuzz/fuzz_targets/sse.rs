//! The SSE parser, fed arbitrary bytes split at arbitrary points: no panic, and the events' raw
//! bytes always reassemble exactly what went in (what byte-faithful passthrough relies on).
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
    if ended_with_event {
        assert_eq!(raw, body);
    } else {
        assert!(body.starts_with(&raw));
    }
});
