//! Reading the `Cookie` header and writing `Set-Cookie` for the identity and flow cookies.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{HeaderMap, HeaderValue, COOKIE};

/// At most this many bytes of `Cookie` headers are read per request; pairs past it are
/// ignored. Browsers send far less (dozens of analytics cookies are some 10 KB).
pub(crate) const MAX_COOKIE_HEADER_LEN: usize = 64 * 1024;

/// What a request's `Cookie` headers hold under one name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<T> {
    /// No cookie of that name.
    None,
    /// Exactly one.
    One(T),
    /// More than one (cookie tossing, or a stale cookie on another path): none is trusted.
    Many,
}

/// Finds the cookie `name` in the request's `Cookie` headers, without allocating.
///
/// The headers are read as bytes, pair by pair: a pair that is not `name=value` with a value
/// of visible ASCII (another app's `pref=café`) is skipped on its own, and never hides the
/// pairs around it.
pub(crate) fn find<'a>(headers: &'a HeaderMap, name: &str) -> Found<&'a str> {
    find_with(headers, name, value_of)
}

/// [`find`], with the value's bytes as they are: for the identity cookie, whose value is
/// checked byte by byte anyway (compared with a verified token, or base64-decoded and
/// HMAC-verified), so a second pass over it here would only cost time.
pub(crate) fn find_raw<'a>(headers: &'a HeaderMap, name: &str) -> Found<&'a [u8]> {
    find_with(headers, name, raw_value_of)
}

fn find_with<'a, T>(
    headers: &'a HeaderMap,
    name: &str,
    value_of: impl Fn(&'a [u8], &[u8]) -> Option<T>,
) -> Found<T> {
    let mut found = Found::None;
    let mut budget = MAX_COOKIE_HEADER_LEN;
    for header in headers.get_all(COOKIE) {
        let bytes = header.as_bytes();
        let bytes = bytes.get(..budget.min(bytes.len())).unwrap_or_default();
        budget -= bytes.len();
        for pair in pairs(bytes) {
            let Some(value) = value_of(pair, name.as_bytes()) else {
                continue;
            };
            found = match found {
                Found::None => Found::One(value),
                Found::One(_) | Found::Many => Found::Many,
            };
        }
        if budget == 0 {
            break;
        }
    }
    found
}

/// Calls `each` with the name and value of every `name=value` pair of the request's `Cookie`
/// headers (names and values trimmed, values without optional quotes), reading at most
/// [`MAX_COOKIE_HEADER_LEN`] bytes, as [`find`] does. The values are as sent: the caller
/// checks them.
pub(crate) fn for_each_pair<'a>(headers: &'a HeaderMap, mut each: impl FnMut(&'a [u8], &'a [u8])) {
    let mut budget = MAX_COOKIE_HEADER_LEN;
    for header in headers.get_all(COOKIE) {
        let bytes = header.as_bytes();
        let bytes = bytes.get(..budget.min(bytes.len())).unwrap_or_default();
        budget -= bytes.len();
        for pair in pairs(bytes) {
            let Some(eq) = memchr::memchr(b'=', pair) else {
                continue;
            };
            let (Some(name), Some(value)) = (pair.get(..eq), pair.get(eq + 1..)) else {
                continue;
            };
            let value = value.trim_ascii();
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            each(name.trim_ascii(), value);
        }
        if budget == 0 {
            break;
        }
    }
}

/// Whether a cookie value is all visible ASCII (what the layer's cookies are made of).
pub(crate) fn is_visible_ascii(value: &[u8]) -> bool {
    value
        .iter()
        .fold(true, |ok, &b| ok & (b'!'..=b'~').contains(&b))
}

/// The `;`-separated pairs of a `Cookie` header, each `;` found with `memchr` (SIMD: this
/// runs on every request, over a header of some hundreds of bytes).
fn pairs(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b';', current) {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The value of a `name=value` pair when its name is `name` and its value (without optional
/// quotes) is visible ASCII.
fn value_of<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a str> {
    let value = raw_value_of(pair, name)?;
    if is_visible_ascii(value) {
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// The value of a `name=value` pair when its name is `name`, without optional quotes.
fn raw_value_of<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let eq = memchr::memchr(b'=', pair)?;
    if pair.get(..eq)?.trim_ascii() != name {
        return None;
    }
    let value = pair.get(eq + 1..)?.trim_ascii();
    Some(
        value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value),
    )
}

/// The most a cookie's name and value may hold together: browsers drop larger cookies
/// silently (RFC 6265bis §5.6: the limit is on name plus value).
pub(crate) const MAX_COOKIE_LEN: usize = 4096;

/// Whether a cookie `name=value` is small enough for browsers to keep.
pub(crate) fn fits(name: &str, value: &str) -> bool {
    name.len() + value.len() <= MAX_COOKIE_LEN
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

    /// The provider tokens cookie's name (`keep_provider_tokens`): `__Host-socialauth-tokens`,
    /// or `socialauth-tokens` when Secure is turned off.
    pub(crate) fn tokens_name(&self) -> &'static str {
        if self.secure {
            "__Host-socialauth-tokens"
        } else {
            "socialauth-tokens"
        }
    }

    /// The name of the flow cookie for one login attempt: provider plus a tag of the attempt's
    /// `state` (or OAuth 1.0a request token), so parallel attempts never overwrite each other.
    /// `__Host-` (Secure, `Path=/`, no `Domain`): no other host, not even a sibling subdomain,
    /// can set a cookie of this name, so nobody can plant their own login attempt in a
    /// victim's browser.
    pub(crate) fn flow_name(&self, provider: &str, tag: &str) -> String {
        let prefix = if self.secure { "__Host-" } else { "" };
        format!("{prefix}socialauth-flow-{provider}-{tag}")
    }

    /// Every cookie of the layer: `Path=/` (as `__Host-` requires), HttpOnly, Secure (unless
    /// turned off), SameSite=Lax, no `Domain`.
    fn base<'c>(&self, name: String, value: String) -> Cookie<'c> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .build()
    }

    /// `Set-Cookie` for the identity cookie.
    pub(crate) fn identity_cookie(&self, token: String, lifetime: Duration) -> Option<HeaderValue> {
        let mut cookie = self.base(self.identity_name().to_owned(), token);
        cookie.set_max_age(max_age(lifetime));
        HeaderValue::try_from(cookie.encoded().to_string()).ok()
    }

    /// `Set-Cookie` for one cookie of the provider tokens (the whole sealed value, or one
    /// chunk of it) named `name`.
    pub(crate) fn tokens_cookie(
        &self,
        name: String,
        part: String,
        lifetime: Duration,
    ) -> Option<HeaderValue> {
        let mut cookie = self.base(name, part);
        cookie.set_max_age(max_age(lifetime));
        HeaderValue::try_from(cookie.to_string()).ok()
    }

    /// The bytes the attributes add to a `Set-Cookie` of the layer's beyond its `name=value`
    /// (`; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=<lifetime>`).
    pub(crate) fn attributes_len(&self, lifetime: Duration) -> usize {
        let mut cookie = self.base("n".to_owned(), String::new());
        cookie.set_max_age(max_age(lifetime));
        cookie.to_string().len().saturating_sub("n=".len())
    }

    /// `Set-Cookie` for a flow cookie whose value is already sealed (`Path=/`, as `__Host-`
    /// requires).
    pub(crate) fn flow_cookie(
        &self,
        name: String,
        sealed: String,
        lifetime: Duration,
    ) -> Option<HeaderValue> {
        let mut cookie = self.base(name, sealed);
        cookie.set_max_age(max_age(lifetime));
        HeaderValue::try_from(cookie.to_string()).ok()
    }

    /// `Set-Cookie` that deletes the cookie `name`.
    pub(crate) fn removal(&self, name: String) -> Option<HeaderValue> {
        let mut cookie = self.base(name, String::new());
        cookie.set_max_age(cookie::time::Duration::ZERO);
        HeaderValue::try_from(cookie.to_string()).ok()
    }
}

/// The longest lifetime a browser keeps a cookie for: RFC 6265bis caps `Max-Age` at 400
/// days, so an identity meant to live longer would silently end sooner.
pub(crate) const MAX_COOKIE_LIFETIME: Duration = Duration::from_secs(400 * 24 * 60 * 60);

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
    fn a_pair_with_other_bytes_is_skipped_alone() {
        let mut map = HeaderMap::new();
        map.append(
            COOKIE,
            HeaderValue::from_bytes(b"pref=caf\xc3\xa9; socialauth=one; x=\"y z\"").unwrap(),
        );
        assert_eq!(find(&map, "socialauth"), Found::One("one"));
        assert_eq!(find(&map, "pref"), Found::None);
        assert_eq!(
            find(&map, "x"),
            Found::None,
            "a space is not a cookie octet"
        );
        let quoted = headers(&["socialauth=\"tok\""]);
        assert_eq!(find(&quoted, "socialauth"), Found::One("tok"));
    }

    #[test]
    fn ordinary_large_cookie_headers_are_read_and_the_work_is_capped() {
        let analytics: Vec<String> = (0..60)
            .map(|i| format!("_ga{i}={}", "x".repeat(150)))
            .collect();
        let big = format!("{}; socialauth=tok", analytics.join("; "));
        assert!(big.len() > 9_000);
        assert_eq!(find(&headers(&[&big]), "socialauth"), Found::One("tok"));
        let past_cap = format!("pad={}; socialauth=tok", "x".repeat(MAX_COOKIE_HEADER_LEN));
        assert_eq!(find(&headers(&[&past_cap]), "socialauth"), Found::None);
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

#[cfg(test)]
mod flow_cookie_tests {
    use super::*;

    #[test]
    fn flow_cookies_are_host_prefixed_on_the_root_path() {
        let settings = CookieSettings { secure: true };
        let name = settings.flow_name("github", "tag");
        assert!(name.starts_with("__Host-"), "{name}");
        let value = settings
            .flow_cookie(name, "sealed".into(), Duration::from_secs(600))
            .unwrap();
        let text = value.to_str().unwrap();
        assert!(
            text.contains("Path=/;") || text.ends_with("Path=/"),
            "{text}"
        );
        assert!(
            text.contains("Secure") && !text.contains("Domain"),
            "{text}"
        );
    }
}
