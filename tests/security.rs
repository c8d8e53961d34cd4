//! The security and fault battery (issue 5): every known attack on OAuth clients and JWT
//! cookies, tried through the layer against strict loopback fakes, one test per item, each
//! asserting what a user would notice. Every refusal is fail-closed: the provider's token
//! endpoint is not called, the attempt's flow cookie is cleared, nobody is signed in,
//! nothing the provider or the attacker wrote is echoed, and nothing panics.
//!
//! The load items (16) run in their own binary, `tests/security_load.rs`, so that their
//! memory and timing measures are not shared with these tests.

mod common;

#[path = "security/support.rs"]
mod support;

#[path = "security/flow_state.rs"]
mod flow_state;

#[path = "security/token_confusion.rs"]
mod token_confusion;

#[path = "security/tampered.rs"]
mod tampered;

#[path = "security/jws_headers.rs"]
mod jws_headers;

#[path = "security/time_claims.rs"]
mod time_claims;

#[path = "security/provider_refusals.rs"]
mod provider_refusals;

#[path = "security/oauth1.rs"]
mod oauth1;

#[path = "security/open_redirect.rs"]
mod open_redirect;

#[path = "security/cookies.rs"]
mod cookies;

#[path = "security/spoofing.rs"]
mod spoofing;

#[path = "security/provider_faults.rs"]
mod provider_faults;

#[path = "security/key_rotation.rs"]
mod key_rotation;
