//! The embedded dev provider (`socialauth::dev_provider`): whole logins through the layer,
//! with the sign-in form submitted as a browser would, and everything it must refuse.

use std::io;
use std::time::Duration;

use crate::common::app::{self, json_of, IDENTITY_COOKIE};
use crate::common::browser::{Browser, Visit};
use crate::common::harness::pkce_challenge;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::LOCATION;
use http::Method;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use socialauth::dev_provider::DevProvider;
use socialauth::SocialAuthLayer;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn dev() -> DevProvider {
    DevProvider::start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("dev provider starts")
}

/// The test app (`/`, `/whoami`, `/maybe`) behind a layer with the dev provider.
async fn serve_app(dev: &DevProvider) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(dev.oidc())
        .build()
        .expect("valid configuration");
    app::serve_layer(layer).await
}

/// The hidden `ticket` input's value on a sign-in page.
fn ticket_of(page: &str) -> String {
    let start = page
        .find(r#"name="ticket" value=""#)
        .unwrap_or_else(|| panic!("no ticket on the page: {page}"))
        + r#"name="ticket" value=""#.len();
    let len = page[start..].find('"').expect("closing quote");
    page[start..start + len].to_owned()
}

/// The dev provider and a browser that started a login at an app behind it and is at the
/// provider's sign-in form: the form's ticket.
async fn at_the_form() -> (DevProvider, Browser, String) {
    let dev = dev().await;
    let base = serve_app(&dev).await;
    let browser = Browser::new();
    let page = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    let ticket = ticket_of(&page.body);
    (dev, browser, ticket)
}

/// The sign-in form's fields.
fn signing_in<'a>(ticket: &'a str, name: &'a str, email: &'a str) -> [(&'a str, &'a str); 3] {
    [("ticket", ticket), ("name", name), ("email", email)]
}

/// Starts a login at the app, then fills in and submits the dev provider's form.
async fn login_through_the_form(
    browser: &Browser,
    base: &str,
    dev: &DevProvider,
    name: &str,
    email: &str,
) -> Visit {
    let page = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    assert_eq!(page.status, 200, "{:?} {}", page.hops, page.body);
    assert!(page
        .final_url
        .starts_with(&format!("{}/authorize?", dev.issuer())));
    assert!(
        page.body.contains("Sign in to the dev provider"),
        "{}",
        page.body
    );
    assert!(page.body.contains(
        r#"<button class="primary" type="submit" name="action" value="sign_in">Sign in</button>"#
    ));
    let form = [
        ("ticket", ticket_of(&page.body)),
        ("name", name.to_owned()),
        ("email", email.to_owned()),
        ("action", "sign_in".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser
        .post_follow(&format!("{}/authorize", dev.issuer()), &form)
        .await
}

#[tokio::test]
async fn a_whole_login_through_the_sign_in_page() {
    let dev = dev().await;
    let base = serve_app(&dev).await;
    let browser = Browser::new();
    let visit =
        login_through_the_form(&browser, &base, &dev, "Ada <Lovelace>", "ada@example.com").await;
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [303, 303, 200], "{:?} {}", visit.hops, visit.body);
    assert_eq!(visit.final_url, format!("{base}/"));
    assert_eq!(visit.body, "home");
    let callback = &visit.hops[1].0;
    assert!(
        callback.starts_with(&format!("{base}/auth/dev?code=")),
        "{callback}"
    );
    let iss = form_urlencoded::byte_serialize(dev.issuer().as_bytes()).collect::<String>();
    assert!(
        callback.contains(&format!("&iss={iss}")),
        "RFC 9207 iss: {callback}"
    );

    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "dev");
    assert_eq!(who["name"], "Ada <Lovelace>");
    assert_eq!(who["email"], "ada@example.com");
    let user_id = who["user_id"].as_str().unwrap().to_owned();
    assert!(user_id.starts_with("dev-"), "{user_id}");

    // The same email (in any case) is the same user; another email another one.
    let again = Browser::new();
    login_through_the_form(&again, &base, &dev, "Ada", "ADA@example.com").await;
    let who = json_of(&again.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], user_id.as_str());
    let other = Browser::new();
    login_through_the_form(&other, &base, &dev, "Bob", "bob@example.com").await;
    let who = json_of(&other.follow(&format!("{base}/whoami")).await.body);
    assert_ne!(who["user_id"], user_id.as_str());
}

#[tokio::test]
async fn a_refused_form_shows_the_page_again_with_the_input_escaped() {
    let (dev, browser, ticket) = at_the_form().await;
    let authorize = format!("{}/authorize", dev.issuer());
    let name = r#""><script>alert(1)</script>"#;
    let refused = browser
        .post_follow(&authorize, &signing_in(&ticket, name, "not an email"))
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Type an email address"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("<script>"), "{}", refused.body);
    assert!(
        refused.body.contains("&quot;&gt;&lt;script&gt;"),
        "{}",
        refused.body
    );

    // The ticket survives a refused submission; it is single-use once accepted.
    let done = browser
        .post_follow(&authorize, &signing_in(&ticket, "Ada", "ada@example.com"))
        .await;
    assert_eq!(done.status, 200, "{:?} {}", done.hops, done.body);
    assert!(browser.cookie(IDENTITY_COOKIE).is_some());
    let reused = browser
        .post(&authorize, &signing_in(&ticket, "Eve", "eve@example.com"))
        .await;
    assert_eq!(reused.status(), 400);
    let unknown = browser
        .post(&authorize, &signing_in("made-up", "Eve", "eve@example.com"))
        .await;
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn cancel_sends_access_denied_back_to_the_app() {
    let (dev, browser, ticket) = at_the_form().await;
    let visit = browser
        .post_follow(
            &format!("{}/authorize", dev.issuer()),
            &[("ticket", &ticket), ("action", "cancel")],
        )
        .await;
    visit.assert_error(401, "access_denied");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}

#[tokio::test]
async fn sign_in_as_approves_without_the_page() {
    let dev = dev().await.sign_in_as("Test User", "test@example.com");
    let base = serve_app(&dev).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        statuses,
        [303, 303, 303, 200],
        "{:?} {}",
        visit.hops,
        visit.body
    );
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["name"], "Test User");
    assert_eq!(who["email"], "test@example.com");
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_registered_is_refused() {
    // Registered: another port. The app's own callback is then refused.
    let dev = dev().await.redirect_uri("http://127.0.0.1:9/auth/dev");
    let base = serve_app(&dev).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    assert_eq!(visit.status, 400, "{:?}", visit.hops);
    assert!(visit.body.contains("is not registered"), "{}", visit.body);
    assert!(!visit.body.contains("ticket"), "{}", visit.body);

    // By default: loopback http callbacks ending in /auth/dev only.
    let dev = self::dev().await;
    for redirect_uri in [
        "http://app.example.com/auth/dev",
        "https://127.0.0.1:3000/auth/dev",
        "http://127.0.0.1:3000/auth/other",
        "http://127.0.0.1:3000/auth/dev?next=//evil.example",
    ] {
        let resp = browser
            .get(&authorize_url(&dev, &[("redirect_uri", redirect_uri)]))
            .await;
        assert_eq!(resp.status(), 400, "{redirect_uri}");
        assert!(resp.headers().get(LOCATION).is_none());
    }
    let resp = browser.get(&authorize_url(&dev, &[])).await;
    assert_eq!(resp.status(), 200);
}

/// An authorization request as a client would make it, with some parameters replaced
/// (an empty value removes the parameter).
fn authorize_url(dev: &DevProvider, changes: &[(&str, &str)]) -> String {
    let challenge = pkce_challenge(VERIFIER);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", dev.client_id()),
        ("redirect_uri", "http://127.0.0.1:3000/auth/dev"),
        ("scope", "openid email profile"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/authorize?{query}", dev.issuer())
}

#[tokio::test]
async fn authorization_requests_without_pkce_state_or_openid_are_refused() {
    let dev = dev().await;
    let browser = Browser::new();
    for (changes, message) in [
        (&[("code_challenge_method", "")][..], "PKCE is required"),
        (
            &[("code_challenge_method", "plain")][..],
            "PKCE is required",
        ),
        (&[("code_challenge", "")][..], "code_challenge"),
        (&[("code_challenge", "short")][..], "code_challenge"),
        (&[("state", "")][..], "state"),
        (&[("client_id", "someone-else")][..], "unknown client_id"),
        (
            &[("response_type", "token")][..],
            "response_type must be code",
        ),
        (&[("scope", "email profile")][..], "openid"),
        (&[("response_mode", "form_post")][..], "response_mode"),
    ] {
        let url = authorize_url(&dev, changes);
        let visit = browser.follow(&url).await;
        assert_eq!(visit.status, 400, "{changes:?}");
        assert_eq!(visit.hops.len(), 1, "{changes:?} redirected");
        assert!(visit.body.contains(message), "{changes:?}: {}", visit.body);
    }
    // A parameter sent twice.
    let twice = format!("{}&state=again", authorize_url(&dev, &[]));
    assert_eq!(browser.get(&twice).await.status(), 400);
}

/// Signs in at the provider directly, as a client, and returns the code.
async fn code_for(browser: &Browser, dev: &DevProvider) -> String {
    let page = browser.follow(&authorize_url(dev, &[])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let resp = browser
        .post(
            &format!("{}/authorize", dev.issuer()),
            &signing_in(&ticket_of(&page.body), "Ada", "ada@example.com"),
        )
        .await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("state-123"));
    assert_eq!(param("iss").as_deref(), Some(dev.issuer()));
    param("code").expect("a code")
}

/// `POST /token` with Basic client authentication; the status and the JSON answer.
async fn redeem(browser: &Browser, dev: &DevProvider, form: &[(&str, &str)]) -> (u16, Value) {
    let basic = STANDARD.encode(format!("{}:{}", dev.client_id(), dev.client_secret()));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let resp = browser
        .request(
            Method::POST,
            &format!("{}/token", dev.issuer()),
            &[("authorization", &format!("Basic {basic}"))],
            Some(body),
        )
        .await;
    let status = resp.status().as_u16();
    (status, json_of(&resp.text().await.unwrap()))
}

fn token_form<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:3000/auth/dev"),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn tokens_are_signed_by_the_published_key_and_userinfo_agrees() {
    let dev = dev().await;
    let browser = Browser::new();
    let discovery = json_of(
        &browser
            .follow(&format!(
                "{}/.well-known/openid-configuration",
                dev.issuer()
            ))
            .await
            .body,
    );
    assert_eq!(discovery["issuer"], dev.issuer());
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");

    let code = code_for(&browser, &dev).await;
    let (status, answer) = redeem(&browser, &dev, &token_form(&code, VERIFIER)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");

    let jwks: JwkSet =
        serde_json::from_str(&browser.follow(&format!("{}/jwks", dev.issuer())).await.body)
            .unwrap();
    let id_token = answer["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[dev.client_id()]);
    validation.set_issuer(&[dev.issuer()]);
    let claims =
        jsonwebtoken::decode::<Value>(id_token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Ada");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(claims["sub"].as_str().unwrap().starts_with("dev-"));
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());

    let access = answer["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {access}");
    let userinfo = browser
        .get_with_headers(
            &format!("{}/userinfo", dev.issuer()),
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(userinfo.status(), 200);
    let userinfo = json_of(&userinfo.text().await.unwrap());
    assert_eq!(userinfo["sub"], claims["sub"]);
    assert_eq!(userinfo["email"], "ada@example.com");
}

/// A code redeemed for tokens.
struct Issued {
    code: String,
    answer: serde_json::Value,
    userinfo: String,
    bearer: String,
}

impl Issued {
    /// What `/userinfo` answers the access token now.
    async fn userinfo_status(&self, browser: &Browser) -> u16 {
        let headers = [("authorization", self.bearer.as_str())];
        browser
            .get_with_headers(&self.userinfo, &headers)
            .await
            .status()
            .as_u16()
    }
}

/// A new code redeemed at `dev`, with an access token that `/userinfo` takes.
async fn issued(browser: &Browser, dev: &DevProvider) -> Issued {
    let code = code_for(browser, dev).await;
    let (status, answer) = redeem(browser, dev, &token_form(&code, VERIFIER)).await;
    assert_eq!(status, 200, "{answer}");
    let issued = Issued {
        bearer: format!("Bearer {}", answer["access_token"].as_str().unwrap()),
        userinfo: format!("{}/userinfo", dev.issuer()),
        code,
        answer,
    };
    assert_eq!(issued.userinfo_status(browser).await, 200);
    issued
}

#[tokio::test]
async fn a_code_works_once_and_its_reuse_revokes_the_token() {
    let dev = dev().await;
    let browser = Browser::new();
    let issued = issued(&browser, &dev).await;

    let (status, answer) = redeem(&browser, &dev, &token_form(&issued.code, VERIFIER)).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_grant");
    assert_eq!(answer["error_description"], "the code was already used");
    assert_eq!(
        issued.userinfo_status(&browser).await,
        401,
        "the first token is revoked"
    );
}

#[tokio::test]
async fn a_wrong_verifier_or_redirect_uri_spends_the_code() {
    let dev = dev().await;
    let browser = Browser::new();
    let wrong = "x".repeat(43);
    let code = code_for(&browser, &dev).await;
    let (status, answer) = redeem(&browser, &dev, &token_form(&code, &wrong)).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");
    assert!(answer["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
    let (status, _) = redeem(&browser, &dev, &token_form(&code, VERIFIER)).await;
    assert_eq!(status, 400, "a code is spent by a failed attempt");

    let code = code_for(&browser, &dev).await;
    let (status, answer) = redeem(&browser, &dev, &token_form(&code, "")).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_grant")),
        "no verifier"
    );

    let code = code_for(&browser, &dev).await;
    let mut form = token_form(&code, VERIFIER);
    form[2].1 = "http://127.0.0.1:3000/auth/dev/";
    let (status, answer) = redeem(&browser, &dev, &form).await;
    assert_eq!(status, 400);
    assert!(answer["error_description"]
        .as_str()
        .unwrap()
        .contains("redirect_uri"));
}

#[tokio::test]
async fn clients_authenticate_with_basic_or_post_and_wrong_secrets_are_401() {
    let dev = dev().await;
    let browser = Browser::new();
    let token_url = format!("{}/token", dev.issuer());

    let code = code_for(&browser, &dev).await;
    let mut form = token_form(&code, VERIFIER);
    form.push(("client_id", dev.client_id()));
    form.push(("client_secret", dev.client_secret()));
    let resp = browser.post(&token_url, &form).await;
    assert_eq!(resp.status(), 200, "client_secret_post");

    let code = code_for(&browser, &dev).await;
    let mut form = token_form(&code, VERIFIER);
    form.push(("client_id", dev.client_id()));
    form.push(("client_secret", "wrong"));
    let resp = browser.post(&token_url, &form).await;
    crate::common::app::assert_error(resp, 401, "invalid_client").await;

    let resp = browser.post(&token_url, &token_form(&code, VERIFIER)).await;
    assert_eq!(resp.status(), 401, "no client authentication");

    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:wrong", dev.client_id()))
    );
    let form = "grant_type=authorization_code".to_owned();
    let resp = browser
        .request(
            Method::POST,
            &token_url,
            &[("authorization", &basic)],
            Some(form.clone()),
        )
        .await;
    assert_eq!(resp.status(), 401, "wrong secret in Basic");

    let resp = reqwest::Client::new()
        .post(&token_url)
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "no form content type");
}

#[tokio::test]
async fn junk_gets_short_4xx_answers() {
    let dev = dev().await;
    let browser = Browser::new();
    let issuer = dev.issuer();
    let get = |path: &str| format!("{issuer}{path}");
    assert_eq!(browser.get(&get("/nowhere")).await.status(), 404);
    assert_eq!(browser.post(&get("/jwks"), &[]).await.status(), 405);
    assert_eq!(browser.get(&get("/token")).await.status(), 405);
    assert_eq!(browser.get(&get("/authorize")).await.status(), 400);
    assert_eq!(
        browser.get(&get("/authorize?%FF=%FF&&==")).await.status(),
        400
    );
    assert_eq!(browser.post(&get("/authorize"), &[]).await.status(), 400);
    assert_eq!(browser.get(&get("/userinfo")).await.status(), 401);
    let huge = "a".repeat(64 * 1024);
    let resp = browser.post(&get("/token"), &[("code", &huge)]).await;
    assert_eq!(resp.status(), 400);
    let resp = browser
        .get_with_headers(&get("/userinfo"), &[("authorization", "Bearer made-up")])
        .await;
    assert_eq!(resp.status(), 401);
    // Still serving.
    assert_eq!(browser.get(&get("/jwks")).await.status(), 200);
}

/// `GET /logout` with these parameters.
fn logout_url(dev: &DevProvider, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/logout?{query}", dev.issuer())
}

#[tokio::test]
async fn provider_logout_through_the_layer_comes_back_to_the_app_signed_out() {
    let dev = dev().await.sign_in_as("Ada", "ada@example.com");
    let discovery = json_of(
        &Browser::new()
            .follow(&format!(
                "{}/.well-known/openid-configuration",
                dev.issuer()
            ))
            .await
            .body,
    );
    assert_eq!(
        discovery["end_session_endpoint"],
        format!("{}/logout", dev.issuer())
    );
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(dev.oidc().provider_logout(true))
        .after_logout_redirect("/maybe")
        .build()
        .expect("valid configuration");
    let base = app::serve_layer(layer).await;
    let browser = Browser::new();
    browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    assert_ne!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "anonymous"
    );

    let visit = browser
        .post_follow(&format!("{base}/auth/logout"), &[])
        .await;
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [303, 303, 200], "{:?} {}", visit.hops, visit.body);
    assert!(
        visit.hops[1].0.starts_with(&format!(
            "{}/logout?client_id=socialauth-dev&",
            dev.issuer()
        )),
        "{:?}",
        visit.hops
    );
    assert!(
        visit.final_url.starts_with(&format!("{base}/maybe?state=")),
        "{}",
        visit.final_url
    );
    assert_eq!(visit.body, "anonymous");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}

#[tokio::test]
async fn logout_with_its_id_token_revokes_the_users_tokens_and_redirects_with_state() {
    let dev = dev().await;
    let browser = Browser::new();
    let issued = issued(&browser, &dev).await;

    let id_token = issued.answer["id_token"].as_str().unwrap();
    let resp = browser
        .get(&logout_url(
            &dev,
            &[
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", "http://127.0.0.1:3000/bye?x=1"),
                ("state", "s 1"),
            ],
        ))
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()[LOCATION],
        "http://127.0.0.1:3000/bye?x=1&state=s+1"
    );
    assert_eq!(
        issued.userinfo_status(&browser).await,
        401,
        "the logout ended the tokens it issued"
    );

    // By POST, without a place to go back to: a signed-out page.
    let page = browser
        .post_follow(
            &format!("{}/logout", dev.issuer()),
            &[("client_id", "socialauth-dev")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Signed out of the dev provider"));
}

#[tokio::test]
async fn bad_logout_requests_are_400_pages_that_send_the_browser_nowhere() {
    let dev = dev().await;
    let browser = Browser::new();
    let back = ("post_logout_redirect_uri", "http://127.0.0.1:3000/");
    let client = ("client_id", "socialauth-dev");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[back], "client_id"),
        (&[back, ("client_id", "someone-else")], "unknown client_id"),
        (
            &[
                client,
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "is not allowed",
        ),
        (
            &[client, back, ("id_token_hint", "e30.e30.AAAA")],
            "not an ID token from this provider",
        ),
        (&[client, back, ("state", &"s".repeat(5000))], "too long"),
    ];
    for (params, message) in cases {
        let resp = browser.get(&logout_url(&dev, params)).await;
        assert_eq!(resp.status(), 400, "{params:?}");
        assert!(resp.headers().get(LOCATION).is_none(), "{params:?}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(message), "{params:?}: {body}");
    }
    let twice = format!(
        "{}&state=again",
        logout_url(&dev, &[client, ("state", "a")])
    );
    assert_eq!(browser.get(&twice).await.status(), 400);
    assert_eq!(
        browser
            .request(Method::PUT, &logout_url(&dev, &[client]), &[], None)
            .await
            .status(),
        405
    );
}

#[tokio::test]
async fn it_listens_on_loopback_only_and_stops_when_dropped() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let err = DevProvider::start(addr.parse().unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{addr}");
    }
    let dev = dev().await;
    let addr = dev.local_addr();
    assert_eq!(dev.issuer(), format!("http://{addr}"));
    assert!(!format!("{dev:?}").contains(dev.client_secret()));
    drop(dev);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

/// With a back-channel logout URI registered, a logout at the dev provider that names the
/// user (the layer sends the ID token as `id_token_hint` when it keeps the provider's
/// tokens) POSTs a logout token to the app, which accepts it: the audit event says so. The
/// same user's other sign-in (another `sid`) stays signed in.
#[tokio::test]
async fn a_logout_at_the_dev_provider_sends_the_app_a_back_channel_logout_token() {
    use socialauth::revocation::{InMemoryStore, Revocations};
    use socialauth::AuthEvent;
    use std::sync::{Arc, Mutex};

    let (listener, base) = app::listen().await;
    let dev = dev()
        .await
        .sign_in_as("Ada", "ada@example.com")
        .backchannel_logout_uri(format!("{base}/auth/dev/backchannel-logout"));
    let events: Arc<Mutex<Vec<AuthEvent>>> = Arc::default();
    let seen = events.clone();
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(dev.oidc().provider_logout(true).backchannel_logout(true))
        .keep_provider_tokens(true)
        .revocation(
            Revocations::builder(InMemoryStore::new())
                .start()
                .await
                .unwrap(),
        )
        .on_event(move |event| seen.lock().unwrap().push(event.clone()))
        .build()
        .expect("valid configuration");
    tokio::spawn(async move {
        axum::serve(listener, app::axum_app().layer(layer))
            .await
            .unwrap();
    });
    let (first, other) = (Browser::new(), Browser::new());
    for browser in [&first, &other] {
        browser
            .follow(&format!("{base}/auth/dev?login=start"))
            .await;
        assert_eq!(browser.follow(&format!("{base}/whoami")).await.status, 200);
    }

    first.post_follow(&format!("{base}/auth/logout"), &[]).await;
    let accepted = |events: &[AuthEvent]| {
        events
            .iter()
            .any(|e| e.name() == "backchannel_logout" && e.refused().is_none())
    };
    let started = std::time::Instant::now();
    while !accepted(&events.lock().unwrap()) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no accepted back-channel logout: {:?}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let event = events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.name() == "backchannel_logout")
        .cloned()
        .unwrap();
    assert_eq!(event.provider(), Some("dev"));
    assert!(event.user_id().is_some_and(|id| id.starts_with("dev-")));
    assert_eq!(other.follow(&format!("{base}/whoami")).await.status, 200);
}
