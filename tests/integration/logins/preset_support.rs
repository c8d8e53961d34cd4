//! What the preset login tests share: a login and its `/whoami`, a refused login, an app
//! whose authorize hook admits one value of a profile claim.

use crate::common::app::{self, json_of};
use crate::common::browser::Browser;
use serde_json::Value;
use socialauth::{Denied, Grant, SocialAuthLayer, UserProfile};

/// Signs in with `provider` at `/auth/<route>`: the `/whoami` answer.
pub(super) async fn whoami_after_login(
    provider: impl Into<socialauth::Provider>,
    route: &str,
) -> Value {
    let (browser, visit, base) = app::login_with(provider, route).await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    json_of(&browser.follow(&format!("{base}/whoami")).await.body)
}

/// Checks each field of `expected` in the `/whoami` answer `who`.
pub(super) fn assert_whoami(who: &Value, expected: Value) {
    for (field, value) in expected.as_object().expect("an object of fields") {
        assert_eq!(&who[field.as_str()], value, "{field} in {who}");
    }
}

/// A login through `provider` at `/auth/<route>` that the layer refuses with `status` and
/// the JSON error `error`: the browser it went through.
pub(super) async fn refused_login(
    provider: impl Into<socialauth::Provider>,
    route: &str,
    status: u16,
    error: &str,
) -> Browser {
    let (browser, visit, _) = app::login_with(provider, route).await;
    visit.assert_error(status, error);
    browser
}

/// The test app behind a layer with `provider` and an authorize hook admitting only users
/// whose profile claim `claim` is `value`: its base URL.
pub(super) async fn serve_admitting(
    provider: impl Into<socialauth::Provider>,
    claim: &'static str,
    value: &'static str,
) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(provider)
        .authorize(move |user: UserProfile| async move {
            if user.claim(claim).and_then(Value::as_str) == Some(value) {
                Ok(Grant::new().claim("admitted", value))
            } else {
                Err(Denied::new("not your workspace"))
            }
        })
        .build()
        .expect("valid configuration");
    app::serve_layer(layer).await
}
