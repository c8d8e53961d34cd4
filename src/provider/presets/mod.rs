//! The providers the crate ships: configuration, endpoints and a mapping to the profile, on
//! the shared OAuth 2.0, OpenID Connect and OAuth 1.0a cores.

mod facebook;
mod fields;
mod generic;
mod github;
mod google;
mod twitter;

pub use facebook::{Facebook, DEFAULT_GRAPH_API_VERSION};
pub use generic::OAuth2;
pub use github::GitHub;
pub use google::Google;
pub use twitter::Twitter;
