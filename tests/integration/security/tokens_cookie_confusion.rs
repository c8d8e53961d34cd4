//! The provider tokens cookie and the layer's other cookies are never taken for one another.
//! Each is sealed or signed under its own name and purpose: the tokens cookie presented as
//! the identity cookie signs nobody in, presented as a flow cookie ends no login; the identity
//! cookie or a flow cookie presented as the tokens cookie opens no tokens. Each refusal is a
//! short JSON answer that echoes nothing it was sent, and the provider is never called.

use crate::common::app::{IDENTITY_COOKIE, TOKENS_COOKIE};
use crate::common::browser::Browser;
use crate::security::support::{world_with, Fakes, Reply, World};

/// `GET path` with exactly `cookie` as the `Cookie` header, read whole.
async fn get_with_cookie(world: &World, path: &str, cookie: &str) -> Reply {
    let answer = Browser::new()
        .get_with_headers(&world.url(path), &[("cookie", cookie)])
        .await;
    Reply::read(answer).await
}

/// The JSON refusal `status` / `code`, echoing none of `values`.
#[track_caller]
fn assert_refused_quietly(reply: &Reply, status: u16, code: &str, values: &[&str]) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code, "{}", reply.body);
    assert!(!reply.sets_an_identity(), "an identity was set");
    let headers = format!("{:?}", reply.headers);
    for value in values {
        assert!(!reply.body.contains(value), "echoed in {}", reply.body);
        assert!(!headers.contains(value), "echoed in {headers}");
    }
}

#[tokio::test]
async fn the_tokens_cookie_is_no_identity_or_flow_cookie_and_neither_is_a_tokens_cookie() {
    let world = world_with(Fakes::default(), |b| b.keep_provider_tokens(true)).await;
    let signed_in = Browser::new();
    let visit = signed_in.follow(&world.url("/auth/oidc?login=start")).await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let identity = signed_in.cookie(IDENTITY_COOKIE).expect("identity cookie");
    let tokens = signed_in.cookie(TOKENS_COOKIE).expect("tokens cookie");
    let own = format!("{IDENTITY_COOKIE}={identity}; {TOKENS_COOKIE}={tokens}");
    assert_eq!(
        get_with_cookie(&world, "/provider-token", &own)
            .await
            .status,
        200
    );

    // A login under way in another browser: its flow cookie, its callback not yet visited.
    let starting = Browser::new();
    let callback = world.callback(&starting, "oidc").await;
    let (flow_name, flow, _) = (starting.cookies().into_iter())
        .find(|(name, _, _)| name.starts_with("__Host-socialauth-flow-oidc-"))
        .expect("a flow cookie");
    let exchanges = world.exchanges("oidc");

    // The tokens cookie as the identity cookie: nobody.
    let as_identity = format!("{IDENTITY_COOKIE}={tokens}");
    let maybe = get_with_cookie(&world, "/maybe", &as_identity).await;
    assert_eq!((maybe.status, maybe.body.as_str()), (200, "anonymous"));
    let whoami = get_with_cookie(&world, "/whoami", &as_identity).await;
    assert_eq!(whoami.status, 401, "{}", whoami.body);
    assert!(!whoami.body.contains(&tokens), "{}", whoami.body);

    // The tokens cookie as the flow cookie: the login ends with invalid_flow_cookie, before
    // the code goes to the provider, and the attempt's cookie is cleared.
    starting.set_cookie("127.0.0.1", &flow_name, &tokens, "/");
    let answer = Reply::read(starting.get(&callback).await).await;
    assert_refused_quietly(&answer, 400, "invalid_flow_cookie", &[&tokens]);
    assert!(answer.clears_a_flow_cookie(), "{:?}", answer.set_cookies());
    assert_eq!(world.exchanges("oidc"), exchanges, "the code went nowhere");

    // The identity cookie, and a flow cookie, as the tokens cookie: no tokens.
    for (what, value) in [("identity cookie", &identity), ("flow cookie", &flow)] {
        let cookie = format!("{IDENTITY_COOKIE}={identity}; {TOKENS_COOKIE}={value}");
        let answer = get_with_cookie(&world, "/provider-token", &cookie).await;
        assert_eq!(answer.status, 401, "{what}: {}", answer.body);
        assert_refused_quietly(&answer, 401, "provider_tokens_missing", &[value]);
    }
    assert_eq!(world.exchanges("oidc"), exchanges);
}
