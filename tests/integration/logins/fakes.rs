//! Tests of the test infrastructure itself: the RFC 5849 vectors through the independent
//! verifier, and proof that the fakes and the browser are as strict as the real things.

use std::convert::Infallible;
use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::clock;
use crate::common::fake_facebook::{self, FacebookConfig, FakeFacebook};
use crate::common::fake_twitter::{self, FakeTwitter, TwitterConfig};
use crate::common::fault::{self, Fault};
use crate::common::harness;
use crate::common::oauth1_verify as o1;
use crate::common::server::{self, FakeBody};
use http::header::{CONTENT_LENGTH, COOKIE, LOCATION, SET_COOKIE};
use http::{Request, Response};
use hyper::body::Incoming;
use serde_json::{json, Value};

fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn form(body: &str) -> Vec<(String, String)> {
    server::form_pairs(body.as_bytes())
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    server::param(pairs, name).unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

// ---------------------------------------------------------------------------------------
// RFC 5849 vectors
// ---------------------------------------------------------------------------------------

const RFC_3_4_1_BASE: &str = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2\
%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201\
%26oauth_token%3Dkkk9d7dh3k39sjv7";

#[test]
fn rfc5849_3_4_1_base_string_and_signature() {
    let params = s(&[
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ]);
    let base = o1::base_string("post", "http://example.com/request", &params);
    assert_eq!(base, RFC_3_4_1_BASE);
    // RFC 5849 erratum 2550.
    assert_eq!(
        o1::sign(&base, "j49sk3j29djd", "dh893hdasih9"),
        "r6/TJjbCOr97/+UU0NsvSne7s5g="
    );
}

#[test]
fn rfc5849_3_4_1_verifies_from_header_query_and_body() {
    let header = r#"OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="r6%2FTJjbCOr97%2F%2BUU0NsvSne7s5g%3D""#;
    let verify = |uri: &str, body: &[u8], token_secret: &'static str| {
        o1::verify(
            "POST",
            uri,
            Some("b5=%3D%253D&a3=a&c%40=&a2=r%20b"),
            Some(body),
            Some(header),
            "j49sk3j29djd",
            |token| (token == "kkk9d7dh3k39sjv7").then(|| token_secret.to_owned()),
        )
    };
    let params = verify(
        "http://EXAMPLE.com:80/request",
        b"c2&a3=2+q",
        "dh893hdasih9",
    )
    .unwrap();
    assert_eq!(params.consumer_key, "9djdj82h48djs9d2");
    assert_eq!(params.token.as_deref(), Some("kkk9d7dh3k39sjv7"));
    assert_eq!(params.timestamp, 137131201);
    assert_eq!(params.nonce, "7d8f3e4a");
    // Any change to what is signed breaks it.
    assert!(verify("http://example.com/request", b"c2&a3=2+q", "wrong").is_err());
    assert!(verify("http://example.com/request", b"c2&a3=3+q", "dh893hdasih9").is_err());
    assert!(verify("https://example.com/request", b"c2&a3=2+q", "dh893hdasih9").is_err());
    assert!(verify(
        "http://example.com:8080/request",
        b"c2&a3=2+q",
        "dh893hdasih9"
    )
    .is_err());
}

const INITIATE_HEADER: &str = r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131200", oauth_nonce="wIjqoS", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready", oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D""#;

#[test]
fn rfc5849_1_2_initiate() {
    let params = s(&[
        ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131200"),
        ("oauth_nonce", "wIjqoS"),
        ("oauth_callback", "http://printer.example.com/ready"),
    ]);
    let base = o1::base_string("POST", "https://photos.example.net/initiate", &params);
    assert_eq!(
        o1::sign(&base, "kd94hf93k423kf44", ""),
        "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
    );

    let verified = o1::verify(
        "POST",
        "HTTPS://Photos.Example.NET:443/initiate",
        None,
        None,
        Some(INITIATE_HEADER),
        "kd94hf93k423kf44",
        |_| None,
    )
    .unwrap();
    assert_eq!(
        verified.callback.as_deref(),
        Some("http://printer.example.com/ready")
    );
    assert!(o1::verify(
        "POST",
        "https://photos.example.net/initiate",
        None,
        None,
        Some(INITIATE_HEADER),
        "kd94hf93k423kf45",
        |_| None,
    )
    .is_err());
}

#[test]
fn percent_encoding_and_base_string_uri() {
    assert_eq!(o1::percent_encode("AZaz09-._~"), "AZaz09-._~");
    assert_eq!(o1::percent_encode("a b+c*/é"), "a%20b%2Bc%2A%2F%C3%A9");
    assert_eq!(o1::percent_decode("a%2fb%C3%A9+"), Some("a/bé+".to_owned()));
    assert_eq!(o1::percent_decode("%zz"), None);
    assert_eq!(
        o1::base_string_uri("HTTP://Example.COM:80/r%20v/X?id=123").as_deref(),
        Some("http://example.com/r%20v/X")
    );
    assert_eq!(
        o1::base_string_uri("https://www.example.net:8080/?q=1").as_deref(),
        Some("https://www.example.net:8080/")
    );
}

#[test]
fn authorization_header_parsing() {
    let parsed = o1::parse_authorization(INITIATE_HEADER).unwrap();
    assert_eq!(parsed[0], ("realm".to_owned(), "Photos".to_owned()));
    assert_eq!(parsed.len(), 7);
    assert_eq!(
        o1::parse_authorization(r#"oauth a="1",b="%2C""#),
        Some(s(&[("a", "1"), ("b", ",")]))
    );
    for bad in [
        r#"Bearer a="1""#,
        r#"OAuth a=1"#,
        r#"OAuth a="1", a="2""#,
        r#"OAuth a="1" b="2""#,
        r#"OAuth a="1","#,
        r#"OAuth a="%zz""#,
        r#"OAuth a="1"#,
    ] {
        assert_eq!(o1::parse_authorization(bad), None, "{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// Fake Twitter, driven by hand-signed requests
// ---------------------------------------------------------------------------------------

/// A hand-signed OAuth 1.0a request.
struct Signed {
    method: &'static str,
    url: String,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    /// Protocol parameters beyond the usual ones (oauth_callback, oauth_verifier...).
    extra: Vec<(String, String)>,
    consumer_key: String,
    consumer_secret: String,
    token: Option<(String, String)>,
    nonce: String,
    timestamp: u64,
}

impl Signed {
    fn new(method: &'static str, url: String, cfg: &TwitterConfig) -> Self {
        Signed {
            method,
            url,
            query: Vec::new(),
            body: Vec::new(),
            extra: Vec::new(),
            consumer_key: cfg.consumer_key.clone(),
            consumer_secret: cfg.consumer_secret.clone(),
            token: None,
            nonce: server::random_token("n", 12),
            timestamp: clock::now(),
        }
    }

    fn header(&self) -> String {
        let mut oauth = s(&[
            ("oauth_consumer_key", &self.consumer_key),
            ("oauth_nonce", &self.nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", &self.timestamp.to_string()),
            ("oauth_version", "1.0"),
        ]);
        if let Some((token, _)) = &self.token {
            oauth.push(("oauth_token".into(), token.clone()));
        }
        oauth.extend(self.extra.iter().cloned());
        let mut all = oauth.clone();
        all.extend(self.query.iter().cloned());
        all.extend(self.body.iter().cloned());
        let base = o1::base_string(self.method, &self.url, &all);
        let token_secret = self.token.as_ref().map_or("", |(_, s)| s.as_str());
        oauth.push((
            "oauth_signature".into(),
            o1::sign(&base, &self.consumer_secret, token_secret),
        ));
        let fields: Vec<String> = oauth
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", o1::percent_encode(k), o1::percent_encode(v)))
            .collect();
        format!("OAuth {}", fields.join(", "))
    }

    async fn send(&self) -> reqwest::Response {
        let mut url = self.url.clone();
        if !self.query.is_empty() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.query)
                .finish();
            url = format!("{url}?{query}");
        }
        let method = self.method.parse::<http::Method>().unwrap();
        let mut req = no_redirects()
            .request(method, url)
            .header("authorization", self.header());
        if !self.body.is_empty() {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&self.body)
                .finish();
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        req.send().await.unwrap()
    }
}

const CALLBACK: &str = "http://127.0.0.1:9/auth/twitter/callback?next=%2Fhome";

fn request_token_req(tw: &FakeTwitter) -> Signed {
    let mut req = Signed::new("POST", tw.request_token_url(), tw.config());
    req.extra.push(("oauth_callback".into(), CALLBACK.into()));
    req
}

/// POST request_token, expecting success: (token, secret).
async fn obtain_request_token(tw: &FakeTwitter) -> (String, String) {
    let resp = request_token_req(tw).send().await;
    assert_eq!(resp.status(), 200, "{:?}", tw.rejections());
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/x-www-form-urlencoded");
    let body = form(&resp.text().await.unwrap());
    assert_eq!(get(&body, "oauth_callback_confirmed"), "true");
    (
        get(&body, "oauth_token").to_owned(),
        get(&body, "oauth_token_secret").to_owned(),
    )
}

/// The user approves: the verifier from the redirect back to the callback.
async fn approve(tw: &FakeTwitter, token: &str) -> String {
    let url = format!("{}?oauth_token={token}", tw.authenticate_url());
    let resp = no_redirects().get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let prefix = format!("{CALLBACK}&oauth_token={token}&oauth_verifier=");
    assert!(location.starts_with(&prefix), "{location}");
    location[prefix.len()..].to_owned()
}

fn access_token_req(tw: &FakeTwitter, token: &(String, String), verifier: &str) -> Signed {
    let mut req = Signed::new("POST", tw.access_token_url(), tw.config());
    req.token = Some(token.clone());
    req.body.push(("oauth_verifier".into(), verifier.into()));
    req
}

fn twitter_error_code(body: &str) -> u64 {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["errors"][0]["code"].as_u64().unwrap()
}

#[tokio::test]
async fn twitter_happy_path_with_hand_signed_requests() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;

    let resp = access_token_req(&tw, &rt, &verifier).send().await;
    assert_eq!(resp.status(), 200, "{:?}", tw.rejections());
    let body = form(&resp.text().await.unwrap());
    assert_eq!(get(&body, "user_id"), "12345");
    assert_eq!(get(&body, "screen_name"), "jack");
    let at = (
        get(&body, "oauth_token").to_owned(),
        get(&body, "oauth_token_secret").to_owned(),
    );

    let mut creds = Signed::new("GET", tw.verify_credentials_url(), tw.config());
    creds.token = Some(at.clone());
    creds.query = s(&[("include_email", "true"), ("skip_status", "true")]);
    let resp = creds.send().await;
    assert_eq!(resp.status(), 200, "{:?}", tw.rejections());
    let user: Value = resp.json_value().await;
    assert_eq!(
        user,
        json!({"id": 12345, "id_str": "12345", "screen_name": "jack",
               "name": "Jack Dorsey", "email": "jack@example.com"})
    );

    let mut creds = Signed::new("GET", tw.verify_credentials_url(), tw.config());
    creds.token = Some(at);
    let user: Value = creds.send().await.json_value().await;
    assert_eq!(user.get("email"), None);

    // The verifier may also travel in the Authorization header.
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    let mut req = Signed::new("POST", tw.access_token_url(), tw.config());
    req.token = Some(rt);
    req.extra.push(("oauth_verifier".into(), verifier));
    assert_eq!(req.send().await.status(), 200, "{:?}", tw.rejections());

    assert_eq!(tw.request_token_calls(), 2);
    assert_eq!(tw.authenticate_calls(), 2);
    assert_eq!(tw.access_token_calls(), 2);
    assert_eq!(tw.verify_credentials_calls(), 2);
    assert!(tw.rejections().is_empty());
}

#[tokio::test]
async fn twitter_rejects_a_wrong_signature() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let mut req = request_token_req(&tw);
    req.consumer_secret = "not-the-secret".into();
    let resp = req.send().await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("x-fake-reason"));
    assert_eq!(twitter_error_code(&resp.text().await.unwrap()), 32);

    // Signed for another URL than the one requested.
    let mut req = request_token_req(&tw);
    req.url = format!(
        "{}/oauth/request_token",
        tw.base_url.replace("127.0.0.1", "localhost")
    );
    let header = req.header();
    let resp = no_redirects()
        .post(tw.request_token_url())
        .header("authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Unknown consumer key, no callback, no header at all.
    let mut req = request_token_req(&tw);
    req.consumer_key = "someone-else".into();
    assert_eq!(req.send().await.status(), 401);
    let mut req = request_token_req(&tw);
    req.extra.clear();
    assert_eq!(req.send().await.status(), 401);
    let resp = no_redirects()
        .post(tw.request_token_url())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    assert_eq!(tw.request_token_calls(), 5);
    assert_eq!(tw.rejections().len(), 5, "{:?}", tw.rejections());
}

#[tokio::test]
async fn twitter_rejects_a_reused_nonce_across_endpoints() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let first = request_token_req(&tw);
    let nonce = first.nonce.clone();
    assert_eq!(first.send().await.status(), 200);
    let mut again = request_token_req(&tw);
    again.nonce = nonce.clone();
    let resp = again.send().await;
    assert_eq!(resp.status(), 401);
    assert_eq!(twitter_error_code(&resp.text().await.unwrap()), 32);

    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    let mut req = access_token_req(&tw, &rt, &verifier);
    req.nonce = nonce;
    assert_eq!(req.send().await.status(), 401);
    assert!(
        tw.rejections().iter().all(|r| r.contains("nonce")),
        "{:?}",
        tw.rejections()
    );
}

#[tokio::test]
async fn twitter_rejects_a_stale_timestamp() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    // 302, not 301: the clock may tick between signing and checking.
    for skew in [-301i64, 302, -100_000] {
        let mut req = request_token_req(&tw);
        req.timestamp = clock::now().saturating_add_signed(skew);
        let resp = req.send().await;
        assert_eq!(resp.status(), 401, "skew {skew}");
        assert_eq!(twitter_error_code(&resp.text().await.unwrap()), 135);
    }
    let mut req = request_token_req(&tw);
    req.timestamp = clock::now() - 200;
    assert_eq!(req.send().await.status(), 200);
}

#[tokio::test]
async fn twitter_request_token_is_single_use() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    assert_eq!(
        access_token_req(&tw, &rt, &verifier).send().await.status(),
        200
    );
    let resp = access_token_req(&tw, &rt, &verifier).send().await;
    assert_eq!(resp.status(), 401);
    assert_eq!(twitter_error_code(&resp.text().await.unwrap()), 89);

    // A wrong verifier burns the token too.
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    assert_eq!(
        access_token_req(&tw, &rt, "guess").send().await.status(),
        401
    );
    assert_eq!(
        access_token_req(&tw, &rt, &verifier).send().await.status(),
        401
    );

    // Not approved yet: no verifier can be right.
    let rt = obtain_request_token(&tw).await;
    assert_eq!(
        access_token_req(&tw, &rt, "guess").send().await.status(),
        401
    );

    // The access token must be signed with the request token's secret.
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    let wrong = (rt.0.clone(), "wrong-secret".to_owned());
    assert_eq!(
        access_token_req(&tw, &wrong, &verifier)
            .send()
            .await
            .status(),
        401
    );
    assert_eq!(
        access_token_req(&tw, &rt, &verifier).send().await.status(),
        200
    );
}

#[tokio::test]
async fn twitter_switches_and_authenticate_page() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    tw.set_callback_confirmed(false);
    let body = request_token_req(&tw).send().await.text().await.unwrap();
    assert_eq!(get(&form(&body), "oauth_callback_confirmed"), "false");
    tw.set_callback_confirmed(true);

    let rt = obtain_request_token(&tw).await;
    tw.set_user_denies(true);
    let resp = no_redirects()
        .get(format!("{}?oauth_token={}", tw.authenticate_url(), rt.0))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()[LOCATION],
        format!("{CALLBACK}&denied={}", rt.0)
    );

    for query in ["?oauth_token=nope", ""] {
        let resp = no_redirects()
            .get(format!("{}{query}", tw.authenticate_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    // Wrong method.
    let resp = no_redirects()
        .get(tw.request_token_url())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn twitter_verify_credentials_needs_the_access_token_secret() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let rt = obtain_request_token(&tw).await;
    let verifier = approve(&tw, &rt.0).await;
    let body = form(
        &access_token_req(&tw, &rt, &verifier)
            .send()
            .await
            .text()
            .await
            .unwrap(),
    );
    let at = get(&body, "oauth_token").to_owned();

    let mut creds = Signed::new("GET", tw.verify_credentials_url(), tw.config());
    creds.token = Some((at.clone(), "wrong".into()));
    assert_eq!(creds.send().await.status(), 401);
    // The request token is not an access token.
    let mut creds = Signed::new("GET", tw.verify_credentials_url(), tw.config());
    creds.token = Some(rt);
    assert_eq!(creds.send().await.status(), 401);
    // Unsigned query parameter added after signing.
    let mut creds = Signed::new("GET", tw.verify_credentials_url(), tw.config());
    creds.token = Some((at, get(&body, "oauth_token_secret").to_owned()));
    let header = creds.header();
    let resp = no_redirects()
        .get(format!(
            "{}?include_email=true",
            tw.verify_credentials_url()
        ))
        .header("authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(tw.verify_credentials_calls(), 3);
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn faults_replace_normal_answers_and_are_counted() {
    let tw = fake_twitter::start(TwitterConfig::new()).await;
    let post = || no_redirects().post(tw.request_token_url()).send();
    use fake_twitter::Endpoint::RequestToken;

    tw.set_fault(RequestToken, Fault::Status(503, r#"{"errors":[]}"#.into()));
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));

    tw.set_fault(RequestToken, Fault::Html);
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), fault::HTML_PAGE);

    tw.set_fault(RequestToken, Fault::Garbage);
    let resp = post().await.unwrap();
    assert_eq!(resp.bytes().await.unwrap(), fault::GARBAGE);

    tw.set_fault(
        RequestToken,
        Fault::Redirect("http://127.0.0.1:9/elsewhere".into()),
    );
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()[LOCATION], "http://127.0.0.1:9/elsewhere");

    tw.set_fault(RequestToken, Fault::Huge(1_000_003));
    let resp = post().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key(CONTENT_LENGTH));
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 1_000_003);
    assert!(body.starts_with(b"{\"data\":\"aaa") && body.ends_with(b"aaa\"}"));
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["data"].as_str().unwrap().len(), 1_000_003 - 11);

    tw.set_fault(RequestToken, Fault::Hang);
    let err = no_redirects()
        .post(tw.request_token_url())
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    tw.set_fault(RequestToken, Fault::Trickle);
    let mut resp = post().await.unwrap();
    assert_eq!(resp.status(), 200);
    let started = std::time::Instant::now();
    assert_eq!(&resp.chunk().await.unwrap().unwrap()[..], b" ");
    assert_eq!(&resp.chunk().await.unwrap().unwrap()[..], b" ");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(800), "{elapsed:?}");
    let more = tokio::time::timeout(Duration::from_millis(300), resp.chunk()).await;
    assert!(more.is_err(), "a trickle never finishes quickly");

    tw.set_fault(RequestToken, Fault::None);
    assert_eq!(post().await.unwrap().status(), 401); // back to normal handling
    assert_eq!(tw.request_token_calls(), 8);
    assert_eq!(tw.rejections().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Fake Facebook
// ---------------------------------------------------------------------------------------

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/auth/facebook/callback";

fn dialog_url(fb: &FakeFacebook, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}?{query}", fb.dialog_url())
}

fn good_dialog_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", "fb-app-id"),
        ("redirect_uri", REDIRECT),
        ("state", "st/ate+1=="),
        ("response_type", "code"),
        ("scope", "email,public_profile"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// The good dialog parameters with `name` replaced by `value` (or removed).
fn dialog_with(name: &str, value: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
    let mut params: Vec<_> = good_dialog_params()
        .into_iter()
        .filter(|(k, _)| *k != name)
        .collect();
    if let Some(value) = value {
        let name = good_dialog_params()
            .into_iter()
            .find(|(k, _)| *k == name)
            .unwrap()
            .0;
        params.push((name, value));
    }
    params
}

/// The user approves: the code from the redirect.
async fn obtain_code(fb: &FakeFacebook) -> String {
    let resp = no_redirects()
        .get(dialog_url(fb, &good_dialog_params()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "{:?}", fb.rejections());
    let location = url::Url::parse(resp.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT));
    assert_eq!(location.fragment(), Some("_=_"));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(get(&pairs, "state"), "st/ate+1==");
    get(&pairs, "code").to_owned()
}

async fn exchange(fb: &FakeFacebook, code: &str, redirect: &str, verifier: &str) -> (u16, Value) {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "fb-app-id"),
            ("client_secret", "fb-app-secret"),
            ("redirect_uri", redirect),
            ("code", code),
            ("code_verifier", verifier),
        ])
        .finish();
    let resp = no_redirects()
        .get(format!("{}?{query}", fb.token_url()))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json_value().await)
}

async fn me(fb: &FakeFacebook, token: &str, query: &str) -> (u16, Value) {
    let resp = no_redirects()
        .get(format!("{}?{query}", fb.me_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json_value().await)
}

fn fb_code(v: &Value) -> u64 {
    assert_eq!(v["error"]["type"], "OAuthException", "{v}");
    v["error"]["code"].as_u64().unwrap()
}

#[tokio::test]
async fn facebook_happy_path() {
    assert_eq!(harness::pkce_challenge(VERIFIER), CHALLENGE);
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    let code = obtain_code(&fb).await;
    assert_eq!(
        server::param(&fb.last_authorize_params(), "scope"),
        Some("email,public_profile")
    );
    let (status, token) = exchange(&fb, &code, REDIRECT, VERIFIER).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 5183944);
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("EAA"));

    let proof = fake_facebook::appsecret_proof("fb-app-secret", &token);
    let (status, user) = me(
        &fb,
        &token,
        &format!("fields=id,name,email&appsecret_proof={proof}"),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        user,
        json!({"id": "10001", "name": "Mark Z", "email": "mark@example.com"})
    );
    // Only what was asked for; the token may also be a query parameter.
    let resp = no_redirects()
        .get(format!(
            "{}?fields=id&access_token={token}&appsecret_proof={proof}",
            fb.me_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json_value().await, json!({"id": "10001"}));

    // POST form exchange works too.
    let code = obtain_code(&fb).await;
    let resp = no_redirects()
        .post(fb.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "client_id=fb-app-id&client_secret=fb-app-secret&code={code}\
             &redirect_uri={}&code_verifier={VERIFIER}",
            o1::percent_encode(REDIRECT)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{:?}", fb.rejections());

    assert_eq!(
        (fb.dialog_calls(), fb.token_calls(), fb.me_calls()),
        (2, 2, 2)
    );
    assert!(fb.rejections().is_empty());
}

#[tokio::test]
async fn facebook_rejects_a_wrong_pkce_verifier_and_burns_the_code() {
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    let code = obtain_code(&fb).await;
    let other = "A".repeat(43);
    let (status, err) = exchange(&fb, &code, REDIRECT, &other).await;
    assert_eq!((status, fb_code(&err)), (400, 100));
    let (status, _) = exchange(&fb, &code, REDIRECT, VERIFIER).await;
    assert_eq!(status, 400);

    // Too short to be a verifier at all.
    let code = obtain_code(&fb).await;
    assert_eq!(exchange(&fb, &code, REDIRECT, "short").await.0, 400);
}

#[tokio::test]
async fn facebook_rejects_a_different_redirect_uri() {
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    for other in [
        format!("{REDIRECT}/"),
        format!("{REDIRECT}?x=1"),
        REDIRECT.replace("127.0.0.1", "localhost"),
    ] {
        let code = obtain_code(&fb).await;
        let (status, err) = exchange(&fb, &code, &other, VERIFIER).await;
        assert_eq!((status, fb_code(&err)), (400, 100), "{other}");
    }
}

#[tokio::test]
async fn facebook_rejects_a_reused_code() {
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    let code = obtain_code(&fb).await;
    assert_eq!(exchange(&fb, &code, REDIRECT, VERIFIER).await.0, 200);
    let (status, err) = exchange(&fb, &code, REDIRECT, VERIFIER).await;
    assert_eq!((status, fb_code(&err)), (400, 100));
    assert_eq!(exchange(&fb, "made-up", REDIRECT, VERIFIER).await.0, 400);
}

#[tokio::test]
async fn facebook_me_requires_appsecret_proof_and_a_known_token() {
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    let code = obtain_code(&fb).await;
    let (_, token) = exchange(&fb, &code, REDIRECT, VERIFIER).await;
    let token = token["access_token"].as_str().unwrap();

    let (status, err) = me(&fb, token, "fields=id,name,email").await;
    assert_eq!((status, fb_code(&err)), (400, 100));
    let wrong = fake_facebook::appsecret_proof("another-secret", token);
    let (status, err) = me(&fb, token, &format!("fields=id&appsecret_proof={wrong}")).await;
    assert_eq!((status, fb_code(&err)), (400, 100));
    let proof = fake_facebook::appsecret_proof("fb-app-secret", "EAAunknown");
    let (status, err) = me(&fb, "EAAunknown", &format!("appsecret_proof={proof}")).await;
    assert_eq!((status, fb_code(&err)), (400, 190));

    // Without the requirement and without an email.
    let mut cfg = FacebookConfig::new();
    cfg.require_appsecret_proof = false;
    cfg.email = None;
    let fb = fake_facebook::start(cfg).await;
    let code = obtain_code(&fb).await;
    let (_, token) = exchange(&fb, &code, REDIRECT, VERIFIER).await;
    let (status, user) = me(
        &fb,
        token["access_token"].as_str().unwrap(),
        "fields=id,email",
    )
    .await;
    assert_eq!((status, user), (200, json!({"id": "10001"})));
}

#[tokio::test]
async fn facebook_dialog_is_strict() {
    let fb = fake_facebook::start(FacebookConfig::new()).await;
    let client = no_redirects();
    let cases = [
        dialog_with("client_id", Some("someone-else")),
        dialog_with("redirect_uri", None),
        dialog_with("redirect_uri", Some("/relative/callback")),
        dialog_with("redirect_uri", Some("javascript:alert(1)")),
        dialog_with("state", None),
        dialog_with("code_challenge", None),
        dialog_with("code_challenge_method", Some("plain")),
        dialog_with("code_challenge_method", None),
        dialog_with("response_type", Some("token")),
    ];
    for params in &cases {
        let resp = client.get(dialog_url(&fb, params)).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{params:?}");
    }
    assert_eq!(fb.dialog_calls(), cases.len());

    // Another API version does not exist.
    let version = format!("/{}/", fb.config().api_version);
    let url = dialog_url(&fb, &good_dialog_params()).replace(&version, "/v2.0/");
    assert_eq!(client.get(url).send().await.unwrap().status(), 404);

    fb.set_user_denies(true);
    let resp = client
        .get(dialog_url(&fb, &good_dialog_params()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()[LOCATION].to_str().unwrap()).unwrap();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(get(&pairs, "error"), "access_denied");
    assert_eq!(get(&pairs, "error_reason"), "user_denied");
    assert_eq!(get(&pairs, "state"), "st/ate+1==");
    assert!(server::param(&pairs, "code").is_none());

    fb.set_fault(
        fake_facebook::Endpoint::Token,
        Fault::Status(500, r#"{"error":"oops"}"#.into()),
    );
    assert_eq!(exchange(&fb, "any", REDIRECT, VERIFIER).await.0, 500);
    assert_eq!(fb.token_calls(), 1);
    assert_eq!(fb.me_calls(), 0);
}

// ---------------------------------------------------------------------------------------
// Browser and server plumbing
// ---------------------------------------------------------------------------------------

/// `?set=<Set-Cookie>` (repeatable) sets cookies, `?to=URL` redirects there, and the body
/// is the request's Cookie header.
async fn cookie_app(req: Request<Incoming>) -> Result<Response<FakeBody>, Infallible> {
    let query = server::query_pairs(req.uri());
    let cookies = req
        .headers()
        .get(COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let mut resp = match server::param(&query, "to") {
        Some(to) => server::redirect(to),
        None => server::response(200, "text/plain", cookies),
    };
    for (_, set) in query.iter().filter(|(k, _)| k == "set") {
        resp.headers_mut().append(SET_COOKIE, set.parse().unwrap());
    }
    Ok(resp)
}

async fn start_cookie_app() -> String {
    let addr = server::serve(tower::service_fn(cookie_app)).await;
    format!("http://{addr}")
}

fn setting(base: &str, path: &str, set_cookies: &[&str]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for set in set_cookies {
        q.append_pair("set", set);
    }
    format!("{base}{path}?{}", q.finish())
}

fn names(browser: &Browser) -> Vec<String> {
    let mut names: Vec<String> = browser.cookies().into_iter().map(|c| c.0).collect();
    names.sort();
    names
}

#[tokio::test]
async fn browser_enforces_cookie_prefixes() {
    let app = start_cookie_app().await;
    let browser = Browser::new();
    browser
        .get(&setting(
            &app,
            "/",
            &[
                "__Host-nosecure=1; Path=/",
                "__Host-ok=1; Secure; Path=/",
                "__Host-subpath=1; Secure; Path=/x",
                "__Host-nopath=1; Secure",
                "__Host-domain=1; Secure; Path=/; Domain=127.0.0.1",
                "__Secure-nosecure=1",
                "__Secure-ok=1; Secure; Path=/",
                "__host-lowercase=1; Path=/",
            ],
        ))
        .await;
    assert_eq!(names(&browser), ["__Host-ok", "__Secure-ok"]);
    // Secure cookies go to loopback over plain http, as in Chromium.
    let echoed = browser.get(&format!("{app}/")).await.text().await.unwrap();
    assert_eq!(echoed, "__Host-ok=1; __Secure-ok=1");
}

#[tokio::test]
async fn browser_deletes_and_expires_cookies() {
    let app = start_cookie_app().await;
    let browser = Browser::new();
    browser
        .get(&setting(
            &app,
            "/",
            &[
                "a=1; Path=/",
                "b=2; Path=/",
                "c=3; Path=/",
                "d=4; Max-Age=1; Path=/",
            ],
        ))
        .await;
    assert_eq!(names(&browser), ["a", "b", "c", "d"]);
    browser
        .get(&setting(
            &app,
            "/",
            &[
                "a=; Max-Age=0; Path=/",
                "b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "c=x; Max-Age=0; Path=/other", // another path: another cookie
            ],
        ))
        .await;
    assert_eq!(browser.cookie("a"), None);
    assert_eq!(names(&browser), ["c", "d"]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(browser.cookie("d"), None);
    assert_eq!(browser.cookie("c").as_deref(), Some("3"));
}

#[tokio::test]
async fn browser_matches_paths_and_orders_cookies() {
    let app = start_cookie_app().await;
    let browser = Browser::new();
    browser
        .get(&setting(
            &app,
            "/auth/set",
            &["root=1; Path=/", "auth=2; Path=/auth", "dflt=3"],
        ))
        .await;
    let sent = |path: &'static str| {
        let browser = &browser;
        let url = format!("{app}{path}");
        async move { browser.get(&url).await.text().await.unwrap() }
    };
    assert_eq!(sent("/auth/callback").await, "auth=2; dflt=3; root=1");
    assert_eq!(sent("/auth").await, "auth=2; dflt=3; root=1");
    assert_eq!(sent("/authx").await, "root=1");
    assert_eq!(sent("/").await, "root=1");

    browser.set_cookie("127.0.0.1", "root", "tampered", "/");
    browser.set_cookie("127.0.0.1", "planted", "p", "/");
    assert_eq!(sent("/").await, "root=tampered; planted=p");
    browser.remove_cookie("root");
    assert_eq!(sent("/").await, "planted=p");
    // An explicit Cookie header replaces the jar's.
    let resp = browser
        .get_with_headers(&format!("{app}/"), &[("cookie", "mine=1")])
        .await;
    assert_eq!(resp.text().await.unwrap(), "mine=1");
    browser.clear();
    assert!(browser.cookies().is_empty());
}

#[tokio::test]
async fn browser_follows_redirects_across_hosts_with_samesite() {
    let app = start_cookie_app().await;
    let provider = start_cookie_app().await;
    let browser = Browser::new();
    browser
        .get(&setting(
            &app,
            "/",
            &[
                "strict=1; SameSite=Strict; Path=/",
                "lax=2; SameSite=Lax; Path=/",
                "plain=3; Path=/",
            ],
        ))
        .await;

    // Same site (another port of 127.0.0.1): everything is sent at the end.
    let back = format!("{app}/callback");
    let via = format!("{provider}/authorize?to={}", o1::percent_encode(&back));
    let visit = browser
        .follow(&format!("{app}/login?to={}", o1::percent_encode(&via)))
        .await;
    assert_eq!(visit.hops.len(), 3);
    assert_eq!(
        visit.hops.iter().map(|h| h.1).collect::<Vec<_>>(),
        [302, 302, 200]
    );
    assert_eq!(visit.final_url, back);
    assert_eq!(visit.status, 200);
    assert_eq!(visit.body, "strict=1; lax=2; plain=3");

    // Through another site (localhost): the Strict cookie stays home.
    let via = format!(
        "{}/authorize?to={}",
        provider.replace("127.0.0.1", "localhost"),
        o1::percent_encode(&back)
    );
    let visit = browser
        .follow(&format!("{app}/login?to={}", o1::percent_encode(&via)))
        .await;
    assert_eq!(visit.status, 200);
    assert_eq!(visit.body, "lax=2; plain=3");
    // Relative Location.
    let visit = browser.follow(&format!("{app}/a/b?to=../c")).await;
    assert_eq!(visit.final_url, format!("{app}/c"));
}

#[tokio::test]
async fn server_counts_connections_and_reuses_them() {
    let served = server::serve_counted(tower::service_fn(cookie_app)).await;
    let client = no_redirects();
    for _ in 0..3 {
        let resp = client.get(served.base_url()).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
    }
    assert_eq!(served.connection_count(), 1);
    no_redirects().get(served.base_url()).send().await.unwrap();
    assert_eq!(served.connection_count(), 2);
}

#[tokio::test]
async fn huge_bodies_are_exact_across_chunk_boundaries() {
    use http_body_util::BodyExt;
    for len in [0, 5, 11, 64 * 1024, 64 * 1024 + 1, 128 * 1024 + 9] {
        let body = FakeBody::huge(len).collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), len);
        if len >= 11 {
            let parsed: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed["data"].as_str().unwrap().len(), len - 11);
        }
    }
}

#[tokio::test]
async fn serve_accepts_a_layered_axum_router() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "hello" }))
        .layer(tower::util::MapResponseLayer::new(
            |mut resp: axum::response::Response| {
                resp.headers_mut().insert("x-layer", "1".parse().unwrap());
                resp
            },
        ));
    let addr = server::serve(app).await;
    let resp = no_redirects()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-layer"], "1");
    assert_eq!(resp.text().await.unwrap(), "hello");
}

/// `Response::json` needs reqwest's `json` feature, which the crate does not enable.
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        let body = self.bytes().await.unwrap();
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&body)))
    }
}
