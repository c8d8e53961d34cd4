//! Callbacks a provider posts (OpenID Connect's `response_mode=form_post`): the size-capped
//! form body, and the page that carries a cross-site `POST` over to a same-site one.
//!
//! Browsers do not send `SameSite=Lax` cookies on a cross-site `POST`, so the provider's
//! `POST` arrives without the flow cookie. Rather than weaken the cookie to `SameSite=None`,
//! the layer answers that `POST` with a small page of its own origin that posts the same
//! fields to the same route: a same-site `POST`, on which the cookie is sent. The page is
//! inert apart from its one script (pinned by hash in its Content-Security-Policy), may post
//! only to its own origin, and is never cached.
//!
//! Browsers hold the redirect that answers a form to the page's `form-action` too (Chromium
//! and Safari stop the navigation there), so the policy also names the origins of the
//! configured after-login and failure URLs when they are absolute: the login ends there, on
//! an app whose front end lives on another origin. Nothing else is added: the page's only
//! form is the layer's, posting to its own route, whose answer redirects nowhere else.

use std::future::poll_fn;
use std::pin::pin;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body::Body;
use sha2::{Digest, Sha256};

use crate::error::AuthError;
use crate::routes::html::escape;
use crate::routes::response::Location;

/// The largest form body read (Apple's, with an ID token and the `user` JSON, is ~3 KiB).
pub(crate) const MAX_FORM_BYTES: usize = 16 * 1024;

/// The field the carried-over `POST` adds, so it is carried over once only.
pub(crate) const CARRIED: &str = "socialauth_carried";

/// The page's only script.
const SUBMIT: &str = "document.forms[0].submit();";

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads a form-urlencoded body of at most [`MAX_FORM_BYTES`].
pub(crate) async fn read_form<B>(headers: &HeaderMap, body: B) -> Result<String, AuthError>
where
    B: Body,
{
    if !is_form(headers) {
        return Err(AuthError::invalid_request(
            "a posted form must be application/x-www-form-urlencoded",
        ));
    }
    let too_large = || AuthError::invalid_request("the posted form is too large");
    if body
        .size_hint()
        .lower()
        .try_into()
        .map_or(true, |len: usize| len > MAX_FORM_BYTES)
    {
        return Err(too_large());
    }
    let mut body = pin!(body);
    let mut read = BytesMut::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|_| AuthError::invalid_request("the posted form broke off"))?;
        if let Ok(data) = frame.into_data() {
            if read.len() + bytes::Buf::remaining(&data) > MAX_FORM_BYTES {
                return Err(too_large());
            }
            let mut data = data;
            while bytes::Buf::has_remaining(&data) {
                let chunk = bytes::Buf::chunk(&data);
                read.extend_from_slice(chunk);
                let len = chunk.len();
                bytes::Buf::advance(&mut data, len);
            }
        }
    }
    String::from_utf8(read.to_vec())
        .map_err(|_| AuthError::invalid_request("the posted callback is not UTF-8"))
}

/// The `form-action` sources of the page: `'self'`, and the origin of each of `targets` (the
/// configured after-login and failure URLs) that is an absolute URL. A path is on `'self'`.
pub(crate) fn form_action<'a>(targets: impl IntoIterator<Item = &'a Location>) -> String {
    let mut sources = vec!["'self'".to_owned()];
    for target in targets {
        let Ok(url) = url::Url::parse(target.as_str()) else {
            continue;
        };
        let origin = url.origin().ascii_serialization();
        // A CSP host-source: scheme, host and port, nothing that could end the directive.
        let plain = origin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'.' | b'-'));
        if plain && url.has_host() && !sources.contains(&origin) {
            sources.push(origin);
        }
    }
    sources.join(" ")
}

/// The page that posts `fields` (and [`CARRIED`]) to `action`, a path of this origin; the
/// redirect answering that post may go to `form_action` (from [`form_action`]).
pub(crate) fn carry_over(
    action: &str,
    fields: &[(String, String)],
    form_action: &str,
) -> Response<Bytes> {
    let mut inputs = String::new();
    for (name, value) in fields {
        inputs.push_str(&format!(
            r#"<input type="hidden" name="{}" value="{}">"#,
            escape(name),
            escape(value)
        ));
    }
    inputs.push_str(&format!(
        r#"<input type="hidden" name="{CARRIED}" value="1">"#
    ));
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signing in</title></head>\
         <body><form method=\"post\" action=\"{}\">{inputs}\
         <noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script>{SUBMIT}</script></body></html>",
        escape(action)
    );
    let hash = STANDARD.encode(Sha256::digest(SUBMIT.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; form-action {form_action}; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    let mut response = Response::new(Bytes::from(page));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", csp);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_fields_and_pins_its_script() {
        let fields = vec![
            ("state".to_owned(), "abc".to_owned()),
            (
                "user".to_owned(),
                r#""><script>alert(1)</script>"#.to_owned(),
            ),
        ];
        let page = carry_over("/auth/apple", &fields, "'self'");
        let body = std::str::from_utf8(page.body()).unwrap();
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(body.contains("&quot;&gt;&lt;script&gt;"), "{body}");
        assert!(body.contains(r#"name="socialauth_carried""#));
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self';"), "{csp}");
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn form_action_names_the_origins_of_absolute_targets_only() {
        let at = |target: &str| Location::new(target).unwrap();
        let targets = [
            at("/welcome"),
            at("https://front.example.com/after?x=1"),
            at("https://front.example.com/failed"),
            at("http://127.0.0.1:8081/landing"),
            at("https://xn--caf-dma.example:8443/"),
        ];
        assert_eq!(
            form_action(&targets),
            "'self' https://front.example.com http://127.0.0.1:8081 \
             https://xn--caf-dma.example:8443"
        );
        assert_eq!(form_action([&at("/")]), "'self'");
        let page = carry_over("/auth/apple", &[], &form_action(&targets));
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://front.example.com http://127.0.0.1:8081"),
            "{csp}"
        );
    }

    #[tokio::test]
    async fn form_bodies_are_capped_and_typed() {
        let mut form = HeaderMap::new();
        form.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let ok = read_form(&form, String::from("code=1&state=2")).await;
        assert_eq!(ok.unwrap(), "code=1&state=2");
        let big = "a".repeat(MAX_FORM_BYTES + 1);
        assert!(read_form(&form, big).await.is_err());
        assert!(read_form(&HeaderMap::new(), String::from("code=1"))
            .await
            .is_err());
    }
}
