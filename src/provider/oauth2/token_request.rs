//! The token request (RFC 6749 §4.1.3, §6): what it trades for tokens and how the client
//! authenticates, sent once for every code-flow provider.

use url::Url;

use super::client_auth::{authenticate, form_post, ClientAuth, Credentials};
use super::token_response::{read_answer, TokenResponse};
use crate::error::AuthError;
use crate::outbound::Outbound;

/// What a token request trades for tokens: its `grant_type` and that grant's parameters.
pub(crate) enum GrantType<'a> {
    /// An authorization code (RFC 6749 §4.1.3), with the redirect URI and, when the login
    /// used PKCE, its verifier.
    AuthorizationCode {
        redirect_uri: &'a str,
        code: &'a str,
        verifier: Option<&'a str>,
    },
    /// A refresh token (RFC 6749 §6).
    RefreshToken {
        refresh_token: &'a crate::secret::RefreshToken,
    },
}

/// A request to a token endpoint, with the client's authentication.
pub(crate) struct TokenRequest<'a> {
    /// The provider's route name, for logs.
    pub(crate) provider: &'a str,
    pub(crate) token_url: &'a Url,
    pub(crate) credentials: &'a Credentials,
    pub(crate) auth: &'a ClientAuth,
    /// The `aud` of a client assertion ([`ClientAuth::PrivateKeyJwt`]): the token endpoint
    /// or the issuer.
    pub(crate) assertion_audience: &'a str,
    /// The time, for a client assertion's `iat` and `exp`.
    pub(crate) now: u64,
    pub(crate) grant: GrantType<'a>,
}

impl TokenRequest<'_> {
    /// Sends the request. An `error` member is the provider refusing the grant
    /// (`login_failed`), with status 200 as well (GitHub answers so); a 5xx, HTML, garbage or
    /// a token of another type than `Bearer` (in any case) is a provider error.
    pub(crate) async fn send(self, outbound: &Outbound) -> Result<TokenResponse, AuthError> {
        let sent_verifier = matches!(
            self.grant,
            GrantType::AuthorizationCode {
                verifier: Some(_),
                ..
            }
        );
        let (body, basic) = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            match self.grant {
                GrantType::AuthorizationCode {
                    redirect_uri,
                    code,
                    verifier,
                } => {
                    form.append_pair("grant_type", "authorization_code")
                        .append_pair("code", code)
                        .append_pair("redirect_uri", redirect_uri);
                    if let Some(verifier) = verifier {
                        form.append_pair("code_verifier", verifier);
                    }
                }
                GrantType::RefreshToken { refresh_token } => {
                    form.append_pair("grant_type", "refresh_token")
                        .append_pair("refresh_token", refresh_token.secret());
                }
            };
            let basic = authenticate(
                self.auth,
                self.credentials,
                self.assertion_audience,
                self.now,
                &mut form,
            )?;
            (form.finish(), basic)
        };
        let request = form_post(outbound, self.token_url.clone(), body, basic);
        let reply = outbound.send(request, "token").await?;
        read_answer(self.provider, reply.status, &reply.body, sent_verifier)
    }
}
