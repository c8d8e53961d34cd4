//! Hosts and origins as configured: the app's [`PublicUrl`] and the `allowed_hosts`, checked
//! once by `build()`, and what a host name from a request must look like.

use url::Url;

use crate::error::ConfigError;
use crate::provider::endpoint;

/// The app's public origin and path prefix, e.g. `https://app.example.com/base`: checked
/// once by `build()` (absolute http(s), a host, no query, fragment or user info).
#[derive(Debug, Clone)]
pub(crate) struct PublicUrl {
    /// Parsed; its path is the prefix every URL made from it goes under.
    base: Url,
    /// `host[:port]` exactly as configured, for comparing with an `Origin` header.
    authority: String,
}

impl PublicUrl {
    /// Checks the `public_url` setting.
    pub(crate) fn parse(url: &str) -> Result<Self, ConfigError> {
        let base = endpoint("public_url", url)?;
        if base.query().is_some() {
            return Err(ConfigError::InvalidUrl {
                setting: "public_url",
                reason: format!("{url:?} must have no query"),
            });
        }
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = after_scheme
            .split('/')
            .next()
            .unwrap_or(after_scheme)
            .to_owned();
        Ok(Self { base, authority })
    }

    /// `path` (with an optional `?query`) on this origin, under its path prefix.
    pub(crate) fn url_for(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        url.set_query(query);
        url
    }

    /// `host[:port]` as configured.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether it is an `https` URL.
    pub(crate) fn is_https(&self) -> bool {
        self.base.scheme() == "https"
    }

    /// `scheme://host[:port]`, as the browser writes it in `Origin`.
    pub(crate) fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }
}

/// Checks the `allowed_hosts` setting: each a plain `host` or `host:port`.
pub(crate) fn check_allowed_hosts(hosts: &[String]) -> Result<(), ConfigError> {
    if hosts.iter().all(|host| is_plain_host(host)) {
        Ok(())
    } else {
        Err(ConfigError::InvalidSetting {
            setting: "allowed_hosts",
            reason: "each must be a host name or `host:port`, without scheme or path",
        })
    }
}

/// A host (and optional port) with nothing but host characters in it.
pub(crate) fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// `localhost`, `[::1]` or a 127.0.0.0/8 address, with or without a port.
pub(crate) fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "localhost",
            "localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "example.com",
            "127.example.com",
            "localhost.evil.com:80",
            "[::2]:80",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn a_public_url_builds_urls_under_its_path() {
        let public = PublicUrl::parse("https://App.example:8443/base/").unwrap();
        assert_eq!(public.authority(), "App.example:8443");
        assert_eq!(
            public.url_for("/auth/github").as_str(),
            "https://app.example:8443/base/auth/github"
        );
        assert_eq!(
            public.url_for("/bye?x=1").as_str(),
            "https://app.example:8443/base/bye?x=1"
        );
        let root = PublicUrl::parse("https://app.example").unwrap();
        assert_eq!(
            root.url_for("/auth/x").as_str(),
            "https://app.example/auth/x"
        );
        assert!(PublicUrl::parse("https://app.example/?a=1").is_err());
        assert!(PublicUrl::parse("/relative").is_err());
    }

    #[test]
    fn allowed_hosts_are_plain_hosts() {
        assert!(check_allowed_hosts(&["app.example".into(), "app.example:8443".into()]).is_ok());
        for bad in ["", "https://app.example", "app.example/x", "a b"] {
            assert!(check_allowed_hosts(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_with_other_characters_are_refused() {
        assert!(is_plain_host("app.example.com:8443"));
        for host in ["", "evil.com/path", "a b", "evil.com@x", "x\"y"] {
            assert!(!is_plain_host(host), "{host:?}");
        }
    }
}
