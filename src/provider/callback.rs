//! The query of a provider's callback, parsed strictly.

use crate::error::AuthError;

/// Callbacks with more parameters than this are refused.
const MAX_PARAMS: usize = 32;

/// A callback's parameters, parsed strictly: each name appears at most once
/// (RFC 6749 §3.1), and there are at most 32.
#[derive(Debug, Default)]
pub struct CallbackParams {
    pairs: Vec<(String, String)>,
}

impl CallbackParams {
    /// Parses a query string; a repeated name, or too many parameters, is a bad request.
    pub(crate) fn parse(query: &str) -> Result<Self, AuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if pairs.len() == MAX_PARAMS {
                return Err(AuthError::invalid_request(
                    "the callback has too many parameters",
                ));
            }
            if pairs.iter().any(|(seen, _)| *seen == name) {
                return Err(AuthError::invalid_request(
                    "a callback parameter is repeated",
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The non-empty value of `name`, or a bad request (`400`) with the message `missing`.
    pub fn require(&self, name: &str, missing: &'static str) -> Result<&str, AuthError> {
        self.get(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| AuthError::invalid_request(missing))
    }
}

/// What a callback says about its login attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum CallbackKey<'q> {
    /// The attempt's key (`state` or request token): look up and check its flow cookie.
    Continue(&'q str),
    /// The user or the provider refused; the key, when present, finds the cookie to clear.
    Refused {
        /// The attempt's key, when the callback carries one.
        key: Option<&'q str>,
        /// `true` when the user cancelled (`access_denied`, Twitter's `denied`).
        by_user: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let params = CallbackParams::parse("code=a%2Bb&state=xyz").unwrap();
        assert_eq!(params.get("code"), Some("a+b"));
        assert_eq!(params.get("state"), Some("xyz"));
        assert_eq!(params.get("nope"), None);
    }

    #[test]
    fn repeated_names_and_floods_are_refused() {
        assert!(CallbackParams::parse("state=a&state=b").is_err());
        let flood = (0..40)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(CallbackParams::parse(&flood).is_err());
    }

    #[test]
    fn require_refuses_empty_values() {
        let params = CallbackParams::parse("code=").unwrap();
        assert!(params.require("code", "no code").is_err());
    }
}
