//! The OAuth 2.0 authorization-code flow with PKCE (RFC 6749, RFC 7636), shared by the
//! OAuth 2.0 presets.

use serde::Deserialize;
use url::Url;

use super::{CallbackKey, CallbackParams, Started};
use crate::error::{AuthError, AuthErrorKind};
use crate::outbound::Outbound;
use crate::random::{pkce_challenge, random_token};
use crate::secret::Secret;

/// The authorization request: where to send the browser, with a fresh `state` and PKCE pair.
pub(crate) struct AuthorizeRequest<'a> {
    pub(crate) authorize_url: Url,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) scope: &'a str,
}

impl AuthorizeRequest<'_> {
    /// Builds the redirect; the flow cookie keeps `state` and the PKCE verifier.
    pub(crate) fn start(self) -> Result<Started, AuthError> {
        let state = random_token()?;
        let verifier = random_token()?;
        let mut url = self.authorize_url;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", self.redirect_uri)
            .append_pair("scope", self.scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(Started {
            redirect_to: url.into(),
            key: state,
            secret: Secret::new(verifier),
            nonce: None,
        })
    }
}

/// Reads `state`, or the provider's `error`, from an authorization response.
pub(crate) fn callback_key(params: &CallbackParams) -> Result<CallbackKey<'_>, AuthError> {
    let state = params.get("state").filter(|s| !s.is_empty());
    if let Some(error) = params.get("error") {
        return Ok(CallbackKey::Refused {
            key: state,
            by_user: error == "access_denied",
        });
    }
    state
        .map(CallbackKey::Continue)
        .ok_or_else(|| AuthError::invalid_request("the callback has no state parameter"))
}

/// The token request (RFC 6749 §4.1.3), client authenticated in the body
/// (`client_secret_post`), with the PKCE verifier.
pub(crate) struct TokenRequest<'a> {
    pub(crate) token_url: Url,
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a Secret,
    pub(crate) redirect_uri: &'a str,
    pub(crate) code: &'a str,
    pub(crate) verifier: &'a Secret,
}

/// A successful token response; only what the layer uses.
#[derive(Debug)]
pub(crate) struct AccessToken {
    pub(crate) token: Secret,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

impl TokenRequest<'_> {
    /// Exchanges the code. A refusal by the provider (`invalid_grant`, a used code) is
    /// `login_failed`; anything else unexpected is a provider error.
    pub(crate) async fn exchange(self, outbound: &Outbound) -> Result<AccessToken, AuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", self.code),
            ("redirect_uri", self.redirect_uri),
            ("client_id", self.client_id),
            ("client_secret", self.client_secret.expose()),
            ("code_verifier", self.verifier.expose()),
        ];
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = outbound
            .client()
            .post(self.token_url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body);
        let reply = outbound.send(request, "token").await?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&reply.body).ok();
        let refused = || {
            AuthError::new(
                AuthErrorKind::LoginFailed,
                "the provider refused to complete the login; start it again",
            )
        };
        match parsed {
            Some(TokenResponse { error: Some(_), .. })
                if reply.status.is_client_error() || reply.status.is_success() =>
            {
                tracing::warn!(
                    status = reply.status.as_u16(),
                    "token endpoint refused the code"
                );
                Err(refused())
            }
            Some(TokenResponse {
                access_token: Some(token),
                token_type,
                error: None,
            }) if reply.status.is_success() && !token.is_empty() => {
                let bearer = token_type.is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
                if !bearer {
                    return Err(AuthError::provider(
                        "the provider issued a token of an unknown type",
                    ));
                }
                Ok(AccessToken {
                    token: Secret::new(token),
                })
            }
            _ => {
                tracing::warn!(
                    status = reply.status.as_u16(),
                    "token endpoint gave an unusable answer"
                );
                Err(AuthError::provider("the provider's token endpoint failed"))
            }
        }
    }
}
