//! How upstream connections are made: ureq's own connectors, each in a stack frame of its own,
//! how their waits are timed, a short-lived cache of resolved host addresses, and the roots
//! trusted for TLS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector, TcpConnector, Transport,
};
use ureq::Timeout;

/// ureq's own connectors (CONNECT proxy, TCP, TLS), called one after the other. ureq's default
/// chain inlines them into one 12 KB stack frame (11 KB of it TLS, touched even for `http://`);
/// a thousand streams are a thousand worker stacks, each keeping the deepest page it touched.
#[derive(Debug, Default)]
pub struct Connectors {
    proxy: ConnectProxyConnector,
    tcp: TcpConnector,
    tls: RustlsConnector,
}

impl Connector for Connectors {
    type Out = Box<dyn Transport>;

    fn connect(&self, d: &ConnectionDetails, _: Option<()>) -> Result<Option<Self::Out>, ureq::Error> {
        // A connector's frame is touched whole even when it has nothing to do, so those
        // that would skip are not called.
        let through_proxy = if d.config.proxy().is_some() { step(&self.proxy, d, None::<()>)? } else { None };
        let tcp = step(&self.tcp, d, through_proxy)?;
        if !d.needs_tls() {
            return Ok(tcp.map(Waits::wrap));
        }
        // Requests carry request-level settings (their deployment's timeouts), and for those
        // ureq builds a fresh TLS client config per connection: the root store again, and no
        // session resumption. The TLS settings are always the agent's, so its cached one holds.
        let agent_level = ConnectionDetails {
            request_level: false,
            addrs: d.addrs.clone(),
            current_time: d.current_time.clone(),
            run_connector: d.run_connector.clone(),
            register_shutdown: d.register_shutdown.clone(),
            ..*d
        };
        Ok(step(&self.tls, &agent_level, tcp)?.map(Waits::wrap))
    }
}

/// Set when the proxy gives up on the upstream calls still running (a shutdown whose grace
/// period ran out). Process-wide, like the signal that leads to it.
static ABANDONED: AtomicBool = AtomicBool::new(false);

/// Ends every wait on an upstream from now on, within [`WAIT_SLICE`]: the read fails, and the
/// stream it fed ends with an error event (see `respond.rs`).
pub fn abandon_upstreams() {
    ABANDONED.store(true, Ordering::SeqCst);
}

/// Whether [`abandon_upstreams`] was called.
pub fn abandoned() -> bool {
    ABANDONED.load(Ordering::SeqCst)
}

/// The longest single wait on an upstream, so that an abandoned call notices within it.
const WAIT_SLICE: Duration = Duration::from_millis(250);

/// An upstream connection whose waits for input follow the proxy's timeouts, not ureq's:
/// ureq caps every read by the per-read timeout (the stream idle timeout), the wait for the
/// response head included, so thinking time would be cut at the idle timeout. Here the head
/// is waited for as long as `response_header_timeout` says, and body reads as long as
/// `stream_idle_timeout` says. Waits are taken in slices, to notice [`abandon_upstreams`].
struct Waits(Box<dyn Transport>);

impl Waits {
    fn wrap(t: Box<dyn Transport>) -> Box<dyn Transport> {
        Box::new(Waits(t))
    }
}

impl std::fmt::Debug for Waits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Transport for Waits {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, mut timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if timeout.reason == Timeout::RecvResponse {
            timeout.per_read = None;
        }
        let whole = timeout.for_read();
        let deadline = Instant::now().checked_add(*whole.after);
        loop {
            if abandoned() {
                return Err(ureq::Error::Io(std::io::Error::other("the proxy is shutting down")));
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let slice = left.map_or(WAIT_SLICE, |l| l.min(WAIT_SLICE));
            let step = NextTimeout { after: slice.into(), per_read: None, ..whole };
            match self.0.await_input(step) {
                Err(ureq::Error::Timeout(_)) if left.is_none_or(|l| l > slice) => continue,
                done => return done,
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// One connector of the chain, in a stack frame of its own.
#[inline(never)]
fn step<In: Transport, C: Connector<In>>(
    c: &C,
    d: &ConnectionDetails,
    chained: Option<In>,
) -> Result<Option<Box<dyn Transport>>, ureq::Error> {
    Ok(c.connect(d, chained)?.map(|t| Box::new(t) as Box<dyn Transport>))
}

/// Resolved addresses per host, reused for `ttl`. ureq resolves the host before every request,
/// pooled connection or not, and musl's resolver keeps no cache: without this each request would
/// wait for a DNS round trip. Failures are not kept; [`DnsCache::clear`] drops everything (after
/// a connection failed, the addresses may be what changed).
#[derive(Clone, Debug)]
pub struct DnsCache(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    ttl: Duration,
    system: Box<dyn Resolver>,
    hosts: Mutex<Vec<Host>>,
}

/// One resolved host and port (never the URL's user info: that may be a credential).
#[derive(Debug)]
struct Host {
    name: String,
    port: u16,
    addrs: ResolvedSocketAddrs,
    until: Instant,
}

impl DnsCache {
    /// A cache in front of the system resolver.
    pub fn new(ttl: Duration) -> DnsCache {
        DnsCache::with_resolver(ttl, Box::new(DefaultResolver::default()))
    }

    fn with_resolver(ttl: Duration, system: Box<dyn Resolver>) -> DnsCache {
        DnsCache(Arc::new(Inner { ttl, system, hosts: Mutex::new(Vec::new()) }))
    }

    /// Forgets every host.
    pub fn clear(&self) {
        self.hosts().clear();
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, Vec<Host>> {
        self.0.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Resolver for DnsCache {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let name = uri.host().unwrap_or("");
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        let now = Instant::now();
        let fresh = |h: &&Host| h.name == name && h.port == port && h.until > now;
        if let Some(h) = self.hosts().iter().find(fresh) {
            return Ok(h.addrs.clone());
        }
        // Resolved outside the lock: a slow lookup must not hold up other hosts.
        let addrs = self.0.system.resolve(uri, config, timeout)?;
        let mut hosts = self.hosts();
        hosts.retain(|h| !(h.name == name && h.port == port) && h.until > now);
        hosts.push(Host { name: name.into(), port, addrs: addrs.clone(), until: now + self.0.ttl });
        Ok(addrs)
    }
}

/// A PEM bundle of trusted root certificates, read once at startup.
#[derive(Clone)]
pub struct CaFile {
    /// Where it was read from.
    pub path: String,
    /// Its certificates (at least one), shared with the TLS configuration built from them.
    pub certs: Arc<Vec<ureq::tls::Certificate<'static>>>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaFile({:?}, {} certificates)", self.path, self.certs.len())
    }
}

impl CaFile {
    /// Reads the certificates of a PEM file (other items, such as keys, are skipped).
    pub fn load(path: &str) -> Result<CaFile, String> {
        let pem = std::fs::read(path).map_err(|e| format!("SSL_CERT_FILE: cannot read {path:?}: {e}"))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                Ok(_) => None,
                Err(e) => Some(Err(format!("SSL_CERT_FILE: {path:?} is not valid PEM: {e}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(format!("SSL_CERT_FILE: no certificate in {path:?} (a PEM bundle is expected)"));
        }
        Ok(CaFile { path: path.to_string(), certs: certs.into() })
    }
}

/// `scheme://[user[:pass]@]host[:port]` plus a `NO_PROXY` list → a ureq proxy.
pub fn outbound_proxy(url: &str, no_proxy: &str) -> Result<ureq::Proxy, String> {
    let shown = crate::scrub::mask_url(url);
    let bad = || format!("outbound proxy {shown:?} is not a valid proxy URL");
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let protocol = ureq::ProxyProtocol::try_from(scheme).map_err(|_| bad())?;
    // Built without ureq's SOCKS support, a SOCKS proxy would be passed by silently: the
    // upstream would be called directly.
    if !matches!(protocol, ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https) {
        return Err(format!("outbound proxy {shown:?}: only HTTP CONNECT proxies (http:// or https://) are supported"));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
            (h, Some(p.parse::<u16>().map_err(|_| bad())?))
        }
        _ => (hostport, None),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let mut b = ureq::Proxy::builder(protocol).host(host);
    if let Some(p) = port {
        b = b.port(p);
    }
    if let Some(u) = userinfo {
        let (user, pass) = u.split_once(':').unwrap_or((u, ""));
        b = b.username(user);
        if !pass.is_empty() {
            b = b.password(pass);
        }
    }
    for entry in no_proxy.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        b = b.no_proxy(entry);
    }
    b.build().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A resolver that counts its lookups and answers 127.0.0.1 with the URI's port.
    #[derive(Debug)]
    struct Counting(Arc<AtomicUsize>);

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            _: &ureq::config::Config,
            _: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let mut v = self.empty();
            v.push(([127, 0, 0, 1], uri.port_u16().unwrap_or(80)).into());
            Ok(v)
        }
    }

    fn lookup(cache: &DnsCache, url: &str) -> u16 {
        let uri: Uri = url.parse().unwrap();
        cache.resolve(&uri, &ureq::config::Config::default(), NextTimeout::default()).unwrap()[0].port()
    }

    #[test]
    fn a_host_is_looked_up_once_per_ttl_not_once_per_request() {
        let count = Arc::new(AtomicUsize::new(0));
        let cache = DnsCache::with_resolver(Duration::from_secs(60), Box::new(Counting(count.clone())));
        for _ in 0..3 {
            assert_eq!(lookup(&cache, "https://api.example.com/v1/chat/completions"), 80);
        }
        assert_eq!(lookup(&cache, "https://api.example.com:8443/v1"), 8443, "the port is part of the key");
        assert_eq!(lookup(&cache, "https://api.example.com:443/v1"), 80, "443 is https's own port");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        cache.clear();
        lookup(&cache, "https://api.example.com/v1");
        assert_eq!(count.load(Ordering::SeqCst), 3, "cleared entries are looked up again");
    }

    #[test]
    fn an_expired_host_is_looked_up_again() {
        let count = Arc::new(AtomicUsize::new(0));
        let cache = DnsCache::with_resolver(Duration::ZERO, Box::new(Counting(count.clone())));
        lookup(&cache, "http://relay.internal/v1");
        lookup(&cache, "http://relay.internal/v1");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(cache.hosts().len(), 1, "expired entries are replaced, not piled up");
    }

    #[test]
    fn proxy_urls_parse_with_credentials_and_no_proxy() {
        let p = outbound_proxy("http://u:p@proxy.local:3128", "localhost,.internal").unwrap();
        assert_eq!((p.host(), p.port(), p.username()), ("proxy.local", 3128, Some("u")));
        assert!(outbound_proxy("ftp://x", "").is_err());
        let socks = outbound_proxy("socks5://proxy.local:1080", "").unwrap_err();
        assert!(socks.contains("only HTTP CONNECT"), "never a silent direct connection: {socks}");
        let bad = outbound_proxy("http://user:hunter2@proxy.local:x", "").unwrap_err();
        assert!(!bad.contains("hunter2"), "the proxy password is not in the message: {bad}");
        assert!(outbound_proxy("http://:80", "").is_err());
    }
}
