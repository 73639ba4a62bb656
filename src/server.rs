//! The listener and the workers: binds with `TCP_NODELAY` (inherited by every accepted socket),
//! hands each request from one dispatcher thread to a worker pool that grows on demand up to
//! `max_concurrent_requests`, answers a fast 503 when the queue behind it is full, and keeps a
//! panicking request from taking its worker (or the process) down.

use crate::config::Config;
use crate::error::Error;
use crate::handle::{self, Shared};
use crate::upstream::Upstream;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
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
    let mut pool = Pool::new(shared);
    while !stop.load(Ordering::SeqCst) {
        if let Some(rq) = server.recv_timeout(Duration::from_millis(200))? {
            pool.submit(rq);
        }
    }
    Ok(())
}

/// What a worker does with one request.
type Serve = Arc<dyn Fn(tiny_http::Request) + Send + Sync>;

/// Worker threads fed through a bounded queue.
struct Pool {
    tx: SyncSender<tiny_http::Request>,
    rx: Arc<Mutex<Receiver<tiny_http::Request>>>,
    idle: Arc<AtomicUsize>,
    workers: usize,
    max_workers: usize,
    serve: Serve,
    shared: Arc<Shared>,
}

impl Pool {
    fn new(shared: Arc<Shared>) -> Pool {
        let (tx, rx) = mpsc::sync_channel(shared.cfg.settings.max_queued_requests);
        let max_workers = shared.cfg.settings.max_concurrent_requests;
        let for_workers = shared.clone();
        let serve: Serve = Arc::new(move |rq| handle::handle(rq, &for_workers));
        let (rx, idle) = (Arc::new(Mutex::new(rx)), Arc::new(AtomicUsize::new(0)));
        Pool { tx, rx, idle, workers: 0, max_workers, serve, shared }
    }

    /// Runs `rq` on an idle worker, a new worker, or the queue; answers 503 when all are full.
    fn submit(&mut self, rq: tiny_http::Request) {
        if self.idle.load(Ordering::SeqCst) == 0 && self.workers < self.max_workers {
            let (rx, idle, serve) = (self.rx.clone(), self.idle.clone(), self.serve.clone());
            let spawned = thread::Builder::new()
                .name("worker".into())
                .stack_size(WORKER_STACK)
                .spawn(move || worker(rq, rx, idle, serve));
            match spawned {
                Ok(_) => self.workers += 1,
                Err(e) => log::error!("cannot start a worker thread: {e}"),
            }
            return;
        }
        match self.tx.try_send(rq) {
            Ok(()) => {}
            Err(TrySendError::Full(rq) | TrySendError::Disconnected(rq)) => {
                handle::reject(rq, Error::Overloaded, &self.shared)
            }
        }
    }
}

/// Serves `first`, then whatever the queue hands over, forever.
fn worker(
    first: tiny_http::Request,
    rx: Arc<Mutex<Receiver<tiny_http::Request>>>,
    idle: Arc<AtomicUsize>,
    serve: Serve,
) {
    let mut next = Some(first);
    while let Some(rq) = next {
        // A panic drops `rq`, and tiny_http answers a dropped request with a 500 by itself.
        if catch_unwind(AssertUnwindSafe(|| serve(rq))).is_err() {
            log::error!("a request handler panicked; its client got a 500 and the worker goes on");
        }
        idle.fetch_add(1, Ordering::SeqCst);
        next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv().ok();
        idle.fetch_sub(1, Ordering::SeqCst);
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
        let (tx, rx) = mpsc::sync_channel(1);
        tx.send(second).unwrap();
        drop(tx);
        let serve: Serve = Arc::new(|rq: tiny_http::Request| {
            assert_ne!(rq.url(), "/boom", "simulated bug");
            rq.respond(tiny_http::Response::from_string("fine")).unwrap();
        });
        // Runs both requests on this thread and returns once the queue is closed.
        worker(first, Arc::new(Mutex::new(rx)), Arc::new(AtomicUsize::new(0)), serve);
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
