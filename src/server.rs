//! The listener and the workers: binds with `TCP_NODELAY` (inherited by every accepted socket),
//! runs workers that take requests from tiny_http's queue themselves and grow on demand up to
//! `max_concurrent_requests`, answers a fast 503 beyond that, and keeps a panicking request from
//! taking its worker (or the process) down. Requests of one connection go through one worker
//! at a time ([`crate::lanes`]).

use crate::config::Config;
use crate::dump::Dumper;
use crate::error::Error;
use crate::handle::{self, Shared};
use crate::lanes::{After, Lanes};
use crate::upstream::Upstream;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

/// Idle workers kept when the others leave after a burst.
const SPARE_WORKERS: usize = 4;
/// Worker stack size: requests need little stack, and a thousand threads should stay cheap.
const WORKER_STACK: usize = 512 * 1024;
/// How long the worker holding the intake waits for a request before letting another one wait
/// (idle workers take turns; each leaves once idle for `idle_worker_exit`).
const INTAKE_WAIT: Duration = Duration::from_millis(50);
/// Refusals with an unread body sent from threads of their own at once, at most.
const MAX_ASIDE: usize = 1024;

/// A running proxy.
pub struct Running {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// The address the configuration asked for (a reload cannot change it).
    listen: SocketAddr,
    pool: Arc<Pool>,
    fatal: Receiver<io::Error>,
    /// The configuration in force; a reload swaps it whole.
    current: Arc<RwLock<Arc<Shared>>>,
}

impl Running {
    /// Puts a new configuration in force for the requests that start from now on; running
    /// ones finish with the one they began with. The listen address cannot change.
    pub fn reload(&self, cfg: Config) -> Result<(), String> {
        if cfg.listen != self.listen {
            return Err(format!(
                "the listen address cannot change without a restart ({} → {})",
                self.listen, cfg.listen
            ));
        }
        refuse_to_weaken(&self.current.read().unwrap_or_else(|p| p.into_inner()).cfg, &cfg)?;
        let upstream = Upstream::new(&cfg)?;
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        let metrics = current.metrics.clone();
        // The dump writer carries on unless its directory or limits changed.
        let dumps = match &current.dumps {
            Some(d) if cfg.dump && d.fits(&cfg.settings) => Some(d.clone()),
            _ => Dumper::start(&cfg),
        };
        *current = Arc::new(Shared::new(cfg, upstream, metrics, dumps));
        Ok(())
    }

    /// Blocks until one of `flags` is set (a signal arrived) or accepting connections fails;
    /// the latter is an error, and the process should exit so that its supervisor restarts it.
    pub fn wait_until(&self, flags: &[&AtomicBool]) -> io::Result<()> {
        while !flags.iter().any(|f| f.load(Ordering::SeqCst)) {
            match self.fatal.recv_timeout(Duration::from_millis(100)) {
                Ok(e) => return Err(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
        Ok(())
    }

    /// A graceful end: new requests get a fast 503 (`shutting_down`) while the running ones,
    /// streams included, finish, for at most `grace`; those still running then end with an
    /// error event (`shutting_down`), given a moment to send it. Returns how many were still
    /// running after `grace`.
    pub fn drain(&self, grace: Duration) -> usize {
        self.pool.draining.store(true, Ordering::SeqCst);
        let wait = |grace: Duration| {
            let deadline = Instant::now() + grace;
            while self.pool.serving.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            self.pool.serving.load(Ordering::SeqCst)
        };
        let left = wait(grace);
        if left > 0 {
            crate::connect::abandon_upstreams();
            wait(Duration::from_secs(1));
        }
        left
    }

    /// Stops taking requests: idle workers leave now, busy ones after their current request;
    /// the listener closes when the last one is gone.
    pub fn stop(self) {
        self.pool.stop.store(true, Ordering::SeqCst);
        for _ in 0..=self.pool.workers.load(Ordering::SeqCst) {
            self.pool.server.unblock();
        }
    }
}

/// What a reload may not do, since a file caught mid-save (moved away, truncated) would do it:
/// drop every client token (opening the proxy, dumps included), fall back to the built-in demo
/// list, or leave no model at all. A restart can do each of these on purpose.
fn refuse_to_weaken(running: &Config, new: &Config) -> Result<(), String> {
    if new.source.starts_with("built-in") && !running.source.starts_with("built-in") {
        return Err(format!("{} is gone (moved, or being saved?)", running.source));
    }
    if new.deployments.is_empty() && !running.deployments.is_empty() {
        return Err(format!("{} lists no model (empty, or being saved?)", new.source));
    }
    if new.tokens.is_empty() && !running.tokens.is_empty() {
        return Err(format!(
            "it sets no client token where {} are in force: a reload never opens the proxy (restart it for that)",
            running.tokens.len()
        ));
    }
    // A token cut short mid-save is the start of one in force (`sk-master-…` → `s`).
    let cut = |t: &str| running.tokens.iter().any(|r| r.expose().len() > t.len() && r.expose().starts_with(t));
    if new.tokens.iter().any(|t| cut(t.expose())) {
        return Err("a client token in it is the start of one in force (a file caught mid-save?)".into());
    }
    Ok(())
}

/// Binds the listener and starts serving in background threads.
pub fn start(cfg: Config) -> Result<Running, String> {
    let upstream = Upstream::new(&cfg)?;
    let listener = bind(cfg.listen, cfg.settings.client_send_timeout, cfg.settings.client_read_timeout)
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| e.to_string())?;
    let addr = server.server_addr().to_ip().ok_or("listener has no IP address")?;
    let (max, idle_exit) = (cfg.settings.max_concurrent_requests, cfg.settings.idle_worker_exit);
    let interval = cfg.settings.watchdog_interval;
    let listen = cfg.listen;
    let dumps = Dumper::start(&cfg);
    let current = Arc::new(RwLock::new(Arc::new(Shared::new(cfg, upstream, Arc::default(), dumps))));
    let (tx, fatal) = mpsc::channel();
    let live = current.clone();
    let serve: Serve = Arc::new(move |rq, refuse| {
        // Each request keeps the configuration it started with, even across a reload.
        let shared = live.read().unwrap_or_else(|p| p.into_inner()).clone();
        match refuse {
            None => handle::handle(rq, &shared),
            Some(e) => handle::reject(rq, e, &shared),
        }
    });
    let pool = Pool::new(server, serve, max, idle_exit, tx);
    pool.spawn().map_err(|e| format!("cannot start a worker thread: {e}"))?;
    let probe =
        SocketAddr::new(if addr.ip().is_unspecified() { Ipv4Addr::LOCALHOST.into() } else { addr.ip() }, addr.port());
    let weak = Arc::downgrade(&pool);
    thread::Builder::new()
        .name("watchdog".into())
        .stack_size(64 * 1024)
        .spawn(move || watchdog(probe, interval, weak))
        .map_err(|e| format!("cannot start the watchdog: {e}"))?;
    Ok(Running { addr, listen, pool, fatal, current })
}

/// How often the watchdog opens and closes an empty connection. tiny_http's connection thread
/// pool adds a thread only when none is waiting (counting waiters before they wake), so part of a
/// burst can stay queued, unanswered, behind connections that hold their threads (idle keep-alive,
/// slow clients). An empty connection arriving when no thread waits adds one, which finishes it
/// and takes a queued connection: each kick frees one, so none waits more than a moment.
const KICK: Duration = Duration::from_millis(25);

/// Kicks tiny_http's connection thread pool every [`KICK`], and checks every `interval` that a
/// `GET /health` through the real listener gets an answer. The kicks also keep tiny_http's
/// `accept()` from ever waiting as long as the listener's receive timeout (see [`bind`]); they
/// go on while a shutdown drains, and stop with the listener. tiny_http's accept thread can die
/// without a word (a panic when file descriptors run out), leaving a process that holds the port
/// and serves nothing; after three misses in a row this reports it as fatal, so that the process
/// exits 1 and its supervisor restarts it.
fn watchdog(addr: SocketAddr, interval: Duration, pool: std::sync::Weak<Pool>) {
    let mut misses = 0;
    let mut next_probe = Instant::now() + interval;
    loop {
        thread::sleep(KICK.min(interval));
        let Some(pool) = pool.upgrade() else { return };
        if pool.stop.load(Ordering::SeqCst) {
            return;
        }
        drop(std::net::TcpStream::connect_timeout(&addr, KICK));
        if Instant::now() < next_probe || pool.draining.load(Ordering::SeqCst) {
            continue;
        }
        next_probe = Instant::now() + interval;
        misses = if probe(addr, interval) { 0 } else { misses + 1 };
        if misses >= 3 {
            let e =
                io::Error::other(format!("{addr} stopped accepting connections (no answer to three health checks)"));
            let _ = pool.fatal.lock().unwrap_or_else(|p| p.into_inner()).send(e);
            return;
        }
    }
}

/// One health check: any HTTP answer within `timeout` means connections are being accepted.
fn probe(addr: SocketAddr, timeout: Duration) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, timeout) else { return false };
    let _ = s.set_read_timeout(Some(timeout));
    let mut head = [0u8; 12];
    s.write_all(b"GET /health HTTP/1.1\r\nHost: watchdog\r\nConnection: close\r\n\r\n").is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}

/// A TCP listener whose accepted sockets inherit `TCP_NODELAY`, a send and a receive timeout.
/// Without NODELAY every small write waits for the peer's delayed ACK (~40 ms). The receive
/// timeout closes connections that stay silent while a head or body is awaited (idle ones,
/// declared bodies never sent); tiny_http has no read timeout of its own.
fn bind(addr: SocketAddr, send_timeout: Duration, read_timeout: Duration) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.set_tcp_nodelay(true)?;
    sock.set_write_timeout(Some(send_timeout))?;
    // It also bounds each accept(), whose error ends tiny_http's accept thread: see [`watchdog`].
    sock.set_read_timeout(Some(read_timeout))?;
    sock.bind(&addr.into())?;
    sock.listen(1024)?;
    Ok(sock.into())
}

/// What a worker does with one request: serve it, or refuse it with the given error. Returns
/// what became of its connection.
type Serve = Arc<dyn Fn(tiny_http::Request, Option<Error>) -> After + Send + Sync>;

/// The workers. Each takes requests from tiny_http's queue itself, so a request crosses from
/// the connection thread straight to the worker that serves it. A worker that takes the last
/// idle place starts one more, so someone is always waiting for the next request, up to
/// `max` serving plus one spare, which only refuses: beyond `max` requests get a fast 503.
struct Pool {
    server: Arc<tiny_http::Server>,
    serve: Serve,
    max: usize,
    /// How long a worker waits for a request before it leaves (when others stay idle).
    idle_exit: Duration,
    /// Worker threads alive.
    workers: AtomicUsize,
    /// Workers serving a request (or refusing one).
    busy: AtomicUsize,
    /// Requests being served, refusals not counted: what a graceful shutdown waits for.
    serving: AtomicUsize,
    stop: AtomicBool,
    /// Shutting down: refuse new requests, finish the running ones.
    draining: AtomicBool,
    /// Where a failure of accepting (reported through `recv`) goes: the process should exit.
    fatal: Mutex<mpsc::Sender<io::Error>>,
    /// Which connections have a request in a worker.
    lanes: Lanes,
    /// Held while taking a request from tiny_http's queue and admitting it to its lane.
    intake: Mutex<()>,
    /// Refusals running on threads of their own.
    aside: Arc<AtomicUsize>,
}

impl Pool {
    /// A pool with no workers yet.
    fn new(
        server: tiny_http::Server,
        serve: Serve,
        max: usize,
        idle_exit: Duration,
        fatal: mpsc::Sender<io::Error>,
    ) -> Arc<Pool> {
        Arc::new(Pool {
            server: Arc::new(server),
            serve,
            max,
            idle_exit,
            workers: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            serving: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            fatal: Mutex::new(fatal),
            lanes: Lanes::default(),
            intake: Mutex::new(()),
            aside: Arc::default(),
        })
    }

    /// Starts one more worker.
    fn spawn(self: &Arc<Self>) -> io::Result<()> {
        self.workers.fetch_add(1, Ordering::SeqCst);
        self.start_counted()
    }

    /// Starts a worker already counted in `workers` (uncounted again if its thread cannot start).
    fn start_counted(self: &Arc<Self>) -> io::Result<()> {
        let pool = self.clone();
        let spawned = thread::Builder::new().name("worker".into()).stack_size(WORKER_STACK).spawn(move || pool.work());
        spawned.map(drop).inspect_err(|_| {
            self.workers.fetch_sub(1, Ordering::SeqCst);
        })
    }

    /// A worker's life: take a request, serve it and whatever its connection pipelined behind
    /// it, repeat.
    fn work(self: Arc<Self>) {
        let mut idle_since = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let taken = {
                // One worker at a time takes from the queue and admits what it took, so that a
                // connection's requests reach its lane in the order tiny_http parsed them: served
                // out of order, the later one's answer would wait forever for the earlier one's.
                let _intake = self.intake.lock().unwrap_or_else(|p| p.into_inner());
                self.server.recv_timeout(INTAKE_WAIT).map(|rq| rq.map(|rq| self.lanes.admit(rq)))
            };
            let admitted = match taken {
                Ok(Some(admitted)) => admitted,
                // Idle for a while (or woken to stop). After a burst, workers beyond a few idle
                // spares leave, so that their stacks go back to the system.
                Ok(None) => {
                    if self.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if idle_since.elapsed() < self.idle_exit {
                        continue;
                    }
                    let extra = |w: usize| (w > self.busy.load(Ordering::SeqCst) + SPARE_WORKERS).then(|| w - 1);
                    if self.workers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, extra).is_ok() {
                        return; // already counted out
                    }
                    continue;
                }
                Err(e) if !self.stop.load(Ordering::SeqCst) => {
                    let _ = self.fatal.lock().unwrap_or_else(|p| p.into_inner()).send(e);
                    break;
                }
                Err(_) => break,
            };
            let mut next = admitted;
            while let Some(rq) = next.take() {
                let peer = rq.remote_addr().copied();
                let after = self.serve_one(rq);
                next = peer.and_then(|p| self.lanes.next(p, after));
            }
            idle_since = Instant::now();
        }
        self.workers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Serves (or refuses) one request, keeping a successor waiting if none is; returns what
    /// became of its connection.
    fn serve_one(self: &Arc<Self>, rq: tiny_http::Request) -> After {
        let busy = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
        let refuse = match (self.draining.load(Ordering::SeqCst), busy > self.max) {
            (true, _) => Some(Error::ShuttingDown),
            (false, true) => Some(Error::Overloaded),
            (false, false) => None,
        };
        if let Some(e) = refuse {
            return match self.refuse_aside(rq, e) {
                Some((rq, e)) => self.finish(rq, Some(e)),
                None => {
                    self.busy.fetch_sub(1, Ordering::SeqCst);
                    After::Gone
                }
            };
        }
        self.serving.fetch_add(1, Ordering::SeqCst);
        let room = |w: usize| (w <= busy && w <= self.max).then_some(w + 1);
        // Counted as it is checked, so that two workers cannot both take the last room.
        if self.workers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, room).is_ok() {
            if let Err(e) = self.start_counted() {
                log::error!("cannot start a worker thread: {e}");
            }
        }
        self.finish(rq, None)
    }

    /// Serves or refuses `rq` in this worker, then counts it out.
    fn finish(&self, rq: tiny_http::Request, refuse: Option<Error>) -> After {
        let serving = refuse.is_none();
        // A panic drops `rq`, and tiny_http answers a dropped request with a 500 by itself.
        let after = catch_unwind(AssertUnwindSafe(|| (self.serve)(rq, refuse))).unwrap_or_else(|_| {
            log::error!("a request handler panicked; its client got a 500 and the worker goes on");
            After::Gone
        });
        if serving {
            self.serving.fetch_sub(1, Ordering::SeqCst);
        }
        self.busy.fetch_sub(1, Ordering::SeqCst);
        after
    }

    /// Refuses a request with an unread body on a thread of its own (at most [`MAX_ASIDE`] at
    /// once): tiny_http drains the body when the request drops, which can take up to the read
    /// timeout, and the worker that refuses must stay free to refuse the next one at once.
    /// Gives the request back when it has no such body or no thread is to be had.
    fn refuse_aside(&self, rq: tiny_http::Request, e: Error) -> Option<(tiny_http::Request, Error)> {
        let unread = rq.body_length().is_some_and(|n| n > 1024)
            || rq.headers().iter().any(|h| h.field.equiv("transfer-encoding") || h.field.equiv("expect"));
        let slot = |n: usize| (n < MAX_ASIDE).then_some(n + 1);
        if !unread || self.aside.fetch_update(Ordering::SeqCst, Ordering::SeqCst, slot).is_err() {
            return Some((rq, e));
        }
        let (serve, aside) = (self.serve.clone(), self.aside.clone());
        let job = move || {
            let _ = catch_unwind(AssertUnwindSafe(|| serve(rq, Some(e))));
            aside.fetch_sub(1, Ordering::SeqCst);
        };
        if let Err(err) = thread::Builder::new().name("refuse".into()).stack_size(WORKER_STACK).spawn(job) {
            // The request dropped with the job: tiny_http answered it with a 500.
            self.aside.fetch_sub(1, Ordering::SeqCst);
            log::error!("cannot start a thread to refuse a request: {err}");
        }
        None
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
        let serve: Serve = Arc::new(|rq: tiny_http::Request, _: Option<Error>| {
            assert_ne!(rq.url(), "/boom", "simulated bug");
            rq.respond(tiny_http::Response::from_string("fine")).unwrap();
            After::Keep
        });
        let (tx, _fatal) = mpsc::channel();
        // One worker serving (plus its spare): the request after the panic needs the same one.
        let pool = Pool::new(server, serve, 1, Duration::from_secs(60), tx);
        pool.spawn().unwrap();
        let get = |path: &str| {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut s = String::new();
            c.read_to_string(&mut s).unwrap();
            s
        };
        assert!(get("/boom").starts_with("HTTP/1.1 500"));
        let ok = get("/ok");
        assert!(ok.starts_with("HTTP/1.1 200") && ok.ends_with("fine"), "{ok}");
        assert!(pool.workers.load(Ordering::SeqCst) <= 2, "no worker was lost or leaked");
        pool.stop.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            pool.server.unblock();
        }
    }
}
