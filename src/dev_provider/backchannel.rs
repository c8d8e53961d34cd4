//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): a logout token POSTed to
//! the app's registered `backchannel_logout_uri` when a logout at this provider names a user.

use std::sync::PoisonError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::Shared;

/// How long a logout token is valid (§2.4 `exp`).
const LOGOUT_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// How long the app may take to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `sub`'s logout token (with the sign-in's `sid`, when known) to the registered
/// back-channel logout URI, if any, in the background; the outcome is logged.
pub(super) fn send(shared: &Shared, sub: &str, sid: Option<&str>) {
    let uri = shared
        .backchannel_logout_uri
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let Some(uri) = uri else { return };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Ok(jti) = crate::state::random::random_token() else {
        return;
    };
    let mut claims = json!({
        "iss": shared.issuer, "aud": shared.client_id, "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME.as_secs(), "jti": jti, "sub": sub,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
    });
    if let Some(sid) = sid {
        claims["sid"] = json!(sid);
    }
    let Ok(token) = shared.key.sign_typed(&claims, "logout+jwt") else {
        return;
    };
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", &token)
        .finish();
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_TIMEOUT)
            .build();
        let sent = match client {
            Ok(client) => client
                .post(&uri)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
                .send()
                .await
                .map(|response| response.status()),
            Err(error) => Err(error),
        };
        match sent {
            Ok(status) if status.is_success() => {
                tracing::info!("dev provider: back-channel logout token delivered");
            }
            Ok(status) => {
                tracing::warn!(%status, "dev provider: the app refused the back-channel logout token");
            }
            Err(error) => {
                tracing::warn!(error = %error.without_url(), "dev provider: the back-channel logout token could not be sent");
            }
        }
    });
}
