//! "Log in with Facebook": OAuth 2.0 with `state` and PKCE, the user from the Graph API.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

use crate::error::{AuthError, ConfigError};
use crate::oauth2::{Client, ClientAuth};
use crate::provider::config::CodeFlowConfig;
use crate::provider::{endpoint, Profile};
use crate::secret::ClientSecret;

/// The Graph API version used unless [`Facebook::api_version`] says otherwise: `v26.0`,
/// released 2026-07-29, "available until: TBD" in Meta's version table on 2026-12-06
/// (<https://developers.facebook.com/docs/graph-api/changelog/versions/>). Meta keeps a
/// version at least two years after the next one is released, so it lasts into 2028 at the
/// earliest. The crate moves this default in a minor release, and says so in its changelog.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v26.0";

/// Facebook login over OAuth 2.0.
///
/// Answers at `/auth/facebook`. Sends `state` and PKCE (S256) with every login, exchanges
/// the code with the PKCE verifier, and reads `/me?fields=id,name,email` with
/// `appsecret_proof`, so the app can turn on "Require App ClientSecret" in its settings.
///
/// The identity is the app-scoped user `id` and the name, **without an email**: Meta
/// documents the `email` field as "the User's primary email address listed on their
/// profile", never as verified, and an app linking accounts by email would be open to
/// takeover by an address its owner never confirmed. The address reaches the
/// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook as the claim `email`
/// ([`UserProfile::claim`](crate::UserProfile::claim)), for an app that wants it as a
/// contact hint and verifies it itself.
///
/// **The Graph API version** ([`DEFAULT_GRAPH_API_VERSION`] unless set): Meta lists each
/// version's end in its changelog (link above) once the next version is out. When the
/// version in use gets a date there, move to a newer one with
/// [`api_version`](Self::api_version) before that date, after checking Meta's upgrade tool
/// for the app; a call to an expired version is answered by the oldest live one, with its
/// behaviour.
///
/// Checked on 2026-12-06 against
/// <https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>,
/// <https://developers.facebook.com/docs/graph-api/reference/user> and
/// <https://developers.facebook.com/docs/graph-api/guides/versioning>.
///
/// ```
/// use socialauth::Facebook;
/// let facebook = Facebook::new("app-id", "app-secret").api_version("v26.0");
/// # let _ = facebook;
/// ```
#[derive(Debug, Clone)]
pub struct Facebook {
    config: CodeFlowConfig,
    api_version: String,
    dialog_base_url: String,
    graph_base_url: String,
}

impl Facebook {
    /// A Facebook provider with the app's id and secret.
    pub fn new(app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            config: CodeFlowConfig::new("facebook", app_id, app_secret, "public_profile,email"),
            api_version: DEFAULT_GRAPH_API_VERSION.to_owned(),
            dialog_base_url: "https://www.facebook.com".to_owned(),
            graph_base_url: "https://graph.facebook.com".to_owned(),
        }
    }

    setters! {
        /// The Graph API version, e.g. `"v26.0"` (default [`DEFAULT_GRAPH_API_VERSION`]).
        api_version => api_version: String;

        /// Where the login dialog lives (default `https://www.facebook.com`). For tests.
        dialog_base_url => dialog_base_url: String;

        /// Where the Graph API lives (default `https://graph.facebook.com`). For tests.
        graph_base_url => graph_base_url: String;
    }

    pub(super) fn build(self) -> Result<GraphMe, ConfigError> {
        let version_ok = !self.api_version.is_empty()
            && self
                .api_version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.');
        if !version_ok {
            return Err(ConfigError::InvalidSetting {
                setting: "facebook api_version",
                reason: "must look like \"v26.0\"",
            });
        }
        let dialog = self.dialog_base_url.trim_end_matches('/');
        let graph = self.graph_base_url.trim_end_matches('/');
        let version = &self.api_version;
        let me = endpoint("facebook graph_base_url", &format!("{graph}/{version}/me"))?;
        let client = self.config.client(
            ClientAuth::Post,
            format!("{dialog}/{version}/dialog/oauth"),
            format!("{graph}/{version}/oauth/access_token"),
        )?;
        let (name, app_secret) = (self.config.name, self.config.client_secret);
        Ok(GraphMe {
            name,
            client,
            me,
            app_secret,
        })
    }
}

code_flow_setters!(Facebook.config, name: "facebook", scope: "public_profile,email");

/// A checked Facebook provider: the user from the Graph API's `/me`, with `appsecret_proof`.
pub(super) struct GraphMe {
    name: String,
    client: Client,
    me: Url,
    app_secret: ClientSecret,
}

impl GraphMe {
    /// `appsecret_proof`: HMAC-SHA256 of the access token keyed by the app secret, in hex.
    fn appsecret_proof(&self, access_token: &str) -> Result<String, AuthError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.app_secret.secret().as_bytes())
            .map_err(|_| AuthError::internal("could not key the appsecret_proof"))?;
        mac.update(access_token.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

#[derive(Deserialize)]
struct Me {
    id: String,
    name: Option<String>,
    email: Option<String>,
}

code_flow_provider!(GraphMe, |facebook, cx, token| async move {
    let token = token.access_token();
    let mut url = facebook.me.clone();
    url.query_pairs_mut()
        .append_pair("fields", "id,name,email")
        .append_pair(
            "appsecret_proof",
            &facebook.appsecret_proof(token.secret())?,
        );
    let me: Me = cx.http().get(url, "graph_me").bearer(token).json().await?;
    if me.id.is_empty() {
        return Err(AuthError::provider("the provider's profile has no id"));
    }
    let profile = Profile::new(me.id).name(me.name);
    // Never the identity's email: Meta does not say it verified the address.
    Ok(match me.email.filter(|e| !e.is_empty()) {
        Some(email) => profile.claim("email", email),
        None => profile,
    })
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Meta's version table (<https://developers.facebook.com/docs/graph-api/changelog/versions/>)
    /// as read on 2026-12-06: version, and the day it stops, when Meta has set one.
    const META_VERSIONS: [(&str, Option<&str>); 6] = [
        ("v21.0", Some("2027-01-21")),
        ("v22.0", Some("2027-05-20")),
        ("v23.0", Some("2027-10-08")),
        ("v24.0", Some("2028-02-18")),
        ("v25.0", Some("2028-07-29")),
        ("v26.0", None),
    ];

    #[test]
    fn the_default_graph_version_lasts_at_least_a_year_past_its_check() {
        let checked = "2026-12-06";
        let a_year_later = "2027-12-06";
        let (_, until) = META_VERSIONS
            .iter()
            .find(|(version, _)| *version == DEFAULT_GRAPH_API_VERSION)
            .unwrap_or_else(|| panic!("{DEFAULT_GRAPH_API_VERSION} is not in Meta's table"));
        // ISO dates compare as text; no date set means at least two years after a release
        // not yet made.
        assert!(
            until.is_none_or(|until| until >= a_year_later),
            "{DEFAULT_GRAPH_API_VERSION} stops on {until:?}, within a year of {checked}"
        );
    }
}
