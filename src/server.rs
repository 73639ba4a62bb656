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
        self.dispatcher
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("dispatcher panicked")))
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

/// Worker threads fed through a bounded queue.
struct Pool {
    tx: SyncSender<tiny_http::Request>,
    rx: Arc<Mutex<Receiver<tiny_http::Request>>>,
    idle: Arc<AtomicUsize>,
    workers: usize,
    max_workers: usize,
    shared: Arc<Shared>,
}

impl Pool {
    fn new(shared: Arc<Shared>) -> Pool {
        let (tx, rx) = mpsc::sync_channel(shared.cfg.settings.max_queued_requests);
        let max_workers = shared.cfg.settings.max_concurrent_requests;
        Pool {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            idle: Arc::new(AtomicUsize::new(0)),
            workers: 0,
            max_workers,
            shared,
        }
    }

    /// Runs `rq` on an idle worker, a new worker, or the queue; answers 503 when all are full.
    fn submit(&mut self, rq: tiny_http::Request) {
        if self.idle.load(Ordering::SeqCst) == 0 && self.workers < self.max_workers {
            let (rx, idle, shared) = (self.rx.clone(), self.idle.clone(), self.shared.clone());
            let spawned = thread::Builder::new()
                .name("worker".into())
                .stack_size(WORKER_STACK)
                .spawn(move || worker(rq, rx, idle, shared));
            match spawned {
                Ok(_) => self.workers += 1,
                Err(e) => log::error!("cannot start a worker thread: {e}"),
            }
            return;
        }
        match self.tx.try_send(rq) {
            Ok(()) => {}
            Err(TrySendError::Full(rq) | TrySendError::Disconnected(rq)) => handle::reject(rq, Error::Overloaded),
        }
    }
}

/// Serves `first`, then whatever the queue hands over, forever.
fn worker(
    first: tiny_http::Request,
    rx: Arc<Mutex<Receiver<tiny_http::Request>>>,
    idle: Arc<AtomicUsize>,
    shared: Arc<Shared>,
) {
    let mut next = Some(first);
    while let Some(rq) = next {
        // A panic drops `rq`, and tiny_http answers a dropped request with a 500 by itself.
        if catch_unwind(AssertUnwindSafe(|| handle::handle(rq, &shared))).is_err() {
            log::error!("a request handler panicked; its client got a 500 and the worker goes on");
        }
        idle.fetch_add(1, Ordering::SeqCst);
        next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv().ok();
        idle.fetch_sub(1, Ordering::SeqCst);
    }
}
