//! [`OAuth1Flow`]: the three-legged OAuth 1.0a login (RFC 5849 §2), every call signed: a
//! request token, the user's authorization at the provider, the access token.

use http::header::AUTHORIZATION;
use http::Method;
use url::Url;

use super::form::Form;
use super::signature::{authorization, Protocol, Signer};
use crate::error::{AuthError, AuthErrorKind};
use crate::outbound::Reply;
use crate::provider::{
    CallbackKey, CallbackParams, FlowData, LoginProvider, LoginStart, Profile, ProviderContext,
};
use crate::secret::ClientSecret;
use crate::state::random::random_token;

/// The app's client credentials at the provider (RFC 5849 §1.1). `Debug` never shows the
/// secret.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub(crate) key: String,
    pub(crate) secret: ClientSecret,
}

impl Consumer {
    pub(crate) fn new(key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            secret: ClientSecret::new(secret),
        }
    }
}

/// A signed `GET` that completes the profile with the access token, and how its answer reads.
pub(crate) struct Details {
    url: Url,
    /// The call's name in logs and metrics.
    endpoint: &'static str,
    /// The user the answer describes; its id must be the access-token answer's.
    read: fn(&Reply) -> Result<Profile, AuthError>,
}

impl Details {
    pub(crate) fn new(
        url: Url,
        endpoint: &'static str,
        read: fn(&Reply) -> Result<Profile, AuthError>,
    ) -> Self {
        Self {
            url,
            endpoint,
            read,
        }
    }
}

/// A checked OAuth 1.0a provider: its credentials, its endpoints parsed, and how its answers
/// become a profile (RFC 5849 leaves that to each provider).
pub(crate) struct OAuth1Flow {
    pub(crate) name: String,
    pub(crate) consumer: Consumer,
    pub(crate) request_token_url: Url,
    /// Where the user is sent with the request token.
    pub(crate) authorize_url: Url,
    pub(crate) access_token_url: Url,
    /// The access-token answer's fields for the user id and the name, in that order: RFC 5849
    /// has none, so each provider names its own (Twitter's `user_id` and `screen_name`).
    pub(crate) user_fields: (&'static str, &'static str),
    /// A call for more about the user, when configured.
    pub(crate) details: Option<Details>,
}

/// What a signed call carries besides the consumer's credentials.
#[derive(Default)]
struct SignedCall<'a> {
    /// The request or access token and its secret.
    token: Option<(&'a str, &'a str)>,
    callback: Option<&'a str>,
    verifier: Option<&'a str>,
}

impl OAuth1Flow {
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
        let signer = Signer {
            consumer_key: &self.consumer.key,
            consumer_secret: self.consumer.secret.secret(),
            token: call.token,
        };
        let header = authorization(method.as_str(), url, &[], signer, protocol);
        let request = cx
            .outbound
            .client()
            .request(method, url.clone())
            .header(AUTHORIZATION, header);
        cx.outbound.send(request, endpoint).await
    }

    /// Completes `profile` with the details call, made with the access token.
    async fn details(
        &self,
        cx: &ProviderContext<'_>,
        details: &Details,
        access: (&str, &str),
        profile: Profile,
    ) -> Result<Profile, AuthError> {
        let call = SignedCall {
            token: Some(access),
            ..SignedCall::default()
        };
        let target = (Method::GET, &details.url, details.endpoint);
        let reply = self.send_signed(cx, target, call).await?;
        if !reply.status.is_success() {
            return Err(AuthError::provider(
                "the provider's profile endpoint failed",
            ));
        }
        let user = (details.read)(&reply)?;
        if user.user_id != profile.user_id {
            tracing::warn!(endpoint = details.endpoint, "answered for another user");
            return Err(AuthError::provider(
                "the provider's profile is for another user",
            ));
        }
        Ok(Profile::new(profile.user_id)
            .name(user.name.or(profile.name))
            .verified_email(user.email))
    }
}

impl LoginProvider for OAuth1Flow {
    fn name(&self) -> &str {
        &self.name
    }

    async fn start(&self, cx: &ProviderContext<'_>) -> Result<LoginStart, AuthError> {
        let call = SignedCall {
            callback: Some(cx.callback_url().as_str()),
            ..SignedCall::default()
        };
        let target = (Method::POST, &self.request_token_url, "request_token");
        let reply = self.send_signed(cx, target, call).await?;
        let form = Form::read(&reply, "request_token")?;
        let token = form.value("oauth_token")?;
        let secret = form.value("oauth_token_secret")?;
        if form.value("oauth_callback_confirmed")? != "true" {
            tracing::warn!("request_token answer without oauth_callback_confirmed=true");
            return Err(AuthError::provider(
                "the provider did not confirm the callback",
            ));
        }
        let mut redirect = self.authorize_url.clone();
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
        let form = Form::read(&reply, "access_token")?;
        let (user_id, name) = self.user_fields;
        let user_id = form.value(user_id)?;
        let profile = Profile::new(user_id).name(Some(form.value(name)?));
        let Some(details) = &self.details else {
            return Ok(profile);
        };
        let token = form.value("oauth_token")?;
        let secret = form.value("oauth_token_secret")?;
        self.details(cx, details, (token, secret), profile).await
    }
}
