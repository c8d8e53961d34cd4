//! The tokens cookie: a sign-in's provider tokens, encrypted and authenticated (AES-256-GCM,
//! the `cookie` crate's private jar, under the cookie's name), and bound to that sign-in.

use serde::{Deserialize, Serialize};

use crate::identity::Identity;
use crate::keys::Keys;
use crate::provider::TokenSet;
use crate::session::SessionId;

/// What the cookie holds: the tokens, and the sign-in they belong to.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// The session id of the identity the tokens came with.
    sid: SessionId,
    provider: String,
    tokens: TokenSet,
}

/// The tokens of `identity`'s sign-in, sealed for the cookie `name`; `None` for an identity
/// without a session id.
pub(crate) fn seal(
    keys: &Keys,
    name: &str,
    identity: &Identity,
    tokens: &TokenSet,
) -> Option<String> {
    let sealed = Sealed {
        sid: identity.session_id()?,
        provider: identity.provider().to_owned(),
        tokens: tokens.clone(),
    };
    keys.seal(name, serde_json::to_string(&sealed).ok()?)
}

/// The tokens in a cookie value, when it opens with one of the layer's keys under this name
/// and belongs to `identity`'s sign-in (same session id and provider): a tokens cookie of
/// another user, or of another login of the same user, does not open.
pub(crate) fn open(keys: &Keys, name: &str, value: &str, identity: &Identity) -> Option<TokenSet> {
    let sealed: Sealed = serde_json::from_str(&keys.open(name, value)?).ok()?;
    let same = Some(sealed.sid) == identity.session_id() && sealed.provider == identity.provider();
    same.then_some(sealed.tokens)
}
