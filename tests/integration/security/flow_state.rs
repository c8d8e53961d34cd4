//! Items 1-3: a callback whose state (or flow cookie) is missing, wrong or not this
//! browser's; a replayed callback; a flow cookie carried to another provider's callback.
//! Each is refused before the provider's token endpoint is called.

use serde_json::json;

use crate::common::browser::Browser;
use crate::common::browser::{query_param, with_param};
use crate::common::clock::now;
use crate::common::forge::{flow_cookie_name, seal_flow};
use crate::security::support::{world, Reply, PROVIDERS};

/// The callback parameter naming the attempt: `state`, or Twitter's `oauth_token`.
fn key_param(provider: &str) -> &'static str {
    if provider == "twitter" {
        "oauth_token"
    } else {
        "state"
    }
}

/// A callback to `provider` naming the attempt `key`, with a code (or verifier) of its own.
fn callback_with_key(base: &str, provider: &str, key: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    if provider == "twitter" {
        format!(
            "{base}/auth/twitter?oauth_token={}&oauth_verifier=v-attacker",
            enc(key)
        )
    } else {
        format!(
            "{base}/auth/{provider}?code=code-attacker&state={}",
            enc(key)
        )
    }
}

/// The flow cookie the browser holds: (name, value, path).
fn flow_cookie(browser: &Browser, provider: &str) -> (String, String, String) {
    browser
        .cookies()
        .into_iter()
        .find(|(name, _, _)| name.contains(&format!("socialauth-flow-{provider}-")))
        .unwrap_or_else(|| panic!("no {provider} flow cookie"))
}

#[tokio::test]
async fn item_01_state_missing_empty_wrong_or_without_its_cookie_never_reaches_the_token_endpoint()
{
    let world = world().await;
    for provider in PROVIDERS {
        let param = key_param(provider);
        let victim = Browser::new();
        let callback = world.callback(&victim, provider).await;
        let state = query_param(&callback, param).expect("a key in the callback");
        let attacker = Browser::new();
        let attackers_state =
            query_param(&world.callback(&attacker, provider).await, param).expect("a key");
        let random = "Zm9yZ2VkLXN0YXRlLWZvcmdlZC1zdGF0ZS1mb3JnZWQtc3Q";

        // (label, URL, status, code, whether the answer clears a flow cookie)
        let cases = vec![
            (
                "missing",
                with_param(&callback, param, None),
                400,
                "invalid_request",
                false,
            ),
            (
                "empty",
                with_param(&callback, param, Some("")),
                400,
                "invalid_request",
                false,
            ),
            (
                "wrong",
                with_param(&callback, param, Some(random)),
                400,
                "missing_flow_cookie",
                true,
            ),
            (
                "another browser's",
                with_param(&callback, param, Some(&attackers_state)),
                400,
                "missing_flow_cookie",
                true,
            ),
            (
                "repeated",
                {
                    let mut url = url::Url::parse(&callback).unwrap();
                    url.query_pairs_mut().append_pair(param, &state);
                    url.to_string()
                },
                400,
                "invalid_request",
                false,
            ),
        ];
        for (label, url, status, code, clears) in cases {
            let reply = Reply::read(victim.get(&url).await).await;
            assert_eq!(
                reply.status, status,
                "{provider} {label}: {url} {}",
                reply.body
            );
            reply.assert_refused(status, code, clears, &[random, &attackers_state, "code-"]);
            assert_eq!(
                world.exchanges(provider),
                0,
                "{provider} {label}: exchanged"
            );
        }

        // No flow cookie at all: the right callback in a browser that did not start it.
        let stranger = Browser::new();
        let reply = Reply::read(stranger.get(&callback).await).await;
        reply.assert_refused(400, "missing_flow_cookie", true, &[&state]);

        // A flow cookie under this state's name that holds another state (only the layer's
        // key can make one: the state comparison itself is what refuses it).
        let name = flow_cookie_name(provider, &state);
        let sealed = seal_flow(
            &name,
            &json!({"p": provider, "x": now() + 600, "k": attackers_state, "s": "verifier",
                    "n": "nonce-nonce-nonce-nonce-nonce-nonce-nonce-no"})
            .to_string(),
        );
        let (_, _, path) = flow_cookie(&victim, provider);
        let forger = Browser::new();
        forger.set_cookie("127.0.0.1", &name, &sealed, &path);
        let reply = Reply::read(forger.get(&callback).await).await;
        reply.assert_refused(400, "state_mismatch", true, &[&attackers_state]);
        assert_eq!(world.exchanges(provider), 0, "{provider}: exchanged");

        // The browser's own callback still completes: nothing above spent it.
        let reply = Reply::read(victim.get(&callback).await).await;
        assert_eq!(reply.status, 303, "{provider}: {}", reply.body);
        assert!(reply.sets_an_identity(), "{provider}");
        assert_eq!(world.exchanges(provider), 1, "{provider}");
    }
}

#[tokio::test]
async fn item_02_a_replayed_callback_signs_nobody_in() {
    let world = world().await;
    for provider in PROVIDERS {
        let browser = Browser::new();
        let callback = world.callback(&browser, provider).await;
        let captured = browser.cookie_header_for(&callback).expect("a flow cookie");

        let first = Reply::read(browser.get(&callback).await).await;
        assert_eq!(first.status, 303, "{provider}: {}", first.body);
        assert!(first.sets_an_identity());
        assert!(first.clears_a_flow_cookie(), "{provider}: flow cookie kept");
        assert_eq!(world.exchanges(provider), 1);

        // The same browser again: its flow cookie is gone, so the code goes nowhere.
        let again = Reply::read(browser.get(&callback).await).await;
        again.assert_refused(400, "missing_flow_cookie", true, &[]);
        assert_eq!(world.exchanges(provider), 1, "{provider}: replay exchanged");

        // Someone who captured the URL and the cookie: this process has already taken that
        // attempt to the provider, so the layer refuses it before the provider sees it again;
        // nobody signs in.
        let thief = Browser::new();
        let replay = Reply::read(
            thief
                .get_with_headers(&callback, &[("cookie", &captured)])
                .await,
        )
        .await;
        replay.assert_refused(
            400,
            "invalid_flow_cookie",
            true,
            &[
                "already",
                "invalid_grant",
                "bad_verification_code",
                "OAuthException",
            ],
        );
        assert_eq!(
            world.exchanges(provider),
            1,
            "{provider}: the replay reached the provider"
        );
        assert_eq!(
            thief.follow(&world.url("/maybe")).await.body,
            "anonymous",
            "{provider}"
        );
    }
}

#[tokio::test]
async fn item_03_a_flow_cookie_of_one_provider_never_opens_at_another() {
    let world = world().await;
    for from in PROVIDERS {
        for to in PROVIDERS.iter().copied().filter(|to| *to != from) {
            let browser = Browser::new();
            let callback = world.callback(&browser, from).await;
            let key = query_param(&callback, key_param(from)).expect("a key");
            let (_, value, _) = flow_cookie(&browser, from);

            // Its value, moved under the name `to`'s callback looks for: the name is
            // authenticated with the value, so it does not open.
            let target = callback_with_key(&world.base, to, &key);
            let carrier = Browser::new();
            carrier.set_cookie(
                "127.0.0.1",
                &flow_cookie_name(to, &key),
                &value,
                &format!("/auth/{to}"),
            );
            let reply = Reply::read(carrier.get(&target).await).await;
            reply.assert_refused(400, "invalid_flow_cookie", true, &[]);

            // The browser's own jar at `to`'s callback: the cookie's path keeps it away.
            let reply = Reply::read(browser.get(&target).await).await;
            reply.assert_refused(400, "missing_flow_cookie", true, &[]);
        }
        // A cookie sealed under `to`'s name (only the key can do that) that says it belongs
        // to `from`: the provider check refuses it.
        let to = PROVIDERS.iter().copied().find(|p| *p != from).unwrap();
        let key = "c3RhdGUtb2YtYW5vdGhlci1wcm92aWRlci1zdGF0ZS1vZg";
        let name = flow_cookie_name(to, key);
        let sealed = seal_flow(
            &name,
            &json!({"p": from, "x": now() + 600, "k": key, "s": "verifier",
                    "n": "nonce-nonce-nonce-nonce-nonce-nonce-nonce-no"})
            .to_string(),
        );
        let forger = Browser::new();
        forger.set_cookie("127.0.0.1", &name, &sealed, &format!("/auth/{to}"));
        let reply = Reply::read(forger.get(&callback_with_key(&world.base, to, key)).await).await;
        reply.assert_refused(400, "invalid_flow_cookie", true, &[]);
    }
    assert_eq!(world.all_exchanges(), 0, "a token endpoint was called");
}
