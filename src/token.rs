//! The identity token: a JWT (HS256) holding an [`Identity`], signed with the layer's key.
//!
//! Every request that passes through the layer with a cookie is verified here, so this is the
//! layer's hot path, kept to about a microsecond: one pass over the token, no heap allocation
//! but the [`Identity`]'s own strings. In order: the size cap; the header, which must be
//! exactly the one this crate writes (so `alg` is pinned to HS256 without parsing anything);
//! the HMAC-SHA256 signature, compared in constant time; and only then the claims, parsed by
//! a strict parser for their one flat shape, each member of a fixed JSON type.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::identity::Identity;
use crate::keys::Keys;

/// `iss` of every identity token.
const ISSUER: &str = "socialauth";
/// `aud` of identity tokens. Flow cookies are not JWTs at all, and any other token this
/// crate may sign gets its own audience, so no token can stand in for another.
const IDENTITY_AUDIENCE: &str = "socialauth:identity";
/// Tokens longer than this are refused before any parsing.
pub(crate) const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 30;

// The JOSE header of every identity token is the signing key's exact header,
// `{"typ":"JWT","alg":"HS256","kid":"<kid>"}` base64url-encoded (see `Keys`): the `kid` picks
// the key, and any other header (another `alg`, `none`, an unknown `kid`, `crit`, other
// spacing) is refused without being parsed.
/// Length of a base64url HMAC-SHA256 tag without padding.
const SIGNATURE_LEN: usize = 43;
/// Room for the decoded claims of the longest token accepted.
const MAX_CLAIMS_LEN: usize = MAX_TOKEN_LEN / 4 * 3 + 3;
/// Decoded claims up to this size stay on the stack.
const CLAIMS_ON_STACK: usize = 768;
/// How deep an unknown claim's value may nest.
const MAX_DEPTH: usize = 16;

/// The claims of an identity token as signed.
#[derive(Debug, Serialize)]
struct IdentityClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    iat: u64,
    exp: u64,
    /// App claims from the authorize hook.
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a Map<String, Value>>,
}

/// Signs and verifies identity tokens.
pub(crate) struct IdentityCodec {
    /// Tokens verified lately (with any of the layer's keys, which never change for a codec).
    verified: VerifiedCache,
}

impl fmt::Debug for IdentityCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityCodec(REDACTED)")
    }
}

/// How many verified tokens are remembered (each about half a KiB).
const CACHE_SLOTS: usize = 1024;

/// Tokens verified lately, so that a browser's following requests skip the HMAC, the
/// decoding and the parsing: a fixed number of slots, so memory is bounded, each holding one
/// token that passed every check of [`IdentityCodec::verify`] with the identity it carries.
///
/// A token's slot is chosen by a keyed hash (SipHash with this process's random keys) of the
/// whole token, and a slot answers only for a token with the same 64-bit hash and the same
/// bytes: a request can neither pick the slot its token is compared in nor learn anything
/// from how long the comparison takes. Only verified tokens get in, so invalid ones cannot
/// evict anything. A hit checks `exp`, `nbf` and `iat` against the clock again, so it
/// answers exactly what a full verification of the same bytes with the same key would.
struct VerifiedCache {
    hasher: RandomState,
    slots: Box<[Mutex<Option<Verified>>]>,
}

struct Verified {
    hash: u64,
    token: Box<str>,
    identity: Identity,
    nbf: Option<u64>,
}

/// `exp`, `nbf` and `iat` against the clock, with the leeway.
fn current(exp: u64, iat: u64, nbf: Option<u64>, now: u64) -> bool {
    exp >= now.saturating_sub(LEEWAY_SECS)
        && iat <= now.saturating_add(LEEWAY_SECS)
        && nbf.is_none_or(|nbf| nbf <= now.saturating_add(LEEWAY_SECS))
}

/// What the cache knows of a token.
enum Cached {
    /// Verified before, and still current.
    Valid(Identity),
    /// Verified before, but expired (or not yet valid) now.
    NotCurrent,
    /// Not in the cache.
    Unknown,
}

impl VerifiedCache {
    fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            slots: (0..CACHE_SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }

    fn slot(&self, hash: u64) -> Option<MutexGuard<'_, Option<Verified>>> {
        let index = usize::try_from(hash % CACHE_SLOTS as u64).ok()?;
        // A poisoned slot is only a cache miss.
        self.slots.get(index)?.lock().ok()
    }

    fn get(&self, hash: u64, token: &str, now: u64) -> Cached {
        let Some(mut slot) = self.slot(hash) else {
            return Cached::Unknown;
        };
        let Some(entry) = slot.as_ref() else {
            return Cached::Unknown;
        };
        // The hashes first: a token reaches the byte comparison only with the 64-bit keyed
        // hash of the one in the slot, which no request can aim for.
        if entry.hash != hash || *entry.token != *token {
            return Cached::Unknown;
        }
        let identity = &entry.identity;
        if current(identity.expires_at, identity.issued_at, entry.nbf, now) {
            return Cached::Valid(identity.clone());
        }
        *slot = None;
        Cached::NotCurrent
    }

    fn put(&self, hash: u64, token: &str, identity: &Identity, nbf: Option<u64>) {
        if let Some(mut slot) = self.slot(hash) {
            *slot = Some(Verified {
                hash,
                token: token.into(),
                identity: identity.clone(),
                nbf,
            });
        }
    }
}

impl IdentityCodec {
    pub(crate) fn new() -> Self {
        Self {
            verified: VerifiedCache::new(),
        }
    }

    /// Signs a token for `identity`.
    pub(crate) fn sign(&self, keys: &Keys, identity: &Identity) -> Result<String, AuthError> {
        let claims = IdentityClaims {
            iss: ISSUER,
            aud: IDENTITY_AUDIENCE,
            sub: &identity.user_id,
            provider: &identity.provider,
            name: identity.name.as_deref(),
            email: identity.email.as_deref(),
            iat: identity.issued_at,
            exp: identity.expires_at,
            app: identity.claims.as_deref(),
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

    /// Verifies a token: size, header (so the algorithm), signature, then issuer, audience,
    /// `exp`, `nbf`, `iat` and the claims' types. `None` for anything that is not a valid
    /// identity token. A token verified lately is found in the cache instead, and only its
    /// times are checked again (see [`VerifiedCache`]).
    pub(crate) fn verify(&self, keys: &Keys, token: &str, now: u64) -> Option<Identity> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        // What has not even the shape of a token of one of our keys is refused before it is
        // hashed.
        let shaped = token
            .split_once('.')
            .is_some_and(|(header, _)| keys.by_header(header).is_some())
            && token
                .rsplit_once('.')
                .is_some_and(|(_, signature)| signature.len() == SIGNATURE_LEN);
        if !shaped {
            return None;
        }
        let cache = &self.verified;
        let hash = cache.hasher.hash_one(token);
        match cache.get(hash, token, now) {
            Cached::Valid(identity) => Some(identity),
            Cached::NotCurrent => None,
            Cached::Unknown => {
                let (identity, nbf) = self.verify_token(keys, token, now)?;
                cache.put(hash, token, &identity, nbf);
                Some(identity)
            }
        }
    }

    /// [`verify`](Self::verify) without the cache; also returns `nbf`, for the cache.
    fn verify_token(&self, keys: &Keys, token: &str, now: u64) -> Option<(Identity, Option<u64>)> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        // Exactly `header.claims.signature`, the header one of our keys writes; base64url has
        // no `.`, so a fourth part fails the claims' decoding below.
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, claims) = signed.split_once('.')?;
        let key = keys.by_header(header)?;
        if signature.len() != SIGNATURE_LEN {
            return None;
        }

        // The signature first: nothing the key did not sign reaches the parser.
        let mut tag = [0u8; SIGNATURE_LEN];
        let tag_len = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag).ok()?;
        let mut mac = key.mac.clone();
        mac.update(signed.as_bytes());
        // Constant-time, and refuses a tag of any other length.
        mac.verify_slice(tag.get(..tag_len)?).ok()?;

        // Decoded on the stack when it fits (it does for every identity with a name and an
        // email of ordinary length), else on the heap.
        let mut stack = [0u8; CLAIMS_ON_STACK];
        let mut heap = Vec::new();
        let room = claims.len() / 4 * 3 + 3;
        let buffer = if room <= CLAIMS_ON_STACK {
            stack.get_mut(..room)?
        } else {
            heap.resize(room.min(MAX_CLAIMS_LEN), 0);
            heap.as_mut_slice()
        };
        let json_len = URL_SAFE_NO_PAD.decode_slice(claims, buffer).ok()?;
        let claims = Claims::parse(buffer.get(..json_len)?)?;

        let valid = claims.iss == ISSUER
            && claims.aud == IDENTITY_AUDIENCE
            && !claims.sub.is_empty()
            && current(claims.exp, claims.iat, claims.nbf, now);
        if !valid {
            return None;
        }
        let identity = Identity {
            provider: claims.provider,
            user_id: claims.sub,
            name: claims.name,
            email: claims.email,
            issued_at: claims.iat,
            expires_at: claims.exp,
            claims: claims.app.map(Arc::new),
        };
        Some((identity, claims.nbf))
    }
}

/// The claims of an identity token as verified.
#[derive(Debug, PartialEq, Eq)]
struct Claims<'a> {
    iss: Cow<'a, str>,
    aud: Cow<'a, str>,
    sub: String,
    provider: String,
    name: Option<String>,
    email: Option<String>,
    iat: u64,
    exp: u64,
    /// Never written by this crate; honoured (and type-checked) when present.
    nbf: Option<u64>,
    /// App claims: a JSON object, or absent.
    app: Option<Map<String, Value>>,
}

impl<'a> Claims<'a> {
    /// Parses the claims: one JSON object (RFC 8259), with `iss`, `aud`, `sub` and `provider`
    /// strings, `iat` and `exp` unsigned integers, and optionally `name` and `email` (string
    /// or null) and `nbf` (unsigned integer or null). A member of another type, a known member
    /// given twice, or anything that is not JSON makes the whole token invalid; unknown
    /// members are skipped, after checking their syntax. As strict as `serde_json` reading a
    /// struct of those types, and stricter in corners no signer of this crate reaches (an
    /// array instead of the object, invalid UTF-8 or lone surrogates in unknown members,
    /// unknown members nested more than 16 deep).
    fn parse(json: &'a [u8]) -> Option<Self> {
        // An object, from the first byte (serde would also take an array, member by member).
        if json.first() != Some(&b'{') {
            return None;
        }
        // UTF-8 once for all; strings are then cut from it at ASCII delimiters.
        let text = std::str::from_utf8(json).ok()?;
        let mut p = Parser {
            text,
            bytes: json,
            at: 1,
        };
        let mut iss = None;
        let mut aud = None;
        let mut sub = None;
        let mut provider = None;
        let mut name = None;
        let mut email = None;
        let mut iat = None;
        let mut exp = None;
        let mut nbf = None;
        let mut app = None;
        if p.eat(b'}').is_none() {
            loop {
                let member = p.string()?;
                p.eat(b':')?;
                match &*member {
                    "iss" => once(&mut iss, p.string())?,
                    "aud" => once(&mut aud, p.string())?,
                    "sub" => once(&mut sub, p.string().map(Cow::into_owned))?,
                    "provider" => once(&mut provider, p.string().map(Cow::into_owned))?,
                    "name" => once(&mut name, p.nullable_string())?,
                    "email" => once(&mut email, p.nullable_string())?,
                    "iat" => once(&mut iat, p.unsigned())?,
                    "exp" => once(&mut exp, p.unsigned())?,
                    "nbf" => once(&mut nbf, p.nullable_unsigned())?,
                    "app" => once(&mut app, p.object_value())?,
                    _ => p.skip_value(0)?,
                }
                if p.eat(b',').is_none() {
                    p.eat(b'}')?;
                    break;
                }
            }
        }
        p.skip_whitespace();
        if p.at != json.len() {
            return None;
        }
        Some(Self {
            iss: iss?,
            aud: aud?,
            sub: sub?,
            provider: provider?,
            name: name.flatten(),
            email: email.flatten(),
            iat: iat?,
            exp: exp?,
            nbf: nbf.flatten(),
            app,
        })
    }
}

/// Fills `slot` with `value`; `None` when the value is invalid or the slot already full (the
/// same member twice).
fn once<T>(slot: &mut Option<T>, value: Option<T>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value?);
    Some(())
}

/// A cursor over JSON text; every method returns `None` on anything RFC 8259 does not allow.
struct Parser<'a> {
    text: &'a str,
    /// `text`'s bytes.
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Whitespace, then `byte`.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn text(&self, from: usize) -> Option<&'a str> {
        self.text.get(from..self.at)
    }

    /// Moves to the next `"`, `\` or control character of a string, and returns it.
    fn skip_plain(&mut self) -> Option<u8> {
        let rest = self.bytes.get(self.at..)?;
        let len = rest
            .iter()
            .position(|&b| matches!(b, b'"' | b'\\' | 0..=0x1f))?;
        self.at += len;
        rest.get(len).copied()
    }

    /// Whitespace, then a string: borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        match self.skip_plain()? {
            b'"' => {
                let text = self.text(start)?;
                self.at += 1;
                return Some(Cow::Borrowed(text));
            }
            b'\\' => {}
            _ => return None, // a control character
        }
        let mut owned = self.text(start)?.to_owned();
        loop {
            let run = self.at;
            self.skip_plain()?;
            owned.push_str(self.text(run)?);
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = self.peek()?;
                    self.at += 1;
                    owned.push(match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => return None, // a control character
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.at.checked_add(4)?;
        let mut value = 0;
        for &digit in self.bytes.get(self.at..end)? {
            value = value * 16 + char::from(digit).to_digit(16)?;
        }
        self.at = end;
        Some(value)
    }

    /// After `\u`: one code point, a surrogate pair counting as one; lone surrogates refused.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                self.literal(b"\\u")?;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            }
            0xDC00..=0xDFFF => None,
            _ => char::from_u32(first),
        }
    }

    /// Whitespace, then a JSON integer that fits a `u64`: no sign, fraction, exponent or
    /// leading zero.
    fn unsigned(&mut self) -> Option<u64> {
        self.skip_whitespace();
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes.get(start) == Some(&b'0');
        if digits == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(value)
    }

    /// Whitespace, then `null` (consumed: `true`) or something else (left: `false`).
    fn null(&mut self) -> bool {
        self.skip_whitespace();
        self.peek() == Some(b'n') && self.literal(b"null").is_some()
    }

    fn nullable_string(&mut self) -> Option<Option<String>> {
        if self.null() {
            return Some(None);
        }
        self.string().map(|s| Some(s.into_owned()))
    }

    fn nullable_unsigned(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        self.unsigned().map(Some)
    }

    /// Whitespace, then a JSON object, read with `serde_json` (app claims are free-form).
    fn object_value(&mut self) -> Option<Map<String, Value>> {
        self.skip_whitespace();
        let start = self.at;
        if self.peek()? != b'{' {
            return None;
        }
        self.skip_value(0)?;
        serde_json::from_str(self.text(start)?).ok()
    }

    /// Whitespace, then any JSON value, checked and skipped.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    if self.eat(b',').is_none() {
                        return self.eat(b'}');
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if self.eat(b',').is_none() {
                        return self.eat(b']');
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// Any JSON number.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

    fn keys() -> Keys {
        Keys::derive(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn identity(iat: u64, exp: u64) -> Identity {
        Identity {
            provider: "twitter".into(),
            user_id: "12345".into(),
            name: Some("jack".into()),
            email: None,
            issued_at: iat,
            expires_at: exp,
            claims: None,
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
        let key = EncodingKey::from_secret(&keys().current().signing_key);
        jsonwebtoken::encode(&jwt_header(), &claims, &key).unwrap()
    }

    #[test]
    fn a_signed_identity_verifies_back_to_itself() {
        let codec = IdentityCodec::new();
        let who = identity(now(), now() + 60);
        let token = codec.sign(&keys(), &who).unwrap();
        assert_eq!(codec.verify(&keys(), &token, now()), Some(who));
    }

    #[test]
    fn expired_tokens_and_tokens_from_the_future_are_refused() {
        let codec = IdentityCodec::new();
        let expired = codec
            .sign(&keys(), &identity(now() - 600, now() - 300))
            .unwrap();
        assert_eq!(codec.verify(&keys(), &expired, now()), None);
        let future = codec
            .sign(&keys(), &identity(now() + 600, now() + 900))
            .unwrap();
        assert_eq!(codec.verify(&keys(), &future, now()), None);
    }

    #[test]
    fn another_key_or_a_flipped_bit_is_refused() {
        let codec = IdentityCodec::new();
        let token = codec.sign(&keys(), &identity(now(), now() + 60)).unwrap();
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        assert_eq!(codec.verify(&other, &token, now()), None);
        let mut bytes = token.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(codec.verify(&keys(), &flipped, now()), None);
    }

    #[test]
    fn claims_of_the_wrong_type_make_the_token_invalid() {
        let codec = IdentityCodec::new();
        let base = serde_json::json!({
            "iss": ISSUER, "aud": IDENTITY_AUDIENCE, "sub": "1", "provider": "twitter",
            "iat": now(), "exp": now() + 60,
        });
        assert!(codec
            .verify(&keys(), &sign_raw(base.clone()), now())
            .is_some());
        for (member, value) in [
            ("email", serde_json::json!(42)),
            ("name", serde_json::json!(["a"])),
            ("exp", serde_json::json!("9999999999")),
            ("iat", serde_json::json!(1.5)),
            ("aud", serde_json::json!("socialauth:flow")),
            ("iss", serde_json::json!("someone-else")),
            ("sub", serde_json::json!("")),
        ] {
            let mut claims = base.clone();
            claims[member] = value;
            assert_eq!(
                codec.verify(&keys(), &sign_raw(claims), now()),
                None,
                "{member}"
            );
        }
    }

    /// A token with this exact header JSON, correctly signed with the layer's key.
    fn sign_with_header(header: &str, claims: &serde_json::Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = keys().current().mac.clone();
        mac.update(signed.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{tag}")
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
        assert!(codec.verify(&keys(), &token, now()).is_some());
        // And tokens the layer signs now verify with `jsonwebtoken`.
        let mine = codec.sign(&keys(), &identity(now(), now() + 60)).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[IDENTITY_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &mine,
            &DecodingKey::from_secret(&keys().current().signing_key),
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
            .verify(&keys(), &sign_with_header(&ours, &claims), now())
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
                codec.verify(&keys(), &sign_with_header(&header, &claims), now()),
                None,
                "{header}"
            );
        }
    }

    #[test]
    fn nbf_duplicates_arrays_and_malformed_parts_are_refused() {
        let codec = IdentityCodec::new();
        let header = r#"{"typ":"JWT","alg":"HS256"}"#;
        let mut later = valid_claims();
        later["nbf"] = serde_json::json!(now() + 600);
        assert_eq!(codec.verify(&keys(), &sign_raw(later), now()), None);
        let mut typed = valid_claims();
        typed["nbf"] = serde_json::json!("0");
        assert_eq!(codec.verify(&keys(), &sign_raw(typed), now()), None);
        let mut earlier = valid_claims();
        earlier["nbf"] = serde_json::json!(now() - 600);
        assert!(codec.verify(&keys(), &sign_raw(earlier), now()).is_some());

        // The same member twice, signed with the key.
        let twice = format!(
            r#"{{"iss":"{ISSUER}","aud":"{IDENTITY_AUDIENCE}","sub":"1","sub":"2","provider":"t","iat":{},"exp":{}}}"#,
            now(),
            now() + 60
        );
        let signed = format!(
            "{}.{}",
            keys().current().header,
            URL_SAFE_NO_PAD.encode(twice.as_bytes())
        );
        let mut mac = keys().current().mac.clone();
        mac.update(signed.as_bytes());
        let token = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(codec.verify(&keys(), &token, now()), None);

        // The claims as an array, member by member.
        let array = serde_json::json!([
            ISSUER,
            IDENTITY_AUDIENCE,
            "1",
            "t",
            null,
            null,
            now(),
            now() + 60
        ]);
        assert_eq!(
            codec.verify(&keys(), &sign_with_header(header, &array), now()),
            None
        );

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
        ] {
            assert_eq!(codec.verify(&keys(), &bad, now()), None, "{bad}");
        }
        // Non-zero trailing bits in the last signature character.
        let last = tag.as_bytes()[tag.len() - 1];
        let sibling = if last == b'A' { 'B' } else { 'A' };
        let bits = format!("{signed}.{}{sibling}", &tag[..tag.len() - 1]);
        assert_eq!(codec.verify(&keys(), &bits, now()), None);
    }

    #[test]
    fn exp_and_iat_are_checked_against_the_clock_with_leeway() {
        let codec = IdentityCodec::new();
        let t = 1_700_000_000;
        let token = codec.sign(&keys(), &identity(t, t + 100)).unwrap();
        assert!(codec
            .verify(&keys(), &token, t + 100 + LEEWAY_SECS)
            .is_some());
        assert_eq!(codec.verify(&keys(), &token, t + 101 + LEEWAY_SECS), None);
        assert!(codec.verify(&keys(), &token, t - LEEWAY_SECS).is_some());
        assert_eq!(codec.verify(&keys(), &token, t - LEEWAY_SECS - 1), None);
    }

    #[test]
    fn a_token_verifies_only_with_the_keys_that_name_its_kid() {
        let codec = IdentityCodec::new();
        let other = Keys::derive(b"another-secret-another-secret-xx").unwrap();
        let mine = codec.sign(&keys(), &identity(now(), now() + 60)).unwrap();
        let theirs = codec.sign(&other, &identity(now(), now() + 60)).unwrap();
        assert_ne!(mine, theirs);
        for _ in 0..2 {
            assert!(codec.verify(&keys(), &mine, now()).is_some());
            assert!(codec.verify(&other, &theirs, now()).is_some());
            assert_eq!(codec.verify(&keys(), &theirs, now()), None);
            assert_eq!(codec.verify(&other, &mine, now()), None);
        }
        assert_eq!(format!("{codec:?}"), "IdentityCodec(REDACTED)");
    }

    #[test]
    fn a_cached_token_answers_what_a_full_verification_answers() {
        let codec = IdentityCodec::new();
        let t = 1_700_000_000;
        let who = identity(t, t + 100);
        let token = codec.sign(&keys(), &who).unwrap();
        // The first verification fills the cache, the next ones hit it.
        for _ in 0..3 {
            assert_eq!(codec.verify(&keys(), &token, t), Some(who.clone()));
        }
        let cache = &codec.verified;
        let hash = cache.hasher.hash_one(token.as_str());
        assert!(matches!(cache.get(hash, &token, t), Cached::Valid(_)));
        // Times are checked on every hit: too early, then too late.
        assert_eq!(codec.verify(&keys(), &token, t - LEEWAY_SECS - 1), None);
        assert_eq!(codec.verify(&keys(), &token, t), Some(who.clone()));
        assert_eq!(codec.verify(&keys(), &token, t + 101 + LEEWAY_SECS), None);
        // An expired hit empties its slot.
        assert!(matches!(cache.get(hash, &token, t), Cached::Unknown));
        // nbf is remembered with the token.
        let mut later = valid_claims();
        later["nbf"] = serde_json::json!(now() + 100);
        later["exp"] = serde_json::json!(now() + 1000);
        let token = sign_raw(later);
        assert_eq!(
            codec.verify(&keys(), &token, now() + 100),
            codec
                .verify_token(&keys(), &token, now() + 100)
                .map(|(i, _)| i)
        );
        assert!(codec.verify(&keys(), &token, now() + 100).is_some());
        assert_eq!(codec.verify(&keys(), &token, now()), None);
    }

    #[test]
    fn only_verified_tokens_enter_the_cache_and_it_stays_bounded() {
        let codec = IdentityCodec::new();
        let good = codec.sign(&keys(), &identity(now(), now() + 60)).unwrap();
        let mut forged = good.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] ^= 1;
        let forged = String::from_utf8(forged).unwrap();
        for _ in 0..2 {
            assert_eq!(codec.verify(&keys(), &forged, now()), None);
        }
        let cache = &codec.verified;
        let hash = cache.hasher.hash_one(forged.as_str());
        assert!(matches!(cache.get(hash, &forged, now()), Cached::Unknown));
        // Many more tokens than slots: every one still verifies, the cache keeps its size.
        for i in 0..(3 * CACHE_SLOTS) {
            let mut who = identity(now(), now() + 60);
            who.user_id = format!("user-{i}");
            let token = codec.sign(&keys(), &who).unwrap();
            assert_eq!(codec.verify(&keys(), &token, now()), Some(who.clone()));
            assert_eq!(codec.verify(&keys(), &token, now()), Some(who));
        }
        assert_eq!(cache.slots.len(), CACHE_SLOTS);
        assert!(codec.verify(&keys(), &good, now()).is_some());
    }

    /// What `serde_json` makes of the claims, with the types the claims have.
    #[derive(serde::Deserialize)]
    struct SerdeClaims<'a> {
        #[serde(borrow)]
        iss: Cow<'a, str>,
        #[serde(borrow)]
        aud: Cow<'a, str>,
        sub: String,
        provider: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        email: Option<String>,
        iat: u64,
        exp: u64,
        #[serde(default)]
        nbf: Option<u64>,
        #[serde(default)]
        app: Option<Map<String, Value>>,
    }

    fn with_serde(json: &[u8]) -> Option<Claims<'_>> {
        if json.first() != Some(&b'{') {
            return None;
        }
        let c: SerdeClaims<'_> = serde_json::from_slice(json).ok()?;
        Some(Claims {
            iss: c.iss,
            aud: c.aud,
            sub: c.sub,
            provider: c.provider,
            name: c.name,
            email: c.email,
            iat: c.iat,
            exp: c.exp,
            nbf: c.nbf,
            app: c.app,
        })
    }

    const SEEDS: [&str; 5] = [
        r#"{"iss":"socialauth","aud":"socialauth:identity","sub":"10001","provider":"facebook","name":"Mark Z","email":"mark@example.com","iat":1777000000,"exp":1777604800}"#,
        r#"{ "iss" : "socialauth" , "aud":"socialauth:identity","sub":"1","provider":"twitter","name":null,"iat":0,"exp":18446744073709551615, "nbf": null, "x": [1, -2.5e+3, {"a": [true, false, null, "\u00e9"]}], "y": {} }"#,
        r#"{"iss":"socialauth","aud":"socialauth:identity","sub":"\u0031\ud83d\ude00\n\t\"\\\/","provider":"tw\u00e9","iat":12,"exp":13,"nbf":5}"#,
        r#"{"\u0069ss":"socialauth","aud":"socialauth:identity","sub":"1","provider":"p","iat":1,"exp":2,"jti":"abc","arr":[]}"#,
        r#"{"iss":"socialauth","aud":"socialauth:identity","sub":"1","provider":"p","email":"é😀","iat":12,"exp":13}"#,
    ];

    #[test]
    fn app_claims_round_trip_and_must_be_an_object() {
        let codec = IdentityCodec::new();
        let mut who = identity(now(), now() + 60);
        let mut claims = Map::new();
        claims.insert("role".into(), serde_json::json!("admin"));
        claims.insert("ids".into(), serde_json::json!([1, 2]));
        who.claims = Some(Arc::new(claims));
        let token = codec.sign(&keys(), &who).unwrap();
        let back = codec.verify(&keys(), &token, now()).unwrap();
        assert_eq!(back.claim("role"), Some(&serde_json::json!("admin")));
        assert_eq!(back, who);
        let mut not_object = valid_claims();
        not_object["app"] = serde_json::json!(["admin"]);
        assert_eq!(codec.verify(&keys(), &sign_raw(not_object), now()), None);
    }

    #[test]
    fn the_claims_parser_reads_what_serde_json_reads() {
        for seed in SEEDS {
            let parsed = Claims::parse(seed.as_bytes());
            assert!(parsed.is_some(), "{seed}");
            assert_eq!(parsed, with_serde(seed.as_bytes()), "{seed}");
        }
        for (json, valid) in [
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2}"#, true),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,"z":{"a":[[[]]]}}"#, true),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2} x"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":01,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1.0,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1e3,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":-1,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":18446744073709551616}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,"exp":3}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,"name":null,"name":"x"}"#, false),
            (r#"{"iss":"a","aud":"b","sub":null,"provider":"d","iat":1,"exp":2}"#, false),
            (r#"{"iss":["a"],"aud":"b","sub":"c","provider":"d","iat":1,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"\ud800","provider":"d","iat":1,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"\q","provider":"d","iat":1,"exp":2}"#, false),
            (r#"{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,"z":nul}"#, false),
            (" {\"iss\":\"a\",\"aud\":\"b\",\"sub\":\"c\",\"provider\":\"d\",\"iat\":1,\"exp\":2}", false),
            ("{\"iss\":\"a\",\"aud\":\"b\",\"sub\":\"c\u{1}\",\"provider\":\"d\",\"iat\":1,\"exp\":2}", false),
        ] {
            assert_eq!(Claims::parse(json.as_bytes()).is_some(), valid, "{json}");
            assert_eq!(with_serde(json.as_bytes()).is_some(), valid, "serde: {json}");
        }
        let deep = format!(
            r#"{{"iss":"a","aud":"b","sub":"c","provider":"d","iat":1,"exp":2,"z":{}{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert_eq!(Claims::parse(deep.as_bytes()), None);
        let bad_utf8 = b"{\"iss\":\"a\",\"aud\":\"b\",\"sub\":\"\xff\",\"provider\":\"d\",\"iat\":1,\"exp\":2}";
        assert_eq!(Claims::parse(bad_utf8), None);
        assert!(with_serde(bad_utf8).is_none());
    }

    /// Random edits of valid claims: the parser and `serde_json` agree on every one, except
    /// that the parser may refuse more inside unknown members (invalid UTF-8, lone surrogates).
    #[test]
    fn the_claims_parser_agrees_with_serde_json_on_mutated_claims() {
        let alphabet: &[u8] =
            b"{}[]\":,\\/ \t\n\r0123456789-+.eEtrufalsn\x00\x1f\x7f\xc3\xa9\xffabuxz";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let mut accepted = 0;
        for round in 0..60_000 {
            let mut json = SEEDS[round % SEEDS.len()].as_bytes().to_vec();
            for _ in 0..1 + next(4) {
                if json.is_empty() {
                    break;
                }
                let at = next(json.len());
                match next(4) {
                    0 => json[at] = alphabet[next(alphabet.len())],
                    1 => json.insert(at, alphabet[next(alphabet.len())]),
                    2 => {
                        json.remove(at);
                    }
                    _ => {
                        let end = (at + 1 + next(12)).min(json.len());
                        let piece = json[at..end].to_vec();
                        let to = next(json.len());
                        json.splice(to..to, piece);
                    }
                }
            }
            let mine = Claims::parse(&json);
            let theirs = with_serde(&json);
            if mine.is_none() && theirs.is_some() {
                let unknown_member_oddity = std::str::from_utf8(&json).is_err()
                    || json.windows(3).any(|w| w == br"\ud" || w == br"\uD");
                assert!(
                    unknown_member_oddity,
                    "refused what serde_json reads: {}",
                    String::from_utf8_lossy(&json)
                );
                continue;
            }
            assert_eq!(mine, theirs, "{}", String::from_utf8_lossy(&json));
            accepted += usize::from(mine.is_some());
        }
        assert!(
            accepted > 1000,
            "too few valid mutations to mean anything: {accepted}"
        );
    }

    #[test]
    fn alg_none_and_oversized_tokens_are_refused() {
        let codec = IdentityCodec::new();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": ISSUER, "aud": IDENTITY_AUDIENCE, "sub": "1",
                "provider": "twitter", "iat": now(), "exp": now() + 60})
            .to_string(),
        );
        assert_eq!(
            codec.verify(&keys(), &format!("{header}.{claims}."), now()),
            None
        );
        assert_eq!(codec.verify(&keys(), &"a.".repeat(5000), now()), None);
    }
}
