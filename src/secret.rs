//! Secrets: every one is a newtype made by [`new_secret_type!`], read with `.secret()` and
//! shown by `Debug` as `TypeName([redacted])`, with no `Display`.

/// Makes a secret newtype, as oauth2-rs's `new_secret_type!` does: `new(..)`, `secret()` (the
/// one way to read it) and a `Debug` that prints `TypeName([redacted])`. Derive `Clone` with
/// an attribute where a copy is needed. After the struct, `impl ConstantTimeEq;` adds
/// `PartialEq`/`Eq` compared in constant time (the only equality a secret gets), and
/// `impl Serde;` serializes the value itself (for encrypted cookies only).
macro_rules! new_secret_type {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident($inner:ty) reads $read:ty;
        $(impl $($extra:ident),+;)?
    ) => {
        $(#[$attr])*
        $vis struct $name($inner);

        impl $name {
            #[doc = concat!("A `", stringify!($name), "` holding `value`.")]
            $vis fn new(value: impl Into<$inner>) -> Self {
                Self(value.into())
            }

            /// The secret itself: read it only where it goes to its one destination.
            $vis fn secret(&self) -> &$read {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        $($($crate::secret::new_secret_type!(@ $extra $name $inner);)+)?
    };
    (@ ConstantTimeEq $name:ident $inner:ty) => {
        /// Compared in constant time.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $crate::secret::constant_time_eq(self.0.as_ref(), other.0.as_ref())
            }
        }

        impl Eq for $name {}
    };
    (@ Serde $name:ident $inner:ty) => {
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&self.0, serializer)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$inner as ::serde::Deserialize<'de>>::deserialize(deserializer).map(Self)
            }
        }
    };
}

pub(crate) use new_secret_type;

new_secret_type! {
    /// An OAuth 2.0 access token, to send to the provider's API (`Authorization: Bearer`).
    /// `Debug` prints `AccessToken([redacted])`; equality is compared in constant time.
    #[derive(Clone)]
    pub struct AccessToken(String) reads str;
    impl ConstantTimeEq, Serde;
}

new_secret_type! {
    /// An OAuth 2.0 refresh token, to trade for new tokens. `Debug` prints
    /// `RefreshToken([redacted])`; equality is compared in constant time.
    #[derive(Clone)]
    pub struct RefreshToken(String) reads str;
    impl ConstantTimeEq, Serde;
}

new_secret_type! {
    /// An OpenID Connect provider's session id (`sid` in its ID token), for back-channel
    /// logout: read once, to be hashed with the layer's key into the identity's
    /// [`ProviderSessionKey`](crate::revocation::ProviderSessionKey), and kept nowhere.
    #[derive(Clone)]
    pub(crate) struct ProviderSid(String) reads str;
    impl ConstantTimeEq;
}

new_secret_type! {
    /// An OpenID Connect ID token (a JWT), as the provider issued it. `Debug` prints
    /// `IdToken([redacted])`; equality is compared in constant time.
    #[derive(Clone)]
    pub struct IdToken(String) reads str;
    impl ConstantTimeEq, Serde;
}

new_secret_type! {
    /// A client's secret at its provider (OAuth 2.0 client secret, OAuth 1.0a consumer
    /// secret, Facebook app secret), or a client-secret JWT the layer signed (Apple).
    #[derive(Clone)]
    pub(crate) struct ClientSecret(String) reads str;
}

new_secret_type! {
    /// A private key's PEM text, kept until it is parsed.
    #[derive(Clone)]
    pub(crate) struct PrivateKeyPem(String) reads str;
}

new_secret_type! {
    /// What one login keeps encrypted in its flow cookie for the callback: the PKCE verifier
    /// (OAuth 2.0) or the request-token secret (OAuth 1.0a). Used once: not `Clone`.
    pub(crate) struct FlowSecret(String) reads str;
    impl Serde;
}

new_secret_type! {
    /// A JWT the client signs about itself (an RFC 7523 client assertion).
    pub(crate) struct ClientAssertion(String) reads str;
}

new_secret_type! {
    /// A secret the layer's keys are derived from: the identity tokens' HMAC key and the
    /// cookies' encryption key.
    pub(crate) struct IdentitySecret(Vec<u8>) reads [u8];
}

/// Compares two byte strings in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_type_has_one_debug_spelling_and_reads_with_secret() {
        let shown = [
            format!("{:?}", AccessToken::new("at-hunter2")),
            format!("{:?}", RefreshToken::new("rt-hunter2")),
            format!("{:?}", IdToken::new("h.p.hunter2")),
            format!("{:?}", ClientSecret::new("cs-hunter2")),
            format!("{:?}", PrivateKeyPem::new("pem-hunter2")),
            format!("{:?}", FlowSecret::new("fs-hunter2")),
            format!("{:?}", ClientAssertion::new("ca-hunter2")),
            format!("{:?}", IdentitySecret::new(b"is-hunter2".to_vec())),
        ];
        assert_eq!(
            shown,
            [
                "AccessToken([redacted])",
                "RefreshToken([redacted])",
                "IdToken([redacted])",
                "ClientSecret([redacted])",
                "PrivateKeyPem([redacted])",
                "FlowSecret([redacted])",
                "ClientAssertion([redacted])",
                "IdentitySecret([redacted])",
            ]
        );
        assert_eq!(AccessToken::new("hunter2").secret(), "hunter2");
        assert_eq!(
            IdentitySecret::new(b"hunter2".to_vec()).secret(),
            b"hunter2"
        );
    }

    #[test]
    fn tokens_compare_by_value_and_serialize_as_the_bare_string() {
        assert_eq!(RefreshToken::new("a"), RefreshToken::new("a"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("ab"));
        let json = serde_json::to_string(&IdToken::new("x.y.z")).unwrap();
        assert_eq!(json, r#""x.y.z""#);
        let back: IdToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.secret(), "x.y.z");
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
