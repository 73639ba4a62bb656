//! Per-connection bookkeeping: one worker per connection, however many requests it pipelines.
//!
//! tiny_http parses the requests of one connection one after another and hands each to the
//! queue as soon as the previous one's body is out of the way (at once for a `GET`), while their
//! answers are written strictly in order. A client that pipelines thousands of requests and
//! reads nothing would hold a worker per request, each waiting for the one before to finish
//! writing. Here a request whose connection already has one in a worker is parked behind it
//! (at most [`MAX_PARKED`]), and the worker serving that connection takes the parked ones in
//! turn. A connection that pipelines more than that, or whose answer cannot be written, has
//! what it parked dropped unanswered. A connection that must not be served again (a 400 about
//! framing left its next bytes untrustworthy) is *closed*: for [`CLOSED_LINGER`] whatever else
//! arrives from it is dropped unanswered, which covers the requests tiny_http had already parsed
//! from the bytes it sent. A connection is known by the client's address and port, which no other open
//! connection shares — but a closed one's may soon belong to a new connection, hence the short
//! linger.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests parked behind the running one; beyond that, they are dropped.
pub const MAX_PARKED: usize = 16;

/// How long a closed connection's address stays closed after its last request.
pub const CLOSED_LINGER: Duration = Duration::from_secs(1);

/// What became of a connection after one of its requests was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// It may serve its next request.
    Keep,
    /// Its answer could not be written: the client is gone or not reading.
    Gone,
    /// Nothing more may be served on it (framing it cannot be trusted after).
    Close,
}

/// One connection's state.
struct Lane {
    /// A worker is serving one of its requests.
    running: bool,
    /// Requests waiting for that worker, in arrival order.
    parked: VecDeque<tiny_http::Request>,
    /// Nothing more is served on it.
    closed: bool,
    /// When a request of it was last seen.
    seen: Instant,
}

impl Lane {
    fn new() -> Lane {
        Lane { running: false, parked: VecDeque::new(), closed: false, seen: Instant::now() }
    }
}

/// The connections with a request in a worker (or closed recently).
#[derive(Default)]
pub struct Lanes {
    map: Mutex<HashMap<SocketAddr, Lane>>,
}

impl Lanes {
    /// A request just taken from the queue: returned when the caller should serve it now,
    /// otherwise parked behind its connection's running request or dropped unanswered.
    pub fn admit(&self, rq: tiny_http::Request) -> Option<tiny_http::Request> {
        let Some(addr) = rq.remote_addr().copied() else { return Some(rq) };
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 4096 {
            map.retain(|_, l| l.running || !l.parked.is_empty() || l.seen.elapsed() < CLOSED_LINGER);
        }
        let lane = map.entry(addr).or_insert_with(Lane::new);
        if lane.closed && !lane.running && lane.seen.elapsed() > CLOSED_LINGER {
            *lane = Lane::new();
        }
        lane.seen = Instant::now();
        if lane.closed {
            drop(map);
            dispose(rq);
            return None;
        }
        if !lane.running {
            lane.running = true;
            return Some(rq);
        }
        if lane.parked.len() < MAX_PARKED {
            lane.parked.push_back(rq);
            return None;
        }
        // Pipelining this deep is not a client waiting for answers: it gets only the one running.
        let parked = std::mem::take(&mut lane.parked);
        drop(map);
        parked.into_iter().chain([rq]).for_each(dispose);
        None
    }

    /// After serving a request of `addr`: its connection's next parked request, if it is to be
    /// served; `None` when the worker is done with the connection.
    pub fn next(&self, addr: SocketAddr, after: After) -> Option<tiny_http::Request> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let lane = map.get_mut(&addr)?;
        lane.closed |= after == After::Close;
        if !lane.closed && after == After::Keep && !lane.parked.is_empty() {
            return lane.parked.pop_front();
        }
        let parked = std::mem::take(&mut lane.parked);
        if lane.closed {
            lane.running = false;
            lane.seen = Instant::now();
        } else {
            map.remove(&addr);
        }
        drop(map);
        parked.into_iter().for_each(dispose);
        None
    }

    /// Connections known (serving, parked or closed), for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

/// Drops a request unanswered. Taking its writer first keeps tiny_http from answering it with a
/// 500 of its own; writing nothing lets the answers queued behind it go (none will be written).
fn dispose(rq: tiny_http::Request) {
    drop(rq.into_writer());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn pipelined_requests_wait_for_the_running_one_and_overflow_drops_them() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let n = MAX_PARKED + 2;
        c.write_all(&b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n)).unwrap();
        let lanes = Lanes::default();
        let first = lanes.admit(server.recv().unwrap()).expect("the first is served");
        for _ in 1..=MAX_PARKED {
            assert!(lanes.admit(server.recv().unwrap()).is_none(), "parked");
        }
        assert_eq!(lanes.len(), 1);
        // One more than fits: everything parked is dropped.
        assert!(lanes.admit(server.recv().unwrap()).is_none());
        let peer = *first.remote_addr().unwrap();
        let mut w = first.into_writer();
        w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        w.flush().unwrap();
        drop(w);
        assert!(lanes.next(peer, After::Keep).is_none(), "nothing was left to serve");
        assert_eq!(lanes.len(), 0);
        c.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        let got = String::from_utf8_lossy(&got);
        assert_eq!(got.matches("HTTP/1.1 ").count(), 1, "only the first was answered: {got}");
    }
}
