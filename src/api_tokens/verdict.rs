//! [`Verdict`]: what the layer concluded about a provider access token, and the
//! [`Identity`] a valid one gives, after the app's authorize hook had its say.

use std::sync::Arc;

use crate::hook::{AuthorizeHook, UserProfile};
use crate::identity::{AuthMethod, Identity, TokenGrant, User};
use crate::provider::access_token::TokenFacts;

/// What a request carrying a provider access token gets.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// The token is valid: this identity.
    Valid(Identity),
    /// The token is not valid here (or not a token at all).
    Invalid,
    /// The token is valid, and the app's authorize hook refused its user, with this message.
    Denied(Arc<str>),
    /// The provider could not be asked: the token is neither valid nor invalid.
    Unavailable,
}

impl Verdict {
    /// Whether the verdict admits the token.
    pub(crate) fn admits(&self) -> bool {
        matches!(self, Verdict::Valid(_))
    }

    /// The verdict on a token whose `facts` the provider `provider` established: the
    /// identity, unless the app's `hook` denies it. `now` stands in for a missing `iat`.
    pub(crate) async fn admit(
        provider: &str,
        facts: TokenFacts,
        hook: Option<&AuthorizeHook>,
        now: u64,
    ) -> Verdict {
        let grant = TokenGrant {
            client_id: facts.client_id,
            scopes: facts.scopes,
        };
        let claims = match hook {
            None => None,
            Some(hook) => {
                let profile = UserProfile {
                    provider: provider.to_owned(),
                    user_id: facts.subject.clone(),
                    name: facts.name.clone(),
                    email: facts.email.clone(),
                    claims: facts.claims,
                    refresh_token: None,
                    tokens: None,
                    provider_session: None,
                    grant: Some(grant.clone()),
                };
                match (hook.0)(profile).await {
                    Ok(granted) => Some(granted.claims).filter(|claims| !claims.is_empty()),
                    Err(denied) => {
                        tracing::debug!(provider, "access token's user denied by the app");
                        return Verdict::Denied(Arc::from(denied.message.as_ref()));
                    }
                }
            }
        };
        let built = User::from_parts(
            provider,
            &facts.subject,
            facts.name.as_deref(),
            facts.email.as_deref(),
            claims,
            None,
        )
        .with_method(AuthMethod::ProviderAccessToken)
        .with_grant(Some(grant))
        .build();
        // Longer than any identity token holds: no layer would accept such a user.
        let Some(user) = built else {
            tracing::debug!(provider, "access token's user too large");
            return Verdict::Invalid;
        };
        Verdict::Valid(Identity {
            user,
            issued_at: facts.issued_at.unwrap_or(now).min(now),
            expires_at: facts.expires_at,
        })
    }
}
