//! Item 14: header spoofing and routing. No header a client sends (the ones identity
//! proxies use, forged `Authorization`s, cookie names that are almost the identity
//! cookie's) gives a request an identity, and an `Identity` another layer put in the
//! extensions is dropped. The layer's routes and the guard match the path only, never the
//! query, the fragment or a header naming another URL.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use socialauth::{Identity, RequireIdentityLayer, SocialAuthLayer, Twitter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{Layer, ServiceExt};

use crate::common::app::{self, SECRET};
use crate::common::browser::Browser;
use crate::common::forge::{claims_for, forge};
use crate::common::server;
use crate::security::support::{world, Reply};

#[tokio::test]
async fn item_14_no_client_header_produces_an_identity() {
    let world = world().await;
    let valid = forge(&claims_for("victim")).await;
    let user_headers = [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-preferred-username",
        "x-auth-request-user",
        "x-auth-request-email",
        "x-remote-user",
        "remote-user",
        "x-user",
        "x-user-id",
        "x-identity",
        "identity",
        "x-socialauth-user",
        "x-socialauth-identity",
        "socialauth",
        "x-ms-client-principal-name",
        "cf-access-authenticated-user-email",
    ];
    let mut spoofs: Vec<(String, String)> = user_headers
        .iter()
        .flat_map(|name| {
            [
                ((*name).to_owned(), "victim".to_owned()),
                ((*name).to_owned(), valid.clone()),
            ]
        })
        .collect();
    spoofs.extend([
        ("authorization".into(), "Basic dmljdGltOnBhc3N3b3Jk".into()),
        ("authorization".into(), format!("Bearer {}", "x".repeat(40))),
        ("authorization".into(), format!("Token {valid}")),
        ("authorization".into(), format!("OAuth {valid}")),
        ("proxy-authorization".into(), format!("Bearer {valid}")),
        (
            "x-forwarded-authorization".into(),
            format!("Bearer {valid}"),
        ),
        ("cookie".into(), format!("socialauth={valid}")),
        ("cookie".into(), format!("__host-socialauth={valid}")),
        ("cookie".into(), format!("__Secure-socialauth={valid}")),
        ("forwarded".into(), "for=127.0.0.1;user=victim".into()),
        ("x-original-url".into(), "/auth/facebook?login=start".into()),
        ("x-rewrite-url".into(), "/auth/logout".into()),
        ("x-http-method-override".into(), "POST".into()),
    ]);
    for (name, value) in &spoofs {
        let browser = Browser::new();
        let maybe = browser
            .get_with_headers(&world.url("/maybe"), &[(name, value)])
            .await;
        assert_eq!(maybe.text().await.unwrap(), "anonymous", "{name}: {value}");
        let whoami = browser
            .get_with_headers(&world.url("/whoami"), &[(name, value)])
            .await;
        assert_eq!(whoami.status(), 401, "{name}: {value}");
    }
    assert_eq!(world.all_exchanges(), 0);
}

#[tokio::test]
async fn item_14_an_identity_put_in_the_extensions_before_the_layer_is_dropped() {
    // An Identity the layer really verified, kept by the inner service.
    let seen: Arc<Mutex<Vec<Option<Identity>>>> = Arc::default();
    let record = seen.clone();
    let inner = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let record = record.clone();
        async move {
            record
                .lock()
                .unwrap()
                .push(req.extensions().get::<Identity>().cloned());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }
    });
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(Twitter::new("k", "s"))
        .build()
        .unwrap();
    let service = layer.layer(inner);
    let cookie = format!("__Host-socialauth={}", forge(&claims_for("victim")).await);
    let signed_in = Request::get("/maybe")
        .header("cookie", &cookie)
        .body(Full::new(Bytes::new()))
        .unwrap();
    service.clone().oneshot(signed_in).await.unwrap();
    let identity = seen.lock().unwrap()[0]
        .clone()
        .expect("the layer's identity");
    assert_eq!(identity.user_id(), "victim");

    // An outer layer (or a bug in one) copies it into an anonymous request: dropped. And
    // with another valid cookie, the cookie's identity wins, not the planted one.
    let other = format!("__Host-socialauth={}", forge(&claims_for("someone")).await);
    for cookie in [
        None,
        Some("__Host-socialauth=garbage"),
        Some(other.as_str()),
    ] {
        let mut request = Request::get("/maybe");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let mut request = request.body(Full::new(Bytes::new())).unwrap();
        request.extensions_mut().insert(identity.clone());
        service.clone().oneshot(request).await.unwrap();
        let got = seen.lock().unwrap().last().cloned().unwrap();
        let expected = cookie.filter(|c| c.contains(&other)).map(|_| "someone");
        assert_eq!(got.as_ref().map(Identity::user_id), expected, "{cookie:?}");
    }
}

/// `GET target` on a raw connection (so the request line is exactly `target`), status and
/// body.
async fn raw_get(addr: std::net::SocketAddr, target: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[tokio::test]
async fn item_14_routes_and_the_guard_match_the_path_only() {
    let twitter = crate::common::fake_twitter::start(Default::default()).await;
    let facebook = crate::common::fake_facebook::start(Default::default()).await;
    let layer = app::builder(&twitter, &facebook).build().unwrap();
    let router = axum::Router::new()
        .route("/account", get(|| async { "account page" }))
        .route_layer(RequireIdentityLayer::new().login_url("/auth/facebook?login=start"))
        .merge(app::axum_app())
        .layer(layer);
    let addr = server::serve(router).await;
    let base = format!("http://{addr}");

    // The guarded page, reached with every trick: never served to an anonymous request.
    for target in [
        "/account",
        "/account?",
        "/account?/maybe",
        "/account?x=/maybe&login=start",
        "/account?/auth/facebook",
        "/account/",
        "/account;/maybe",
        "/account%2f",
        "/%61ccount",
        "/ACCOUNT",
        "//account",
        "/./account",
        "/maybe/../account",
        "/account#/maybe",
        "/account%23/maybe",
        "/account?%2F..%2Fmaybe",
    ] {
        let (status, body) = raw_get(addr, target).await;
        assert_ne!(
            body, "account page",
            "{target} served the guarded page ({status})"
        );
        if target.starts_with("/account?") || target == "/account" {
            assert_eq!(status, 401, "{target}");
        }
    }
    // Public pages whose query or fragment names a guarded or auth path stay public pages.
    for target in [
        "/maybe?/account",
        "/maybe?next=/account",
        "/maybe?/auth/logout",
        "/maybe?x=/auth/facebook?login=start",
        "/maybe#/account",
    ] {
        let (status, body) = raw_get(addr, target).await;
        assert_eq!((status, body.as_str()), (200, "anonymous"), "{target}");
    }
    // The layer's routes: exact paths; a query never makes a path one, nor unmakes it.
    let browser = Browser::new();
    let reply = Reply::read(browser.get(&format!("{base}/auth/facebook?/maybe")).await).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    for path in [
        "/auth/facebook/",
        "/auth//facebook",
        "/auth/facebook/..",
        "/auth/%66acebook",
    ] {
        let (status, _) = raw_get(addr, &format!("{path}?login=start")).await;
        assert_ne!(status, 303, "{path} started a login");
    }
    for path in ["/AUTH/facebook", "/authfacebook", "/x/auth/facebook"] {
        let (status, _) = raw_get(addr, &format!("{path}?login=start")).await;
        assert_eq!(status, 404, "{path}: the app's 404");
    }
    let logout = browser
        .request(
            http::Method::POST,
            &format!("{base}/maybe?/auth/logout"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        logout.status(),
        405,
        "axum's answer to POST /maybe, not a logout"
    );
    assert_eq!(facebook.token_calls(), 0);
}
