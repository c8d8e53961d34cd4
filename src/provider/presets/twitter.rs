//! "Sign in with Twitter" (X): OAuth 1.0a, three-legged (RFC 5849), on the crate's OAuth 1.0a
//! flow: Twitter's endpoints, and its answers read as a profile.

use serde::Deserialize;

use crate::error::{AuthError, ConfigError};
use crate::provider::oauth1::{Consumer, Details, OAuth1Flow};
use crate::provider::{endpoint, Profile, ProviderReply};

/// The host X documents for the OAuth 1.0a endpoints and `account/verify_credentials`.
const API_BASE: &str = "https://api.x.com";

/// Twitter (X) sign-in over OAuth 1.0a.
///
/// Answers at `/auth/twitter`. The identity's user id is Twitter's numeric `user_id`, its
/// name the `@screen_name`, or the display name when [`fetch_profile`](Self::fetch_profile)
/// is on.
///
/// The endpoints are X's on `https://api.x.com`: `POST oauth/request_token`,
/// `GET oauth/authenticate`, `POST oauth/access_token` and
/// `GET 1.1/account/verify_credentials.json` (the request token is signed for that host; a
/// redirect from `api.twitter.com` has been reported to lose it).
///
/// With [`include_email`](Self::include_email), the email is `verify_credentials`' own,
/// which X documents as null when the address is not verified.
///
/// Checked on 2026-12-06 against
/// <https://docs.x.com/resources/fundamentals/authentication/api-reference>,
/// <https://docs.x.com/x-for-websites/log-in-with-x/guides/implementing-sign-in-with-x> and
/// <https://developer.x.com/en/docs/twitter-api/v1/accounts-and-users/manage-account-settings/api-reference/get-account-verify_credentials>.
///
/// ```
/// use socialauth::Twitter;
/// let twitter = Twitter::new("consumer-key", "consumer-secret").include_email();
/// # let _ = twitter;
/// ```
#[derive(Debug, Clone)]
pub struct Twitter {
    name: String,
    consumer: Consumer,
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
            consumer: Consumer::new(consumer_key, consumer_secret),
            request_token_url: String::new(),
            authenticate_url: String::new(),
            access_token_url: String::new(),
            verify_credentials_url: String::new(),
            fetch_profile: false,
            include_email: false,
        }
        .api_base_url(API_BASE)
    }

    /// Points every endpoint at another base URL (default `https://api.x.com`),
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
        /// The route name (default `twitter`): the provider answers at `/auth/<name>`.
        name => name: String;

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
        self.include_email = true;
        self.fetch_profile()
    }

    pub(super) fn build(self) -> Result<OAuth1Flow, ConfigError> {
        let mut flow = OAuth1Flow {
            name: self.name,
            consumer: self.consumer,
            request_token_url: endpoint("twitter request_token_url", &self.request_token_url)?,
            authorize_url: endpoint("twitter authenticate_url", &self.authenticate_url)?,
            access_token_url: endpoint("twitter access_token_url", &self.access_token_url)?,
            user_fields: ("user_id", "screen_name"),
            details: None,
        };
        let url = &self.verify_credentials_url;
        let mut url = endpoint("twitter verify_credentials_url", url)?;
        url.query_pairs_mut()
            .append_pair("include_email", &self.include_email.to_string())
            .append_pair("skip_status", "true");
        let details = Details::new(url, "verify_credentials", verify_credentials);
        flow.details = self.fetch_profile.then_some(details);
        Ok(flow)
    }
}

/// The user from `account/verify_credentials.json`.
fn verify_credentials(reply: &ProviderReply) -> Result<Profile, AuthError> {
    #[derive(Deserialize)]
    struct User {
        id_str: String,
        name: Option<String>,
        email: Option<String>,
    }
    let user: User = reply.json()?;
    let profile = Profile::new(user.id_str).name(user.name);
    Ok(profile.verified_email(user.email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_are_the_ones_x_documents_on_api_x_com() {
        let twitter = Twitter::new("key", "secret");
        assert_eq!(
            twitter.verify_credentials_url,
            "https://api.x.com/1.1/account/verify_credentials.json"
        );
        let flow = twitter.build().unwrap();
        let urls = [
            flow.request_token_url.as_str(),
            flow.authorize_url.as_str(),
            flow.access_token_url.as_str(),
        ];
        assert_eq!(
            urls,
            [
                "https://api.x.com/oauth/request_token",
                "https://api.x.com/oauth/authenticate",
                "https://api.x.com/oauth/access_token",
            ]
        );
    }
}
