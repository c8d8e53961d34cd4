//! The providers the crate ships: configuration, endpoints and a mapping to the profile, on
//! the shared OAuth 2.0, OpenID Connect and OAuth 1.0a cores.

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::AuthError;
use crate::oauth2::TokenResponse;
use crate::provider::{Oidc, Provider, ProviderContext};

/// `GET url` with the login's access token (`Authorization: Bearer`), read as JSON of type
/// `T`; `endpoint` names the call in logs and metrics. How most presets read their user.
async fn bearer_json<T: DeserializeOwned>(
    cx: &ProviderContext<'_>,
    url: &Url,
    endpoint: &'static str,
    token: &TokenResponse,
) -> Result<T, AuthError> {
    let request = cx.http().get(url.clone(), endpoint);
    request.bearer(token.access_token()).json().await
}

/// `impl CodeFlowProvider` (the public trait, as a user's provider implements it) for a
/// checked code-flow preset: its route name and client are its `name` and `client` fields, and
/// its profile is the async closure given, called with the preset, the provider context and
/// the token response.
///
/// ```text
/// code_flow_provider!(UsersMe, |discord, cx, token| async move {
///     let user: User = bearer_json(cx, &discord.me, "discord_users_me", token).await?;
///     Ok(Profile::new(user.id))
/// });
/// ```
macro_rules! code_flow_provider {
    ($preset:ident, |$this:ident, $cx:ident, $token:ident| $profile:expr) => {
        impl crate::oauth2::CodeFlowProvider for $preset {
            fn name(&self) -> &str {
                &self.name
            }

            fn client(&self) -> &crate::oauth2::Client {
                &self.client
            }

            async fn profile(
                &self,
                $cx: &crate::provider::ProviderContext<'_>,
                $token: &crate::oauth2::TokenResponse,
            ) -> Result<crate::provider::Profile, crate::error::AuthError> {
                let $this = self;
                $profile.await
            }
        }
    };
}

/// An OpenID Connect preset: a public type that is an [`Oidc`] for one issuer. Its file gives
/// the docs, the route name, the issuer and what it sets on the `Oidc`; this writes the type,
/// `new(client_id, client_secret)` and the setters every code-flow preset has. The file
/// imports `Oidc`, as its docs link to it.
macro_rules! oidc_preset {
    (
        $(#[$doc:meta])*
        pub struct $preset:ident;
        name: $name:literal,
        issuer: $issuer:expr,
        new: $new_doc:literal,
        configure: $configure:expr $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $preset {
            pub(super) oidc: Oidc,
        }

        impl $preset {
            #[doc = $new_doc]
            pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
                let oidc = Oidc::new($issuer, client_id, client_secret);
                let configure: fn(Oidc) -> Oidc = $configure;
                Self {
                    oidc: configure(oidc.name($name)),
                }
            }
        }

        code_flow_setters!($preset.oidc.config, name: $name, scope: "openid email profile",
            "Must hold `openid`.");
    };
}

/// `issuer_url`, for the OpenID Connect presets whose issuer is one fixed URL.
macro_rules! issuer_url_setter {
    ($($preset:ident),+) => {
        $(
            impl $preset {
                /// Another issuer URL in place of the provider's own. For tests.
                ///
                /// ```
                #[doc = concat!("let p = socialauth::", stringify!($preset), "::new(\"id\", \"secret\")")]
                ///     .issuer_url("http://127.0.0.1:9000");
                /// # let _ = p;
                /// ```
                pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
                    self.oidc.set_issuer(issuer);
                    self
                }
            }
        )+
    };
}

mod apple;
mod discord;
mod facebook;
mod fields;
mod generic;
mod github;
mod gitlab;
mod google;
mod linkedin;
mod microsoft;
mod slack;
mod twitter;
mod x;

pub use apple::{Apple, AppleRevocation};
pub use discord::Discord;
pub use facebook::{Facebook, DEFAULT_GRAPH_API_VERSION};
pub use generic::OAuth2;
pub use github::GitHub;
pub use gitlab::GitLab;
pub use google::Google;
pub use linkedin::LinkedIn;
pub use microsoft::Microsoft;
pub use slack::{Slack, SLACK_TEAM_ID};
pub use twitter::Twitter;
pub use x::X;

/// Each preset is checked and parsed when it becomes a [`Provider`]; a mistake waits in the
/// `Provider` for [`build`](crate::SocialAuthLayerBuilder::build) to report.
macro_rules! checked_when_converted {
    ($($preset:ty),+) => {
        $(
            impl From<$preset> for Provider {
                fn from(preset: $preset) -> Self {
                    Provider::checked(preset.build())
                }
            }
        )+
    };
}

checked_when_converted!(Discord, Facebook, GitHub, OAuth2, Twitter, X);

/// The OpenID Connect presets are an [`Oidc`] configured for their issuer: each converts into
/// that `Oidc`, and into a [`Provider`] through it.
macro_rules! oidc_presets {
    ($($preset:ty),+) => {
        $(
            impl From<$preset> for Oidc {
                fn from(preset: $preset) -> Self {
                    preset.oidc
                }
            }

            impl From<$preset> for Provider {
                fn from(preset: $preset) -> Self {
                    Provider::from(preset.oidc)
                }
            }
        )+
    };
}

oidc_presets!(GitLab, Google, LinkedIn, Microsoft, Slack);
issuer_url_setter!(Google, LinkedIn, Slack);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::ClientAuth;

    /// `oidc` is the OpenID Connect provider `name` at `issuer`, and builds.
    fn assert_oidc_preset(oidc: Oidc, name: &str, issuer: &str) {
        assert_eq!(oidc.issuer(), issuer);
        let provider = Provider::from(oidc);
        assert_eq!(provider.name(), name);
        assert!(provider.built.is_ok(), "{name}");
    }

    /// A preset's `Debug`, made with the client secret `hunter2`, does not show it.
    fn assert_debug_hides(debug: String) {
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn google_is_an_oidc_provider_for_its_issuer() {
        let google = Google::new("id", "hunter2");
        assert_debug_hides(format!("{google:?}"));
        assert_oidc_preset(google.into(), "google", "https://accounts.google.com");
    }

    #[test]
    fn gitlab_com_or_a_self_managed_issuer() {
        assert_oidc_preset(
            GitLab::new("id", "s").into(),
            "gitlab",
            "https://gitlab.com",
        );
        let self_managed = GitLab::new("id", "s").base_url("https://gitlab.example.com/");
        assert_oidc_preset(self_managed.into(), "gitlab", "https://gitlab.example.com");
    }

    #[test]
    fn linkedin_issuer_and_client_secret_post() {
        let linkedin = Oidc::from(LinkedIn::new("id", "s"));
        assert_eq!(linkedin.configured_client_auth(), Some(ClientAuth::Post));
        assert_oidc_preset(linkedin, "linkedin", "https://www.linkedin.com/oauth");
    }

    #[test]
    fn slack_issuer_and_client_secret_post() {
        let slack = Oidc::from(Slack::new("id", "s"));
        assert_eq!(slack.configured_client_auth(), Some(ClientAuth::Post));
        assert_oidc_preset(slack, "slack", "https://slack.com");
    }

    #[test]
    fn debug_never_shows_a_client_secret() {
        for debug in [
            format!("{:?}", Discord::new("id", "hunter2")),
            format!("{:?}", Facebook::new("id", "hunter2")),
            format!("{:?}", GitHub::new("id", "hunter2")),
            format!("{:?}", OAuth2::new("corp", "id", "hunter2")),
            format!("{:?}", Twitter::new("key", "hunter2")),
            format!("{:?}", X::new("id", "hunter2")),
        ] {
            assert_debug_hides(debug);
        }
    }
}
