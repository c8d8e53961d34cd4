//! Reading the `Cookie` header and writing `Set-Cookie` for the identity and flow cookies.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{HeaderMap, HeaderValue, COOKIE};

/// Cookie headers longer than this (all `Cookie` headers together) are not read.
pub(crate) const MAX_COOKIE_HEADER_LEN: usize = 16 * 1024;

/// What a request's `Cookie` headers hold under one name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    /// No cookie of that name.
    None,
    /// Exactly one.
    One(&'a str),
    /// More than one (cookie tossing, or a stale cookie on another path): none is trusted.
    Many,
}

/// Finds the cookie `name` in the request's `Cookie` headers, without allocating.
pub(crate) fn find<'a>(headers: &'a HeaderMap, name: &str) -> Found<'a> {
    let mut found = Found::None;
    let mut total = 0usize;
    for header in headers.get_all(COOKIE) {
        total = total.saturating_add(header.len());
        if total > MAX_COOKIE_HEADER_LEN {
            return Found::None;
        }
        let Some(text) = visible_ascii(header) else {
            continue;
        };
        for pair in text.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            found = match found {
                Found::None => Found::One(value),
                Found::One(_) | Found::Many => Found::Many,
            };
        }
    }
    found
}

/// The header as text when every byte is visible ASCII or a tab, as
/// [`HeaderValue::to_str`] requires, checked without an early exit so that it vectorizes: a
/// `Cookie` header carrying an identity token is some 300 bytes, and `to_str`'s byte-by-byte
/// loop was a tenth of the layer's cost per request.
fn visible_ascii(header: &HeaderValue) -> Option<&str> {
    let bytes = header.as_bytes();
    let visible = bytes.iter().fold(true, |ok, &b| {
        ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
    });
    if visible {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// How the layer's cookies are named and flagged.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    /// `Secure` flag and `__Host-`/`__Secure-` name prefixes. On by default.
    pub(crate) secure: bool,
}

impl CookieSettings {
    /// The identity cookie's name: `__Host-socialauth` (Secure, Path=/, no Domain: it cannot
    /// be set by a sibling subdomain), or `socialauth` when Secure is turned off.
    pub(crate) fn identity_name(&self) -> &'static str {
        if self.secure {
            "__Host-socialauth"
        } else {
            "socialauth"
        }
    }

    /// The name of the flow cookie for one login attempt: provider plus a tag of the attempt's
    /// `state` (or OAuth 1.0a request token), so parallel attempts never overwrite each other.
    pub(crate) fn flow_name(&self, provider: &str, tag: &str) -> String {
        let prefix = if self.secure { "__Secure-" } else { "" };
        format!("{prefix}socialauth-flow-{provider}-{tag}")
    }

    fn base<'c>(&self, name: String, value: String, path: String) -> Cookie<'c> {
        Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .build()
    }

    /// `Set-Cookie` for the identity cookie.
    pub(crate) fn identity_cookie(&self, token: String, lifetime: Duration) -> Option<HeaderValue> {
        let mut cookie = self.base(self.identity_name().to_owned(), token, "/".to_owned());
        cookie.set_max_age(max_age(lifetime));
        HeaderValue::try_from(cookie.encoded().to_string()).ok()
    }

    /// `Set-Cookie` for a flow cookie whose value is already sealed.
    pub(crate) fn flow_cookie(
        &self,
        name: String,
        sealed: String,
        path: String,
        lifetime: Duration,
    ) -> Option<HeaderValue> {
        let mut cookie = self.base(name, sealed, path);
        cookie.set_max_age(max_age(lifetime));
        HeaderValue::try_from(cookie.to_string()).ok()
    }

    /// `Set-Cookie` that deletes the cookie `name` at `path`.
    pub(crate) fn removal(&self, name: String, path: String) -> Option<HeaderValue> {
        let mut cookie = self.base(name, String::new(), path);
        cookie.set_max_age(cookie::time::Duration::ZERO);
        HeaderValue::try_from(cookie.to_string()).ok()
    }
}

fn max_age(lifetime: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(COOKIE, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn finds_one_cookie_among_others_and_across_headers() {
        let map = headers(&["a=1; socialauth=tok; b=2", "c=3"]);
        assert_eq!(find(&map, "socialauth"), Found::One("tok"));
        assert_eq!(find(&map, "c"), Found::One("3"));
        assert_eq!(find(&map, "missing"), Found::None);
    }

    #[test]
    fn two_cookies_of_one_name_are_many_not_the_first() {
        let map = headers(&["socialauth=one", "socialauth=two"]);
        assert_eq!(find(&map, "socialauth"), Found::Many);
        let map = headers(&["socialauth=one; socialauth=two"]);
        assert_eq!(find(&map, "socialauth"), Found::Many);
    }

    #[test]
    fn headers_with_bytes_to_str_refuses_are_skipped_like_to_str_skips_them() {
        let mut map = HeaderMap::new();
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"socialauth=one; x=caf\xc3\xa9").unwrap(),
        );
        map.append(COOKIE, HeaderValue::from_static("socialauth=two;\tb=2"));
        assert_eq!(find(&map, "socialauth"), Found::One("two"));
        for value in map.get_all(COOKIE) {
            assert_eq!(visible_ascii(value), value.to_str().ok());
        }
        for byte in 0..=255u8 {
            let Ok(value) = HeaderValue::from_bytes(&[b'a', byte, b'b']) else {
                continue;
            };
            assert_eq!(visible_ascii(&value), value.to_str().ok(), "{byte}");
        }
    }

    #[test]
    fn oversized_cookie_headers_are_not_read() {
        let big = format!("socialauth=tok; pad={}", "x".repeat(MAX_COOKIE_HEADER_LEN));
        assert_eq!(find(&headers(&[&big]), "socialauth"), Found::None);
    }

    #[test]
    fn identity_cookie_is_host_prefixed_http_only_and_lax() {
        let settings = CookieSettings { secure: true };
        let value = settings
            .identity_cookie("tok".into(), Duration::from_secs(60))
            .unwrap();
        let text = value.to_str().unwrap();
        for part in [
            "__Host-socialauth=tok",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
        assert!(!text.contains("Domain"));
    }
}
