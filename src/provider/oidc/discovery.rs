//! OpenID Connect Discovery 1.0: the provider's metadata, fetched at the first login and
//! kept for the life of the layer.
//!
//! Fetches are single-flight: logins that arrive while one is under way wait for it and share
//! its outcome. A failure is kept for a short, growing pause (1 s, doubling up to 30 s) in
//! which logins fail at once, so an unreachable issuer costs one timeout, not one per login.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use super::tenant::TenantIssuer;
use crate::error::AuthError;
use crate::outbound::Outbound;
use crate::provider::endpoint;
use crate::provider::ProviderHttp;

/// What the layer uses from the discovery document, checked.
#[derive(Debug)]
pub(super) struct Metadata {
    pub(super) authorization_endpoint: Url,
    pub(super) token_endpoint: Url,
    pub(super) jwks_uri: Url,
    pub(super) userinfo_endpoint: Option<Url>,
    /// RFC 9207: the provider adds `iss` to its authorization responses.
    pub(super) iss_parameter_supported: bool,
    pub(super) token_endpoint_auth_methods: Option<Vec<String>>,
    /// OpenID Connect RP-Initiated Logout 1.0: where the browser ends its session there.
    pub(super) end_session_endpoint: Option<Url>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.1: the provider sends logout tokens
    /// (`None` when the document does not say).
    pub(super) backchannel_logout_supported: Option<bool>,
    /// RFC 8414 §2 (RFC 7662): where the app asks whether an access token is active.
    pub(super) introspection_endpoint: Option<Url>,
}

/// The discovery document as served. Every member has a fixed JSON type: a member of another
/// type makes the document unusable (a provider error), never silently absent.
#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    backchannel_logout_supported: Option<bool>,
    introspection_endpoint: Option<String>,
}

/// The first pause after a failed fetch.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause after failed fetches.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The metadata of one provider, fetched once.
#[derive(Debug, Default)]
pub(super) struct DiscoveryCache {
    cell: OnceCell<Metadata>,
    /// Held while fetching; holds the last failure.
    fetch: Mutex<Option<Failure>>,
}

/// A failed fetch, kept until `retry_at`.
#[derive(Debug)]
struct Failure {
    error: AuthError,
    retry_at: Instant,
    pause: Duration,
}

impl DiscoveryCache {
    /// The metadata, fetched on first use: one fetch at a time, and after a failure, none
    /// until its pause is over (the failure is answered meanwhile).
    pub(super) async fn get(
        &self,
        outbound: &Outbound,
        url: &Url,
        issuer: &str,
        tenant: Option<&TenantIssuer>,
    ) -> Result<&Metadata, AuthError> {
        if let Some(metadata) = self.cell.get() {
            return Ok(metadata);
        }
        let mut failure = self.fetch.lock().await;
        if let Some(metadata) = self.cell.get() {
            return Ok(metadata);
        }
        if let Some(last) = failure.as_ref().filter(|f| Instant::now() < f.retry_at) {
            return Err(last.error.clone());
        }
        match fetch(outbound, url, issuer, tenant).await {
            Ok(metadata) => {
                *failure = None;
                Ok(self.cell.get_or_init(|| async { metadata }).await)
            }
            Err(error) => {
                let pause = failure
                    .as_ref()
                    .map_or(FIRST_PAUSE, |f| (f.pause * 2).min(MAX_PAUSE));
                *failure = Some(Failure {
                    error: error.clone(),
                    retry_at: Instant::now() + pause,
                    pause,
                });
                Err(error)
            }
        }
    }
}

/// `{issuer}/.well-known/openid-configuration`, a trailing `/` of the issuer removed first
/// (OpenID Connect Discovery 1.0 §4).
pub(super) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

async fn fetch(
    outbound: &Outbound,
    url: &Url,
    issuer: &str,
    tenant: Option<&TenantIssuer>,
) -> Result<Metadata, AuthError> {
    let reply = ProviderHttp { outbound }
        .get(url.clone(), "oidc_discovery")
        .send()
        .await?;
    if !reply.status.is_success() {
        tracing::warn!(
            status = reply.status.as_u16(),
            "OpenID Connect discovery failed"
        );
        return Err(AuthError::provider(
            "the provider's discovery document could not be fetched",
        ));
    }
    let document: Document = reply.json()?;
    let metadata = from_document(document, issuer, tenant)?;
    tracing::debug!("OpenID Connect discovery document fetched");
    Ok(metadata)
}

/// Checks a document against the configured issuer: its `issuer` must be the same string
/// exactly (or, for a multi-tenant issuer, its template), and every endpoint an
/// `http`/`https` URL (`https` when the issuer is).
fn from_document(
    document: Document,
    issuer: &str,
    tenant: Option<&TenantIssuer>,
) -> Result<Metadata, AuthError> {
    let named = document.issuer == issuer
        || tenant.is_some_and(|tenant| tenant.names_this_issuer(&document.issuer));
    if !named {
        tracing::warn!("the discovery document names another issuer");
        return Err(AuthError::provider(
            "the provider's discovery document names another issuer",
        ));
    }
    let https = issuer.starts_with("https:");
    let url = |value: &str| -> Result<Url, AuthError> {
        let url = endpoint("oidc discovery", value)
            .ok()
            .filter(|url| !https || url.scheme() == "https");
        url.ok_or_else(|| {
            tracing::warn!("the discovery document holds an unusable endpoint URL");
            AuthError::provider("the provider's discovery document holds an unusable URL")
        })
    };
    Ok(Metadata {
        authorization_endpoint: url(&document.authorization_endpoint)?,
        token_endpoint: url(&document.token_endpoint)?,
        jwks_uri: url(&document.jwks_uri)?,
        userinfo_endpoint: document.userinfo_endpoint.as_deref().map(url).transpose()?,
        iss_parameter_supported: document
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
        token_endpoint_auth_methods: document.token_endpoint_auth_methods_supported,
        // Only logout uses it: an unusable one is dropped (logout stays local), not fatal.
        end_session_endpoint: document
            .end_session_endpoint
            .as_deref()
            .and_then(|value| url(value).ok()),
        backchannel_logout_supported: document.backchannel_logout_supported,
        // Only access tokens use it: an unusable one is dropped (their introspection then
        // answers 503 and logs why), not fatal to logins.
        introspection_endpoint: document
            .introspection_endpoint
            .as_deref()
            .and_then(|value| url(value).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthErrorKind;

    fn document(issuer: &str, endpoints: &str) -> Document {
        Document {
            issuer: issuer.to_owned(),
            authorization_endpoint: format!("{endpoints}/authorize"),
            token_endpoint: format!("{endpoints}/token"),
            jwks_uri: format!("{endpoints}/jwks"),
            userinfo_endpoint: None,
            authorization_response_iss_parameter_supported: None,
            token_endpoint_auth_methods_supported: None,
            end_session_endpoint: None,
            backchannel_logout_supported: None,
            introspection_endpoint: None,
        }
    }

    #[test]
    fn the_well_known_url_follows_the_issuer_path() {
        assert_eq!(
            discovery_url("https://idp.example/realms/a/"),
            "https://idp.example/realms/a/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://accounts.google.com"),
            "https://accounts.google.com/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        let issuer = "https://idp.example";
        assert!(from_document(document(issuer, issuer), issuer, None).is_ok());
        for other in [
            "https://idp.example/",
            "https://IDP.example",
            "https://evil.example",
        ] {
            let error = from_document(document(other, issuer), issuer, None).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::ProviderError, "{other}");
        }
    }

    #[test]
    fn an_https_issuer_needs_https_endpoints() {
        let issuer = "https://idp.example";
        let error =
            from_document(document(issuer, "http://idp.example"), issuer, None).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::ProviderError);
        let loopback = "http://127.0.0.1:8080";
        assert!(from_document(document(loopback, loopback), loopback, None).is_ok());
    }

    #[test]
    fn the_end_session_endpoint_is_kept_when_usable_and_dropped_when_not() {
        let issuer = "https://idp.example";
        let mut doc = document(issuer, issuer);
        doc.end_session_endpoint = Some("https://idp.example/logout?ui=1".to_owned());
        let metadata = from_document(doc, issuer, None).unwrap();
        assert_eq!(
            metadata.end_session_endpoint.map(String::from).as_deref(),
            Some("https://idp.example/logout?ui=1")
        );
        let mut doc = document(issuer, issuer);
        doc.end_session_endpoint = Some("http://idp.example/logout".to_owned());
        let metadata = from_document(doc, issuer, None).unwrap();
        assert_eq!(
            metadata.end_session_endpoint, None,
            "dropped, logins still work"
        );
    }

    #[test]
    fn a_member_of_the_wrong_type_makes_the_document_unusable() {
        let json = r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a",
            "token_endpoint":"https://idp.example/t","jwks_uri":"https://idp.example/k",
            "authorization_response_iss_parameter_supported":"yes"}"#;
        assert!(serde_json::from_str::<Document>(json).is_err());
    }
}
