//! Client authentication: reads the token from `Authorization: Bearer`, `x-api-key` or `api-key`
//! (or, where the caller allows it — only the dump viewer, opened in a browser — as the password
//! of `Authorization: Basic`) and compares it with the configured tokens in constant time. Never
//! logs what it reads. Basic credentials are kept away from the API routes because a browser
//! replays them on its own, cross-site requests included.

use crate::config::Secret;
use crate::error::Error;

/// Checks the request's credentials against `tokens`; no tokens configured means open. `basic`
/// accepts the token as the password of `Authorization: Basic`.
pub fn check(headers: &[tiny_http::Header], tokens: &[Secret], basic: bool) -> Result<(), Error> {
    if tokens.is_empty() {
        return Ok(());
    }
    let mut ok = false;
    for h in headers {
        let value = h.value.as_str().trim();
        let candidate = if h.field.equiv("authorization") {
            strip_scheme(value, basic)
        } else if h.field.equiv("x-api-key") || h.field.equiv("api-key") {
            value.into()
        } else {
            continue;
        };
        // An empty credential is no credential, whatever was configured.
        if candidate.is_empty() {
            continue;
        }
        // No early exit: every candidate is compared with every token.
        for t in tokens {
            ok |= constant_time_eq(candidate.as_bytes(), t.expose().as_bytes());
        }
    }
    if ok {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}

/// `Bearer x` → `x` (any case); `Basic base64(user:x)` → `x` when `basic`, nothing otherwise;
/// a bare value is the token itself.
fn strip_scheme(v: &str, basic: bool) -> std::borrow::Cow<'_, str> {
    match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim().into(),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("basic") && !basic => "".into(),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("basic") => {
            let pair = crate::base64::decode(rest.trim()).and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            pair.split_once(':').map_or(String::new(), |(_, password)| password.to_string()).into()
        }
        _ => v.into(),
    }
}

/// Equality whose running time depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(name: &str, value: &str) -> tiny_http::Header {
        tiny_http::Header::from_bytes(name, value).unwrap()
    }

    fn tokens() -> Vec<Secret> {
        crate::config::tests::cfg("", &[("LOCAL_AUTH_TOKEN", "tok-a,tok-b")]).unwrap().tokens
    }

    #[test]
    fn each_header_form_is_accepted() {
        let t = tokens();
        for h in [
            hdr("Authorization", "Bearer tok-a"),
            hdr("authorization", "bearer tok-b"),
            hdr("Authorization", "tok-a"),
            hdr("X-Api-Key", "tok-b"),
            hdr("api-key", "tok-a"),
            hdr("Authorization", &format!("Basic {}", crate::base64::encode(b"anyone:tok-b"))),
        ] {
            assert!(check(std::slice::from_ref(&h), &t, true).is_ok(), "{h:?}");
        }
    }

    #[test]
    fn basic_credentials_open_only_where_the_caller_allows_them() {
        let h = hdr("Authorization", &format!("Basic {}", crate::base64::encode(b"anyone:tok-a")));
        assert!(check(std::slice::from_ref(&h), &tokens(), true).is_ok());
        assert!(matches!(check(&[h], &tokens(), false), Err(Error::Unauthorized)));
    }

    #[test]
    fn wrong_missing_and_partial_tokens_are_refused() {
        let t = tokens();
        for hs in [
            vec![],
            vec![hdr("Authorization", "Bearer tok-")],
            vec![hdr("Authorization", "Bearer tok-ab")],
            vec![hdr("Authorization", "Bearer xtok-a")],
            vec![hdr("Authorization", "Bearer ")],
            vec![hdr("Cookie", "tok-a")],
            vec![hdr("Authorization", &format!("Basic {}", crate::base64::encode(b"tok-a")))],
            vec![hdr("Authorization", "Basic !!!")],
        ] {
            assert!(matches!(check(&hs, &t, true), Err(Error::Unauthorized)), "{hs:?}");
        }
    }

    #[test]
    fn an_empty_credential_never_matches_even_an_empty_token() {
        let t = vec![Secret::for_tests(""), Secret::for_tests("tok-a")];
        for h in [hdr("x-api-key", ""), hdr("api-key", " "), hdr("Authorization", "Bearer "), hdr("Authorization", "")]
        {
            assert!(matches!(check(std::slice::from_ref(&h), &t, true), Err(Error::Unauthorized)), "{h:?}");
        }
    }

    #[test]
    fn open_when_no_token_is_configured() {
        assert!(check(&[], &[], false).is_ok());
    }

    #[test]
    fn constant_time_eq_is_plain_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }
}
