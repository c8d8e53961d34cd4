//! The JSON types of the claims the layer reads from JWTs (ID tokens, access tokens) and
//! introspection answers, each read strictly: `aud` (RFC 7519 §4.1.3), NumericDate (RFC 7519
//! §2), `email_verified` (OpenID Connect Core 1.0 §5.1, and the strings some providers send),
//! and the limits every such token is held to.

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Why a token was refused, for the logs: a fixed string, never token content.
pub(crate) type Rule = &'static str;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 60;
/// OpenID Connect Core 1.0 §2: `sub` is at most 255 ASCII characters.
pub(crate) const MAX_SUB_LEN: usize = 255;

/// `aud`: one audience or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Every audience named.
    pub(crate) fn as_slice(&self) -> &[String] {
        match self {
            Audience::One(aud) => std::slice::from_ref(aud),
            Audience::Many(auds) => auds,
        }
    }

    /// Whether `audience` is one of them, as a whole string.
    pub(crate) fn holds(&self, audience: &str) -> bool {
        self.as_slice().iter().any(|aud| aud == audience)
    }
}

/// A NumericDate (RFC 7519 §2): non-negative seconds, fractions dropped.
pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = serde_json::Number::deserialize(deserializer)?;
    if let Some(secs) = value.as_u64() {
        return Ok(secs);
    }
    match value.as_f64() {
        Some(secs) if secs.is_finite() && secs >= 0.0 && secs < u64::MAX as f64 => Ok(secs as u64),
        _ => Err(de::Error::custom("not a NumericDate")),
    }
}

/// [`numeric_date`], for a claim that may be absent.
pub(crate) fn optional_numeric_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "numeric_date")] u64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(secs)| secs))
}

/// `email_verified`: a boolean, or the strings `"true"`/`"false"` some providers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified(pub(crate) bool);

impl<'de> Deserialize<'de> for Verified {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bool(b) => Ok(Verified(b)),
            Raw::Text(t) if t == "true" => Ok(Verified(true)),
            Raw::Text(t) if t == "false" => Ok(Verified(false)),
            Raw::Text(_) => Err(de::Error::custom("email_verified is not a boolean")),
        }
    }
}
