//! The token request (RFC 6749 §4.1.3, §6): what it trades for tokens and how the client
//! authenticates, sent once for every code-flow provider.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use url::Url;

use super::client_assertion::ASSERTION_TYPE;
use super::client_auth::{ClientAuth, Credentials};
use super::token_response::{read_answer, TokenResponse};
use crate::error::AuthError;
use crate::outbound::Outbound;
use crate::secret::ClientSecret;

/// `Authorization: Basic` for `client_secret_basic`: RFC 6749 §2.3.1 has the id and the
/// secret form-urlencoded before they are joined with `:` and base64-encoded.
fn basic_credentials(client_id: &str, client_secret: &ClientSecret) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String =
        form_urlencoded::byte_serialize(client_secret.secret().as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

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
        let body = {
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
            let client_id = &self.credentials.client_id;
            match self.auth {
                ClientAuth::Basic => {}
                ClientAuth::Post => {
                    form.append_pair("client_id", client_id)
                        .append_pair("client_secret", self.credentials.client_secret.secret());
                }
                ClientAuth::PrivateKeyJwt { key, .. } => {
                    let assertion = key.assertion(client_id, self.assertion_audience, self.now)?;
                    form.append_pair("client_id", client_id)
                        .append_pair("client_assertion_type", ASSERTION_TYPE)
                        .append_pair("client_assertion", assertion.secret());
                }
                ClientAuth::PublicClient => {
                    form.append_pair("client_id", client_id);
                }
            }
            form.finish()
        };
        let mut request = outbound
            .client()
            .post(self.token_url.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        if matches!(self.auth, ClientAuth::Basic) {
            request = request.header(
                http::header::AUTHORIZATION,
                basic_credentials(&self.credentials.client_id, &self.credentials.client_secret),
            );
        }
        let reply = outbound.send(request.body(body), "token").await?;
        read_answer(self.provider, reply.status, &reply.body, sent_verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_before_base64() {
        // RFC 6749 §2.3.1: "client_id:secret" with each part form-urlencoded.
        let header = basic_credentials("my id", &ClientSecret::new("s3:cr+t/é"));
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+id:s3%3Acr%2Bt%2F%C3%A9");
    }
}
