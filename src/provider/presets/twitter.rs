//! "Sign in with Twitter" (X): OAuth 1.0a, three-legged (RFC 5849).

use http::header::AUTHORIZATION;
use http::Method;
use serde::Deserialize;
use url::Url;

use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::outbound::Reply;
use crate::provider::oauth1::{self, Protocol, Signer};
use crate::provider::{
    endpoint, CallbackKey, CallbackParams, FlowData, LoginProvider, LoginStart, Profile,
    ProviderContext,
};
use crate::secret::ClientSecret;
use crate::state::random::random_token;

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
    consumer_secret: ClientSecret,
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
            consumer_secret: ClientSecret::new(consumer_secret),
            request_token_url: format!("{DEFAULT_API}/oauth/request_token"),
            authenticate_url: format!("{DEFAULT_API}/oauth/authenticate"),
            access_token_url: format!("{DEFAULT_API}/oauth/access_token"),
            verify_credentials_url: format!("{DEFAULT_API}/1.1/account/verify_credentials.json"),
            fetch_profile: false,
            include_email: false,
        }
    }

    setters! {
        /// The route name (default `twitter`): the provider answers at `/auth/<name>`.
        name => name: String;
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

    setters! {
        /// The request-token endpoint (`POST oauth/request_token`).
        request_token_url => request_token_url: String;

        /// Where the user is sent to sign in (`oauth/authenticate`; `oauth/authorize` asks every time).
        authenticate_url => authenticate_url: String;

        /// The access-token endpoint (`POST oauth/access_token`).
        access_token_url => access_token_url: String;

        /// The profile endpoint (`GET account/verify_credentials.json`).
        verify_credentials_url => verify_credentials_url: String;
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

    pub(super) fn build(self) -> Result<TwitterFlow, ConfigError> {
        Ok(TwitterFlow {
            request_token_url: endpoint("twitter request_token_url", &self.request_token_url)?,
            authenticate_url: endpoint("twitter authenticate_url", &self.authenticate_url)?,
            access_token_url: endpoint("twitter access_token_url", &self.access_token_url)?,
            verify_credentials_url: endpoint(
                "twitter verify_credentials_url",
                &self.verify_credentials_url,
            )?,
            config: self,
        })
    }
}

/// A checked Twitter configuration, its endpoints parsed.
pub(super) struct TwitterFlow {
    config: Twitter,
    request_token_url: Url,
    authenticate_url: Url,
    access_token_url: Url,
    verify_credentials_url: Url,
}

impl TwitterFlow {
    fn signer<'a>(&'a self, token: Option<(&'a str, &'a str)>) -> Signer<'a> {
        Signer {
            consumer_key: &self.config.consumer_key,
            consumer_secret: self.config.consumer_secret.secret(),
            token,
        }
    }

    /// Sends `method url`, signed with a fresh nonce and the layer's time.
    async fn send_signed(
        &self,
        cx: &ProviderContext<'_>,
        (method, url, endpoint): (Method, &Url, &'static str),
        call: SignedCall<'_>,
    ) -> Result<Reply, AuthError> {
        let nonce = random_token()?;
        let protocol = Protocol {
            callback: call.callback,
            verifier: call.verifier,
            nonce: &nonce,
            timestamp: cx.now(),
            version: true,
        };
        let signer = self.signer(call.token);
        let header = oauth1::authorization(method.as_str(), url, &[], signer, protocol);
        let request = cx
            .outbound
            .client()
            .request(method, url.clone())
            .header(AUTHORIZATION, header);
        cx.outbound.send(request, endpoint).await
    }

    async fn verify_credentials(
        &self,
        cx: &ProviderContext<'_>,
        access: (&str, &str),
        profile: Profile,
    ) -> Result<Profile, AuthError> {
        #[derive(Deserialize)]
        struct User {
            id_str: String,
            name: Option<String>,
            email: Option<String>,
        }
        let mut url = self.verify_credentials_url.clone();
        url.query_pairs_mut()
            .append_pair(
                "include_email",
                if self.config.include_email {
                    "true"
                } else {
                    "false"
                },
            )
            .append_pair("skip_status", "true");
        let call = SignedCall {
            token: Some(access),
            ..SignedCall::default()
        };
        let target = (Method::GET, &url, "verify_credentials");
        let reply = self.send_signed(cx, target, call).await?;
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
        let name = user.name.filter(|n| !n.is_empty()).or(profile.name);
        Ok(Profile::new(profile.user_id)
            .name(name)
            .verified_email(user.email))
    }
}

impl LoginProvider for TwitterFlow {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn start(&self, cx: &ProviderContext<'_>) -> Result<LoginStart, AuthError> {
        let call = SignedCall {
            callback: Some(cx.callback_url().as_str()),
            ..SignedCall::default()
        };
        let target = (Method::POST, &self.request_token_url, "request_token");
        let reply = self.send_signed(cx, target, call).await?;
        let form = success_form(&reply, "request_token")?;
        let token = form_value(&form, "oauth_token")?;
        let secret = form_value(&form, "oauth_token_secret")?;
        if form_value(&form, "oauth_callback_confirmed")? != "true" {
            tracing::warn!("request_token answer without oauth_callback_confirmed=true");
            return Err(AuthError::provider(
                "the provider did not confirm the callback",
            ));
        }
        let mut redirect = self.authenticate_url.clone();
        redirect.query_pairs_mut().append_pair("oauth_token", token);
        Ok(LoginStart::new(redirect, token, secret))
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

    async fn finish(
        &self,
        cx: &ProviderContext<'_>,
        params: &CallbackParams,
        flow: &FlowData,
    ) -> Result<Profile, AuthError> {
        let verifier = params.require("oauth_verifier", "the callback has no oauth_verifier")?;
        let call = SignedCall {
            token: Some((flow.key(), flow.secret())),
            verifier: Some(verifier),
            ..SignedCall::default()
        };
        let target = (Method::POST, &self.access_token_url, "access_token");
        let reply = self.send_signed(cx, target, call).await?;
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
        let profile = Profile::new(user_id).name(Some(screen_name));
        if !self.config.fetch_profile {
            return Ok(profile);
        }
        let token = form_value(&form, "oauth_token")?;
        let secret = form_value(&form, "oauth_token_secret")?;
        self.verify_credentials(cx, (token, secret), profile).await
    }
}

/// What a signed call carries besides the consumer's credentials.
#[derive(Default)]
struct SignedCall<'a> {
    /// The request or access token and its secret.
    token: Option<(&'a str, &'a str)>,
    callback: Option<&'a str>,
    verifier: Option<&'a str>,
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
