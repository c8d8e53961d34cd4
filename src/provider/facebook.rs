//! "Log in with Facebook": OAuth 2.0 with `state` and PKCE, user from the Graph API.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::oauth2::{self, AuthorizeRequest, TokenRequest};
use super::{
    check_name, checked_endpoint, endpoint, BoxFuture, CallbackKey, CallbackParams, FlowContext,
    Profile, Provider, ProviderFlow, Started,
};
use crate::error::{AuthError, ConfigError};
use crate::flow::FlowState;
use crate::secret::Secret;

/// The Graph API version used unless [`Facebook::api_version`] says otherwise.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v21.0";

/// Facebook login over OAuth 2.0.
///
/// Answers at `/auth/facebook`. Sends `state` and PKCE (S256) with every login, exchanges
/// the code with the PKCE verifier, and reads `/me?fields=id,name,email` with
/// `appsecret_proof`, so the app can turn on "Require App Secret" in its settings.
///
/// ```
/// use socialauth::Facebook;
/// let facebook = Facebook::new("app-id", "app-secret").api_version("v21.0");
/// # let _ = facebook;
/// ```
#[derive(Debug, Clone)]
pub struct Facebook {
    name: String,
    app_id: String,
    app_secret: Secret,
    api_version: String,
    scope: String,
    dialog_base_url: String,
    graph_base_url: String,
}

impl Facebook {
    /// A Facebook provider with the app's id and secret.
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            name: "facebook".to_owned(),
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
            api_version: DEFAULT_GRAPH_API_VERSION.to_owned(),
            scope: "public_profile,email".to_owned(),
            dialog_base_url: "https://www.facebook.com".to_owned(),
            graph_base_url: "https://graph.facebook.com".to_owned(),
        }
    }

    /// The route name (default `facebook`): the provider answers at `/auth/<name>`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The Graph API version, e.g. `"v21.0"` (default [`DEFAULT_GRAPH_API_VERSION`]).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// The permissions asked for, comma-separated (default `public_profile,email`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Where the login dialog lives (default `https://www.facebook.com`). For tests.
    pub fn dialog_base_url(mut self, url: impl Into<String>) -> Self {
        self.dialog_base_url = url.into();
        self
    }

    /// Where the Graph API lives (default `https://graph.facebook.com`). For tests.
    pub fn graph_base_url(mut self, url: impl Into<String>) -> Self {
        self.graph_base_url = url.into();
        self
    }

    fn dialog_url(&self) -> String {
        let base = self.dialog_base_url.trim_end_matches('/');
        format!("{base}/{}/dialog/oauth", self.api_version)
    }

    fn graph_url(&self, path: &str) -> String {
        let base = self.graph_base_url.trim_end_matches('/');
        format!("{base}/{}/{path}", self.api_version)
    }

    /// `appsecret_proof`: HMAC-SHA256 of the access token keyed by the app secret, in hex.
    fn appsecret_proof(&self, access_token: &str) -> Result<String, AuthError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.app_secret.expose().as_bytes())
            .map_err(|_| AuthError::internal("could not key the appsecret_proof"))?;
        mac.update(access_token.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    async fn complete(
        &self,
        cx: FlowContext<'_>,
        params: &CallbackParams,
        flow: FlowState,
    ) -> Result<Profile, AuthError> {
        let code = params.require("code", "the callback has no code")?;
        let access = TokenRequest {
            token_url: checked_endpoint(
                "facebook token url",
                &self.graph_url("oauth/access_token"),
            )?,
            client_id: &self.app_id,
            client_secret: &self.app_secret,
            redirect_uri: cx.callback_url,
            code,
            verifier: &flow.secret,
        }
        .exchange(cx.outbound)
        .await?;
        self.me(cx, &access.token).await
    }

    async fn me(&self, cx: FlowContext<'_>, token: &Secret) -> Result<Profile, AuthError> {
        #[derive(Deserialize)]
        struct Me {
            id: String,
            name: Option<String>,
            email: Option<String>,
        }
        let mut url = checked_endpoint("facebook graph url", &self.graph_url("me"))?;
        url.query_pairs_mut()
            .append_pair("fields", "id,name,email")
            .append_pair("appsecret_proof", &self.appsecret_proof(token.expose())?);
        let request = cx.outbound.client().get(url).bearer_auth(token.expose());
        let reply = cx.outbound.send(request, "graph_me").await?;
        if !reply.status.is_success() {
            return Err(AuthError::provider(
                "the provider's profile endpoint failed",
            ));
        }
        let me: Me = reply.json()?;
        if me.id.is_empty() {
            return Err(AuthError::provider("the provider's profile has no id"));
        }
        Ok(Profile {
            user_id: me.id,
            name: me.name.filter(|n| !n.is_empty()),
            email: me.email.filter(|e| !e.is_empty()),
        })
    }
}

impl ProviderFlow for Facebook {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), ConfigError> {
        check_name(&self.name)?;
        let version_ok = !self.api_version.is_empty()
            && self
                .api_version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.');
        if !version_ok {
            return Err(ConfigError::InvalidSetting {
                setting: "facebook api_version",
                reason: "must look like \"v21.0\"",
            });
        }
        endpoint("facebook dialog_base_url", &self.dialog_url())?;
        endpoint("facebook graph_base_url", &self.graph_url("me"))?;
        Ok(())
    }

    fn start<'a>(&'a self, cx: FlowContext<'a>) -> BoxFuture<'a, Result<Started, AuthError>> {
        Box::pin(async move {
            AuthorizeRequest {
                authorize_url: checked_endpoint("facebook dialog url", &self.dialog_url())?,
                client_id: &self.app_id,
                redirect_uri: cx.callback_url,
                scope: &self.scope,
            }
            .start()
        })
    }

    fn callback_key<'q>(&self, params: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        oauth2::callback_key(params)
    }

    fn finish<'a>(
        &'a self,
        cx: FlowContext<'a>,
        params: &'a CallbackParams,
        flow: FlowState,
    ) -> BoxFuture<'a, Result<Profile, AuthError>> {
        Box::pin(self.complete(cx, params, flow))
    }
}

impl From<Facebook> for Provider {
    fn from(facebook: Facebook) -> Self {
        Provider {
            flow: std::sync::Arc::new(facebook),
        }
    }
}
