//! The OAuth 2.0 authorization-code flow with PKCE (RFC 6749, RFC 7636), shared by the
//! OAuth 2.0 and OpenID Connect providers: the authorization request, the callback's key,
//! the token request with either kind of client authentication, and JSON API calls made
//! with the access token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use url::Url;

use super::{CallbackKey, CallbackParams, Started};
use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::outbound::Outbound;
use crate::random::{pkce_challenge, random_token};
use crate::secret::Secret;

/// How the client authenticates itself to the token endpoint (RFC 6749 §2.3.1).
///
/// ```
/// use socialauth::{ClientAuth, OAuth2};
/// let provider = OAuth2::new("corp", "client-id", "client-secret").client_auth(ClientAuth::Post);
/// # let _ = provider;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic authentication, the id and the secret each
    /// form-urlencoded first, as RFC 6749 §2.3.1 requires. The default, and the method every
    /// authorization server must support.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the request body, for servers
    /// that do not take Basic authentication (Facebook, GitHub).
    Post,
}

/// Authorization-request parameters the flow sets itself; configuring one of them is a
/// [`ConfigError`]. `response_mode` is here because the callback route answers `GET` only,
/// and `request`/`request_uri` because they could replace every other parameter.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "response_mode",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
];

/// Checks extra authorization parameters: a non-empty name, none the flow sets itself.
pub(crate) fn check_authorize_params(
    setting: &'static str,
    params: &[(String, String)],
) -> Result<(), ConfigError> {
    for (name, _) in params {
        if name.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting,
                reason: "a parameter name is empty",
            });
        }
        if RESERVED_AUTHORIZE_PARAMS.contains(&name.as_str()) {
            return Err(ConfigError::InvalidSetting {
                setting,
                reason: "state, nonce, PKCE, scope, client_id, redirect_uri, response_type, \
                         response_mode, request and request_uri are set by the login flow",
            });
        }
    }
    Ok(())
}

/// Checks that a client id is configured.
pub(crate) fn check_client_id(setting: &'static str, client_id: &str) -> Result<(), ConfigError> {
    if client_id.is_empty() {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "must not be empty",
        });
    }
    Ok(())
}

/// The authorization request: where to send the browser, with a fresh `state` and PKCE pair.
pub(crate) struct AuthorizeRequest<'a> {
    pub(crate) authorize_url: Url,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    /// Omitted from the request when empty.
    pub(crate) scope: &'a str,
}

impl AuthorizeRequest<'_> {
    /// Builds the redirect; the flow cookie keeps `state` and the PKCE verifier.
    pub(crate) fn start(self) -> Result<Started, AuthError> {
        self.start_with(&[], false)
    }

    /// Builds the redirect with `extra` parameters (checked by [`check_authorize_params`])
    /// and, when `with_nonce`, a fresh OpenID Connect `nonce`, returned in
    /// [`Started::nonce`] for the flow cookie.
    pub(crate) fn start_with(
        self,
        extra: &[(String, String)],
        with_nonce: bool,
    ) -> Result<Started, AuthError> {
        let state = random_token()?;
        let verifier = random_token()?;
        let nonce = if with_nonce {
            Some(random_token()?)
        } else {
            None
        };
        let mut url = self.authorize_url;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri);
            if !self.scope.is_empty() {
                query.append_pair("scope", self.scope);
            }
            query
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            if let Some(nonce) = &nonce {
                query.append_pair("nonce", nonce);
            }
            for (name, value) in extra {
                query.append_pair(name, value);
            }
        }
        Ok(Started {
            redirect_to: url.into(),
            key: state,
            secret: Secret::new(verifier),
            nonce,
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

/// The token request (RFC 6749 §4.1.3) with the PKCE verifier.
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
    /// The OpenID Connect ID token, when the provider sent one.
    pub(crate) id_token: Option<Secret>,
}

/// A token response. Every member has a fixed JSON type: one of another type makes the
/// answer unusable (a provider error), never silently absent.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The RFC 6749 §5.2 error codes, plus GitHub's, which alone may appear in logs (anything
/// else a provider writes there is logged as `other`).
const KNOWN_TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "bad_verification_code",
    "incorrect_client_credentials",
    "redirect_uri_mismatch",
];

fn loggable_error(error: &serde_json::Value) -> &'static str {
    error
        .as_str()
        .and_then(|code| KNOWN_TOKEN_ERRORS.iter().find(|known| **known == code))
        .copied()
        .unwrap_or("other")
}

/// `Authorization: Basic` for `client_secret_basic`: RFC 6749 §2.3.1 has the id and the
/// secret form-urlencoded before they are joined with `:` and base64-encoded.
fn basic_credentials(client_id: &str, client_secret: &Secret) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String =
        form_urlencoded::byte_serialize(client_secret.expose().as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

impl TokenRequest<'_> {
    /// Exchanges the code, the client authenticated in the body (`client_secret_post`).
    pub(crate) async fn exchange(self, outbound: &Outbound) -> Result<AccessToken, AuthError> {
        self.exchange_with(outbound, ClientAuth::Post).await
    }

    /// Exchanges the code. An `error` member is the provider refusing the code
    /// (`login_failed`), with status 200 as well (GitHub answers so); a 5xx, HTML, garbage or
    /// a token of another type than `Bearer` is a provider error.
    pub(crate) async fn exchange_with(
        self,
        outbound: &Outbound,
        auth: ClientAuth,
    ) -> Result<AccessToken, AuthError> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", self.code)
                .append_pair("redirect_uri", self.redirect_uri)
                .append_pair("code_verifier", self.verifier.expose());
            if auth == ClientAuth::Post {
                form.append_pair("client_id", self.client_id)
                    .append_pair("client_secret", self.client_secret.expose());
            }
            form.finish()
        };
        let mut request = outbound
            .client()
            .post(self.token_url)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json");
        if auth == ClientAuth::Basic {
            request = request.header(
                http::header::AUTHORIZATION,
                basic_credentials(self.client_id, self.client_secret),
            );
        }
        let reply = outbound.send(request.body(body), "token").await?;
        let parsed: Option<TokenResponse> = serde_json::from_slice(&reply.body).ok();
        match parsed {
            Some(TokenResponse {
                error: Some(error), ..
            }) if !error.is_null() && matches!(reply.status.as_u16(), 200 | 400 | 401) => {
                tracing::warn!(
                    status = reply.status.as_u16(),
                    error = loggable_error(&error),
                    "token endpoint refused the code"
                );
                Err(AuthError::new(
                    AuthErrorKind::LoginFailed,
                    "the provider refused to complete the login; start it again",
                ))
            }
            Some(TokenResponse {
                access_token: Some(token),
                token_type,
                id_token,
                error: None | Some(serde_json::Value::Null),
            }) if reply.status.is_success() && !token.is_empty() => {
                let bearer = token_type.is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
                if !bearer {
                    tracing::warn!("token endpoint issued a token that is not a bearer token");
                    return Err(AuthError::provider(
                        "the provider issued a token of an unknown type",
                    ));
                }
                tracing::debug!("code exchanged for an access token");
                Ok(AccessToken {
                    token: Secret::new(token),
                    id_token: id_token.map(Secret::new),
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

/// A `GET` of a JSON API with the access token (`Authorization: Bearer`), e.g. a userinfo
/// endpoint. A non-2xx status, or anything but a JSON object, is a provider error.
pub(crate) async fn get_json(
    outbound: &Outbound,
    url: Url,
    token: &Secret,
    accept: &'static str,
    extra_headers: &[(&'static str, &'static str)],
    endpoint: &'static str,
) -> Result<serde_json::Value, AuthError> {
    let reply = get(outbound, url, token, accept, extra_headers, endpoint).await?;
    if !reply.status.is_success() {
        tracing::warn!(
            endpoint,
            status = reply.status.as_u16(),
            "profile endpoint failed"
        );
        return Err(AuthError::provider(
            "the provider's profile endpoint failed",
        ));
    }
    let value: serde_json::Value = reply.json()?;
    if !value.is_object() {
        return Err(AuthError::provider(
            "the provider's answer is not the expected JSON",
        ));
    }
    Ok(value)
}

/// A `GET` with the access token, any status returned.
pub(crate) async fn get(
    outbound: &Outbound,
    url: Url,
    token: &Secret,
    accept: &'static str,
    extra_headers: &[(&'static str, &'static str)],
    endpoint: &'static str,
) -> Result<crate::outbound::Reply, AuthError> {
    let mut request = outbound
        .client()
        .get(url)
        .bearer_auth(token.expose())
        .header(http::header::ACCEPT, accept);
    for (name, value) in extra_headers {
        request = request.header(*name, *value);
    }
    outbound.send(request, endpoint).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_before_base64() {
        // RFC 6749 §2.3.1: "client_id:secret" with each part form-urlencoded.
        let header = basic_credentials("my id", &Secret::new("s3:cr+t/é"));
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+id:s3%3Acr%2Bt%2F%C3%A9");
    }

    #[test]
    fn reserved_authorize_params_are_refused() {
        let ok = vec![("prompt".to_owned(), "consent".to_owned())];
        assert!(check_authorize_params("x", &ok).is_ok());
        for name in [
            "state",
            "nonce",
            "code_challenge",
            "redirect_uri",
            "response_mode",
            "",
        ] {
            let params = vec![(name.to_owned(), "v".to_owned())];
            assert!(check_authorize_params("x", &params).is_err(), "{name}");
        }
    }

    #[test]
    fn the_authorize_url_carries_state_pkce_nonce_and_extras() {
        let started = AuthorizeRequest {
            authorize_url: Url::parse("https://idp.example/authorize?tenant=a").unwrap(),
            client_id: "cid",
            redirect_uri: "https://app.example/auth/x",
            scope: "",
        }
        .start_with(&[("prompt".to_owned(), "consent".to_owned())], true)
        .unwrap();
        let url = Url::parse(&started.redirect_to).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("tenant"), Some("a"));
        assert_eq!(get("scope"), None, "an empty scope is left out");
        assert_eq!(get("prompt"), Some("consent"));
        assert_eq!(get("state"), Some(started.key.as_str()));
        assert_eq!(get("nonce"), started.nonce.as_deref());
        assert!(started.nonce.is_some());
        assert_eq!(
            get("code_challenge").map(str::to_owned),
            Some(pkce_challenge(started.secret.expose()))
        );
    }

    #[test]
    fn only_known_error_codes_reach_the_logs() {
        assert_eq!(
            loggable_error(&serde_json::json!("invalid_grant")),
            "invalid_grant"
        );
        assert_eq!(loggable_error(&serde_json::json!("<script>")), "other");
        assert_eq!(loggable_error(&serde_json::json!({"code": 1})), "other");
    }
}
