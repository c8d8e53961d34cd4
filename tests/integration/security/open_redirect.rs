//! Item 12: open redirects. Every `return_to` of `return_to_corpus.txt` (encodings,
//! slashes, backslashes, tabs, CR/LF, user info, IDN dots, schemes, overlong UTF-8, double
//! encoding...) goes through a real login; the `Location` the login ends with, resolved as
//! a browser resolves it (the `url` crate implements the WHATWG URL parser browsers use),
//! never leaves the app's origin, and no payload adds a header or a cookie.

use http::header::{LOCATION, SET_COOKIE};
use percent_encoding::{percent_encode, NON_ALPHANUMERIC};

use crate::common::app;
use crate::common::browser::Browser;
use crate::security::support::Reply;

/// The corpus, unescaped: `\t \r \n \0 \\ \xHH`.
fn corpus() -> Vec<Vec<u8>> {
    let text = include_str!("return_to_corpus.txt");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(unescape)
        .collect()
}

fn unescape(line: &str) -> Vec<u8> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{line}")));
                    i += 4;
                    continue;
                }
                _ => {
                    out.push(b'\\');
                    i += 1;
                    continue;
                }
            }
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Logs in with `return_to` (sent percent-encoded byte by byte, so the layer reads exactly
/// these bytes) and returns the answers of the start and of the callback.
async fn login_with(app: &app::App, return_to: &[u8]) -> (Reply, Reply, Browser) {
    let browser = Browser::new();
    let encoded = percent_encode(return_to, NON_ALPHANUMERIC).to_string();
    let start = Reply::read(
        browser
            .get(&app.url(&format!("/auth/facebook?login=start&return_to={encoded}")))
            .await,
    )
    .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let dialog = start.location().unwrap().to_owned();
    let back = browser.get(&dialog).await;
    let callback = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let done = Reply::read(browser.get(&callback).await).await;
    (start, done, browser)
}

#[tokio::test]
async fn item_12_no_return_to_of_the_corpus_leaves_the_origin_or_injects_a_header() {
    let payloads = corpus();
    assert!(payloads.len() >= 200, "only {} payloads", payloads.len());
    let app = app::start().await;
    let origin = url::Url::parse(&app.base_url).unwrap();

    // Controls: same-origin paths come back as they are, so the corpus is really tested.
    for path in ["/maybe?tab=2", "/a/b?x=%2F#frag", "/@user"] {
        let (_, done, _) = login_with(&app, path.as_bytes()).await;
        assert_eq!(done.location(), Some(path), "{path} must be kept");
    }

    let mut kept = Vec::new();
    for payload in payloads {
        let shown = String::from_utf8_lossy(&payload).into_owned();
        let (start, done, browser) = login_with(&app, &payload).await;
        assert_eq!(done.status, 303, "{shown:?}: {}", done.body);
        let location = done.headers[LOCATION].as_bytes();
        assert!(
            location.iter().all(|b| (0x21..=0x7e).contains(b)),
            "{shown:?}: Location {location:?}"
        );
        let location = std::str::from_utf8(location).unwrap();
        let landed = origin
            .join(location)
            .unwrap_or_else(|e| panic!("{shown:?}: Location {location:?}: {e}"));
        assert_eq!(
            landed.origin(),
            origin.origin(),
            "{shown:?} leaves the origin: Location {location:?}"
        );
        if location != "/" {
            kept.push(shown.clone());
        }
        // No header but the layer's own, and only the layer's cookies.
        for reply in [&start, &done] {
            for name in reply.headers.keys() {
                assert!(
                    matches!(
                        name.as_str(),
                        "location" | "cache-control" | "set-cookie" | "content-length" | "date"
                    ),
                    "{shown:?}: header {name}"
                );
            }
            for cookie in reply.headers.get_all(SET_COOKIE) {
                let cookie = cookie.to_str().unwrap();
                assert!(
                    cookie.starts_with("__Host-socialauth=")
                        || cookie.starts_with("__Host-socialauth-flow-facebook-"),
                    "{shown:?}: Set-Cookie {cookie}"
                );
            }
        }
        assert!(browser.cookie("pwned").is_none(), "{shown:?} set a cookie");
        // And the browser, following it, stays on the app.
        let visit = browser.follow(landed.as_ref()).await;
        assert!(
            visit.final_url.starts_with(&app.base_url),
            "{shown:?}: {}",
            visit.final_url
        );
    }
    eprintln!("return_to kept (same-origin paths): {kept:?}");
}
