//! The findings of the adversarial review, one test each (the item number of the review):
//! each fails when its fix is taken out.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use socialauth::{Grant, SocialAuthLayer, Twitter};
use tower::{Layer, ServiceExt};

use crate::common::app::{self, json_of, SECRET};
use crate::common::browser::Browser;
use crate::common::clock::now;
use crate::common::fake_facebook::Endpoint as FacebookEndpoint;
use crate::common::fake_oidc::OidcConfig;
use crate::common::forge::{forge, identity_claims};
use crate::security::support::{
    call, direct, direct_default, request, world, world_with, Fakes, Reply,
};

/// 1. A flow cookie planted by a sibling subdomain (which can set `__Secure-` cookies for
/// the parent domain, never `__Host-` ones) completes no login: the attacker's own login,
/// approved with the attacker's account, cannot be finished in the victim's browser.
#[tokio::test]
async fn item_01_a_flow_cookie_planted_by_a_sibling_subdomain_signs_nobody_in() {
    let world = world().await;
    let attacker = Browser::new();
    let callback = world.callback(&attacker, "facebook").await;
    let (name, value, _) = attacker
        .cookies()
        .into_iter()
        .find(|(name, _, _)| name.contains("socialauth-flow"))
        .expect("the attacker's flow cookie");
    // What a sibling subdomain can plant: the same name, unless it is `__Host-`, which only
    // the app's own host can set; then the closest it can do is `__Secure-`.
    let planted = match name.strip_prefix("__Host-") {
        Some(rest) => format!("__Secure-{rest}"),
        None => name.clone(),
    };
    let victim = Browser::new();
    let host = url::Url::parse(&world.base).unwrap();
    victim.set_cookie(host.host_str().unwrap(), &planted, &value, "/");
    let reply = Reply::read(victim.get(&callback).await).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error_code(), "missing_flow_cookie");
    assert_eq!(
        world.exchanges("facebook"),
        0,
        "the attacker's code was exchanged"
    );
    assert_eq!(victim.follow(&world.url("/maybe")).await.body, "anonymous");
}

/// 2. Another app's cookie with non-ASCII bytes, or dozens of analytics cookies, leave the
/// signed-in user signed in.
#[tokio::test]
async fn item_02_a_non_ascii_or_large_cookie_header_keeps_the_user_signed_in() {
    let layer = direct_default();
    let token = forge(&identity_claims("victim").to_string()).await;
    let mut cookie = b"pref=caf\xc3\xa9; theme=\xe2\x98\x83; __Host-socialauth=".to_vec();
    cookie.extend_from_slice(token.as_bytes());
    let response = call(&layer, request("/maybe", &[("cookie", &cookie)])).await;
    assert_eq!(response.body(), "victim");
    let analytics: Vec<String> = (0..60)
        .map(|i| format!("_ga_{i}=GS1.1.{}", "7".repeat(140)))
        .collect();
    let cookie = format!("{}; __Host-socialauth={token}", analytics.join("; "));
    assert!(cookie.len() > 9_000);
    let response = call(&layer, request("/maybe", &[("cookie", cookie.as_bytes())])).await;
    assert_eq!(response.body(), "victim");
}

/// 3. Without `public_url`, a forged `Host` never becomes the callback URL sent to the
/// provider; loopback hosts (development) and `allowed_hosts` still work.
#[tokio::test]
async fn item_03_a_forged_host_never_becomes_the_callback_url() {
    let facebook = || {
        socialauth::Facebook::new("app", "secret")
            .dialog_base_url("https://facebook.test")
            .graph_base_url("https://graph.facebook.test")
    };
    let layer = direct(
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(facebook()),
    );
    let start =
        |host: &'static str| request("/auth/facebook?login=start", &[("host", host.as_bytes())]);
    let refused = call(&layer, start("evil.example")).await;
    assert_eq!(refused.status(), 500);
    let body = json_of(refused.body());
    assert_eq!(body["error"], "internal_error");
    assert!(refused.headers().get("location").is_none());
    assert!(!refused.body().contains("evil"), "{}", refused.body());

    let local = call(&layer, start("127.0.0.1:3000")).await;
    assert_eq!(local.status(), 303);
    assert!(redirect_uri(&local).starts_with("http://127.0.0.1:3000/auth/facebook"));

    let layer = direct(
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(facebook())
            .allowed_hosts(["app.example"]),
    );
    let allowed = call(&layer, start("app.example")).await;
    assert_eq!(allowed.status(), 303);
    assert_eq!(redirect_uri(&allowed), "https://app.example/auth/facebook");
    assert_eq!(call(&layer, start("evil.example")).await.status(), 500);
}

fn redirect_uri(response: &Response<String>) -> String {
    let location = response.headers()["location"].to_str().unwrap();
    crate::common::browser::query_param(location, "redirect_uri").unwrap()
}

/// 4. An OIDC email the provider does not mark verified (Entra ID sends them so) is not the
/// identity's email: an app linking accounts by email cannot be taken over with it.
#[tokio::test]
async fn item_04_an_email_without_email_verified_is_not_the_identitys() {
    let fakes = Fakes {
        oidc: OidcConfig {
            email_verified: None,
            ..OidcConfig::new()
        },
        ..Fakes::default()
    };
    let world = world_with(fakes, |b| b).await;
    let browser = Browser::new();
    let visit = browser.follow(&world.url("/auth/oidc?login=start")).await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let who = json_of(&browser.follow(&world.url("/whoami")).await.body);
    assert_eq!(who["user_id"], "248289761001");
    assert_eq!(who["email"], Value::Null, "{who}");
}

/// The layer around an app answering with `cache_control` (if any) and the user's id.
fn app_with_cache_control(
    cache_control: Option<&'static str>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<socialauth::ResponseBody<Full<Bytes>>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(Twitter::new("k", "s"))
        .sliding_renewal(true)
        .build()
        .unwrap();
    layer.layer(tower::service_fn(
        move |req: Request<Full<Bytes>>| async move {
            let who = req
                .extensions()
                .get::<socialauth::Identity>()
                .map_or("anonymous".to_owned(), |u| u.user_id().to_owned());
            let mut response = Response::new(Full::new(Bytes::from(who)));
            if let Some(value) = cache_control {
                response
                    .headers_mut()
                    .insert("cache-control", value.parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        },
    ))
}

/// 5. A renewal cookie never rides on a response a shared cache may store, and a renewed
/// response is marked private and varying on `Cookie`.
#[tokio::test]
async fn item_05_renewal_skips_shared_cacheable_responses_and_marks_the_others_private() {
    // Signed in 4 days ago, past half of the default 7-day lifetime: due for renewal.
    let mut claims = identity_claims("victim");
    let issued = now() - 4 * 24 * 3600;
    claims["iat"] = issued.into();
    claims["exp"] = (issued + 7 * 24 * 3600).into();
    claims["sid"] = "AAECAwQFBgcICQoLDA0ODw".into();
    claims["auth_ms"] = (issued * 1000).into();
    let token = forge(&claims.to_string()).await;
    let cookie = format!("__Host-socialauth={token}");
    let get = || request("/", &[("cookie", cookie.as_bytes())]);

    let public = app_with_cache_control(Some("public, max-age=600"));
    let response = public.oneshot(get()).await.unwrap();
    assert!(response.headers().get("set-cookie").is_none());

    let private = app_with_cache_control(None);
    let response = private.oneshot(get()).await.unwrap();
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("__Host-socialauth="), "{set_cookie}");
    assert_eq!(response.headers()["cache-control"], "private");
    assert_eq!(response.headers()["vary"], "Cookie");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "victim");
}

/// 6. `/auth/token` is off unless turned on; when on, its tokens are bearer-only and last an
/// hour, not the identity's week.
#[tokio::test]
async fn item_06_the_token_endpoint_is_opt_in_and_its_tokens_are_short_lived() {
    let mut claims = identity_claims("victim");
    claims["exp"] = (now() + 7 * 24 * 3600).into();
    let token = forge(&claims.to_string()).await;
    let cookie = format!("__Host-socialauth={token}");
    let ask = || request("/auth/token", &[("cookie", cookie.as_bytes())]);
    let builder = || {
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(Twitter::new("k", "s"))
    };

    let off = call(&direct(builder()), ask()).await;
    assert_eq!(off.status(), 404);
    assert!(!off.body().contains(&token[..20]));

    let on = direct(builder().token_endpoint(true));
    let answer = call(&on, ask()).await;
    assert_eq!(answer.status(), 200);
    let body = json_of(answer.body());
    let expires_at = body["expires_at"].as_u64().unwrap();
    assert!(
        expires_at <= now() + 3600 && expires_at + 60 >= now() + 3600,
        "{body}"
    );
    let bearer = format!("Bearer {}", body["token"].as_str().unwrap());
    let api = call(
        &on,
        request("/maybe", &[("authorization", bearer.as_bytes())]),
    )
    .await;
    assert_eq!(api.body(), "victim");
}

/// 7. Logout's cross-site check holds over HTTP/2 (no `Host`; the authority is in the URI)
/// and refuses `Sec-Fetch-Site: same-site` (a sibling subdomain).
#[tokio::test]
async fn item_07_logout_refuses_sibling_subdomains_and_foreign_origins_over_http2() {
    let layer = direct_default();
    let logout = |headers: &[(&str, &str)]| {
        let mut builder =
            Request::post("https://app.example/auth/logout").version(http::Version::HTTP_2);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Full::new(Bytes::new())).unwrap()
    };
    for (headers, status) in [
        (&[("origin", "https://evil.example")][..], 403),
        (&[("sec-fetch-site", "same-site")][..], 403),
        (&[("sec-fetch-site", "cross-site")][..], 403),
        (&[("origin", "https://app.example")][..], 303),
        (&[("sec-fetch-site", "same-origin")][..], 303),
        (&[("sec-fetch-site", "none")][..], 303),
    ] {
        let response = call(&layer, logout(headers)).await;
        assert_eq!(response.status(), status, "{headers:?}");
    }
}

/// 9. A flood of logins cannot make the app hammer a provider: at most
/// `max_concurrent_provider_logins` talk to it at once, the others wait, then get 503.
#[tokio::test]
async fn item_09_concurrent_logins_per_provider_are_bounded() {
    let world = world_with(Fakes::default(), |b| {
        b.max_concurrent_provider_logins(1usize)
            .provider_timeout(Duration::from_millis(1_500))
    })
    .await;
    world
        .facebook
        .set_delay(FacebookEndpoint::Token, Duration::from_millis(1_000));
    let mut callbacks = Vec::new();
    for _ in 0..3 {
        let browser = Browser::new();
        let callback = world.callback(&browser, "facebook").await;
        callbacks.push((browser, callback));
    }
    let tasks: Vec<_> = callbacks
        .into_iter()
        .map(|(browser, callback)| {
            tokio::spawn(async move { Reply::read(browser.get(&callback).await).await })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        let code = match reply.status {
            303 => String::new(),
            _ => reply.error_code(),
        };
        codes.push((reply.status, code));
    }
    assert!(
        codes.iter().any(|(s, c)| *s == 503 && c == "provider_busy"),
        "{codes:?}"
    );
    assert!(world.exchanges("facebook") < 3, "{codes:?}");
}

/// 10. An identity cookie whose name and value would pass 4,096 bytes (browsers drop it
/// silently) is never sent: the login fails with an error naming the cause.
#[tokio::test]
async fn item_10_an_identity_cookie_over_4096_bytes_is_a_clear_error_not_a_dropped_cookie() {
    let facebook = crate::common::fake_facebook::start(Default::default()).await;
    let twitter = crate::common::fake_twitter::start(Default::default()).await;
    let login = |pad: usize| {
        let layer = app::builder(&twitter, &facebook)
            .authorize(move |_| async move { Ok(Grant::new().claim("pad", "x".repeat(pad))) })
            .build()
            .unwrap();
        async move {
            let addr = crate::common::server::serve(app::axum_app().layer(layer)).await;
            let browser = Browser::new();
            let callback = browser
                .callback_from(&format!("http://{addr}/auth/facebook?login=start"))
                .await;
            Reply::read(browser.get(&callback).await).await
        }
    };
    // Find where logins start failing, then look at every size around it.
    let mut first_failing = None;
    for pad in (2_600..3_200).step_by(40) {
        if login(pad).await.status != 303 {
            first_failing = Some(pad);
            break;
        }
    }
    let edge = first_failing.expect("a large enough claim fails");
    let (mut signed_in, mut refused) = (0, 0);
    for pad in edge - 45..edge + 5 {
        let reply = login(pad).await;
        if reply.status == 303 {
            for cookie in reply.set_cookies() {
                let pair = cookie.split(';').next().unwrap();
                assert!(pair.len() <= 4096 + 1, "{} bytes sent", pair.len() - 1);
            }
            signed_in += 1;
        } else {
            assert_eq!(reply.status, 500, "{}", reply.body);
            assert_eq!(reply.error_code(), "internal_error");
            assert!(reply.body.contains("authorize hook"), "{}", reply.body);
            assert!(!reply.sets_an_identity());
            refused += 1;
        }
    }
    assert!(signed_in > 0 && refused > 0);
}
