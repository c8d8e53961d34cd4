//! The providers the crate ships: configuration, endpoints and a mapping to the profile, on
//! the shared OAuth 2.0, OpenID Connect and OAuth 1.0a cores.

use crate::provider::{Oidc, Provider};

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
