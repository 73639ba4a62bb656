//! The listener and the workers: binds with `TCP_NODELAY` (inherited by every accepted socket),
//! hands each request from one dispatcher thread to a worker pool that grows on demand up to
//! `max_concurrent_requests`, answers a fast 503 when the queue behind it is full, and keeps a
//! panicking request from taking its worker (or the process) down.

use crate::config::Config;
use crate::error::Error;
use crate::handle::{self, Shared};
use crate::upstream::Upstream;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long a client may refuse to read before a write to it fails (`SO_SNDTIMEO`).
const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(120);
/// Worker stack size: requests need little stack, and a thousand threads should stay cheap.
const WORKER_STACK: usize = 512 * 1024;

/// A running proxy.
pub struct Running {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    dispatcher: JoinHandle<io::Result<()>>,
}

impl Running {
    /// Blocks until the server stops; an error means accepting connections failed.
    pub fn wait(self) -> io::Result<()> {
        self.dispatcher.join().unwrap_or_else(|_| Err(io::Error::other("dispatcher panicked")))
    }

    /// Stops accepting and returns once the listener is closed (running requests go on).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wait();
    }
}

/// Binds the listener and starts serving in background threads.
pub fn start(cfg: Config) -> Result<Running, String> {
    let upstream = Upstream::new(&cfg)?;
    let listener = bind(cfg.listen).map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| e.to_string())?;
    let addr = server.server_addr().to_ip().ok_or("listener has no IP address")?;
    let shared = Arc::new(Shared::new(cfg, upstream));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let dispatcher = thread::Builder::new()
        .name("dispatcher".into())
        .spawn(move || dispatch(server, shared, flag))
        .map_err(|e| e.to_string())?;
    Ok(Running { addr, stop, dispatcher })
}

/// A TCP listener whose accepted sockets inherit `TCP_NODELAY` and a send timeout. Without
/// NODELAY every small write waits for the peer's delayed ACK (~40 ms).
fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_tcp_nodelay(true)?;
    // Never a receive timeout here: on a listener it also applies to accept(), which tiny_http
    // treats as fatal.
    sock.set_write_timeout(Some(CLIENT_WRITE_TIMEOUT))?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    Ok(sock.into())
}

/// Takes requests off tiny_http's queue and gives each to a worker.
fn dispatch(server: tiny_http::Server, shared: Arc<Shared>, stop: Arc<AtomicBool>) -> io::Result<()> {
    let pool = Pool::new(shared);
    while !stop.load(Ordering::SeqCst) {
        if let Some(rq) = server.recv_timeout(Duration::from_millis(200))? {
            pool.submit(rq);
        }
    }
    Ok(())
}

/// What a worker does with one request.
type Serve = Arc<dyn Fn(tiny_http::Request) + Send + Sync>;

/// Idle workers and requests waiting for one, under one lock so no hand-off is ever lost.
#[derive(Default)]
struct Slots {
    /// Each idle worker's own hand-off channel (capacity 1: sending never blocks).
    idle: Vec<SyncSender<tiny_http::Request>>,
    /// Requests that arrived while every worker was busy.
    waiting: VecDeque<tiny_http::Request>,
}

/// Worker threads, started on demand up to `max_workers`. A request goes straight to one idle
/// worker (no shared queue for the whole pool to contend on), to a new worker, to the short
/// waiting line, or gets a fast 503.
struct Pool {
    slots: Arc<Mutex<Slots>>,
    workers: Arc<AtomicUsize>,
    max_workers: usize,
    max_waiting: usize,
    serve: Serve,
    shared: Arc<Shared>,
}

impl Pool {
    fn new(shared: Arc<Shared>) -> Pool {
        let settings = &shared.cfg.settings;
        let (max_workers, max_waiting) = (settings.max_concurrent_requests, settings.max_queued_requests);
        let for_workers = shared.clone();
        let serve: Serve = Arc::new(move |rq| handle::handle(rq, &for_workers));
        Pool { slots: Arc::default(), workers: Arc::default(), max_workers, max_waiting, serve, shared }
    }

    fn submit(&self, rq: tiny_http::Request) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(worker) = slots.idle.pop() {
            drop(slots);
            if let Err(mpsc::SendError(rq)) = worker.send(rq) {
                // That worker is gone (it cannot be, short of a bug): try the next one.
                self.workers.fetch_sub(1, Ordering::SeqCst);
                self.submit(rq);
            }
        } else if self.workers.load(Ordering::SeqCst) < self.max_workers {
            drop(slots);
            self.spawn(rq);
        } else if slots.waiting.len() < self.max_waiting {
            slots.waiting.push_back(rq);
        } else {
            drop(slots);
            handle::reject(rq, Error::Overloaded, &self.shared);
        }
    }

    fn spawn(&self, rq: tiny_http::Request) {
        let (slots, workers, serve) = (self.slots.clone(), self.workers.clone(), self.serve.clone());
        self.workers.fetch_add(1, Ordering::SeqCst);
        let spawned = thread::Builder::new()
            .name("worker".into())
            .stack_size(WORKER_STACK)
            .spawn(move || worker(rq, &slots, &serve));
        if let Err(e) = spawned {
            workers.fetch_sub(1, Ordering::SeqCst);
            log::error!("cannot start a worker thread: {e}");
        }
    }
}

/// Serves `first`, then the waiting line, then whatever is handed to it while idle, forever.
fn worker(first: tiny_http::Request, slots: &Mutex<Slots>, serve: &Serve) {
    let mut next = Some(first);
    while let Some(rq) = next {
        // A panic drops `rq`, and tiny_http answers a dropped request with a 500 by itself.
        if catch_unwind(AssertUnwindSafe(|| serve(rq))).is_err() {
            log::error!("a request handler panicked; its client got a 500 and the worker goes on");
        }
        let mut s = slots.lock().unwrap_or_else(|p| p.into_inner());
        next = match s.waiting.pop_front() {
            Some(rq) => Some(rq),
            None => {
                // A slot of its own for this idle spell; dropping it unused ends the worker.
                let (tx, rx) = mpsc::sync_channel(1);
                s.idle.push(tx);
                drop(s);
                rx.recv().ok()
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_panicking_request_gets_a_500_and_its_worker_serves_the_next_one() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let send = |path: &str| {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            c
        };
        let (boom, ok) = (send("/boom"), send("/ok"));
        let mut first = server.recv().unwrap();
        let mut second = server.recv().unwrap();
        if first.url() != "/boom" {
            std::mem::swap(&mut first, &mut second);
        }
        let slots = Mutex::new(Slots::default());
        slots.lock().unwrap().waiting.push_back(second);
        let serve: Serve = Arc::new(|rq: tiny_http::Request| {
            assert_ne!(rq.url(), "/boom", "simulated bug");
            rq.respond(tiny_http::Response::from_string("fine")).unwrap();
        });
        // Runs both requests on this worker, which then goes idle: take its slot to end it.
        thread::scope(|s| {
            s.spawn(|| worker(first, &slots, &serve));
            while slots.lock().unwrap().idle.is_empty() {
                thread::sleep(Duration::from_millis(5));
            }
            slots.lock().unwrap().idle.clear();
        });
        let read = |mut c: std::net::TcpStream| {
            let mut s = String::new();
            c.read_to_string(&mut s).unwrap();
            s
        };
        assert!(read(boom).starts_with("HTTP/1.1 500"));
        let ok = read(ok);
        assert!(ok.starts_with("HTTP/1.1 200") && ok.ends_with("fine"), "{ok}");
    }
}
