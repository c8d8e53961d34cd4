//! Facebook (OAuth 2.0 + PKCE) logins through the layer, against a strict fake Facebook that
//! checks state, PKCE, the redirect URI, single-use codes and appsecret_proof.

use crate::common::app::{self, json_of, Stack};
use crate::common::browser::Browser;
use crate::common::fake_facebook::Endpoint;
use socialauth::{Grant, UserProfile};
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn facebook_login_then_whoami_on_axum_and_hyper() {
    for stack in [Stack::Axum, Stack::Hyper] {
        let app = app::start_with(stack, |b| b).await;
        let browser = Browser::new();
        let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;

        let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            statuses,
            [303, 302, 303, 200],
            "{stack:?}: {:?}",
            visit.hops
        );
        assert!(
            app.facebook.rejections().is_empty(),
            "{:?}",
            app.facebook.rejections()
        );
        assert_eq!(
            (app.facebook.token_calls(), app.facebook.me_calls()),
            (1, 1)
        );

        let who = json_of(&browser.follow(&app.url("/whoami")).await.body);
        assert_eq!(who["provider"], "facebook", "{stack:?}");
        assert_eq!(who["user_id"], "10001");
        assert_eq!(who["name"], "Mark Z");
        assert_eq!(
            who["email"],
            serde_json::Value::Null,
            "Meta does not say it verified it"
        );
        assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");
    }
}

#[tokio::test]
async fn facebooks_email_reaches_the_authorize_hook_as_a_claim_never_as_the_identitys() {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let app = app::start_with(Stack::Axum, move |builder| {
        builder.authorize(move |user: UserProfile| {
            let record = record.clone();
            async move {
                let email = user.email().map(str::to_owned);
                let claim = user.claim("email").cloned();
                *record.lock().unwrap() = Some((email, claim));
                Ok(Grant::new())
            }
        })
    })
    .await;
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        Some((None, Some(serde_json::json!("mark@example.com"))))
    );
    let who = json_of(&browser.follow(&app.url("/whoami")).await.body);
    assert_eq!(who["email"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_dialog_gets_state_pkce_scope_and_this_route_as_redirect_uri() {
    let app = app::start().await;
    let browser = Browser::new();
    browser.follow(&app.url("/auth/facebook?login=start")).await;
    let params = app.facebook.last_authorize_params();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("client_id"), "fb-app-id");
    assert_eq!(get("redirect_uri"), app.url("/auth/facebook"));
    assert_eq!(get("scope"), "public_profile,email");
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("code_challenge").len(), 43);
    assert!(
        get("state").len() >= 43,
        "state too short: {:?}",
        get("state")
    );
}

#[tokio::test]
async fn two_tabs_logging_in_at_once_both_succeed() {
    let app = app::start().await;
    let browser = Browser::new();
    let location = |r: &reqwest::Response| {
        r.headers()[http::header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let tab_a = location(&browser.get(&app.url("/auth/facebook?login=start")).await);
    let tab_b = location(&browser.get(&app.url("/auth/facebook?login=start")).await);
    let state = |url: &str| {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .into_owned()
    };
    assert_ne!(state(&tab_a), state(&tab_b));
    let flows = || {
        browser
            .cookies()
            .into_iter()
            .filter(|(n, _, _)| n.contains("socialauth-flow"))
            .count()
    };
    assert_eq!(flows(), 2, "the second start overwrote the first");

    // Tab B finishes first, then tab A: both complete.
    let b = browser.follow(&tab_b).await;
    assert_eq!(b.status, 200, "{:?} {}", b.hops, b.body);
    let a = browser.follow(&tab_a).await;
    assert_eq!(a.status, 200, "{:?} {}", a.hops, a.body);
    assert_eq!(flows(), 0);
    assert_eq!(app.facebook.token_calls(), 2);
}

#[tokio::test]
async fn json_success_answer_as_the_python_library_gave() {
    let app = app::start_with(Stack::Axum, |b| b.after_login_json()).await;
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(visit.status, 200);
    assert_eq!(
        json_of(&visit.body),
        serde_json::json!({"status": "success"})
    );
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");
}

#[tokio::test]
async fn after_login_redirect_is_configurable() {
    let app = app::start_with(Stack::Axum, |b| b.after_login_redirect("/maybe")).await;
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(visit.final_url, app.url("/maybe"));
    assert_eq!(visit.body, "10001");
}

#[tokio::test]
async fn cancelling_at_facebook_is_401_with_no_exchange_and_no_reflection() {
    let app = app::start().await;
    app.facebook.set_user_denies(true);
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    visit.assert_error(401, "access_denied");
    assert_eq!(app.facebook.token_calls(), 0);
    assert!(
        !visit.body.contains("Permissions"),
        "provider text reflected: {}",
        visit.body
    );

    // A hand-made error callback with script in the description is answered the same way.
    let visit = browser
        .follow(&app.url(
            "/auth/facebook?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=x",
        ))
        .await;
    assert_eq!(visit.status, 401);
    assert!(!visit.body.contains("<script"), "{}", visit.body);
    assert_eq!(
        visit.headers[http::header::CONTENT_TYPE],
        "application/json"
    );
}

#[tokio::test]
async fn failure_redirect_sends_the_user_to_the_app_with_the_error_code() {
    let app = app::start_with(Stack::Axum, |b| b.failure_redirect("/maybe?from=login")).await;
    app.facebook.set_user_denies(true);
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(
        visit.final_url,
        app.url("/maybe?from=login&error=access_denied")
    );
    assert_eq!(visit.status, 200);
    assert_eq!(visit.body, "anonymous");
}

#[tokio::test]
async fn a_callback_replayed_20_times_with_its_cookie_costs_the_provider_one_exchange() {
    let app = app::start().await;
    let browser = Browser::new();
    let callback = browser
        .callback_from(&app.url("/auth/facebook?login=start"))
        .await;
    let cookie = browser.cookie_header_for(&callback).unwrap();

    let first = browser
        .get_with_headers(&callback, &[("cookie", &cookie)])
        .await;
    assert_eq!(first.status(), 303);
    for _ in 0..20 {
        let again = browser
            .get_with_headers(&callback, &[("cookie", &cookie)])
            .await;
        assert_eq!(again.status(), 400);
        let body = json_of(&again.text().await.unwrap());
        assert_eq!(body["error"], "invalid_flow_cookie");
    }
    assert_eq!(app.facebook.calls(Endpoint::Token), 1);
}
