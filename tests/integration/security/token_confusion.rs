//! Item 4: token-type confusion, both ways. A flow cookie, a provider's ID or access token,
//! or a flow state signed as a JWT is never an identity; an identity token (or identity
//! claims sealed with the flow key) is never a flow cookie.

use serde_json::json;

use crate::common::browser::query_param;
use crate::common::browser::Browser;
use crate::common::clock::now;
use crate::common::fake_oidc;
use crate::common::forge::{
    claims_for, flow_cookie_name, forge, identity_claims, issued_identity_token, seal_flow,
};
use crate::security::support::{
    call, direct_default, request, who_with_cookie, world, Direct, Reply,
};

/// What `Authorization: Bearer <token>` signs in as, through the layer: the inner service's
/// answer (the user id or `anonymous`).
async fn who_with_bearer(layer: &Direct, token: &str) -> String {
    let bearer = format!("Bearer {token}");
    let response = call(
        layer,
        request("/maybe", &[("authorization", bearer.as_bytes())]),
    )
    .await;
    response.into_body()
}

#[tokio::test]
async fn item_04_no_other_token_is_an_identity() {
    let world = world().await;
    let browser = Browser::new();
    // A flow cookie of each protocol, and the OIDC provider's own tokens.
    let mut others: Vec<(String, String)> = Vec::new();
    for provider in ["facebook", "twitter", "oidc"] {
        world.callback(&browser, provider).await;
    }
    for (name, value, _) in browser.cookies() {
        others.push((format!("flow cookie {name}"), value));
    }
    assert_eq!(others.len(), 3);
    let visit = Browser::new()
        .follow(&world.url("/auth/oidc?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    for token in world.oidc.issued_tokens() {
        others.push(("a provider token (OIDC access or ID token)".into(), token));
    }
    // A flow state, signed as a JWT with the identity key and the layer's own header.
    let flow_claims = json!({"p": "facebook", "x": now() + 600, "k": "state", "s": "verifier"});
    others.push((
        "flow state signed with the identity key".into(),
        forge(&flow_claims.to_string()).await,
    ));
    // Identity claims sealed with the flow key under the identity cookie's name.
    others.push((
        "identity claims sealed with the flow key".into(),
        seal_flow("__Host-socialauth", &claims_for("victim")),
    ));

    let layer = direct_default();
    let control = forge(&claims_for("victim")).await;
    assert_eq!(
        who_with_cookie(&layer, &format!("__Host-socialauth={control}")).await,
        "victim",
        "the control token must be accepted, or this test proves nothing"
    );
    // Bearer tokens have their own audience: the control for the bearer path is one.
    let mut bearer_claims = identity_claims("victim");
    bearer_claims["aud"] = "socialauth:bearer".into();
    let bearer_control = forge(&bearer_claims.to_string()).await;
    assert_eq!(
        who_with_bearer(&layer, &bearer_control).await,
        "victim",
        "the bearer path must accept the control"
    );
    // Neither token stands in for the other: the cookie's token is no bearer token, and a
    // bearer token is no identity cookie.
    assert_eq!(
        who_with_bearer(&layer, &control).await,
        "anonymous",
        "the cookie's token as a bearer token"
    );
    let swapped = format!("__Host-socialauth={bearer_control}");
    assert_eq!(
        who_with_cookie(&layer, &swapped).await,
        "anonymous",
        "a bearer token as the identity cookie"
    );
    for (what, token) in others {
        let cookie = format!("__Host-socialauth={token}");
        let as_cookie = who_with_cookie(&layer, &cookie).await;
        assert_eq!(as_cookie, "anonymous", "{what}");
        let as_bearer = who_with_bearer(&layer, &token).await;
        assert_eq!(as_bearer, "anonymous", "{what} as a bearer token");
        // And through the real server, for the axum extractor.
        let whoami = Browser::new()
            .get_with_headers(&world.url("/whoami"), &[("cookie", &cookie)])
            .await;
        assert_eq!(whoami.status(), 401, "{what}");
    }
}

#[tokio::test]
async fn item_04_no_identity_is_a_flow_cookie() {
    let world = world().await;
    let identity = issued_identity_token().await;
    for provider in ["facebook", "oidc", "github", "twitter"] {
        let browser = Browser::new();
        let callback = world.callback(&browser, provider).await;
        let key_param = if provider == "twitter" {
            "oauth_token"
        } else {
            "state"
        };
        let key = query_param(&callback, key_param).unwrap();
        let name = flow_cookie_name(provider, &key);
        let path = format!("/auth/{provider}");
        let candidates = [
            ("the identity token", identity.clone()),
            (
                "identity claims sealed with the flow key under this name",
                seal_flow(&name, &claims_for("victim")),
            ),
        ];
        for (what, value) in candidates {
            browser.set_cookie("127.0.0.1", &name, &value, &path);
            let reply = Reply::read(browser.get(&callback).await).await;
            assert_eq!(reply.status, 400, "{provider}: {what}: {}", reply.body);
            reply.assert_refused(400, "invalid_flow_cookie", true, &[]);
        }
    }
    assert_eq!(world.all_exchanges(), 0, "a token endpoint was called");
    assert_eq!(world.oidc.calls(fake_oidc::Endpoint::Token), 0);
}
