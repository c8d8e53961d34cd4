//! The keys derived from the layer's one secret: one signs identity tokens, one encrypts
//! flow cookies. Deriving both with HKDF means a leak of one use never weakens the other.

use std::fmt;

use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::error::ConfigError;

/// The shortest secret accepted, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// The layer's keys. `Debug` prints no key material.
pub(crate) struct Keys {
    pub(crate) identity_signing: EncodingKey,
    pub(crate) identity_verifying: DecodingKey,
    pub(crate) flow_cookie: cookie::Key,
}

impl Keys {
    /// Derives the keys from the configured secret (HKDF-SHA256, as the `cookie` crate does).
    pub(crate) fn derive(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort { len: secret.len() });
        }
        // `derive_from` panics below 32 bytes; the length is checked above.
        let derived = cookie::Key::derive_from(secret);
        // The private cookie jar uses only the key's encryption half, so its signing half is
        // free to sign identity tokens.
        Ok(Self {
            identity_signing: EncodingKey::from_secret(derived.signing()),
            identity_verifying: DecodingKey::from_secret(derived.signing()),
            flow_cookie: derived,
        })
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            Keys::derive(&[7; 31]).unwrap_err(),
            ConfigError::SecretTooShort { len: 31 }
        );
        assert!(Keys::derive(&[7; 32]).is_ok());
    }

    #[test]
    fn debug_hides_keys() {
        let keys = Keys::derive(&[7; 32]).unwrap();
        assert_eq!(format!("{keys:?}"), "Keys(REDACTED)");
    }
}
