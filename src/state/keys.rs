//! The layer's keys, derived from its secrets: one signs identity tokens, one encrypts flow
//! cookies. Deriving both with HKDF means a leak of one use never weakens the other.
//!
//! Key rotation: the current secret signs and encrypts; previous secrets still verify and
//! decrypt. Each identity token names its key in a `kid` header, so the right key is picked
//! without trying them all, and a token whose key was removed is simply not valid.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::ConfigError;
use crate::secret::IdentitySecret;

/// The shortest secret accepted, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// HMAC-SHA256, as identity tokens are signed.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The keys of one secret.
pub(crate) struct KeySlot {
    /// The key id written in the `kid` header of the tokens this key signs (a hash of the
    /// key, public like every header).
    pub(crate) kid: String,
    /// The base64url JOSE header of those tokens: `{"typ":"JWT","alg":"HS256","kid":"<kid>"}`.
    pub(crate) header: String,
    /// HMAC-SHA256 already keyed with the signing key (keying costs two SHA-256 blocks).
    pub(crate) mac: HmacSha256,
    /// The flow-cookie key (the private jar uses its encryption half).
    pub(crate) flow_cookie: cookie::Key,
}

impl KeySlot {
    fn derive(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort { len: secret.len() });
        }
        // `derive_from` panics below 32 bytes; the length is checked above.
        let derived = cookie::Key::derive_from(secret);
        // The private cookie jar uses only the key's encryption half, so its signing half is
        // free to sign identity tokens.
        let signing = derived.signing();
        let mut id = Sha256::new();
        id.update(b"socialauth key id\0");
        id.update(signing);
        let kid = URL_SAFE_NO_PAD.encode(&id.finalize()[..9]);
        let header =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}"}}"#));
        let mac = HmacSha256::new_from_slice(signing).map_err(|_| ConfigError::InvalidSetting {
            setting: "secret",
            reason: "cannot key HMAC-SHA256 with it",
        })?;
        Ok(Self {
            kid,
            header,
            mac,
            flow_cookie: derived,
        })
    }
}

/// The current key and the previous ones still accepted. `Debug` prints no key material.
pub(crate) struct Keys {
    current: KeySlot,
    previous: Vec<KeySlot>,
}

impl Keys {
    /// The keys of one secret, with no previous ones.
    #[cfg(test)]
    pub(crate) fn derive(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::with_previous(secret, &[])
    }

    /// The keys of the current secret and of previous secrets still accepted.
    pub(crate) fn with_previous(
        secret: &[u8],
        previous: &[IdentitySecret],
    ) -> Result<Self, ConfigError> {
        let current = KeySlot::derive(secret)?;
        let previous = previous
            .iter()
            .map(|old| KeySlot::derive(old.secret()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current, previous })
    }

    /// The key that signs and encrypts.
    pub(crate) fn current(&self) -> &KeySlot {
        &self.current
    }

    /// Every accepted key, the current one first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &KeySlot> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// `value` encrypted and authenticated (AES-256-GCM, the `cookie` crate's private jar)
    /// with the current key, for a cookie named `name`: the name is authenticated with the
    /// value, so the sealed value opens under no other cookie name.
    pub(crate) fn seal(&self, name: &str, value: String) -> Option<String> {
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.current.flow_cookie)
            .add(cookie::Cookie::new(name.to_owned(), value));
        jar.get(name).map(|cookie| cookie.value().to_owned())
    }

    /// What [`seal`](Self::seal) sealed under `name`, opened with the current key or a
    /// previous one (sealed before a rotation); `None` for anything else.
    pub(crate) fn open(&self, name: &str, sealed: &str) -> Option<String> {
        let jar = cookie::CookieJar::new();
        self.all().find_map(|key| {
            let cookie = cookie::Cookie::new(name.to_owned(), sealed.to_owned());
            jar.private(&key.flow_cookie)
                .decrypt(cookie)
                .map(|opened| opened.value().to_owned())
        })
    }

    /// The key whose tokens start with this exact (base64url) header.
    pub(crate) fn by_header(&self, header: &[u8]) -> Option<&KeySlot> {
        self.all().find(|slot| slot.header.as_bytes() == header)
    }
}

impl fmt::Debug for Keys {
    /// The key ids only: never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.all().map(|slot| slot.kid.as_str()).collect();
        f.debug_struct("Keys").field("kids", &kids).finish()
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
        assert_eq!(
            Keys::with_previous(&[7; 32], &[IdentitySecret::new(vec![1; 8])]).unwrap_err(),
            ConfigError::SecretTooShort { len: 8 }
        );
    }

    #[test]
    fn each_secret_has_its_own_kid_and_header() {
        let keys = Keys::with_previous(&[7; 32], &[IdentitySecret::new(vec![8; 32])]).unwrap();
        let kids: Vec<&str> = keys.all().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids.len(), 2);
        assert_ne!(kids[0], kids[1]);
        assert_eq!(kids[0], Keys::derive(&[7; 32]).unwrap().current().kid);
        let previous_header = &keys.all().nth(1).unwrap().header;
        assert_eq!(
            keys.by_header(previous_header.as_bytes()).unwrap().kid,
            kids[1]
        );
        assert!(keys.by_header(b"eyJhbGciOiJub25lIn0").is_none());
    }

    #[test]
    fn debug_hides_keys() {
        let keys = Keys::derive(&[7; 32]).unwrap();
        let kid = keys.current().kid.clone();
        assert_eq!(format!("{keys:?}"), format!("Keys {{ kids: [{kid:?}] }}"));
    }
}
