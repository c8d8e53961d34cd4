//! [`ProviderHttp`]: the layer's outbound client as a provider sees it.

use http::header::{HeaderName, ACCEPT};
use http::HeaderValue;
use serde::de::DeserializeOwned;
use url::Url;

use super::oauth2::AccessToken;
use crate::error::AuthError;
use crate::outbound::Outbound;

pub use crate::outbound::Reply as ProviderReply;

/// Calls to a provider, through the layer's client: redirects are never followed, every call
/// has the layer's timeout, and answers larger than the layer's cap are refused. Get it from
/// [`ProviderContext::http`](super::ProviderContext::http).
#[derive(Debug, Clone, Copy)]
pub struct ProviderHttp<'a> {
    pub(crate) outbound: &'a Outbound,
}

impl<'a> ProviderHttp<'a> {
    /// A `GET` of `url`. `endpoint` names the call in logs and errors (e.g. `"profile"`).
    pub fn get(self, url: Url, endpoint: &'static str) -> ProviderRequest<'a> {
        self.request(self.outbound.client().get(url), endpoint)
    }

    /// A `POST` to `url`. `endpoint` names the call in logs and errors.
    pub fn post(self, url: Url, endpoint: &'static str) -> ProviderRequest<'a> {
        self.request(self.outbound.client().post(url), endpoint)
    }

    /// `GET url` with the access token (`Authorization: Bearer`, `Accept: application/json`),
    /// read as JSON of type `T`. A status other than 2xx, or JSON of another shape, is a
    /// provider error (`502 provider_error`).
    pub async fn get_json<T: DeserializeOwned>(
        self,
        url: Url,
        token: &AccessToken,
    ) -> Result<T, AuthError> {
        self.get(url, "profile").bearer(token).json().await
    }

    fn request(
        self,
        builder: reqwest::RequestBuilder,
        endpoint: &'static str,
    ) -> ProviderRequest<'a> {
        ProviderRequest {
            outbound: self.outbound,
            builder,
            endpoint,
        }
    }
}

/// One call to a provider, being built. Send it with [`send`](Self::send) or
/// [`json`](Self::json).
#[derive(Debug)]
pub struct ProviderRequest<'a> {
    outbound: &'a Outbound,
    builder: reqwest::RequestBuilder,
    endpoint: &'static str,
}

impl ProviderRequest<'_> {
    /// `Authorization: Bearer <access token>`.
    pub fn bearer(mut self, token: &AccessToken) -> Self {
        self.builder = self.builder.bearer_auth(token.secret());
        self
    }

    /// Sets a header. Default `Accept` is `application/json`.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.builder = self
            .builder
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self
    }

    /// Sends the request and reads the whole answer, whatever its status.
    pub async fn send(self) -> Result<ProviderReply, AuthError> {
        let request = self.builder.build().map_err(|_| {
            tracing::warn!(
                endpoint = self.endpoint,
                "provider request could not be built"
            );
            AuthError::provider("could not build the request to the provider")
        })?;
        let mut request = request;
        if !request.headers().contains_key(ACCEPT) {
            request
                .headers_mut()
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        self.outbound.execute(request, self.endpoint).await
    }

    /// Sends the request and reads a 2xx answer as JSON of type `T`; another status, or
    /// JSON of another shape, is a provider error.
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, AuthError> {
        let endpoint = self.endpoint;
        let reply = self.send().await?;
        if !reply.status().is_success() {
            tracing::warn!(
                endpoint,
                status = reply.status().as_u16(),
                "provider endpoint failed"
            );
            return Err(AuthError::provider(
                "the provider's profile endpoint failed",
            ));
        }
        reply.json()
    }
}
