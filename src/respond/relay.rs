//! The reading side of a stream: each upstream read, passed on as it came or parsed into events,
//! run through the pipeline and framed for the client.

use super::{Outcome, READ_BUFFER};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::sse::{self, Event, Framing};
use crate::translate::Pipeline;
use crate::usage::{self, StreamUsage};
use std::io::{self, Read};

/// The reading side of a stream: what each upstream read becomes for the client.
pub(super) enum Relay {
    /// Bytes pass as they came; an SSE stream is watched for its usage and limits.
    Bytes { watch: Option<StreamUsage>, dialect: Dialect },
    /// Bytes are parsed into events (once), metered, run through the pipeline and framed.
    Events { parser: sse::Parser, pipeline: Pipeline, meter: usage::Meter, framing: Framing },
}

impl Relay {
    /// The dialect the client reads.
    pub(super) fn client(&self) -> Dialect {
        match self {
            Relay::Bytes { dialect, .. } => *dialect,
            Relay::Events { pipeline, .. } => pipeline.client(),
        }
    }

    /// Reads once from the upstream. Returns what the client gets — `Some(n)`: the first `n`
    /// bytes of `buf` as they came; `None`: what was appended to `framed` — and whether the
    /// stream is over.
    pub(super) fn read(
        &mut self,
        body: &mut dyn Read,
        buf: &mut Vec<u8>,
        framed: &mut Vec<u8>,
        out: &mut Outcome,
    ) -> (Option<usize>, bool) {
        let n = loop {
            match body.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (None, self.fail(Error::from_upstream_read(e), framed, out)),
                Ok(n) => break n,
            }
        };
        if n == buf.len() && n < READ_BUFFER {
            // More was waiting than fitted: read more at a time from now on.
            buf.resize(2 * n, 0);
        }
        let mut events = Vec::new();
        let last = match self {
            Relay::Bytes { watch, .. } => match (n, watch.as_mut().map(|u| u.push(&buf[..n]))) {
                (0, _) => return (Some(0), true),
                (_, Some(Err(too_large))) => {
                    // What was passed on ends mid-event: close it, so the error is an event of its own.
                    framed.extend_from_slice(b"\n\n");
                    return (None, self.fail(Error::UpstreamInvalid(too_large.to_string()), framed, out));
                }
                _ => return (Some(n), false),
            },
            Relay::Events { parser, pipeline, meter, .. } => {
                let parsed = if n == 0 { parser.finish().into_iter().collect() } else { parser.push(&buf[..n]) };
                for ev in parsed {
                    meter.data(ev.data.as_bytes());
                    pipeline.push(ev, &mut events);
                }
                if let Some(too_large) = parser.too_large() {
                    self.write(&events, framed);
                    return (None, self.fail(Error::UpstreamInvalid(too_large.to_string()), framed, out));
                }
                if n == 0 {
                    pipeline.end(&mut events);
                }
                n == 0 || pipeline.done()
            }
        };
        self.write(&events, framed);
        (None, last)
    }

    /// Appends `events` in the client's framing.
    fn write(&self, events: &[Event], framed: &mut Vec<u8>) {
        if let Relay::Events { framing, .. } = self {
            events.iter().for_each(|ev| framing.write(ev, framed));
        }
    }

    /// The stream cannot go on: the client gets `err` as an event in its dialect (a stream the
    /// proxy is shutting down says so), and the stream is over.
    fn fail(&mut self, err: Error, framed: &mut Vec<u8>, out: &mut Outcome) -> bool {
        let err = if crate::connect::abandoned() { Error::ShuttingDown } else { err };
        out.error = Some(err.kind().to_string());
        match self {
            Relay::Events { pipeline, framing, .. } => {
                let mut events = Vec::new();
                pipeline.fail(&err, &mut events);
                events.iter().for_each(|ev| framing.write(ev, framed));
            }
            // A keep-alive client would otherwise wait forever; say why, then end cleanly.
            Relay::Bytes { watch: Some(_), dialect } => framed.extend_from_slice(&err.sse(*dialect)),
            Relay::Bytes { .. } => {}
        }
        true
    }

    /// `(prompt, completion)` tokens the stream reported.
    pub(super) fn tokens(&self) -> Option<(u64, u64)> {
        match self {
            Relay::Bytes { watch, .. } => watch.as_ref().and_then(StreamUsage::tokens),
            Relay::Events { meter, .. } => meter.tokens(),
        }
    }
}
