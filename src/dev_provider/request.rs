//! Reading requests: form and query parameters (each at most once), bodies with a size cap
//! and a deadline, and the `Authorization` header.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::HeaderMap;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

/// The largest request body read.
const MAX_BODY: usize = 16 * 1024;
/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Parameters by name, each sent once.
#[derive(Debug, Default)]
pub(super) struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes; a name sent twice is an error
    /// (RFC 6749 §3.1).
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if params
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(format!("the parameter {name:?} is repeated"));
            }
        }
        Ok(Params(params))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The parameter, non-empty, or an error naming it.
    pub(super) fn require(&self, name: &str) -> Result<&str, String> {
        match self.get(name) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(format!("the parameter {name:?} is missing")),
        }
    }
}

/// The whole body, at most [`MAX_BODY`] bytes, sent within [`BODY_TIMEOUT`].
pub(super) async fn read_body(body: Incoming) -> Result<Bytes, &'static str> {
    let collect = Limited::new(body, MAX_BODY).collect();
    match tokio::time::timeout(BODY_TIMEOUT, collect).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(_)) => Err("the request body is too large or broken"),
        Err(_) => Err("the request body took too long"),
    }
}

/// The `Authorization` header's credentials for `scheme` (`Basic`, `Bearer`), if it has
/// that scheme. `Err` for several `Authorization` headers or a non-text one.
pub(super) fn authorization<'h>(
    headers: &'h HeaderMap,
    scheme: &str,
) -> Result<Option<&'h str>, &'static str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("several Authorization headers");
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not text")?;
    Ok(value
        .split_once(' ')
        .filter(|(given, _)| given.eq_ignore_ascii_case(scheme))
        .map(|(_, credentials)| credentials.trim()))
}

/// RFC 6749 §2.3.1: `base64(urlencode(id) ":" urlencode(secret))`.
pub(super) fn decode_basic(credentials: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(credentials).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse(b"a=1&b=2").is_ok());
        assert!(Params::parse(b"a=1&a=1").is_err());
        let params = Params::parse(b"a=&b=x%20y").unwrap();
        assert!(params.require("a").is_err());
        assert!(params.require("c").is_err());
        assert_eq!(params.require("b"), Ok("x y"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = STANDARD.encode("socialauth-dev:s%3Acret+x");
        assert_eq!(
            decode_basic(&encoded),
            Some(("socialauth-dev".into(), "s:cret x".into()))
        );
        assert_eq!(decode_basic("!!"), None);
        assert_eq!(decode_basic(&STANDARD.encode("no colon")), None);
    }

    #[test]
    fn authorization_schemes() {
        let mut headers = HeaderMap::new();
        assert_eq!(authorization(&headers, "Bearer"), Ok(None));
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(authorization(&headers, "Bearer"), Ok(Some("abc")));
        assert_eq!(authorization(&headers, "Basic"), Ok(None));
        headers.append(AUTHORIZATION, "Bearer def".parse().unwrap());
        assert!(authorization(&headers, "Bearer").is_err());
    }
}
