//! The layer around an app once a login is done: the identity cookie on every request,
//! sessions, logout (local and at the provider), the provider's tokens, revocation (in one
//! process and across replicas on Redis: one node, Sentinel, Cluster), the logs, the
//! embedded dev provider, and the examples' apps (the demo in headless Chromium too).

// The demo's own app-building code, for `examples` and `browser_demo`; they use only part
// of it.
#[cfg(feature = "dev-provider")]
#[allow(dead_code)]
#[path = "../../../examples/demo/app.rs"]
mod demo;

mod access_tokens;
#[cfg(feature = "dev-provider")]
mod browser_demo;
mod config_mistakes;
#[cfg(feature = "dev-provider")]
mod dev_provider;
mod enterprise_tokens;
#[cfg(feature = "dev-provider")]
mod examples;
mod identity;
mod logs;
mod nginx_browser;
mod provider_logout;
mod provider_tokens;
mod revocation;
#[cfg(feature = "redis")]
mod revocation_redis;
#[cfg(feature = "redis")]
mod revocation_redis_ha;
mod session;
mod session_lifetime;
#[cfg(feature = "dev-provider")]
mod tonic_example;
