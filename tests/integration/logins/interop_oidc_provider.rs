//! Interop with an OpenID Connect provider nobody here wrote: panva's `oidc-provider`
//! (OpenID Certified), run by Node.js on 127.0.0.1 from `tests/interop/oidc-provider/`.
//! The scripted browser goes through its built-in login and consent pages, reading the
//! forms from the HTML as a user's browser would.
//!
//! Also logs in as a client that authenticates with `private_key_jwt` (RFC 7523), by RS256
//! and ES256 keys made for the test, and logs out at oidc-provider (RP-initiated logout)
//! through its confirmation page.
//!
//! Needs `node` and `npm` (see `common::oidc_provider`).

use std::sync::{Arc, OnceLock};

use crate::common::app::{self, json_of, IDENTITY_COOKIE};
use crate::common::browser::{query_param, Browser, Visit};
use crate::common::client_assertion::ClientKey;
pub(super) use crate::common::oidc_provider::OidcProvider;
use crate::common::server::{self, BoxError};
use hyper::body::Incoming;
use socialauth::{
    AssertionAudience, ClientAssertionKey, ClientAuth, Oidc, SocialAuthLayer,
    SocialAuthLayerBuilder,
};
use tower::ServiceExt;

// A `:` in the id and form-urlencoding's special characters in the secret: RFC 6749 §2.3.1
// has both form-urlencoded before `client_secret_basic` joins them, and oidc-provider decodes
// them that way.
pub(super) const CLIENT_ID: &str = "socialauth:interop";
pub(super) const CLIENT_SECRET: &str = "s3cret +/%&=:?# 0123456789abcdef";
/// The client that authenticates with `private_key_jwt`: no secret at all.
const JWT_CLIENT_ID: &str = "socialauth:interop:private-key-jwt";

/// Starts oidc-provider with one client that may redirect to `redirect_uri` (and, after a
/// logout, to `post_logout_redirect_uri`), and a second, [`JWT_CLIENT_ID`], authenticating
/// with `private_key_jwt` by these public keys (a JWK Set), when given.
async fn start_provider(
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
    jwt_client_jwks: Option<&serde_json::Value>,
) -> OidcProvider {
    launch(
        (CLIENT_ID, CLIENT_SECRET),
        redirect_uri,
        post_logout_redirect_uri,
        jwt_client_jwks,
        None,
    )
    .await
}

/// [`start_provider`], its first client being `(id, secret)`: one instance per customer of a
/// multi-tenant app, each with a client of its own.
pub(super) async fn start_client(
    client: (&str, &str),
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
    jwt_client_jwks: Option<&serde_json::Value>,
) -> OidcProvider {
    launch(
        client,
        redirect_uri,
        post_logout_redirect_uri,
        jwt_client_jwks,
        None,
    )
    .await
}

/// [`start_provider`], the client registered with `backchannel_logout_uri` when given.
pub(super) async fn start_with_backchannel(
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
    jwt_client_jwks: Option<&serde_json::Value>,
    backchannel_logout_uri: Option<&str>,
) -> OidcProvider {
    launch(
        (CLIENT_ID, CLIENT_SECRET),
        redirect_uri,
        post_logout_redirect_uri,
        jwt_client_jwks,
        backchannel_logout_uri,
    )
    .await
}

/// Runs oidc-provider with these clients (`common::oidc_provider`).
async fn launch(
    (client_id, client_secret): (&str, &str),
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
    jwt_client_jwks: Option<&serde_json::Value>,
    backchannel_logout_uri: Option<&str>,
) -> OidcProvider {
    let mut env = vec![
        ("OIDC_CLIENT_ID", client_id.to_owned()),
        ("OIDC_CLIENT_SECRET", client_secret.to_owned()),
        ("OIDC_REDIRECT_URIS", redirect_uri.to_owned()),
        (
            "OIDC_POST_LOGOUT_REDIRECT_URIS",
            post_logout_redirect_uri.to_owned(),
        ),
    ];
    if let Some(uri) = backchannel_logout_uri {
        env.push(("OIDC_BACKCHANNEL_LOGOUT_URI", uri.to_owned()));
    }
    if let Some(jwks) = jwt_client_jwks {
        env.push(("OIDC_JWT_CLIENT_ID", JWT_CLIENT_ID.to_owned()));
        env.push(("OIDC_JWT_CLIENT_JWKS", jwks.to_string()));
    }
    OidcProvider::start(&env).await
}

/// The app (`common::app::axum_app` behind the layer) and the provider it talks to.
pub(super) struct Setup {
    pub(super) base_url: String,
    pub(super) provider: OidcProvider,
}

impl Setup {
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// [`start_with`] the `client_secret_basic` client.
async fn start() -> Setup {
    start_with(None, |issuer| Oidc::new(issuer, CLIENT_ID, CLIENT_SECRET)).await
}

/// Binds the app first, so that its redirect URI is known when oidc-provider starts; the
/// layer, which needs oidc-provider's issuer URL, is put in place once that has started,
/// with the provider `oidc` makes for that issuer.
async fn start_with(
    jwt_client_jwks: Option<&serde_json::Value>,
    oidc: impl FnOnce(&str) -> Oidc,
) -> Setup {
    start_configured(jwt_client_jwks, oidc, |builder| builder).await
}

/// An app server whose layer is put in place later (once oidc-provider's issuer is known).
pub(super) async fn serve_later() -> (String, Arc<OnceLock<axum::Router>>) {
    let slot: Arc<OnceLock<axum::Router>> = Arc::default();
    let service = tower::service_fn({
        let slot = slot.clone();
        move |req: http::Request<Incoming>| {
            let app = slot.get().cloned();
            async move {
                match app {
                    Some(app) => app.oneshot(req).await.map_err(BoxError::from),
                    None => Err(BoxError::from("the app is not ready yet")),
                }
            }
        }
    });
    let addr = server::serve(service).await;
    (format!("http://{addr}"), slot)
}

/// [`start_with`], the layer's builder adjusted by `configure`.
async fn start_configured(
    jwt_client_jwks: Option<&serde_json::Value>,
    oidc: impl FnOnce(&str) -> Oidc,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> Setup {
    let (base_url, slot) = serve_later().await;

    // The layer's after-logout URL (the default, `/`), absolute.
    let provider = start_provider(
        &format!("{base_url}/auth/oidc"),
        &format!("{base_url}/"),
        jwt_client_jwks,
    )
    .await;
    let builder = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(oidc(&provider.issuer));
    let layer = configure(builder)
        .build()
        .expect("valid layer configuration");
    assert!(slot.set(app::axum_app().layer(layer)).is_ok());
    Setup { base_url, provider }
}

/// An HTML form: where it posts and the fields it carries.
#[derive(Debug)]
pub(super) struct Form {
    action: String,
    /// `(name, value, type)` of every `<input>` with a name.
    inputs: Vec<(String, String, String)>,
}

impl Form {
    /// The first `<form>` of `html`, or a panic showing the page.
    pub(super) fn first_in(html: &str) -> Form {
        let start = html
            .find("<form")
            .unwrap_or_else(|| panic!("no <form> in the page:\n{html}"));
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |end| start + end);
        let form = &html[start..end];
        let (form_attrs, rest) = tag_attributes(form);
        let method = attribute(&form_attrs, "method").unwrap_or_default();
        assert!(
            method.eq_ignore_ascii_case("post"),
            "form method {method:?}"
        );
        let mut inputs = Vec::new();
        let mut rest = rest;
        while let Some(i) = rest.find("<input") {
            let (attrs, after) = tag_attributes(&rest[i..]);
            if let Some(name) = attribute(&attrs, "name") {
                inputs.push((
                    name,
                    attribute(&attrs, "value").unwrap_or_default(),
                    attribute(&attrs, "type").unwrap_or_else(|| "text".to_owned()),
                ));
            }
            rest = after;
        }
        Form {
            action: attribute(&form_attrs, "action").expect("form action"),
            inputs,
        }
    }

    pub(super) fn has_input(&self, name: &str, kind: &str) -> bool {
        self.inputs.iter().any(|(n, _, t)| n == name && t == kind)
    }

    /// The hidden fields, then `extra`: what submitting the form with `extra` typed in sends.
    pub(super) fn submission<'a>(
        &'a self,
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut fields: Vec<(&str, &str)> = self
            .inputs
            .iter()
            .filter(|(_, _, kind)| kind == "hidden")
            .map(|(name, value, _)| (name.as_str(), value.as_str()))
            .collect();
        fields.extend_from_slice(extra);
        fields
    }

    /// The action, resolved against the page it came from.
    pub(super) fn action_url(&self, page: &str) -> String {
        url::Url::parse(page)
            .and_then(|page| page.join(&self.action))
            .expect("form action is a URL")
            .to_string()
    }
}

/// The attributes of the tag `html` starts with, and what follows the tag.
fn tag_attributes(html: &str) -> (Vec<(String, String)>, &str) {
    let mut attrs = Vec::new();
    let mut rest = html.trim_start_matches('<');
    rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>").or_else(|| rest.strip_prefix('>')) {
            return (attrs, after);
        }
        if rest.is_empty() {
            return (attrs, rest);
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len())
            .max(1);
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let value = match rest.strip_prefix('=') {
            Some(after) => {
                let quote = after.chars().next().filter(|c| matches!(c, '"' | '\''));
                match quote {
                    Some(q) => {
                        let inner = &after[1..];
                        let end = inner.find(q).unwrap_or(inner.len());
                        rest = inner.get(end + 1..).unwrap_or("");
                        unescape(&inner[..end])
                    }
                    None => {
                        let end = after
                            .find(|c: char| c.is_whitespace() || c == '>')
                            .unwrap_or(after.len());
                        rest = &after[end..];
                        unescape(&after[..end])
                    }
                }
            }
            None => String::new(),
        };
        attrs.push((name, value));
    }
}

fn attribute(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The character references oidc-provider's templates produce.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `href` of the link whose text is `text`.
fn link_href(html: &str, text: &str) -> String {
    let end = html
        .find(&format!(">{text}</a>"))
        .unwrap_or_else(|| panic!("no link {text:?} in the page:\n{html}"));
    let start = html[..end].rfind("<a").expect("<a before the link text");
    let (attrs, _) = tag_attributes(&html[start..]);
    attribute(&attrs, "href").expect("link href")
}

/// Opens the app's login route and follows redirects to oidc-provider's sign-in page.
async fn open_sign_in(setup: &Setup, browser: &Browser) -> Visit {
    let visit = browser.follow(&setup.url("/auth/oidc?login=start")).await;
    assert_eq!(visit.status, 200, "{:?}\n{}", visit.hops, visit.body);
    assert!(
        visit
            .final_url
            .starts_with(&format!("{}/interaction/", setup.provider.issuer)),
        "not at oidc-provider's interaction page: {:?}",
        visit.hops
    );
    // The authorization request the layer sent.
    let authorize = &visit.hops[1].0;
    assert!(authorize.starts_with(&format!("{}/auth?", setup.provider.issuer)));
    assert_eq!(
        query_param(authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_param(authorize, "nonce").is_some_and(|n| !n.is_empty()));
    assert!(visit.body.contains("<h1>Sign-in</h1>"), "{}", visit.body);
    visit
}

/// Fills in oidc-provider's sign-in form as `login` and submits it; returns the page that
/// follows (its consent page, for a first login).
pub(super) async fn sign_in(browser: &Browser, page: &Visit, login: &str) -> Visit {
    let form = Form::first_in(&page.body);
    assert!(
        form.has_input("login", "text") && form.has_input("password", "password"),
        "not a sign-in form: {form:?}"
    );
    let fields = form.submission(&[("login", login), ("password", "any password will do")]);
    browser
        .post_follow(&form.action_url(&page.final_url), &fields)
        .await
}

/// Opens the sign-in page, signs `login` in, checks the consent page and consents: the
/// visit that follows (back at the app, when all went well).
pub(super) async fn sign_in_and_consent(setup: &Setup, browser: &Browser, login: &str) -> Visit {
    let sign_in_page = open_sign_in(setup, browser).await;
    let consent_page = sign_in(browser, &sign_in_page, login).await;
    assert_consent_page(setup, &consent_page);
    let consent = Form::first_in(&consent_page.body);
    browser
        .post_follow(
            &consent.action_url(&consent_page.final_url),
            &consent.submission(&[]),
        )
        .await
}

fn assert_consent_page(setup: &Setup, visit: &Visit) {
    assert_eq!(visit.status, 200, "{:?}\n{}", visit.hops, visit.body);
    assert!(
        visit
            .final_url
            .starts_with(&format!("{}/interaction/", setup.provider.issuer)),
        "not at the consent page: {:?}",
        visit.hops
    );
    assert!(visit.body.contains("<h1>Authorize</h1>"), "{}", visit.body);
}

#[tokio::test]
async fn login_and_consent_at_oidc_provider_sign_alice_in() {
    let setup = start().await;
    let browser = Browser::new();

    let done = sign_in_and_consent(&setup, &browser, "alice").await;
    assert_eq!(done.status, 200, "{:?}\n{}", done.hops, done.body);
    assert_eq!(done.final_url, setup.url("/"), "{:?}", done.hops);
    assert_eq!(done.body, "home");

    // The callback came back through the layer, with RFC 9207's iss.
    let callback = done
        .hops
        .iter()
        .map(|(url, _)| url)
        .find(|url| url.starts_with(&setup.url("/auth/oidc?")))
        .unwrap_or_else(|| panic!("no callback in {:?}", done.hops));
    assert_eq!(
        query_param(callback, "iss").as_deref(),
        Some(setup.provider.issuer.as_str())
    );
    assert!(query_param(callback, "code").is_some());
    assert!(browser.cookie(IDENTITY_COOKIE).is_some());
    assert!(
        !browser
            .cookies()
            .iter()
            .any(|(name, _, _)| name.contains("socialauth-flow")),
        "the flow cookie outlived the login: {:?}",
        browser.cookies()
    );

    let whoami = browser.follow(&setup.url("/whoami")).await;
    assert_eq!(whoami.status, 200, "{}", whoami.body);
    let who = json_of(&whoami.body);
    assert_eq!(who["provider"], "oidc");
    assert_eq!(who["user_id"], "alice");
    assert_eq!(who["email"], "alice@example.com");
    assert_eq!(who["name"], "Alice Example");
}

/// Signs `login` in at oidc-provider and consents: the browser is back at the app, signed in.
async fn log_in(setup: &Setup, browser: &Browser, login: &str) {
    let done = sign_in_and_consent(setup, browser, login).await;
    assert_eq!(done.final_url, setup.url("/"), "{:?}", done.hops);
    assert_eq!(
        json_of(&browser.follow(&setup.url("/whoami")).await.body)["user_id"],
        login
    );
}

/// Without the tokens kept, the layer sends `logout_hint`; with them (`keep_provider_tokens`),
/// the login's ID token as `id_token_hint`, which oidc-provider verifies.
#[tokio::test]
async fn logout_ends_the_session_at_oidc_provider() {
    for (keep_tokens, login) in [(false, "carol"), (true, "dave")] {
        let setup = start_configured(
            None,
            |issuer| Oidc::new(issuer, CLIENT_ID, CLIENT_SECRET).provider_logout(true),
            |builder| builder.keep_provider_tokens(keep_tokens),
        )
        .await;
        log_out_at_oidc_provider(&setup, login, keep_tokens).await;
    }
}

async fn log_out_at_oidc_provider(setup: &Setup, login: &str, keep_tokens: bool) {
    let browser = Browser::new();
    log_in(setup, &browser, login).await;

    // While oidc-provider's session lives, a new login goes through without a page.
    let again = browser.follow(&setup.url("/auth/oidc?login=start")).await;
    assert_eq!(again.final_url, setup.url("/"), "{:?}", again.hops);
    assert!(
        !again
            .hops
            .iter()
            .any(|(url, _)| url.contains("/interaction/")),
        "{:?}",
        again.hops
    );

    // Logout: the layer clears its cookie and sends the browser to oidc-provider, which asks.
    let confirm_page = browser.post_follow(&setup.url("/auth/logout"), &[]).await;
    assert_eq!(
        confirm_page.status, 200,
        "{:?}\n{}",
        confirm_page.hops, confirm_page.body
    );
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    let end_session = &confirm_page.hops[1].0;
    assert!(
        end_session.starts_with(&format!("{}/", setup.provider.issuer)),
        "{:?}",
        confirm_page.hops
    );
    assert_eq!(
        query_param(end_session, "client_id").as_deref(),
        Some(CLIENT_ID)
    );
    assert_eq!(
        query_param(end_session, "post_logout_redirect_uri"),
        Some(setup.url("/"))
    );
    if keep_tokens {
        assert!(query_param(end_session, "id_token_hint").is_some());
        assert_eq!(query_param(end_session, "logout_hint"), None);
    } else {
        assert_eq!(
            query_param(end_session, "logout_hint").as_deref(),
            Some(login)
        );
        assert_eq!(query_param(end_session, "id_token_hint"), None);
    }
    let state = query_param(end_session, "state").expect("a state");
    assert!(
        confirm_page.body.contains("Do you want to sign-out"),
        "{}",
        confirm_page.body
    );

    // "Yes, sign me out": the button submits the form with `logout=yes`.
    let form = Form::first_in(&confirm_page.body);
    assert!(form.has_input("xsrf", "hidden"), "{form:?}");
    let done = browser
        .post_follow(
            &form.action_url(&confirm_page.final_url),
            &form.submission(&[("logout", "yes")]),
        )
        .await;
    assert_eq!(done.status, 200, "{:?}\n{}", done.hops, done.body);
    assert!(
        done.final_url.starts_with(&setup.url("/?")),
        "not back at the after-logout page: {:?}",
        done.hops
    );
    assert_eq!(query_param(&done.final_url, "state"), Some(state));
    assert_eq!(done.body, "home");
    assert_eq!(browser.follow(&setup.url("/whoami")).await.status, 401);

    // oidc-provider's session is over: the next login asks who it is again.
    open_sign_in(setup, &browser).await;
}

#[tokio::test]
async fn cancelling_at_oidc_provider_is_401_access_denied_without_identity() {
    let setup = start().await;
    let browser = Browser::new();

    // At the sign-in page, and (a second attempt) at the consent page.
    for at_consent in [false, true] {
        let mut page = open_sign_in(&setup, &browser).await;
        if at_consent {
            page = sign_in(&browser, &page, "bob").await;
            assert_consent_page(&setup, &page);
        }
        let cancel = url::Url::parse(&page.final_url)
            .and_then(|p| p.join(&link_href(&page.body, "[ Cancel ]")))
            .expect("cancel link is a URL");
        let visit = browser.follow(cancel.as_str()).await;

        assert_eq!(visit.status, 401, "{:?}\n{}", visit.hops, visit.body);
        assert!(
            visit.final_url.starts_with(&setup.url("/auth/oidc?")),
            "{:?}",
            visit.hops
        );
        assert_eq!(
            query_param(&visit.final_url, "error").as_deref(),
            Some("access_denied")
        );
        assert_eq!(json_of(&visit.body)["error"], "access_denied");
        assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
        assert!(
            !browser
                .cookies()
                .iter()
                .any(|(name, _, _)| name.contains("socialauth-flow")),
            "the flow cookie outlived the attempt: {:?}",
            browser.cookies()
        );
        let whoami = browser.follow(&setup.url("/whoami")).await;
        assert_eq!(
            whoami.status, 401,
            "at_consent={at_consent}: {}",
            whoami.body
        );
    }
}

#[tokio::test]
async fn private_key_jwt_logins_at_oidc_provider_with_rs256_and_es256_keys() {
    let (rsa, ec) = (ClientKey::rs256(), ClientKey::es256());
    let rsa_key = ClientAssertionKey::rs256_pem(&rsa.pem)
        .expect("RSA key")
        .key_id("rsa-1");
    let ec_key = ClientAssertionKey::es256_pem(&ec.pem)
        .expect("P-256 key")
        .key_id("ec-1");
    // What the app's operator registers: the public JWKs the keys describe themselves with.
    let jwks = serde_json::json!({"keys": [rsa_key.public_jwk(), ec_key.public_jwk()]});
    // oidc-provider takes the token endpoint or the issuer as the assertion's audience.
    let cases = [
        (rsa_key, AssertionAudience::TokenEndpoint, "rs-token"),
        (ec_key, AssertionAudience::Issuer, "ec-issuer"),
    ];
    for (key, audience, login) in cases {
        let auth = ClientAuth::PrivateKeyJwt { key, audience };
        let setup = start_with(Some(&jwks), |issuer| {
            Oidc::new(issuer, JWT_CLIENT_ID, "").client_auth(auth)
        })
        .await;
        let browser = Browser::new();
        let done = sign_in_and_consent(&setup, &browser, login).await;
        assert_eq!(done.status, 200, "{login}: {:?}\n{}", done.hops, done.body);
        assert_eq!(done.final_url, setup.url("/"), "{:?}", done.hops);

        let whoami = browser.follow(&setup.url("/whoami")).await;
        assert_eq!(whoami.status, 200, "{login}: {}", whoami.body);
        let who = json_of(&whoami.body);
        assert_eq!(who["user_id"], login);
        assert_eq!(who["email"], format!("{login}@example.com"));
    }
}

#[tokio::test]
async fn oidc_provider_refuses_a_key_it_does_not_know() {
    let (registered, used) = (ClientKey::es256(), ClientKey::es256());
    let jwks = serde_json::json!({"keys": [registered.public.jwk(Some("ec-1"))]});
    let key = ClientAssertionKey::es256_pem(&used.pem)
        .expect("P-256 key")
        .key_id("ec-1");
    let setup = start_with(Some(&jwks), |issuer| {
        Oidc::new(issuer, JWT_CLIENT_ID, "").client_auth(ClientAuth::private_key_jwt(key))
    })
    .await;
    let browser = Browser::new();
    let done = sign_in_and_consent(&setup, &browser, "mallory").await;
    done.assert_error(502, "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}
