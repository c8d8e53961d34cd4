//! The provider tokens cookie in chunks (Entra ID-sized tokens, all kept under a raised
//! budget) attacked chunk by chunk: a chunk tampered with, two swapped, one taken from
//! another login of the same user, one dropped, one added, the whole value beside its
//! chunks, and fifty chunk cookies of junk. Each is `401 provider_tokens_missing`, and
//! nothing else changes: the identity still signs the user in, the provider is not called
//! (the access token has expired, so a set that opened would be refreshed), no cookie is set
//! or cleared, and nothing of what was sent is echoed.

use crate::common::app::{json_of, IDENTITY_COOKIE, TOKENS_COOKIE};
use crate::common::browser::Browser;
use crate::common::clock::Shifted;
use crate::common::kept_tokens::{self, fake, login, ACCESS_TOKEN_LIFETIME, RAISED};
use crate::common::token_shapes::TokenShape;

/// `GET path` with exactly `cookie` as the `Cookie` header: status, body, `Set-Cookie`s.
async fn get(base: &str, path: &str, cookie: &str) -> (u16, String, Vec<String>) {
    let answer = Browser::new()
        .get_with_headers(&format!("{base}{path}"), &[("cookie", cookie)])
        .await;
    let status = answer.status().as_u16();
    let set: Vec<String> = (answer.headers().get_all("set-cookie").iter())
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (status, answer.text().await.unwrap(), set)
}

/// The tokens chunks a browser holds, in order: `(name, value)`.
fn chunks(browser: &Browser) -> Vec<(String, String)> {
    let mut chunks: Vec<(String, String)> = (browser.cookies().into_iter())
        .filter(|(name, _, _)| name.starts_with(&format!("{TOKENS_COOKIE}.")))
        .map(|(name, value, _)| (name, value))
        .collect();
    chunks.sort();
    chunks
}

fn header(identity: &str, chunks: &[(String, String)]) -> String {
    let mut pairs = vec![format!("{IDENTITY_COOKIE}={identity}")];
    pairs.extend(chunks.iter().map(|(name, value)| format!("{name}={value}")));
    pairs.join("; ")
}

#[tokio::test]
async fn chunks_tampered_reordered_mixed_dropped_or_junk_are_no_tokens_and_change_nothing() {
    let fake = fake(Some(TokenShape::entra_large())).await;
    let time = Shifted::default();
    let builder = kept_tokens::builder(&[("idp", &fake)], &time).cookie_budget(RAISED);
    let base = kept_tokens::serve(builder).await;
    let browser = Browser::new();
    assert_eq!(login(&browser, &base, "idp").await.status, 303);
    let other = Browser::new();
    assert_eq!(login(&other, &base, "idp").await.status, 303);
    let identity = browser.cookie(IDENTITY_COOKIE).unwrap();
    let own = chunks(&browser);
    let theirs = chunks(&other);
    assert!(own.len() >= 2 && theirs.len() == own.len(), "{own:?}");
    let (status, body, _) = get(&base, "/tokens", &header(&identity, &own)).await;
    assert_eq!(status, 200, "{body}");

    // Expired: a set that opened would be refreshed, calling the provider.
    time.advance(ACCESS_TOKEN_LIFETIME + 1);
    let with = |at: usize, value: &str| {
        let mut chunks = own.clone();
        chunks[at].1 = value.to_owned();
        chunks
    };
    let mut flipped = own[1].1.clone().into_bytes();
    flipped[100] = if flipped[100] == b'A' { b'B' } else { b'A' };
    let mut swapped = own.clone();
    let (first, second) = (swapped[0].1.clone(), swapped[1].1.clone());
    (swapped[0].1, swapped[1].1) = (second, first);
    let junk: Vec<(String, String)> = (0..50)
        .map(|i| {
            (
                format!("{TOKENS_COOKIE}.{i}"),
                format!("junk{i}").repeat(20),
            )
        })
        .collect();
    let mut added = own.clone();
    added.push((format!("{TOKENS_COOKIE}.{}", own.len()), own[0].1.clone()));
    let mut whole_too = own.clone();
    whole_too.push((TOKENS_COOKIE.to_owned(), own[0].1.clone()));
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "a tampered chunk",
            with(1, &String::from_utf8(flipped).unwrap()),
        ),
        ("two chunks swapped", swapped),
        ("a chunk of another login", with(1, &theirs[1].1)),
        ("a dropped chunk", own[..own.len() - 1].to_vec()),
        ("a dropped first chunk", own[1..].to_vec()),
        ("an added chunk", added),
        ("the whole value beside its chunks", whole_too),
        ("fifty chunks of junk", junk),
    ];
    for (what, chunks) in cases {
        let cookie = header(&identity, &chunks);
        let (status, body, set) = get(&base, "/tokens", &cookie).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(json_of(&body)["error"], "provider_tokens_missing", "{what}");
        assert!(set.is_empty(), "{what}: {set:?}");
        for (_, value) in &chunks {
            assert!(!body.contains(value.as_str()), "{what}: echoed");
        }
        // The identity is untouched.
        let (status, whoami, _) = get(&base, "/whoami", &cookie).await;
        assert_eq!(status, 200, "{what}: {whoami}");
        assert_eq!(json_of(&whoami)["user_id"], fake.config().sub, "{what}");
    }
    assert_eq!(
        fake.refreshes(),
        0,
        "no refresh from a set that does not open"
    );

    // And the browser's own chunks still work.
    let (status, body, set) = get(&base, "/tokens", &header(&identity, &own)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!set.is_empty(), "the refresh rewrote the chunks");
    assert_eq!(fake.refreshes(), 1);
}
