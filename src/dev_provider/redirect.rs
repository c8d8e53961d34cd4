//! Which redirect URIs the dev provider sends codes to.

use url::{Host, Url};

/// Loopback `/auth/dev` callbacks by default; once any is registered, exactly those.
#[derive(Debug, Default)]
pub(super) struct RedirectPolicy {
    registered: Vec<String>,
}

impl RedirectPolicy {
    pub(super) fn register(&mut self, uri: String) {
        self.registered.push(uri);
    }

    pub(super) fn allows(&self, uri: &str) -> bool {
        if self.registered.is_empty() {
            is_loopback_dev_callback(uri)
        } else {
            self.registered.iter().any(|registered| registered == uri)
        }
    }
}

impl RedirectPolicy {
    /// Where a logout may send the browser back: any loopback `http` URL, or a URL on the
    /// origin of a registered redirect URI; written the way a URL parser writes it, with no
    /// fragment or user info.
    pub(super) fn allows_post_logout(&self, uri: &str) -> bool {
        let Ok(url) = Url::parse(uri) else {
            return false;
        };
        let well_formed = url.as_str() == uri
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none();
        let registered_origin = self.registered.iter().any(|registered| {
            Url::parse(registered).is_ok_and(|registered| registered.origin() == url.origin())
        });
        well_formed && ((url.scheme() == "http" && is_loopback(&url)) || registered_origin)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// `http://127.0.0.1[:port]`, `http://localhost[:port]` or `http://[::1][:port]`, with a
/// path ending in `/auth/dev`, no query, fragment or user info, written the way a URL
/// parser writes it (so what is checked is what the browser is sent to).
fn is_loopback_dev_callback(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    url.as_str() == uri
        && url.scheme() == "http"
        && is_loopback(&url)
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.path().ends_with("/auth/dev")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check` accepts every URI of `ok` and refuses every one of `bad`.
    fn sorts(check: impl Fn(&str) -> bool, ok: &[&str], bad: &[&str]) {
        for uri in ok {
            assert!(check(uri), "refused {uri:?}");
        }
        for uri in bad {
            assert!(!check(uri), "allowed {uri:?}");
        }
    }

    #[test]
    fn by_default_loopback_dev_callbacks_only() {
        let policy = RedirectPolicy::default();
        let ok = [
            "http://127.0.0.1:3000/auth/dev",
            "http://localhost:8080/auth/dev",
            "http://[::1]:3000/auth/dev",
            "http://127.0.0.1/auth/dev",
            "http://127.0.0.1:3000/app/auth/dev",
        ];
        let bad = [
            "https://127.0.0.1:3000/auth/dev",
            "http://example.com/auth/dev",
            "http://127.0.0.2:3000/auth/dev",
            "http://localhost.example.com/auth/dev",
            "http://127.0.0.1:3000/auth/dev?x=1",
            "http://127.0.0.1:3000/auth/dev#x",
            "http://user@127.0.0.1:3000/auth/dev",
            "http://127.0.0.1:3000/auth/devx",
            "http://127.0.0.1:3000/auth/other",
            "http://127.0.0.1:3000/x/../auth/dev",
            "http://LOCALHOST:3000/auth/dev",
            "http://127.0.0.1:80/auth/dev",
            "//127.0.0.1:3000/auth/dev",
            "",
        ];
        sorts(|uri| policy.allows(uri), &ok, &bad);
    }

    #[test]
    fn post_logout_uris_are_loopback_or_on_a_registered_origin() {
        let mut policy = RedirectPolicy::default();
        let ok = [
            "http://127.0.0.1:3000/",
            "http://localhost:8080/bye?x=1",
            "http://[::1]:3000/",
        ];
        let bad = [
            "https://app.test/",
            "http://example.com/",
            "http://127.0.0.1:3000/#x",
            "http://u@127.0.0.1:3000/",
            "http://127.0.0.1:3000",
            "/relative",
            "",
        ];
        sorts(|uri| policy.allows_post_logout(uri), &ok, &bad);
        policy.register("https://app.test/auth/dev".into());
        assert!(policy.allows_post_logout("https://app.test/"));
        assert!(!policy.allows_post_logout("https://app.test:8443/"));
    }

    #[test]
    fn registered_uris_are_matched_exactly() {
        let mut policy = RedirectPolicy::default();
        policy.register("http://127.0.0.1:3000/auth/dev".into());
        policy.register("https://app.test/cb?x=1".into());
        assert!(policy.allows("http://127.0.0.1:3000/auth/dev"));
        assert!(policy.allows("https://app.test/cb?x=1"));
        assert!(!policy.allows("http://127.0.0.1:3001/auth/dev"));
        assert!(!policy.allows("http://127.0.0.1:3000/auth/dev/"));
    }
}
