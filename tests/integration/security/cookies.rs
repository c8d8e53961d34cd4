//! Item 13: the cookies. Names and flags (`__Host-` identity cookie, Secure, HttpOnly,
//! Path=/, no Domain); duplicate identity cookies (cookie tossing) are anonymous whatever
//! their order, never "first valid wins"; an oversized Cookie header is not read; and every
//! cookie the layer sets fits a browser's 4096-byte limit on name and value.

use std::time::{Duration, Instant};

use cookie::{Cookie, SameSite};
use http::header::LOCATION;

use crate::common::app::SECRET;
use crate::common::browser::Browser;
use crate::common::fake_facebook::FacebookConfig;
use crate::common::forge::{claims_for, forge};
use crate::security::support::{
    call, direct_default, request, set_cookies, who_with_cookie, world, world_with, Fakes, Reply,
};

/// Browsers ignore a cookie whose name and value together exceed 4096 bytes (RFC 6265
/// §6.1's minimum, which Chromium and Firefox enforce as a maximum).
const BROWSER_LIMIT: usize = 4096;

fn parse(set_cookie: &str) -> Cookie<'static> {
    Cookie::parse(set_cookie.to_owned()).unwrap_or_else(|e| panic!("{set_cookie}: {e}"))
}

/// Every `Set-Cookie` of one whole login at `provider` (start, then callback), and of a
/// logout after it.
async fn cookies_of_a_login(
    world: &crate::security::support::World,
    provider: &str,
) -> Vec<String> {
    let browser = Browser::new();
    let mut all = Vec::new();
    let start = browser
        .get(&world.url(&format!("/auth/{provider}?login=start&return_to=/maybe")))
        .await;
    all.extend(set_cookies(start.headers()));
    let at_provider = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let back = browser.get(&at_provider).await;
    let callback = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 303, "{provider}");
    all.extend(set_cookies(done.headers()));
    let logout = browser.post(&world.url("/auth/logout"), &[]).await;
    assert_eq!(logout.status(), 303, "{provider}");
    all.extend(set_cookies(logout.headers()));
    all
}

#[tokio::test]
async fn item_13_cookies_carry_their_prefixes_and_flags() {
    for secure in [true, false] {
        let world = world_with(Fakes::default(), |b| {
            if secure {
                b
            } else {
                b.insecure_http_cookies()
            }
        })
        .await;
        for provider in ["facebook", "twitter", "oidc", "github"] {
            let all = cookies_of_a_login(&world, provider).await;
            let (identity, flow): (Vec<_>, Vec<_>) = all
                .iter()
                .map(|c| parse(c))
                .partition(|c| !c.name().contains("flow"));
            assert_eq!(identity.len(), 2, "{provider}: set, then removed at logout");
            assert_eq!(
                flow.len(),
                2,
                "{provider}: set, then removed at the callback"
            );
            for cookie in identity.iter().chain(&flow) {
                let text = cookie.to_string();
                assert_eq!(cookie.http_only(), Some(true), "{text}");
                assert_eq!(cookie.same_site(), Some(SameSite::Lax), "{text}");
                assert_eq!(cookie.domain(), None, "{text}");
                assert_eq!(cookie.secure().unwrap_or(false), secure, "{text}");
                assert!(cookie.max_age().is_some(), "{text}: a session cookie");
                assert!(
                    cookie.name().len() + cookie.value().len() <= BROWSER_LIMIT,
                    "{text}"
                );
            }
            for cookie in &identity {
                let expected = if secure {
                    "__Host-socialauth"
                } else {
                    "socialauth"
                };
                assert_eq!(cookie.name(), expected);
                assert_eq!(cookie.path(), Some("/"));
            }
            for cookie in &flow {
                // `__Host-`: no sibling subdomain can plant a login attempt.
                let prefix = if secure {
                    "__Host-socialauth-flow-"
                } else {
                    "socialauth-flow-"
                };
                assert!(cookie.name().starts_with(prefix), "{}", cookie.name());
                assert_eq!(cookie.path(), Some("/"));
                assert_eq!(cookie.domain(), None);
                assert!(cookie.max_age().unwrap() <= cookie::time::Duration::minutes(10));
            }
        }
    }
}

#[tokio::test]
async fn item_13_duplicate_identity_cookies_are_anonymous_whatever_their_order() {
    let layer = direct_default();
    let victim = forge(&claims_for("victim")).await;
    let attacker = forge(&claims_for("attacker")).await;
    let name = "__Host-socialauth";
    assert_eq!(
        who_with_cookie(&layer, &format!("{name}={victim}")).await,
        "victim"
    );
    let garbage = "eyJhbGciOiJub25lIn0.e30.";
    let one_header = [
        format!("{name}={attacker}; {name}={victim}"),
        format!("{name}={victim}; {name}={attacker}"),
        format!("{name}={victim}; {name}={victim}"),
        format!("{name}={garbage}; {name}={victim}"),
        format!("{name}={victim}; {name}={garbage}"),
        format!("{name}=; {name}={victim}"),
        format!("{name}=\"{victim}\"; {name}={victim}"),
        format!("{name} ={attacker};{name}={victim}"),
        format!("a=1; {name}={victim}; b=2; {name}={attacker}; c=3"),
    ];
    for cookie in &one_header {
        for _ in 0..2 {
            assert_eq!(
                who_with_cookie(&layer, cookie).await,
                "anonymous",
                "{cookie}"
            );
        }
    }
    // Split over two Cookie headers (HTTP/2 sends one per cookie).
    for (first, second) in [
        (victim.as_str(), attacker.as_str()),
        (attacker.as_str(), victim.as_str()),
        (garbage, victim.as_str()),
        (victim.as_str(), victim.as_str()),
    ] {
        let a = format!("{name}={first}");
        let b = format!("{name}={second}");
        let response = call(
            &layer,
            request(
                "/maybe",
                &[("cookie", a.as_bytes()), ("cookie", b.as_bytes())],
            ),
        )
        .await;
        assert_eq!(response.body(), "anonymous", "{first} / {second}");
    }
    // Names that are not the identity cookie's, even if a browser might confuse them.
    for other in [
        "socialauth",
        "__host-socialauth",
        "__HOST-socialauth",
        "__Secure-socialauth",
        "__Host-socialauth2",
        "__Host-socialauth.",
        "%5F%5FHost-socialauth",
    ] {
        let cookie = format!("{other}={victim}");
        assert_eq!(
            who_with_cookie(&layer, &cookie).await,
            "anonymous",
            "{other}"
        );
    }
}

#[tokio::test]
async fn item_13_a_large_cookie_header_is_read_up_to_a_cap_and_answered_quickly() {
    let layer = direct_default();
    let victim = forge(&claims_for("victim")).await;
    // Sizes real browsers send (dozens of analytics cookies) keep the user signed in.
    let with_padding = |total: usize| {
        let head = format!("__Host-socialauth={victim}; pad=");
        let pad = "p".repeat(total.saturating_sub(head.len()));
        format!("{head}{pad}")
    };
    for total in [16 * 1024, 16 * 1024 + 1, 60 * 1024] {
        assert_eq!(
            who_with_cookie(&layer, &with_padding(total)).await,
            "victim",
            "{total} bytes"
        );
    }
    // Past the cap nothing more is read: an identity behind megabytes of padding is not
    // looked for, and the answer stays quick.
    let behind_padding =
        |total: usize| format!("pad={}; __Host-socialauth={victim}", "p".repeat(total));
    for total in [64 * 1024, 1 << 20, 4 << 20] {
        let started = Instant::now();
        let who = who_with_cookie(&layer, &behind_padding(total)).await;
        assert!(started.elapsed() < Duration::from_secs(1), "{total} bytes");
        assert_eq!(who, "anonymous", "{total} bytes");
    }
    // Through a real server too: an answer, never a 500.
    let world = world().await;
    for total in [64 * 1024, 100 * 1024] {
        let reply = Reply::read(
            Browser::new()
                .get_with_headers(&world.url("/maybe"), &[("cookie", &behind_padding(total))])
                .await,
        )
        .await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "anonymous"),
            "{total}"
        );
    }
    let _ = SECRET;
}

/// A provider's name and email of 2 KB each (a Facebook profile is free text; an OIDC
/// provider's claims are whatever its users typed).
fn long_profile() -> FacebookConfig {
    FacebookConfig {
        name: "N".repeat(2048),
        email: Some(format!("{}@example.com", "e".repeat(2048 - 12))),
        ..FacebookConfig::new()
    }
}

/// With a 2 KB name and a 2 KB email the identity token would be some 5.8 KB, over the
/// browsers' 4096-byte limit (and the layer's own `MAX_TOKEN_LEN`): the login would
/// "succeed" and leave the user signed out. The layer now cuts the name to 256 characters
/// and drops an email over 254 bytes (RFC 5321), so the cookie fits.
#[tokio::test]
async fn item_13_a_long_name_and_email_still_give_a_cookie_under_4096_bytes() {
    let world = world_with(
        Fakes {
            facebook: long_profile(),
            ..Fakes::default()
        },
        |b| b,
    )
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&world.url("/auth/facebook?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let all = cookies_of_a_login(&world, "facebook").await;
    for set_cookie in all {
        let cookie = parse(&set_cookie);
        let size = cookie.name().len() + cookie.value().len();
        assert!(size <= BROWSER_LIMIT, "{}: {size} bytes", cookie.name());
    }
    // What the user notices: signed in after the login.
    let whoami = browser.follow(&world.url("/whoami")).await;
    assert_eq!(whoami.status, 200, "signed out after a successful login");
}

/// Found by this battery: `return_to` may be 2048 bytes of any visible ASCII but `\`, and
/// every `"` in it is escaped in the flow state's JSON; 2047 of them make a flow cookie of
/// about 5.5 KB, which browsers drop, so the login fails with `missing_flow_cookie`. Only
/// the user's own login is hurt (the link that starts it chooses `return_to`), but the
/// layer answers a start it cannot finish. Proposed fix (login.rs): refuse a `return_to`
/// whose sealed cookie would pass 4096 bytes (fall back to the default), or count `"` as
/// two bytes in `MAX_RETURN_TO_LEN`.
#[tokio::test]
async fn item_13_the_flow_cookie_stays_under_4096_bytes_with_the_longest_return_to() {
    let world = world().await;
    for fill in ["a", "\"", "%22"] {
        let return_to = format!("/{}", fill.repeat(2047 / fill.len()));
        let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        for provider in ["facebook", "oidc", "twitter"] {
            let start = Browser::new()
                .get(&world.url(&format!("/auth/{provider}?login=start&return_to={encoded}")))
                .await;
            assert_eq!(start.status(), 303);
            for set_cookie in set_cookies(start.headers()) {
                let cookie = parse(&set_cookie);
                let size = cookie.name().len() + cookie.value().len();
                assert!(size <= BROWSER_LIMIT, "{provider} {fill:?}: {size} bytes");
            }
        }
    }
}

#[tokio::test]
async fn item_13_the_longest_return_to_of_plain_characters_still_logs_in() {
    let world = world().await;
    let return_to = format!("/{}", "a".repeat(2047));
    let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    for provider in ["facebook", "oidc", "twitter", "github"] {
        let browser = Browser::new();
        let visit = browser
            .follow(&world.url(&format!("/auth/{provider}?login=start&return_to={encoded}")))
            .await;
        assert_eq!(visit.final_url, world.url(&return_to), "{provider}");
    }
}
