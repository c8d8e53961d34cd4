//! The providers the crate ships: configuration, endpoints and a mapping to the profile, on
//! the shared OAuth 2.0, OpenID Connect and OAuth 1.0a cores.

use std::future::Future;

use crate::error::AuthError;
use crate::oauth2::{Client, CodeFlowProvider, TokenResponse};
use crate::provider::{Oidc, Profile, Provider, ProviderContext};

/// How a shipped code-flow preset turns a token into a profile.
pub(crate) trait ProfileMapping: Send + Sync + 'static {
    fn profile(
        &self,
        cx: &ProviderContext<'_>,
        token: &TokenResponse,
    ) -> impl Future<Output = Result<Profile, AuthError>> + Send;
}

/// A shipped code-flow preset, checked: its route name, client and profile mapping.
pub(crate) struct CodeFlowPreset<M> {
    pub(crate) name: String,
    pub(crate) client: Client,
    pub(crate) mapping: M,
}

impl<M: ProfileMapping> CodeFlowProvider for CodeFlowPreset<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn client(&self) -> &Client {
        &self.client
    }

    async fn profile(
        &self,
        cx: &ProviderContext<'_>,
        token: &TokenResponse,
    ) -> Result<Profile, AuthError> {
        self.mapping.profile(cx, token).await
    }
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

checked_when_converted!(Discord, Facebook, GitHub, OAuth2, Oidc, Twitter, X);

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
