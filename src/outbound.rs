//! The layer's one HTTP client for talking to providers: no redirects (SSRF), timeouts,
//! pooled connections, and capped reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;
use tracing::field::Empty;
use tracing::Instrument;

use crate::error::{AuthError, AuthErrorKind};

/// Limits for calls to providers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutboundLimits {
    /// Whole-request timeout, connect to last body byte.
    pub(crate) timeout: Duration,
    /// Largest response body read from a provider.
    pub(crate) max_body: usize,
}

/// The client and its limits, shared by every provider of a layer.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    client: reqwest::Client,
    limits: OutboundLimits,
    /// The provider the calls go to, for spans and metrics; empty until
    /// [`for_provider`](Self::for_provider).
    provider: Arc<str>,
}

/// A provider's answer, read whole (within the layer's size cap).
#[derive(Debug)]
pub struct Reply {
    pub(crate) status: http::StatusCode,
    pub(crate) body: Bytes,
}

impl Outbound {
    pub(crate) fn new(limits: OutboundLimits) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("socialauth/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            limits,
            provider: Arc::from(""),
        })
    }

    /// The same client (same connection pool), naming `provider` in its spans and metrics.
    pub(crate) fn for_provider(&self, provider: &str) -> Self {
        Self {
            client: self.client.clone(),
            limits: self.limits,
            provider: Arc::from(provider),
        }
    }

    /// The whole-request timeout of every call.
    pub(crate) fn timeout(&self) -> Duration {
        self.limits.timeout
    }

    /// The client, to build requests with.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends a request and reads its body, at most `max_body` bytes. `endpoint` names the
    /// provider endpoint in logs and errors. Any status is returned: callers decide.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        endpoint: &'static str,
    ) -> Result<Reply, AuthError> {
        let request = request.build().map_err(|_| {
            tracing::warn!(endpoint, "provider request could not be built");
            AuthError::provider("could not build the request to the provider")
        })?;
        self.execute(request, endpoint).await
    }

    /// [`send`](Self::send) for a request already built, in a `socialauth.provider_call`
    /// span with the provider, the endpoint kind, the status and the duration.
    pub(crate) async fn execute(
        &self,
        request: reqwest::Request,
        endpoint: &'static str,
    ) -> Result<Reply, AuthError> {
        let kind = endpoint_kind(endpoint);
        let span = tracing::info_span!(
            "socialauth.provider_call",
            provider = &*self.provider,
            endpoint = kind,
            status = Empty,
            error = Empty,
            duration_ms = Empty,
        );
        let started = Instant::now();
        let result = self.read(request, endpoint).instrument(span.clone()).await;
        let elapsed = started.elapsed();
        match &result {
            Ok(reply) => span.record("status", reply.status.as_u16()),
            Err(error) => span.record("error", error.kind().code()),
        };
        span.record(
            "duration_ms",
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        );
        crate::events::provider_call(&self.provider, kind, elapsed);
        result
    }

    async fn read(
        &self,
        request: reqwest::Request,
        endpoint: &'static str,
    ) -> Result<Reply, AuthError> {
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| transport_error(&e, endpoint))?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|len| len > self.limits.max_body as u64)
        {
            tracing::warn!(endpoint, "provider response larger than the cap");
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&e, endpoint))?
        {
            if body.len() + chunk.len() > self.limits.max_body {
                tracing::warn!(endpoint, "provider response larger than the cap");
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(endpoint, status = status.as_u16(), "provider answered");
        if status.is_redirection() {
            tracing::warn!(endpoint, "provider answered with a redirect, not followed");
            return Err(AuthError::provider("the provider answered with a redirect"));
        }
        Ok(Reply {
            status,
            body: body.freeze(),
        })
    }
}

impl Reply {
    /// The answer's status.
    pub fn status(&self) -> http::StatusCode {
        self.status
    }

    /// The answer's body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as JSON of type `T`; anything else is a provider error (`502`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        serde_json::from_slice(&self.body)
            .map_err(|_| AuthError::provider("the provider's answer is not the expected JSON"))
    }

    /// The body as `application/x-www-form-urlencoded` pairs; `None` when it is not.
    pub(crate) fn form(&self) -> Option<Vec<(String, String)>> {
        let text = std::str::from_utf8(&self.body).ok()?;
        if text.is_empty() || text.contains(['<', '{', ' ', '\n']) {
            return None;
        }
        Some(
            form_urlencoded::parse(text.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
}

/// The kind of endpoint a call goes to, for spans and metrics: the same few kinds across
/// providers (`token`, `profile`, `jwks`, `discovery`, ...), whatever each names its call.
fn endpoint_kind(endpoint: &'static str) -> &'static str {
    match endpoint {
        "oidc_jwks" => "jwks",
        "oidc_discovery" => "discovery",
        "graph_me" | "userinfo" | "github_emails" => "profile",
        other => other,
    }
}

fn transport_error(error: &reqwest::Error, endpoint: &'static str) -> AuthError {
    if error.is_timeout() {
        tracing::warn!(endpoint, "provider timed out");
        AuthError::new(
            AuthErrorKind::ProviderTimeout,
            "the provider did not answer in time",
        )
    } else {
        tracing::warn!(endpoint, "provider unreachable");
        AuthError::provider("could not reach the provider")
    }
}

fn too_large() -> AuthError {
    AuthError::provider("the provider's answer is too large")
}
