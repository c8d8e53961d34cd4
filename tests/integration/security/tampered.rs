//! Item 5: tampered identity tokens and flow cookies. A flipped bit, a truncation, two or
//! four segments, characters outside base64url, invalid UTF-8 (in the header bytes, and
//! inside correctly signed claims), a 1 MB segment, 100,000 dots: each is answered, as an
//! anonymous request or a 400, quickly and without the layer holding memory in proportion
//! to the input.

use std::time::{Duration, Instant};

use crate::common::app::SECRET;
use crate::common::browser::query_param;
use crate::common::browser::Browser;
use crate::common::forge::{claims_for, genuine_header, issued_identity_token, sign_raw};
use crate::security::support::{call, direct_default, peak_allocation, request, world, Reply};

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `token` with one bit of the base64 character at or after `at` flipped (another
/// alphanumeric character, valid in base64 and base64url alike, so the value still decodes).
fn flip(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = (at..bytes.len())
        .find(|&i| bytes[i].is_ascii_alphanumeric())
        .expect("an alphanumeric character");
    let index = BASE64URL.iter().position(|&c| c == bytes[at]).unwrap();
    bytes[at] = BASE64URL[index ^ 1];
    String::from_utf8(bytes).unwrap()
}

/// Every way to break a genuine token, with what it is.
fn tampered(token: &str, header_json: &str) -> Vec<(String, Vec<u8>)> {
    let parts: Vec<&str> = token.split('.').collect();
    let (header, claims, signature) = (parts[0], parts[1], parts[2]);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |what: &str, value: String| cases.push((what.to_owned(), value.into_bytes()));
    add("flipped bit in the header", flip(token, header.len() / 2));
    add(
        "flipped bit in the claims",
        flip(token, header.len() + 1 + claims.len() / 2),
    );
    add(
        "flipped bit in the signature",
        flip(token, token.len() - signature.len() / 2),
    );
    add(
        "last character dropped",
        token[..token.len() - 1].to_owned(),
    );
    add("cut in half", token[..token.len() / 2].to_owned());
    add("two segments", format!("{header}.{claims}"));
    add("two segments and a dot", format!("{header}.{claims}."));
    add("four segments", format!("{token}.{signature}"));
    add(
        "an extra segment inside",
        format!("{header}.{claims}.x.{signature}"),
    );
    add(
        "an empty segment",
        format!("{header}..{claims}.{signature}"),
    );
    add("padding", format!("{token}="));
    add(
        "standard base64 +",
        format!("{header}.{claims}.+{}", &signature[1..]),
    );
    add(
        "standard base64 /",
        format!("{header}.{claims}/.{signature}"),
    );
    add(
        "a non-base64 character",
        format!("{header}.{claims}*.{signature}"),
    );
    add("percent-encoded", token.replace('.', "%2E"));
    add("quoted", format!("\"{token}\"x"));
    add("only dots", ".".repeat(3));
    add("100,000 dots", ".".repeat(100_000));
    add("10,000 dots (under the cookie cap)", ".".repeat(10_000));
    add(
        "a 1 MB header segment",
        format!("{}.{claims}.{signature}", "A".repeat(1 << 20)),
    );
    add(
        "a 1 MB claims segment",
        format!("{header}.{}.{signature}", "A".repeat(1 << 20)),
    );
    add(
        "a 10 KB signature",
        format!("{header}.{claims}.{}", "A".repeat(10 << 10)),
    );
    // Invalid UTF-8: raw bytes in the header value, and inside correctly signed claims.
    let mut raw = format!("{header}.{claims}.").into_bytes();
    raw.extend_from_slice(b"\xff\xfe");
    cases.push(("invalid UTF-8 bytes in the cookie".into(), raw));
    let signed_bad_utf8 = {
        let json = claims_for("victim").replace("\"Ada\"", "\"\u{0}\"");
        let bytes = json.replace('\u{0}', "\u{fffd}").into_bytes();
        // Replace the U+FFFD (EF BF BD) by a lone 0xFF byte: invalid UTF-8.
        let at = bytes
            .windows(3)
            .position(|w| w == [0xef, 0xbf, 0xbd])
            .unwrap();
        let mut bad = bytes[..at].to_vec();
        bad.push(0xff);
        bad.extend_from_slice(&bytes[at + 3..]);
        sign_raw(header_json, &bad, SECRET)
    };
    cases.push((
        "signed claims with invalid UTF-8".into(),
        signed_bad_utf8.into_bytes(),
    ));
    cases
}

#[test]
fn item_05_tampered_identity_tokens_are_anonymous_quickly_and_in_bounded_memory() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (token, header_json) = runtime.block_on(async {
        let token = issued_identity_token().await;
        (token, genuine_header().await)
    });
    let layer = direct_default();
    let control = sign_raw(&header_json, claims_for("victim"), SECRET);
    for (what, value) in [
        ("the genuine token", token.clone()),
        ("a forged control", control),
    ] {
        let cookie = format!("__Host-socialauth={value}");
        let response = runtime.block_on(call(
            &layer,
            request("/maybe", &[("cookie", cookie.as_bytes())]),
        ));
        assert_ne!(response.body(), "anonymous", "{what} must be accepted");
    }

    let mut slowest = Duration::ZERO;
    let mut most = 0;
    for (what, value) in tampered(&token, &header_json) {
        let mut cookie = b"__Host-socialauth=".to_vec();
        cookie.extend_from_slice(&value);
        let req = request("/maybe", &[("cookie", &cookie)]);
        let started = Instant::now();
        let (response, peak) = peak_allocation(|| runtime.block_on(call(&layer, req)));
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{what}");
        assert_eq!(response.body(), "anonymous", "{what}");
        assert!(took < Duration::from_secs(1), "{what} took {took:?}");
        // The request itself is built before measuring: what the layer adds stays small
        // whatever the input's size (a 1 MB cookie must not be copied or decoded).
        assert!(
            peak < 64 * 1024,
            "{what}: the layer held {peak} bytes at once"
        );
        slowest = slowest.max(took);
        most = most.max(peak);
        // The same value as a bearer token.
        let mut bearer = b"Bearer ".to_vec();
        bearer.extend_from_slice(&value);
        let req = request("/maybe", &[("authorization", &bearer)]);
        let (response, peak) = peak_allocation(|| runtime.block_on(call(&layer, req)));
        assert_eq!(response.body(), "anonymous", "{what} as a bearer token");
        assert!(peak < 64 * 1024, "{what} as a bearer: {peak} bytes");
    }
    eprintln!("tampered identity tokens: slowest answer {slowest:?}, largest peak {most} bytes");
}

#[tokio::test]
async fn item_05_tampered_flow_cookies_are_400_without_an_exchange() {
    let world = world().await;
    for provider in ["facebook", "twitter", "oidc"] {
        let browser = Browser::new();
        let callback = world.callback(&browser, provider).await;
        let (name, value, _) = browser
            .cookies()
            .into_iter()
            .find(|(n, _, _)| n.contains("socialauth-flow"))
            .unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("flipped bit", flip(&value, value.len() / 2).into_bytes()),
            ("truncated", value.as_bytes()[..value.len() - 1].to_vec()),
            ("cut in half", value.as_bytes()[..value.len() / 2].to_vec()),
            ("extended", format!("{value}AAAA").into_bytes()),
            ("non-base64", format!("{value}*").into_bytes()),
            ("empty", Vec::new()),
            ("invalid UTF-8", [value.as_bytes(), b"\xff"].concat()),
            ("10,000 dots", ".".repeat(10_000).into_bytes()),
            ("100,000 dots", ".".repeat(100_000).into_bytes()),
        ];
        let key = query_param(
            &callback,
            if provider == "twitter" {
                "oauth_token"
            } else {
                "state"
            },
        )
        .unwrap();
        for (what, bad) in cases {
            let mut cookie = format!("{name}=").into_bytes();
            cookie.extend_from_slice(&bad);
            let response = reqwest::Client::new()
                .get(&callback)
                .header("cookie", http::HeaderValue::from_bytes(&cookie).unwrap())
                .send()
                .await
                .unwrap();
            let reply = Reply::read(response).await;
            assert_eq!(reply.status, 400, "{provider} {what}: {}", reply.body);
            let code = reply.error_code();
            assert!(
                code == "invalid_flow_cookie" || code == "missing_flow_cookie",
                "{provider} {what}: {code}"
            );
            reply.assert_refused(400, &code, true, &[&key]);
        }
    }
    assert_eq!(world.all_exchanges(), 0, "a token endpoint was called");
}
