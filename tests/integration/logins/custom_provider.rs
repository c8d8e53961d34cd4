//! A provider the crate does not ship (`examples/custom_provider/acme.rs`, written on the
//! public `CodeFlowProvider` trait) logs in end to end against a strict loopback "Acme":
//! state, PKCE S256, exact redirect URI, Basic client authentication, single-use codes.

#[path = "../../../examples/custom_provider/acme.rs"]
mod acme;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use crate::common::app::{self, json_of};
use crate::common::browser::Browser;
use crate::common::server::{self, FakeBody};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::json;
use sha2::{Digest, Sha256};
use socialauth::SocialAuthLayer;

const CLIENT_ID: &str = "acme-client";
const CLIENT_SECRET: &str = "acme-secret";

/// What the fake remembers: codes (single use) and the tokens it issued.
#[derive(Default)]
struct AcmeState {
    /// code -> (redirect_uri, code_challenge)
    codes: HashMap<String, (String, String)>,
    tokens: Vec<String>,
    email_confirmed: bool,
    rejections: Vec<String>,
}

type Shared = Arc<Mutex<AcmeState>>;

fn refuse(state: &Shared, status: u16, why: &str) -> Response<FakeBody> {
    state.lock().unwrap().rejections.push(why.to_owned());
    server::json(
        status,
        &json!({"error": "invalid_request", "error_description": why}),
    )
}

async fn acme(state: Shared, request: Request<Incoming>) -> Response<FakeBody> {
    let query = server::query_pairs(request.uri());
    let q = |name: &str| server::param(&query, name).map(str::to_owned);
    match request.uri().path() {
        "/oauth/authorize" => {
            let ok = q("response_type").as_deref() == Some("code")
                && q("client_id").as_deref() == Some(CLIENT_ID)
                && q("code_challenge_method").as_deref() == Some("S256")
                && q("state").is_some_and(|s| s.len() >= 16);
            let (Some(redirect_uri), Some(challenge), Some(st), true) =
                (q("redirect_uri"), q("code_challenge"), q("state"), ok)
            else {
                return refuse(
                    &state,
                    400,
                    "authorization request without state, PKCE or client",
                );
            };
            let code = server::random_token("code", 16);
            state
                .lock()
                .unwrap()
                .codes
                .insert(code.clone(), (redirect_uri.clone(), challenge));
            server::redirect(&format!("{redirect_uri}?code={code}&state={st}"))
        }
        "/oauth/token" => {
            let expected = format!(
                "Basic {}",
                STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
            );
            let authorized = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .is_some_and(|h| h.as_bytes() == expected.as_bytes());
            let form = server::form_pairs(&server::read_body(request.into_body()).await);
            if !authorized {
                state
                    .lock()
                    .unwrap()
                    .rejections
                    .push("client authentication".into());
                return server::json(401, &json!({"error": "invalid_client"}));
            }
            let f = |name: &str| server::param(&form, name).unwrap_or_default().to_owned();
            let issued = state.lock().unwrap().codes.remove(&f("code"));
            let Some((redirect_uri, challenge)) = issued else {
                return refuse(&state, 400, "unknown or reused code");
            };
            let verifier_hash =
                URL_SAFE_NO_PAD.encode(Sha256::digest(f("code_verifier").as_bytes()));
            if f("grant_type") != "authorization_code"
                || f("redirect_uri") != redirect_uri
                || verifier_hash != challenge
            {
                return refuse(
                    &state,
                    400,
                    "grant type, redirect_uri or PKCE verifier mismatch",
                );
            }
            let token = server::random_token("at", 16);
            state.lock().unwrap().tokens.push(token.clone());
            server::json(
                200,
                &json!({"access_token": token, "token_type": "bearer", "expires_in": 3600}),
            )
        }
        "/api/me" => {
            let bearer = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer "))
                .map(str::to_owned);
            let guard = state.lock().unwrap();
            if !bearer.is_some_and(|t| guard.tokens.contains(&t)) {
                drop(guard);
                return refuse(&state, 401, "no valid access token");
            }
            server::json(
                200,
                &json!({"user": {
                    "number": 7, "handle": "ada", "display_name": "Ada Lovelace",
                    "email": "ada@acme.test", "email_confirmed": guard.email_confirmed,
                }}),
            )
        }
        _ => server::json(404, &json!({"error": "not_found"})),
    }
}

/// A running fake Acme and an app whose layer has the Acme provider with `client_secret`.
async fn start(email_confirmed: bool, client_secret: &str) -> (Shared, String) {
    let state: Shared = Arc::new(Mutex::new(AcmeState {
        email_confirmed,
        ..AcmeState::default()
    }));
    let shared = state.clone();
    let addr = server::serve(tower::service_fn(move |request| {
        let state = shared.clone();
        async move { Ok::<_, Infallible>(acme(state, request).await) }
    }))
    .await;
    let provider =
        acme::Acme::new(&format!("http://{addr}"), CLIENT_ID, client_secret).expect("valid Acme");
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(provider)
        .build()
        .expect("valid configuration");
    let app = server::serve(app::axum_app().layer(layer)).await;
    (state, format!("http://{app}"))
}

#[tokio::test]
async fn a_user_written_provider_signs_users_in() {
    let (state, base) = start(true, CLIENT_SECRET).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/acme?login=start"))
        .await;
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [303, 302, 303, 200], "{:?}", visit.hops);
    assert!(
        state.lock().unwrap().rejections.is_empty(),
        "{:?}",
        state.lock().unwrap().rejections
    );
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "acme");
    assert_eq!(who["user_id"], "7");
    assert_eq!(who["name"], "Ada Lovelace");
    assert_eq!(who["email"], "ada@acme.test");
}

#[tokio::test]
async fn an_unconfirmed_email_does_not_reach_the_app() {
    let (_state, base) = start(false, CLIENT_SECRET).await;
    let browser = Browser::new();
    browser
        .follow(&format!("{base}/auth/acme?login=start"))
        .await;
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], "7");
    assert!(who["email"].is_null(), "{who}");
}

#[tokio::test]
async fn a_refused_client_is_a_json_error_and_nobody_is_signed_in() {
    let (state, base) = start(true, "wrong-secret").await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/acme?login=start"))
        .await;
    let last = visit.hops.last().map(|(_, s)| *s);
    assert_eq!(last, Some(502), "{:?}", visit.hops);
    assert_eq!(json_of(&visit.body)["error"], "provider_error");
    assert_eq!(state.lock().unwrap().rejections, ["client authentication"]);
    let maybe = browser.follow(&format!("{base}/maybe")).await;
    assert_eq!(maybe.body, "anonymous");
}
