//! "Sign in with Twitter" (X): OAuth 1.0a, three-legged (RFC 5849).

use http::header::AUTHORIZATION;
use serde::Deserialize;

use super::oauth1::{self, Extras, Signer};
use super::{
    check_name, checked_endpoint, endpoint, BoxFuture, CallbackKey, CallbackParams, FlowContext,
    Profile, Provider, ProviderFlow, Started,
};
use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::flow::FlowState;
use crate::outbound::Reply;
use crate::secret::Secret;

const DEFAULT_API: &str = "https://api.twitter.com";

/// Twitter (X) sign-in over OAuth 1.0a.
///
/// Answers at `/auth/twitter`. The identity's user id is Twitter's numeric `user_id`, its
/// name the `@screen_name`, or the display name when [`fetch_profile`](Self::fetch_profile)
/// is on.
///
/// ```
/// use socialauth::Twitter;
/// let twitter = Twitter::new("consumer-key", "consumer-secret").include_email();
/// # let _ = twitter;
/// ```
#[derive(Debug, Clone)]
pub struct Twitter {
    name: String,
    consumer_key: String,
    consumer_secret: Secret,
    request_token_url: String,
    authenticate_url: String,
    access_token_url: String,
    verify_credentials_url: String,
    fetch_profile: bool,
    include_email: bool,
}

impl Twitter {
    /// A Twitter provider with the app's consumer key and secret ("API key and secret").
    pub fn new(consumer_key: impl Into<String>, consumer_secret: impl Into<String>) -> Self {
        Self {
            name: "twitter".to_owned(),
            consumer_key: consumer_key.into(),
            consumer_secret: Secret::new(consumer_secret),
            request_token_url: format!("{DEFAULT_API}/oauth/request_token"),
            authenticate_url: format!("{DEFAULT_API}/oauth/authenticate"),
            access_token_url: format!("{DEFAULT_API}/oauth/access_token"),
            verify_credentials_url: format!("{DEFAULT_API}/1.1/account/verify_credentials.json"),
            fetch_profile: false,
            include_email: false,
        }
    }

    /// The route name (default `twitter`): the provider answers at `/auth/<name>`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Points every endpoint at another base URL (default `https://api.twitter.com`),
    /// keeping Twitter's paths. For tests and proxies.
    ///
    /// ```
    /// let twitter = socialauth::Twitter::new("key", "secret").api_base_url("http://127.0.0.1:9000");
    /// # let _ = twitter;
    /// ```
    pub fn api_base_url(mut self, base: impl AsRef<str>) -> Self {
        let base = base.as_ref().trim_end_matches('/');
        self.request_token_url = format!("{base}/oauth/request_token");
        self.authenticate_url = format!("{base}/oauth/authenticate");
        self.access_token_url = format!("{base}/oauth/access_token");
        self.verify_credentials_url = format!("{base}/1.1/account/verify_credentials.json");
        self
    }

    /// The request-token endpoint (`POST oauth/request_token`).
    pub fn request_token_url(mut self, url: impl Into<String>) -> Self {
        self.request_token_url = url.into();
        self
    }

    /// Where the user is sent to sign in (`oauth/authenticate`; `oauth/authorize` asks every time).
    pub fn authenticate_url(mut self, url: impl Into<String>) -> Self {
        self.authenticate_url = url.into();
        self
    }

    /// The access-token endpoint (`POST oauth/access_token`).
    pub fn access_token_url(mut self, url: impl Into<String>) -> Self {
        self.access_token_url = url.into();
        self
    }

    /// The profile endpoint (`GET account/verify_credentials.json`).
    pub fn verify_credentials_url(mut self, url: impl Into<String>) -> Self {
        self.verify_credentials_url = url.into();
        self
    }

    /// Also fetch the profile (display name) from `account/verify_credentials` at login.
    /// Off by default: the access-token answer already has the id and `@screen_name`.
    pub fn fetch_profile(mut self) -> Self {
        self.fetch_profile = true;
        self
    }

    /// Ask for the user's email (needs the app's "Request email address" permission).
    /// Turns on [`fetch_profile`](Self::fetch_profile).
    pub fn include_email(mut self) -> Self {
        self.fetch_profile = true;
        self.include_email = true;
        self
    }

    fn signer<'a>(&'a self, token: Option<(&'a str, &'a str)>) -> Signer<'a> {
        Signer {
            consumer_key: &self.consumer_key,
            consumer_secret: self.consumer_secret.expose(),
            token,
        }
    }

    async fn request_token(&self, cx: FlowContext<'_>) -> Result<Started, AuthError> {
        let url = checked_endpoint("twitter request_token_url", &self.request_token_url)?;
        let header = oauth1::authorization(
            "POST",
            &url,
            &[],
            self.signer(None),
            Extras {
                callback: Some(cx.callback_url),
                ..Extras::default()
            },
        );
        let request = cx.outbound.client().post(url).header(AUTHORIZATION, header);
        let reply = cx.outbound.send(request, "request_token").await?;
        let form = success_form(&reply, "request_token")?;
        let token = form_value(&form, "oauth_token")?;
        let secret = form_value(&form, "oauth_token_secret")?;
        if form_value(&form, "oauth_callback_confirmed")? != "true" {
            tracing::warn!("request_token answer without oauth_callback_confirmed=true");
            return Err(AuthError::provider(
                "the provider did not confirm the callback",
            ));
        }
        let mut redirect = checked_endpoint("twitter authenticate_url", &self.authenticate_url)?;
        redirect.query_pairs_mut().append_pair("oauth_token", token);
        Ok(Started {
            redirect_to: redirect.into(),
            key: token.to_owned(),
            secret: Secret::new(secret),
            nonce: None,
        })
    }

    async fn access_token(
        &self,
        cx: FlowContext<'_>,
        params: &CallbackParams,
        flow: FlowState,
    ) -> Result<Profile, AuthError> {
        let verifier = params.require("oauth_verifier", "the callback has no oauth_verifier")?;
        let url = checked_endpoint("twitter access_token_url", &self.access_token_url)?;
        let header = oauth1::authorization(
            "POST",
            &url,
            &[],
            self.signer(Some((&flow.key, flow.secret.expose()))),
            Extras {
                verifier: Some(verifier),
                ..Extras::default()
            },
        );
        let request = cx.outbound.client().post(url).header(AUTHORIZATION, header);
        let reply = cx.outbound.send(request, "access_token").await?;
        if reply.status == http::StatusCode::UNAUTHORIZED {
            tracing::warn!("access_token refused the verifier");
            return Err(AuthError::new(
                AuthErrorKind::LoginFailed,
                "the provider refused to complete the login; start it again",
            ));
        }
        let form = success_form(&reply, "access_token")?;
        let user_id = form_value(&form, "user_id")?;
        let screen_name = form_value(&form, "screen_name")?;
        let mut profile = Profile {
            user_id: user_id.to_owned(),
            name: Some(screen_name.to_owned()),
            email: None,
        };
        if self.fetch_profile {
            let token = form_value(&form, "oauth_token")?;
            let secret = form_value(&form, "oauth_token_secret")?;
            self.verify_credentials(cx, (token, secret), &mut profile)
                .await?;
        }
        Ok(profile)
    }

    async fn verify_credentials(
        &self,
        cx: FlowContext<'_>,
        access: (&str, &str),
        profile: &mut Profile,
    ) -> Result<(), AuthError> {
        #[derive(Deserialize)]
        struct User {
            id_str: String,
            name: Option<String>,
            email: Option<String>,
        }
        let mut url = checked_endpoint(
            "twitter verify_credentials_url",
            &self.verify_credentials_url,
        )?;
        url.query_pairs_mut()
            .append_pair(
                "include_email",
                if self.include_email { "true" } else { "false" },
            )
            .append_pair("skip_status", "true");
        let header = oauth1::authorization(
            "GET",
            &url,
            &[],
            self.signer(Some(access)),
            Extras::default(),
        );
        let request = cx.outbound.client().get(url).header(AUTHORIZATION, header);
        let reply = cx.outbound.send(request, "verify_credentials").await?;
        if !reply.status.is_success() {
            return Err(AuthError::provider(
                "the provider's profile endpoint failed",
            ));
        }
        let user: User = reply.json()?;
        if user.id_str != profile.user_id {
            tracing::warn!("verify_credentials answered for another user");
            return Err(AuthError::provider(
                "the provider's profile is for another user",
            ));
        }
        if let Some(name) = user.name.filter(|n| !n.is_empty()) {
            profile.name = Some(name);
        }
        profile.email = user.email.filter(|e| !e.is_empty());
        Ok(())
    }
}

fn success_form(reply: &Reply, endpoint: &'static str) -> Result<Vec<(String, String)>, AuthError> {
    if !reply.status.is_success() {
        tracing::warn!(endpoint, status = reply.status.as_u16(), "provider refused");
        return Err(AuthError::provider("the provider refused the request"));
    }
    reply.form().ok_or_else(|| {
        tracing::warn!(endpoint, "provider answer is not form-encoded");
        AuthError::provider("the provider's answer is not the expected form")
    })
}

fn form_value<'f>(form: &'f [(String, String)], name: &str) -> Result<&'f str, AuthError> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| AuthError::provider("the provider's answer is missing a field"))
}

impl ProviderFlow for Twitter {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), ConfigError> {
        check_name(&self.name)?;
        endpoint("twitter request_token_url", &self.request_token_url)?;
        endpoint("twitter authenticate_url", &self.authenticate_url)?;
        endpoint("twitter access_token_url", &self.access_token_url)?;
        endpoint(
            "twitter verify_credentials_url",
            &self.verify_credentials_url,
        )?;
        Ok(())
    }

    fn start<'a>(&'a self, cx: FlowContext<'a>) -> BoxFuture<'a, Result<Started, AuthError>> {
        Box::pin(self.request_token(cx))
    }

    fn callback_key<'q>(&self, params: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        if let Some(denied) = params.get("denied") {
            return Ok(CallbackKey::Refused {
                key: Some(denied).filter(|d| !d.is_empty()),
                by_user: true,
            });
        }
        params
            .require("oauth_token", "the callback has no oauth_token")
            .map(CallbackKey::Continue)
    }

    fn finish<'a>(
        &'a self,
        cx: FlowContext<'a>,
        params: &'a CallbackParams,
        flow: FlowState,
    ) -> BoxFuture<'a, Result<Profile, AuthError>> {
        Box::pin(self.access_token(cx, params, flow))
    }
}

impl From<Twitter> for Provider {
    fn from(twitter: Twitter) -> Self {
        Provider {
            flow: std::sync::Arc::new(twitter),
        }
    }
}
