//! Reading an identity token: header, signature, then claims, cheapest and least trusting
//! first.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;

use super::claims::{Audience, Claims, Verified, BEARER_AUDIENCE, IDENTITY_AUDIENCE, ISSUER};
use super::MAX_TOKEN_LEN;
use crate::identity::{AuthMethod, Identity, User};
use crate::state::keys::Keys;
use crate::state::session::Session;

/// Length of a base64url HMAC-SHA256 tag without padding.
const SIGNATURE_LEN: usize = 43;
/// Decoded claims up to this size stay on the stack.
const CLAIMS_ON_STACK: usize = 768;

/// Verifies a token's header and signature and reads its claims, checking everything but
/// the times: size, header (so the algorithm), signature, issuer, audience, the claims' types.
/// The token's `nbf` beside, when it has one.
pub(super) fn read(keys: &Keys, token: &[u8]) -> Option<(Verified, Option<u64>)> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    // Exactly `header.claims.signature`, the header one of our keys writes; base64url has no
    // `.`, so a fourth part fails the claims' decoding below.
    let last = memchr::memrchr(b'.', token)?;
    let (signed, signature) = (token.get(..last)?, token.get(last + 1..)?);
    let first = memchr::memchr(b'.', signed)?;
    let (header, claims) = (signed.get(..first)?, signed.get(first + 1..)?);
    let key = keys.by_header(header)?;
    if signature.len() != SIGNATURE_LEN {
        return None;
    }

    // The signature first: nothing the key did not sign reaches the JSON parser.
    let mut tag = [0u8; SIGNATURE_LEN];
    let tag_len = URL_SAFE_NO_PAD.decode_slice(signature, &mut tag).ok()?;
    let mut mac = key.mac.clone();
    mac.update(signed);
    // Constant-time, and refuses a tag of any other length.
    mac.verify_slice(tag.get(..tag_len)?).ok()?;

    // Decoded on the stack when it fits (it does for every identity with a name and an email
    // of ordinary length), else on the heap.
    let mut stack = [0u8; CLAIMS_ON_STACK];
    let mut heap = Vec::new();
    let room = claims.len() / 4 * 3 + 3;
    let buffer = if room <= CLAIMS_ON_STACK {
        stack.get_mut(..room)?
    } else {
        heap.resize(room, 0);
        heap.as_mut_slice()
    };
    let json_len = URL_SAFE_NO_PAD.decode_slice(claims, buffer).ok()?;
    let json = buffer.get(..json_len)?;
    // An object, from the first byte: serde's derived code would also read an array,
    // member by member, and this crate writes neither arrays nor whitespace.
    if json.first() != Some(&b'{') {
        return None;
    }
    // UTF-8 checked once for the whole text, which `serde_json` then reads as a `str`
    // (from bytes, it checks each string on its own, at several times the cost).
    let json = std::str::from_utf8(json).ok()?;
    let claims: Claims<'_> = serde_json::from_str(json).ok()?;
    let audience = match claims.aud.as_ref() {
        IDENTITY_AUDIENCE => Audience::Cookie,
        BEARER_AUDIENCE => Audience::Bearer,
        _ => return None,
    };
    if claims.iss != ISSUER || claims.sub.is_empty() {
        return None;
    }
    let session = match (claims.sid, claims.auth_ms) {
        (Some(id), Some(started_ms)) => Some(Session { id, started_ms }),
        (None, None) => None,
        _ => return None,
    };
    // The strings are borrowed from the decoded JSON (copied once, into the user's one
    // allocation) unless they had escapes.
    let user = User::from_parts(
        &claims.provider,
        &claims.sub,
        claims.name.as_deref(),
        claims.email.as_deref(),
        claims.app.map(Cow::into_owned),
        session,
    )
    .with_provider_session(claims.psid)
    .with_method(match audience {
        Audience::Cookie => AuthMethod::Cookie,
        Audience::Bearer => AuthMethod::BearerToken,
    })
    .build()?;
    let verified = Verified {
        identity: Identity {
            user,
            issued_at: claims.iat,
            expires_at: claims.exp,
        },
        audience,
    };
    Some((verified, claims.nbf))
}
