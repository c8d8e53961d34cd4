//! "Sign in with Apple": the [`Oidc`] provider preset for `https://appleid.apple.com`, with
//! the client secret the layer signs and the callback Apple posts.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::error::{AuthError, ConfigError};
use crate::oauth2::signed_secret::{SecretClaims, SignedSecret};
use crate::oauth2::ClientAuth;
use crate::outbound::{Outbound, OutboundLimits};
use crate::provider::{endpoint, CallbackParams, Oidc, Provider};
use crate::secret::PrivateKeyPem;

const ISSUER: &str = "https://appleid.apple.com";

/// Sign in with Apple, over OpenID Connect.
///
/// `Apple::new(services_id, team_id, key_id, private_key_p8_pem)`: Apple's client secret is
/// an ES256 JWT (`kid` the key id, `iss` the team id, `sub` the Services ID, `aud`
/// `https://appleid.apple.com`), which the layer signs itself from the `.p8` key, keeps, and
/// signs anew a day later: there is no secret to paste and none that silently expires. A
/// key that is not a P-256 PKCS#8 PEM is a [`ConfigError`] when the layer is built.
///
/// Apple answers with `response_mode=form_post` (it requires it when `name` or `email` is
/// asked for): the callback is a cross-site `POST` to `/auth/apple`, on which browsers do not
/// send the flow cookie (`SameSite=Lax`). The layer answers that `POST` with a tiny page of
/// its own that posts the same fields again to the same route, now same-site, so the cookie
/// is sent; the flow cookie keeps `SameSite=Lax`. Form bodies are accepted only on routes of
/// providers that use `form_post`, up to 16 KiB.
///
/// The ID token is verified like any OpenID Connect one (Apple's JWKS, `iss`, `aud` = the
/// Services ID, `nonce`); `email_verified` may be a string or a boolean. The `user` field
/// Apple posts on a user's first login only is unsigned: it is used for the display name
/// only, never for identity. Apple's relay addresses (`is_private_email`) are verified
/// addresses and are passed on as such.
///
/// Set-up at Apple: in "Certificates, Identifiers & Profiles", create an App ID with "Sign in
/// with Apple", a Services ID (the client id) with "Sign in with Apple" configured for your
/// domain and the return URL `https://<your host>/auth/apple`, and a key with "Sign in with
/// Apple" (download the `.p8` file once; note its key id). The team id is shown in the top
/// right corner of the developer account.
///
/// Checked on 2026-12-06 against
/// <https://developer.apple.com/documentation/signinwithapplerestapi/generate-and-validate-tokens>
/// and <https://developer.apple.com/documentation/signinwithapplerestapi>.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let p8 = String::new();
/// // let p8 = std::fs::read_to_string("AuthKey_ABC123DEFG.p8")?;
/// let apple = socialauth::Apple::new("com.example.web", "TEAM123456", "ABC123DEFG", p8);
/// # let _ = apple;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Apple {
    oidc: Oidc,
    team_id: String,
    key_id: String,
    private_key: PrivateKeyPem,
}

impl Apple {
    /// An Apple provider for the Services ID (the client id), with the team id, the key id
    /// and the `.p8` private key's PEM text.
    pub fn new(
        services_id: impl Into<String>,
        team_id: impl Into<String>,
        key_id: impl Into<String>,
        private_key_p8_pem: impl Into<String>,
    ) -> Self {
        let mut oidc = Oidc::new(ISSUER, services_id, "")
            .name("apple")
            .client_auth(ClientAuth::Post)
            .allowed_algorithms(&[Algorithm::RS256])
            .userinfo(false);
        oidc.config.scope = "openid name email".to_owned();
        oidc.form_post = true;
        oidc.pass_refresh_token = true;
        oidc.callback_name = Some(name_from_user_field);
        Self {
            oidc,
            team_id: team_id.into(),
            key_id: key_id.into(),
            private_key: PrivateKeyPem::new(private_key_p8_pem),
        }
    }

    /// Another issuer URL in place of `https://appleid.apple.com`. For tests.
    ///
    /// ```
    /// # let p8 = String::new();
    /// let p = socialauth::Apple::new("id", "team", "key", p8).issuer_url("http://127.0.0.1:9000");
    /// # let _ = p;
    /// ```
    pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
        self.oidc.set_issuer(issuer);
        self
    }

    fn signer(&self) -> Result<SignedSecret, ConfigError> {
        let claims = SecretClaims {
            key_id: self.key_id.clone(),
            issuer: self.team_id.clone(),
            subject: self.oidc.config.client_id.clone(),
            audience: ISSUER.to_owned(),
        };
        SignedSecret::new("apple private_key", self.private_key.secret(), claims)
    }

    /// A client for Apple's token revocation (`/auth/revoke`), which App Store rules require
    /// when a user deletes their account. Fails like the layer's build on a malformed key.
    ///
    /// The token to revoke is Apple's refresh token, which the
    /// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook receives as
    /// [`UserProfile::refresh_token`](crate::UserProfile::refresh_token) at each login: keep
    /// it with the user's account (as a secret), and revoke it when the account is deleted.
    pub fn revocation(&self) -> Result<AppleRevocation, ConfigError> {
        let limits = OutboundLimits {
            timeout: Duration::from_secs(10),
            max_body: 64 * 1024,
        };
        let issuer = self.oidc.issuer().trim_end_matches('/');
        Ok(AppleRevocation {
            client_id: self.oidc.config.client_id.clone(),
            signer: self.signer()?,
            url: endpoint("apple issuer", &format!("{issuer}/auth/revoke"))?,
            outbound: Outbound::new(limits).map_err(|e| ConfigError::HttpClient(e.to_string()))?,
        })
    }
}

code_flow_setters!(Apple.oidc.config, name: "apple", scope: "openid name email",
    "Must hold `openid`; Apple knows `name` and `email`.");

impl From<Apple> for Provider {
    fn from(apple: Apple) -> Self {
        let signer = match apple.signer() {
            Ok(signer) => signer,
            Err(error) => return Provider::failed(error),
        };
        let mut oidc = apple.oidc;
        oidc.signed_secret = Some(Arc::new(signer));
        Provider::from(oidc)
    }
}

/// Revokes a user's tokens at Apple; made by [`Apple::revocation`].
#[derive(Debug)]
pub struct AppleRevocation {
    client_id: String,
    signer: SignedSecret,
    url: url::Url,
    outbound: Outbound,
}

impl AppleRevocation {
    /// Revokes `token`, a refresh token (`token_type_hint` `refresh_token`) or an access
    /// token (`access_token`) Apple issued to this Services ID. Apple answers 200 for a token
    /// it does not know too.
    pub async fn revoke(&self, token: &str, token_type_hint: &str) -> Result<(), AuthError> {
        let now = crate::clock::system_now();
        let secret = self.signer.at(now)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", secret.secret())
            .append_pair("token", token)
            .append_pair("token_type_hint", token_type_hint)
            .finish();
        let request = self
            .outbound
            .client()
            .post(self.url.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let reply = self.outbound.send(request, "apple_revoke").await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            tracing::warn!(
                status = reply.status.as_u16(),
                "Apple refused to revoke a token"
            );
            Err(AuthError::provider(
                "the provider refused to revoke the token",
            ))
        }
    }
}

/// The display name from Apple's `user` field (`{"name":{"firstName":..,"lastName":..}}`).
fn name_from_user_field(params: &CallbackParams) -> Option<String> {
    #[derive(Deserialize)]
    struct User {
        name: Option<Name>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Name {
        first_name: Option<String>,
        last_name: Option<String>,
    }
    let user: User = serde_json::from_str(params.get("user")?).ok()?;
    let name = user.name?;
    let parts: Vec<String> = [name.first_name, name.last_name]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect();
    Some(parts.join(" ")).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::signed_secret::tests::test_p8;

    #[test]
    fn apple_defaults_and_a_malformed_key_at_build() {
        let apple = Apple::new("com.example.web", "TEAM", "KEY", test_p8());
        assert_eq!(apple.oidc.issuer(), "https://appleid.apple.com");
        assert_eq!(apple.oidc.config.scope, "openid name email");
        assert!(apple.oidc.form_post);
        assert_eq!(
            apple.revocation().unwrap().url.as_str(),
            "https://appleid.apple.com/auth/revoke"
        );
        assert!(Provider::from(apple).built.is_ok());
        let broken = Provider::from(Apple::new("id", "TEAM", "KEY", "not a key"));
        assert!(matches!(
            broken.built,
            Err(ConfigError::InvalidSetting {
                setting: "apple private_key",
                ..
            })
        ));
    }

    #[test]
    fn the_user_field_gives_only_a_name() {
        let params = |user: &str| {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("user", user)
                .finish();
            CallbackParams::parse(&query).unwrap()
        };
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@y.z"}"#;
        assert_eq!(
            name_from_user_field(&params(user)).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(name_from_user_field(&params("not json")), None);
        assert_eq!(name_from_user_field(&params(r#"{"email":"x@y.z"}"#)), None);
    }

    #[test]
    fn debug_hides_the_key() {
        let pem = test_p8();
        let debug = format!("{:?}", Apple::new("id", "team", "key", pem.clone()));
        assert!(!debug.contains(pem.lines().nth(1).unwrap()), "{debug}");
    }
}
