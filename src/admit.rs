//! What a request's head must be before anything else is done with it: not too large, framed
//! one unambiguous way (the shapes of request smuggling are refused), and, on the routes that
//! act, not a browser's cross-site request in disguise.

use crate::config::Config;
use crate::error::Error;
use crate::route::Route;

/// Whether the request declares a `Transfer-Encoding` (only `chunked` is served).
pub fn chunked(headers: &[tiny_http::Header]) -> bool {
    headers.iter().any(|h| h.field.equiv("transfer-encoding"))
}

/// The routes that act on a request body (and spend the deployment's credits).
pub fn acts(route: &Route) -> bool {
    matches!(
        route,
        Route::ChatCompletions
            | Route::Messages
            | Route::CountTokens
            | Route::OllamaChat
            | Route::OllamaShow
            | Route::OllamaGenerate
            | Route::OllamaEmbed
            | Route::OllamaEmbeddings
            | Route::OpenAiPassthrough(_)
    )
}

/// Refuses what a browser sends cross-site without a CORS preflight: a request from a foreign
/// `Origin` whose body is not declared JSON (`text/plain`, a form). Clients outside a browser
/// send no `Origin`; a browser's preflighted request declares `application/json`.
pub fn same_site_or_json(headers: &[tiny_http::Header]) -> Result<(), Error> {
    let value = |name| header(headers, name);
    let media = value("content-type").and_then(|v| v.split(';').next()).unwrap_or("").trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    let same_site = value("origin").is_none_or(|origin| {
        let site = origin.strip_prefix("http://").or(origin.strip_prefix("https://"));
        site.is_some_and(|o| Some(o) == value("host"))
    });
    (json || same_site)
        .then_some(())
        .ok_or_else(|| Error::BadRequest("A cross-site request must declare Content-Type: application/json".into()))
}

/// With no client token configured, refuses what a web page of another site can make a browser
/// send: an http(s) `Origin` that is not a loopback one (a local web app) — nor, when listening
/// beyond `loopback`, the proxy's own host — and, for the dump `viewer` on loopback, a `Host` that
/// is not a loopback name. A DNS-rebinding page names its own site in both `Host` and `Origin`,
/// and its same-origin `GET`s carry no `Origin`. (`Host` is left alone on the API routes: a front
/// proxy forwards its public name.) Otherwise any page the proxy's user opens could spend their
/// upstream keys and read their dumps.
pub fn local_origin(headers: &[tiny_http::Header], loopback: bool, viewer: bool) -> Result<(), Error> {
    let value = |name| header(headers, name);
    if let Some(host) = value("host").filter(|h| viewer && loopback && !is_loopback(h)) {
        return Err(Error::BadRequest(format!(
            "This proxy has no client token and listens on loopback, so its dumps are shown only at a loopback \
             name (Host: {}); set LOCAL_AUTH_TOKEN to show them elsewhere",
            crate::metrics::printable(host, 128)
        )));
    }
    let Some(origin) = value("origin") else { return Ok(()) };
    let (scheme, site) = origin.split_once("://").unwrap_or(("", ""));
    // A website's origin is http(s), or `null` (a sandboxed frame, a file); any other scheme is
    // an installed app's own (`app://`, `vscode-file://`, an extension's), which no site can send.
    let web = scheme.is_empty() || scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let own = !loopback && value("host").is_some_and(|h| !site.is_empty() && h == site);
    match !web || is_loopback(site) || own {
        true => Ok(()),
        false => Err(Error::BadRequest(format!(
            "This proxy has no client token, so it serves no web page of another site (Origin: {}); \
             set LOCAL_AUTH_TOKEN to allow it",
            crate::metrics::printable(origin, 128)
        ))),
    }
}

/// The trimmed value of the first header named `name`.
fn header<'h>(headers: &'h [tiny_http::Header], name: &'static str) -> Option<&'h str> {
    headers.iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().trim())
}

/// Whether `authority` (`host[:port]`) names this machine's loopback: `localhost`, a name under
/// `.localhost`, or a loopback address.
fn is_loopback(authority: &str) -> bool {
    let port = authority.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()));
    let host = port.map_or(authority, |(h, _)| h).to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse().is_ok_and(|ip: std::net::Ipv6Addr| ip.is_loopback()))
}

/// Refuses heads that are too large or framed ambiguously (the shapes of request smuggling):
/// more than one length, a length that is not plain digits, a transfer coding other than a
/// single `chunked`, or both framings at once.
pub fn check_head(rq: &tiny_http::Request, cfg: &Config) -> Result<(), Error> {
    let headers = rq.headers();
    let size: usize = headers.iter().map(|h| h.field.as_str().as_str().len() + h.value.as_str().len() + 4).sum();
    if size > cfg.settings.max_header_bytes || headers.len() > 256 {
        return Err(Error::HeadersTooLarge);
    }
    let values =
        |name: &'static str| headers.iter().filter(move |h| h.field.equiv(name)).map(|h| h.value.as_str().trim());
    let (cl, te) = (values("content-length").count(), values("transfer-encoding").count());
    if cl > 0 && te > 0 {
        return Err(Error::BadRequest("Both Content-Length and Transfer-Encoding are set".into()));
    }
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    if cl > 1 || (cl == 1 && rq.body_length().is_none()) || !values("content-length").all(digits) {
        return Err(Error::BadRequest("Invalid Content-Length".into()));
    }
    if te > 1 || !values("transfer-encoding").all(|v| v.eq_ignore_ascii_case("chunked")) {
        return Err(Error::BadRequest("Only Transfer-Encoding: chunked is accepted".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str, host: &str) -> Vec<tiny_http::Header> {
        let h = |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap();
        vec![h("Origin", origin), h("Host", host)]
    }

    #[test]
    fn without_a_token_only_local_pages_and_the_proxys_own_may_call_it() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
            "http://app.localhost",
            "http://127.0.0.1:12000",
        ] {
            assert!(local_origin(&headers(ok, "127.0.0.1:12000"), true, false).is_ok(), "{ok}");
        }
        assert!(local_origin(&headers("http://box.lan:12000", "box.lan:12000"), false, false).is_ok(), "its own page");
        for app in ["app://obsidian.md", "vscode-file://vscode-app", "chrome-extension://abc"] {
            assert!(local_origin(&headers(app, "127.0.0.1:12000"), true, false).is_ok(), "{app}: an installed app");
        }
        assert!(local_origin(&[], true, false).is_ok(), "no Origin: not a browser");
        // A DNS rebinding page names its own site, and so does any other.
        for bad in ["https://evil.example", "http://evil.example:12000", "http://localhost.evil.example", "null", ""] {
            assert!(local_origin(&headers(bad, "127.0.0.1:12000"), true, false).is_err(), "{bad}");
        }
        // DNS rebinding: the page's own name in Host and Origin (a POST), or in Host alone (the
        // viewer's same-origin GETs). Behind a front proxy, Host is its public name: served.
        let rebound = "rebind.evil.example:12000";
        assert!(local_origin(&headers(&format!("http://{rebound}"), rebound), true, false).is_err());
        let host = tiny_http::Header::from_bytes(&b"Host"[..], rebound.as_bytes()).unwrap();
        assert!(local_origin(std::slice::from_ref(&host), true, true).is_err(), "the viewer");
        assert!(local_origin(std::slice::from_ref(&host), true, false).is_ok(), "the API behind a front proxy");
        assert!(local_origin(&[host], false, true).is_ok(), "listening beyond loopback, names are the network's");
    }
}
