//! Set-up mistakes a new user makes, answered at `build()` with what to do: a plain-http
//! public URL (the Secure, `__Host-` cookies would never come back) and a short secret, read
//! as a `main` returning `Result` prints it (`Error: {:?}`).

use std::error::Error;

use socialauth::{ConfigError, GitHub, SocialAuthLayer, SocialAuthLayerBuilder};

use crate::common::app::SECRET;

fn builder() -> SocialAuthLayerBuilder {
    SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(GitHub::new("client-id", "client-secret"))
}

/// What `fn main() -> Result<(), Box<dyn Error>>` prints when `build()?` fails.
fn as_main_prints(error: ConfigError) -> String {
    let boxed: Box<dyn Error> = Box::new(error);
    format!("Error: {boxed:?}")
}

#[test]
fn a_plain_http_public_url_is_refused_with_both_fixes_named() {
    let refused = builder()
        .public_url("http://app.example.com")
        .build()
        .expect_err("a plain-http public URL must not build");
    assert!(
        matches!(
            refused,
            ConfigError::InvalidUrl {
                setting: "public_url",
                ..
            }
        ),
        "{refused:?}"
    );
    let printed = as_main_prints(refused);
    for hint in ["https", ".insecure_http_cookies()", "missing_flow_cookie"] {
        assert!(printed.contains(hint), "{printed}");
    }
}

#[test]
fn https_loopback_and_an_explicit_insecure_choice_still_build() {
    for url in [
        "https://app.example.com",
        "http://127.0.0.1:3000",
        "http://localhost:8080/base",
        "http://[::1]:3000",
    ] {
        assert!(builder().public_url(url).build().is_ok(), "{url}");
    }
    assert!(builder()
        .public_url("http://devbox.internal:3000")
        .insecure_http_cookies()
        .build()
        .is_ok());
}

#[test]
fn a_config_error_reads_as_what_to_fix_where_main_prints_it() {
    let refused = SocialAuthLayer::builder()
        .secret("too-short")
        .provider(GitHub::new("client-id", "client-secret"))
        .build()
        .expect_err("a 9-byte secret must not build");
    let printed = as_main_prints(refused);
    assert!(
        printed.contains("at least 32 random bytes are required"),
        "{printed}"
    );
    assert!(printed.contains("SecretTooShort"), "{printed}");
    let printed = as_main_prints(
        SocialAuthLayer::builder()
            .secret(SECRET)
            .build()
            .unwrap_err(),
    );
    assert!(
        printed.contains("add at least one with .provider()"),
        "{printed}"
    );
}
