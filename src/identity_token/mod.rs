//! The identity token: a JWT (HS256) holding an [`Identity`], signed with the layer's key.
//!
//! A token is checked cheapest and least trusting first: the size cap; the header, which must
//! be exactly the header one of the layer's keys writes (so `alg` is pinned to HS256 and the key
//! is picked without parsing anything); the HMAC-SHA256 signature, compared in constant time;
//! and only then the claims, read by `serde_json` into [`Claims`]. What a signature
//! proves does not depend on the clock, so a [`VerifiedCache`] may keep it; the times are
//! checked against the clock on every request.

use std::borrow::Cow;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;

use self::cache::{Checked, VerifiedCache};
pub(crate) use self::claims::{Audience, Rejected};
use self::claims::{Claims, Verified, ISSUER};
use crate::error::AuthError;
use crate::identity::Identity;
use crate::state::keys::Keys;

mod cache;
mod claims;
mod read;
mod token_hash;

use self::read::read;

/// Tokens longer than this are refused before any parsing.
pub(crate) const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 30;
/// How many verified tokens are remembered: room for 100,000 users active at once and more.
/// The table (64 bytes a token, 8 MiB when all of it is in use) is allocated 8 KiB at a time
/// as tokens are kept; each kept token adds its user, about 128 bytes with a name and an
/// email (see `cache.rs`).
const VERIFIED_TOKENS: usize = 1 << 17;

// The JOSE header of every identity token is the signing key's exact header,
// `{"typ":"JWT","alg":"HS256","kid":"<kid>"}` base64url-encoded (see `Keys`): the `kid` picks
// the key, and any other header (another `alg`, `none`, an unknown `kid`, `crit`, other
// spacing) is refused without being parsed.

/// Signs identity tokens, and verifies them through a cache of tokens verified lately.
pub(crate) struct IdentityCodec {
    /// Tokens verified lately, with any of the layer's keys (which never change for a codec:
    /// a token whose header names none of them is refused before the cache is asked).
    verified: VerifiedCache<Verified>,
}

impl fmt::Debug for IdentityCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityCodec").finish_non_exhaustive()
    }
}

impl IdentityCodec {
    pub(crate) fn new() -> Self {
        Self {
            verified: VerifiedCache::new(VERIFIED_TOKENS),
        }
    }

    /// Signs a token for `identity`, to be used as `audience` says.
    pub(crate) fn sign(
        &self,
        keys: &Keys,
        identity: &Identity,
        audience: Audience,
    ) -> Result<String, AuthError> {
        let user = &*identity.user;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: audience.claim().into(),
            sub: user.user_id().into(),
            provider: user.provider().into(),
            name: user.name().map(Cow::Borrowed),
            email: user.email().map(Cow::Borrowed),
            iat: identity.issued_at,
            exp: identity.expires_at,
            nbf: None,
            app: user.claims().map(Cow::Borrowed),
            sid: user.session().map(|session| session.id),
            auth_ms: user.session().map(|session| session.started_ms),
            psid: user.provider_session(),
        };
        let failed = || AuthError::internal("could not sign the identity token");
        let json = serde_json::to_vec(&claims).map_err(|_| failed())?;
        let key = keys.current();
        let mut token = String::with_capacity(key.header.len() + json.len() * 4 / 3 + 48);
        token.push_str(&key.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        let mut mac = key.mac.clone();
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        Ok(token)
    }

    /// The identity in a valid token for `audience`, `None` for anything else.
    #[cfg(test)]
    pub(crate) fn verify(
        &self,
        keys: &Keys,
        token: &str,
        now: u64,
        audience: Audience,
    ) -> Option<Identity> {
        self.check(keys, token.as_bytes(), now, audience).ok()
    }

    /// The identity in a valid token for `audience`, or why there is none. A token verified
    /// lately is found in the cache; `exp`, `nbf` and `iat` are checked against `now` every
    /// time.
    pub(crate) fn check(
        &self,
        keys: &Keys,
        token: &[u8],
        now: u64,
        audience: Audience,
    ) -> Result<Identity, Rejected> {
        // What has not even the shape of a token of one of our keys never reaches the cache.
        if !is_shaped(keys, token) {
            return Err(Rejected::Invalid);
        }
        // A token with `nbf` (which this crate never writes) is verified in full on each
        // request rather than kept: the cache's entries have no room for it.
        let mut not_before = None;
        let verified = self
            .verified
            .get_or_verify(token, || match read(keys, token) {
                Some((verified, None)) => Checked::Keep(verified),
                Some((verified, nbf)) => {
                    not_before = nbf;
                    Checked::Once(verified)
                }
                None => Checked::Failed,
            })
            .ok_or(Rejected::Invalid)?;
        if verified.audience != audience {
            return Err(Rejected::Invalid);
        }
        verified.current_at(now, not_before)
    }

    /// The identity in a token of ours for `audience` whatever its times say: signature,
    /// issuer, audience and claims checked, `exp`, `nbf` and `iat` not. Never for access: a
    /// logout uses it to send a lapsed sign-in on to end at its provider.
    pub(crate) fn read_lapsed(
        &self,
        keys: &Keys,
        token: &[u8],
        audience: Audience,
    ) -> Option<Identity> {
        read(keys, token)
            .filter(|(verified, _)| verified.audience == audience)
            .map(|(verified, _)| verified.identity)
    }
}

/// Whether `token` has the shape of a token of one of `keys`: not too long, and a header
/// that one of them writes.
pub(crate) fn is_shaped(keys: &Keys, token: &[u8]) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && memchr::memchr(b'.', token)
            .and_then(|dot| token.get(..dot))
            .is_some_and(|header| keys.by_header(header).is_some())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::claims::IDENTITY_AUDIENCE;
    use super::*;
    use crate::identity::User;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use serde_json::Map;
    use Audience::Cookie;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> Keys {
        Keys::derive(SECRET).unwrap()
    }

    /// The raw signing key, as the layer derives it, for signing with other libraries.
    fn signing_key() -> Vec<u8> {
        cookie::Key::derive_from(SECRET).signing().to_vec()
    }

    fn now() -> u64 {
        crate::clock::system_now()
    }

    fn identity(iat: u64, exp: u64) -> Identity {
        let user = User::from_parts("twitter", "12345", Some("jack"), None, None, None);
        user_identity(user.build().unwrap(), iat, exp)
    }

    fn user_identity(user: Arc<User>, iat: u64, exp: u64) -> Identity {
        Identity {
            user,
            issued_at: iat,
            expires_at: exp,
        }
    }

    /// `jsonwebtoken`'s header for the current key: HS256 with its `kid`.
    fn jwt_header() -> Header {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(keys().current().kid.clone());
        header
    }

    /// Signs arbitrary claims with the layer's key (through `jsonwebtoken`), as an attacker
    /// who knew it could not.
    fn sign_raw(claims: serde_json::Value) -> String {
        let key = EncodingKey::from_secret(&signing_key());
        jsonwebtoken::encode(&jwt_header(), &claims, &key).unwrap()
    }

    /// A token with this exact header and claims JSON, correctly signed with the layer's key.
    fn sign_with_header(header: &str, claims: &str) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = keys().current().mac.clone();
        mac.update(signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{tag}")
    }

    /// Claims JSON as written, signed with the layer's key and header.
    fn sign_json(claims: &str) -> String {
        let kid = keys().current().kid.clone();
        sign_with_header(
            &format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}"}}"#),
            claims,
        )
    }

    fn valid_claims() -> serde_json::Value {
        serde_json::json!({
            "iss": ISSUER, "aud": IDENTITY_AUDIENCE, "sub": "1", "provider": "twitter",
            "iat": now(), "exp": now() + 60,
        })
    }

    #[test]
    fn the_header_is_the_one_jsonwebtoken_writes_and_its_tokens_verify() {
        let codec = IdentityCodec::new();
        let header = keys().current().header.clone();
        let kid = keys().current().kid.clone();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&header).unwrap(),
            format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}"}}"#).into_bytes()
        );
        // Tokens signed with `jsonwebtoken` verify: the header is byte for byte its own.
        let token = sign_raw(valid_claims());
        assert!(token.starts_with(&format!("{header}.")));
        assert!(codec.verify(&keys(), &token, now(), Cookie).is_some());
        // And tokens the layer signs now verify with `jsonwebtoken`.
        let mine = codec
            .sign(&keys(), &identity(now(), now() + 60), Cookie)
            .unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[IDENTITY_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &mine,
            &DecodingKey::from_secret(&signing_key()),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "12345");
    }

    #[test]
    fn any_other_header_is_refused_even_when_signed_with_the_key() {
        let codec = IdentityCodec::new();
        let claims = valid_claims();
        let kid = keys().current().kid.clone();
        let ours = format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}"}}"#);
        assert!(codec
            .verify(
                &keys(),
                &sign_with_header(&ours, &claims.to_string()),
                now(),
                Cookie
            )
            .is_some());
        for header in [
            r#"{"typ":"JWT","alg":"HS256"}"#.to_owned(),
            format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
            format!(r#"{{"typ":"JWT","alg":"HS384","kid":"{kid}"}}"#),
            format!(r#"{{"typ":"JWT","alg":"HS512","kid":"{kid}"}}"#),
            format!(r#"{{"typ":"JWT","alg":"none","kid":"{kid}"}}"#),
            r#"{"typ":"JWT","alg":"HS256","kid":"1"}"#.to_owned(),
            r#"{"typ":"JWT","alg":"HS256","kid":"../../etc/passwd"}"#.to_owned(),
            format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}","crit":["exp"]}}"#),
        ] {
            assert_eq!(
                codec.verify(
                    &keys(),
                    &sign_with_header(&header, &claims.to_string()),
                    now(),
                    Cookie
                ),
                None,
                "{header}"
            );
        }
    }

    #[test]
    fn duplicates_arrays_numbers_out_of_type_and_malformed_parts_are_refused() {
        let codec = IdentityCodec::new();
        // Each member once, of its one type, in one JSON object.
        let (iat, exp) = (now(), now() + 60);
        let head = format!(r#""iss":"{ISSUER}","aud":"{IDENTITY_AUDIENCE}","provider":"t""#);
        let valid = sign_json(&format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp}}}"#));
        assert!(codec.verify(&keys(), &valid, now(), Cookie).is_some());
        for claims in [
            format!(r#"{{{head},"sub":"","iat":{iat},"exp":{exp}}}"#),
            format!(r#"{{{head},"sub":1,"iat":{iat},"exp":{exp}}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":"{exp}"}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},"name":["a"]}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},"email":42}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},"app":["admin"]}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},"iss":"{ISSUER}"}}"#),
            format!(
                r#"{{"iss":"x","aud":"{IDENTITY_AUDIENCE}","provider":"t","sub":"1","iat":{iat},"exp":{exp}}}"#
            ),
            format!(
                r#"{{"iss":"{ISSUER}","aud":"socialauth:flow","provider":"t","sub":"1","iat":{iat},"exp":{exp}}}"#
            ),
            format!(r#"{{{head},"sub":"1","sub":"2","iat":{iat},"exp":{exp}}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},"name":null,"name":"x"}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat}.0,"exp":{exp}}}"#),
            format!(r#"{{{head},"sub":"1","iat":-1,"exp":{exp}}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":18446744073709551616}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp},}}"#),
            format!(r#"{{{head},"sub":"1","iat":{iat},"exp":{exp}}} x"#),
            format!(r#" {{{head},"sub":"1","iat":{iat},"exp":{exp}}}"#),
            format!(r#"["{ISSUER}","{IDENTITY_AUDIENCE}","1","t",null,null,{iat},{exp}]"#),
            format!(r#"{{{head},"sub":"\ud800","iat":{iat},"exp":{exp}}}"#),
        ] {
            assert_eq!(
                codec.verify(&keys(), &sign_json(&claims), now(), Cookie),
                None,
                "{claims}"
            );
        }

        // Extra parts, padding, a truncated or lengthened signature.
        let good = sign_raw(valid_claims());
        let (signed, tag) = good.rsplit_once('.').unwrap();
        for bad in [
            format!("{signed}.{tag}.{tag}"),
            format!("{signed}.x.{tag}"),
            format!("{signed}.{tag}="),
            format!("{signed}.{}", &tag[..tag.len() - 1]),
            format!("{signed}.{tag}A"),
            format!("{signed}."),
            signed.to_owned(),
            format!("{}.{tag}", &signed[..signed.len() - 1]),
            "a.".repeat(MAX_TOKEN_LEN),
        ] {
            assert_eq!(codec.verify(&keys(), &bad, now(), Cookie), None, "{bad}");
        }
        // Non-zero trailing bits in the last signature character.
        let last = tag.as_bytes()[tag.len() - 1];
        let sibling = if last == b'A' { 'B' } else { 'A' };
        let bits = format!("{signed}.{}{sibling}", &tag[..tag.len() - 1]);
        assert_eq!(codec.verify(&keys(), &bits, now(), Cookie), None);
    }

    #[test]
    fn a_token_verifies_only_with_the_keys_that_name_its_kid() {
        let codec = IdentityCodec::new();
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        let mine = codec
            .sign(&keys(), &identity(now(), now() + 60), Cookie)
            .unwrap();
        let theirs = codec
            .sign(&other, &identity(now(), now() + 60), Cookie)
            .unwrap();
        assert_ne!(mine, theirs);
        for _ in 0..2 {
            assert!(codec.verify(&keys(), &mine, now(), Cookie).is_some());
            assert!(codec.verify(&other, &theirs, now(), Cookie).is_some());
            assert_eq!(codec.verify(&keys(), &theirs, now(), Cookie), None);
            assert_eq!(codec.verify(&other, &mine, now(), Cookie), None);
        }
        assert_eq!(format!("{codec:?}"), "IdentityCodec { .. }");
    }

    #[test]
    fn every_claim_round_trips_and_unknown_members_are_ignored() {
        let codec = IdentityCodec::new();
        let mut claims = Map::new();
        claims.insert("role".into(), serde_json::json!("admin"));
        claims.insert("ids".into(), serde_json::json!([1, 2]));
        let session = crate::state::session::Session {
            id: crate::state::session::SessionId::generate().unwrap(),
            started_ms: now() * 1000,
        };
        let (name, email) = (Some("Zoë \"Z\" 😀"), Some("z@example.com"));
        let (sub, claims) = ("a\"b\\c\u{1}", Some(claims));
        let psid = crate::state::provider_session::ProviderSessionKey::from_u128(42);
        let user = User::from_parts("github", sub, name, email, claims, Some(session))
            .with_provider_session(Some(psid))
            .build()
            .unwrap();
        let who = user_identity(user, now(), now() + 60);
        let token = codec.sign(&keys(), &who, Cookie).unwrap();
        let back = codec.verify(&keys(), &token, now(), Cookie).unwrap();
        assert_eq!(back.claim("role"), Some(&serde_json::json!("admin")));
        assert_eq!(back, who);
        assert_eq!(back.user.provider_session(), Some(psid));
        let mut extra = valid_claims();
        extra["jti"] = serde_json::json!({"a": [1, null]});
        extra["name"] = serde_json::Value::Null;
        let back = codec
            .verify(&keys(), &sign_raw(extra), now(), Cookie)
            .unwrap();
        assert_eq!((back.user_id(), back.name()), ("1", None));
    }

    #[test]
    fn exp_iat_and_nbf_hold_with_leeway_on_first_sight_and_after() {
        let codec = IdentityCodec::new();
        let t = 1_700_000_000;
        let token = codec.sign(&keys(), &identity(t, t + 100), Cookie).unwrap();
        // The first call verifies the token; the next ones find it in the cache.
        for _ in 0..2 {
            assert_eq!(
                codec.verify(&keys(), &token, t + 101 + LEEWAY_SECS, Cookie),
                None
            );
            assert!(codec
                .verify(&keys(), &token, t + 100 + LEEWAY_SECS, Cookie)
                .is_some());
            assert!(codec
                .verify(&keys(), &token, t - LEEWAY_SECS, Cookie)
                .is_some());
            assert_eq!(
                codec.verify(&keys(), &token, t - LEEWAY_SECS - 1, Cookie),
                None
            );
        }
        let mut later = valid_claims();
        later["nbf"] = serde_json::json!(now() + 100);
        later["exp"] = serde_json::json!(now() + 1000);
        let token = sign_raw(later);
        for _ in 0..2 {
            assert_eq!(codec.verify(&keys(), &token, now(), Cookie), None);
            assert!(codec.verify(&keys(), &token, now() + 100, Cookie).is_some());
        }
        let mut typed = valid_claims();
        typed["nbf"] = serde_json::json!("0");
        assert_eq!(codec.verify(&keys(), &sign_raw(typed), now(), Cookie), None);
    }
}
