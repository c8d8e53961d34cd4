//! Cookies set on the app's response rather than on one of the layer's own: a renewed
//! identity cookie, known before the app runs, and the tokens cookies that a handler may
//! rewrite while it runs ([`LateCookie`]).

use std::sync::{Arc, Mutex};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue};

/// A cookie waiting for the app's response: a renewed identity cookie, or rewritten
/// tokens cookies (the value's chunks, and the removal of those it no longer has).
#[derive(Debug)]
pub(crate) struct PendingCookie {
    /// The cookie's name (for chunks, the name they are numbered under).
    pub(crate) name: &'static str,
    /// Its `Set-Cookie` values.
    pub(crate) cookies: Vec<HeaderValue>,
}

impl PendingCookie {
    /// Adds the cookies to a response, unless the app set or cleared that cookie (or one of
    /// its chunks) itself (its word wins), or a shared cache may store the response
    /// (`public`, `s-maxage`): a cache must never hand one user's cookie to another. The
    /// response is marked `private` and `Vary: Cookie` when the cookies are added.
    pub(crate) fn apply(self, headers: &mut HeaderMap) {
        let app_set_it = headers.get_all(SET_COOKIE).iter().any(|value| {
            value
                .as_bytes()
                .strip_prefix(self.name.as_bytes())
                .is_some_and(|rest| matches!(rest.first(), Some(b'=' | b'.')))
        });
        let directives: Vec<String> = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|directive| directive.trim().to_ascii_lowercase())
            .collect();
        let shared = directives
            .iter()
            .any(|d| d == "public" || d.starts_with("s-maxage"));
        if app_set_it || shared {
            tracing::debug!(
                app_set_it,
                shared,
                "identity cookie not renewed on this response"
            );
            return;
        }
        for cookie in self.cookies {
            headers.append(SET_COOKIE, cookie);
        }
        if !directives.iter().any(|d| d == "private" || d == "no-store") {
            headers.append(CACHE_CONTROL, HeaderValue::from_static("private"));
        }
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}

/// A slot for a cookie that a handler's work may produce while the app's response is being
/// made: the response future takes what is in it when the app answers. Cheap to clone; every
/// clone is the same slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct LateCookie(Arc<Mutex<Option<PendingCookie>>>);

impl LateCookie {
    /// Puts `cookie` in the slot, replacing one put there before.
    pub(crate) fn set(&self, cookie: PendingCookie) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(cookie);
        }
    }

    /// Takes the cookie out of the slot, if there is one.
    pub(crate) fn take(&self) -> Option<PendingCookie> {
        self.0.lock().ok()?.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewal() -> PendingCookie {
        PendingCookie {
            name: "__Host-socialauth",
            cookies: vec![HeaderValue::from_static("__Host-socialauth=new; Path=/")],
        }
    }

    fn set_cookies(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn a_renewal_marks_the_response_private_and_varying_on_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        renewal().apply(&mut headers);
        assert_eq!(set_cookies(&headers), ["__Host-socialauth=new; Path=/"]);
        let cache: Vec<_> = headers.get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(cache, ["max-age=60", "private"]);
        assert_eq!(headers[VARY], "Cookie");
    }

    #[test]
    fn shared_cacheable_responses_are_not_renewed() {
        for value in ["public, max-age=600", "s-maxage=60", "Public"] {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
            renewal().apply(&mut headers);
            assert!(set_cookies(&headers).is_empty(), "{value}");
        }
    }

    #[test]
    fn the_apps_own_identity_cookie_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            SET_COOKIE,
            HeaderValue::from_static("__Host-socialauth=; Max-Age=0; Path=/"),
        );
        renewal().apply(&mut headers);
        assert_eq!(
            set_cookies(&headers),
            ["__Host-socialauth=; Max-Age=0; Path=/"]
        );
        // Another cookie of the app's does not stop the renewal.
        let mut headers = HeaderMap::new();
        headers.insert(
            SET_COOKIE,
            HeaderValue::from_static("__Host-socialauth-x=1"),
        );
        renewal().apply(&mut headers);
        assert_eq!(set_cookies(&headers).len(), 2);
    }
}
