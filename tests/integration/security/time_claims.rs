//! Item 7: time claims. Identity tokens are forged relative to the current time with the
//! layer's own key and header: expired, not yet valid, issued in the future or long before
//! any token this layer could still honour, and `exp`/`nbf`/`iat` of any JSON type but an
//! unsigned integer are refused; inside the 30 s leeway they are accepted. ID tokens get
//! the same treatment against their 60 s leeway.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::browser::Browser;
use crate::common::clock::now;
use crate::common::fake_oidc::ClaimsRewrite;
use crate::common::forge::forge;
use crate::security::support::{direct_default, who_with_cookie, world};

/// Identity claims for `victim`, with `iat` now and `exp` in ten minutes, and `changes`
/// (raw JSON values, so a test can write `1e309`) replacing or adding members.
fn identity_claims(changes: &[(&str, String)]) -> String {
    let now = now();
    let mut members: Vec<(String, String)> = vec![
        ("iss".into(), json!("socialauth").to_string()),
        ("aud".into(), json!("socialauth:identity").to_string()),
        ("sub".into(), json!("victim").to_string()),
        ("provider".into(), json!("facebook").to_string()),
        ("iat".into(), now.to_string()),
        ("exp".into(), (now + 600).to_string()),
    ];
    for (name, raw) in changes {
        match members.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = raw.clone(),
            None => members.push(((*name).to_owned(), raw.clone())),
        }
    }
    let inner: Vec<String> = members
        .iter()
        .map(|(name, raw)| format!("\"{name}\":{raw}"))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn at(offset: i64) -> String {
    (now() as i64 + offset).to_string()
}

const YEAR: i64 = 365 * 24 * 3600;

/// Not an unsigned integer: each is refused for `exp`, `nbf` and `iat` alike.
const NOT_NUMERIC_DATES: [&str; 10] = [
    "\"9999999999\"",
    "\"1e10\"",
    "1e10",
    "9999999999.0",
    "9999999999.5",
    "-1",
    "-9999999999",
    "1e309",
    "18446744073709551616",
    "[9999999999]",
];

#[tokio::test]
async fn item_07_identity_time_claims_are_checked_with_a_30_second_leeway() {
    let layer = direct_default();
    let accepted: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("fresh", vec![]),
        (
            "expired 15 s ago, inside the leeway",
            vec![("exp", at(-15))],
        ),
        (
            "issued 15 s ahead, inside the leeway",
            vec![("iat", at(15))],
        ),
        (
            "valid from 15 s ahead, inside the leeway",
            vec![("nbf", at(15))],
        ),
        ("valid from an hour ago", vec![("nbf", at(-3600))]),
    ];
    let mut refused: Vec<(String, Vec<(&str, String)>)> = vec![
        ("expired 45 s ago".into(), vec![("exp", at(-45))]),
        (
            "expired a year ago".into(),
            vec![("iat", at(-YEAR - 600)), ("exp", at(-YEAR))],
        ),
        ("exp 0".into(), vec![("exp", "0".into())]),
        ("issued 45 s ahead".into(), vec![("iat", at(45))]),
        (
            "issued ten years ahead".into(),
            vec![("iat", at(10 * YEAR)), ("exp", at(10 * YEAR + 600))],
        ),
        ("valid from 45 s ahead".into(), vec![("nbf", at(45))]),
        ("valid from next year".into(), vec![("nbf", at(YEAR))]),
        ("no exp".into(), vec![("exp", "null".into())]),
        ("no iat".into(), vec![("iat", "null".into())]),
    ];
    for claim in ["exp", "nbf", "iat"] {
        for raw in NOT_NUMERIC_DATES {
            refused.push((format!("{claim} {raw}"), vec![(claim, raw.to_owned())]));
        }
    }
    for (what, changes) in accepted {
        let token = forge(&identity_claims(&changes)).await;
        let who = who_with_cookie(&layer, &format!("__Host-socialauth={token}")).await;
        assert_eq!(who, "victim", "{what} must be accepted");
    }
    for (what, changes) in refused {
        let token = forge(&identity_claims(&changes)).await;
        let who = who_with_cookie(&layer, &format!("__Host-socialauth={token}")).await;
        assert_eq!(who, "anonymous", "{what} must be refused");
    }
    // `nbf: null` is read as "no nbf" (token.rs documents it; the layer never writes nbf,
    // and only its key signs identities), so it changes nothing either way.
    let token = forge(&identity_claims(&[("nbf", "null".into())])).await;
    let who = who_with_cookie(&layer, &format!("__Host-socialauth={token}")).await;
    assert_eq!(who, "victim");
}

/// Found by this battery: a token whose `iat` is long past (here ten years, beyond the
/// 400-day maximum `identity_lifetime`) is accepted as long as its `exp` is ahead. No token
/// the layer issues can look like that (`exp = iat + identity_lifetime`), so such a token
/// is forged or from a configuration since shortened; refusing `iat + identity_lifetime +
/// leeway < now` (and `exp - iat > identity_lifetime + leeway`) would also make a shortened
/// `identity_lifetime` apply to tokens already issued.
#[tokio::test]
async fn item_07_an_identity_issued_long_before_any_lifetime_allows_is_refused() {
    let layer = direct_default();
    for (what, changes) in [
        ("issued ten years ago", vec![("iat", at(-10 * YEAR))]),
        ("issued at the epoch", vec![("iat", "0".to_owned())]),
        ("a lifetime of 500 years", vec![("exp", at(500 * YEAR))]),
    ] {
        let token = forge(&identity_claims(&changes)).await;
        let who = who_with_cookie(&layer, &format!("__Host-socialauth={token}")).await;
        assert_eq!(who, "anonymous", "{what} must be refused");
    }
}

/// The genuine claims with `member` set to the raw JSON `raw(genuine iat)`.
fn rewrite(
    member: &'static str,
    raw: impl Fn(i64) -> String + Send + Sync + 'static,
) -> ClaimsRewrite {
    Arc::new(move |claims: &Value| {
        let iat = claims["iat"].as_i64().unwrap();
        let mut object = claims.as_object().unwrap().clone();
        object.remove(member);
        let rest = Value::Object(object).to_string();
        format!("{{\"{member}\":{},{}", raw(iat), &rest[1..])
    })
}

#[tokio::test]
async fn item_07_id_token_time_claims_are_checked_with_a_60_second_leeway() {
    let world = world().await;
    let login = || async {
        let browser = Browser::new();
        browser.follow(&world.url("/auth/oidc?login=start")).await
    };
    type Raw = Box<dyn Fn(i64) -> String + Send + Sync>;
    // The genuine `iat` moved by `secs`.
    let shifted = |secs: i64| -> Raw { Box::new(move |t| (t + secs).to_string()) };
    let cases: Vec<(&str, &'static str, Raw, u16)> = vec![
        ("expired 30 s ago", "exp", shifted(-30), 200),
        ("expired 120 s ago", "exp", shifted(-120), 401),
        ("issued 30 s ahead", "iat", shifted(30), 200),
        ("issued 120 s ahead", "iat", shifted(120), 401),
        ("issued ten years ahead", "iat", shifted(10 * YEAR), 401),
        ("valid from 30 s ahead", "nbf", shifted(30), 200),
        ("valid from 120 s ahead", "nbf", shifted(120), 401),
        // RFC 7519 NumericDates may have fractions: accepted, fraction dropped.
        (
            "exp with a fraction",
            "exp",
            Box::new(|t| format!("{}.5", t + 300)),
            200,
        ),
        // Of another type: a provider error, never a login.
        (
            "exp as a string",
            "exp",
            Box::new(|t| format!("\"{}\"", t + 300)),
            502,
        ),
        ("exp null", "exp", Box::new(|_| "null".into()), 502),
        ("exp negative", "exp", Box::new(|_| "-1".into()), 502),
        ("exp 1e309", "exp", Box::new(|_| "1e309".into()), 502),
        (
            "exp 2^64",
            "exp",
            Box::new(|_| "18446744073709551616".into()),
            502,
        ),
        (
            "nbf as a string",
            "nbf",
            Box::new(|t| format!("\"{t}\"")),
            502,
        ),
        ("nbf negative", "nbf", Box::new(|_| "-1".into()), 502),
        ("nbf 1e309", "nbf", Box::new(|_| "1e309".into()), 502),
        (
            "iat as a string",
            "iat",
            Box::new(|t| format!("\"{t}\"")),
            502,
        ),
    ];
    for (what, member, raw, status) in cases {
        world.oidc.set_id_token_claims(Some(rewrite(member, raw)));
        let visit = login().await;
        assert_eq!(visit.status, status, "{what}: {}", visit.body);
        if status != 200 {
            let code = if status == 401 {
                "login_failed"
            } else {
                "provider_error"
            };
            let body: Value = serde_json::from_str(&visit.body).unwrap();
            assert_eq!(body["error"], code, "{what}");
        }
    }
}
