//! The absolute session lifetime: sliding renewal keeps an active user signed in, but never
//! past the sign-in plus `max_session_lifetime` (30 days by default); and a revocation fact
//! outlives every token a session can have, even one renewed by a replica that never heard
//! of the revocation. Time moves with the test clock, read by the layers and the revocation
//! handle alike.

use std::time::Duration;

use crate::common::app::{self, App, Stack, IDENTITY_COOKIE, SECRET};
use crate::common::browser::Browser;
use crate::common::clock::Shifted;
use crate::common::forge;
use socialauth::revocation::{InMemoryStore, Revocations};
use socialauth::{ConfigError, SocialAuthLayer, Twitter};

const DAY: u64 = 24 * 60 * 60;
/// The documented default of `max_session_lifetime`.
const SESSION_DAYS: u64 = 30;
/// The clock skew every token is granted past its end.
const LEEWAY: u64 = 30;
/// Seconds the test itself may take between two readings of the clock (a loaded CI runner).
const SLACK: u64 = 20;

/// A request to `app` with exactly this identity cookie: who it is, and the renewed cookie
/// (its value and `Max-Age`) when the layer sent one.
async fn visit(app: &App, cookie: &str) -> (String, Option<(String, u64)>) {
    let header = format!("{IDENTITY_COOKIE}={cookie}");
    let answer = Browser::new()
        .get_with_headers(&app.url("/maybe"), &[("cookie", &header)])
        .await;
    let renewed = answer
        .headers()
        .get("set-cookie")
        .map(|value| value.to_str().unwrap().to_owned())
        .map(|text| {
            let value = text
                .strip_prefix(&format!("{IDENTITY_COOKIE}="))
                .and_then(|rest| rest.split(';').next())
                .unwrap_or_else(|| panic!("not the identity cookie: {text}"));
            let max_age = text
                .split("; ")
                .find_map(|part| part.strip_prefix("Max-Age="))
                .unwrap_or_else(|| panic!("no Max-Age: {text}"));
            (value.to_owned(), max_age.parse().unwrap())
        });
    (answer.text().await.unwrap(), renewed)
}

/// Visits `app` with `cookie` every four days (past half the default 7-day identity
/// lifetime) until day 28 of the session, keeping each renewed cookie: the last cookie, and
/// the `Max-Age` of each renewal by the day it came.
async fn renew_until_day_28(
    app: &App,
    time: &Shifted,
    mut cookie: String,
) -> (String, Vec<(u64, u64)>) {
    let mut renewals = Vec::new();
    for day in (4..=28).step_by(4) {
        time.advance(4 * DAY);
        let (who, renewed) = visit(app, &cookie).await;
        assert_eq!(who, "10001", "signed out on day {day}");
        if let Some((value, max_age)) = renewed {
            renewals.push((day, max_age));
            cookie = value;
        }
    }
    (cookie, renewals)
}

/// Renewals run every four days with a full 7-day `Max-Age` until the session's end comes
/// closer than that: the renewal on day 24 lasts only the 6 days left, day 28 brings none.
fn assert_renewals_stop_at_the_session_end(renewals: &[(u64, u64)]) {
    let full = 7 * DAY;
    // Max-Age counts from the layer's "now", a moment after the day began.
    let left_on_day_24 = (SESSION_DAYS - 24) * DAY;
    let expected = [(4, full), (8, full), (12, full), (16, full), (20, full)];
    assert_eq!(renewals.len(), 6, "{renewals:?}");
    for ((day, max_age), (want_day, want)) in renewals.iter().zip(expected) {
        assert_eq!(*day, want_day, "{renewals:?}");
        assert!(max_age.abs_diff(want) <= SLACK, "{renewals:?}");
    }
    let (day, max_age) = renewals[5];
    assert_eq!(day, 24, "{renewals:?}");
    assert!(max_age.abs_diff(left_on_day_24) <= SLACK, "{renewals:?}");
}

#[tokio::test]
async fn renewal_keeps_a_session_only_until_its_sign_in_plus_the_absolute_lifetime() {
    let time = Shifted::default();
    let clock = time.clock();
    let app = app::start_with(Stack::Axum, move |b| b.clock(clock).sliding_renewal(true)).await;
    let (_, cookie) = app.signed_in().await;

    let (last, renewals) = renew_until_day_28(&app, &time, cookie).await;
    assert_renewals_stop_at_the_session_end(&renewals);
    // Day 30, a minute before the end: still signed in, and still not renewed.
    time.advance(2 * DAY - 60);
    assert_eq!(visit(&app, &last).await, ("10001".to_owned(), None));
    // Past the end (and its leeway): anonymous, however active the user was.
    time.advance(60 + LEEWAY + 60);
    assert_eq!(visit(&app, &last).await, ("anonymous".to_owned(), None));
    // A new sign-in starts a new session.
    let (_, fresh) = app.signed_in().await;
    assert_eq!(visit(&app, &fresh).await.0, "10001");
}

/// A replica on its own store, on the test clock, with sliding renewal; the store stands for
/// a replica cut off from the others (it never hears their revocations). Its handle asks for
/// facts of a day only: the layer must raise that to the session lifetime.
async fn replica(time: &Shifted) -> (App, Revocations) {
    let revocations = Revocations::builder(InMemoryStore::new())
        .clock(time.clock())
        .fact_lifetime(Duration::from_secs(DAY))
        .resync_every(Duration::from_millis(100))
        .start()
        .await
        .expect("an in-memory store always starts");
    let (handle, clock) = (revocations.clone(), time.clock());
    let app = app::start_with(Stack::Axum, move |b| {
        b.clock(clock).sliding_renewal(true).revocation(handle)
    })
    .await;
    (app, revocations)
}

#[tokio::test]
async fn a_revocation_outlives_every_token_a_cut_off_replica_could_renew() {
    let time = Shifted::default();
    let (a, _) = replica(&time).await;
    let (cut_off, _) = replica(&time).await;
    let (browser, copy) = a.signed_in().await;
    let visit_logout = browser.post_follow(&a.url("/auth/logout"), &[]).await;
    assert_eq!(visit_logout.status, 200, "{}", visit_logout.body);
    assert_eq!(visit(&a, &copy).await.0, "anonymous");

    // The thief keeps the copy alive on a replica that never heard of the logout.
    let (last, renewals) = renew_until_day_28(&cut_off, &time, copy).await;
    assert_renewals_stop_at_the_session_end(&renewals);

    // The last stretch in which the last renewed token is valid (past the session's end,
    // within its leeway): the cut-off replica still accepts it, and `a`, having reloaded its
    // copy at that time, still holds the fact and refuses it.
    time.advance(2 * DAY + LEEWAY - SLACK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(visit(&cut_off, &last).await.0, "10001");
    assert_eq!(visit(&a, &last).await.0, "anonymous");
    // A moment later the token is dead everywhere, fact or not.
    time.advance(60);
    assert_eq!(visit(&cut_off, &last).await.0, "anonymous");
}

#[test]
fn a_session_lifetime_shorter_than_a_login_is_refused_at_build() {
    let builder = || {
        SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(Twitter::new("key", "secret"))
    };
    let long = Duration::from_secs(60 * DAY);
    // Unset, the session lifetime follows a login longer than its 30-day default.
    assert!(builder().identity_lifetime(long).build().is_ok());
    let refused = builder()
        .identity_lifetime(long)
        .max_session_lifetime(Duration::from_secs(SESSION_DAYS * DAY))
        .build()
        .err();
    assert!(
        matches!(
            refused,
            Some(ConfigError::InvalidSetting {
                setting: "identity_lifetime",
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(builder()
        .identity_lifetime(long)
        .max_session_lifetime(long)
        .build()
        .is_ok());
    assert!(builder()
        .max_session_lifetime(Duration::from_secs(401 * DAY))
        .build()
        .is_err());
}

/// Tokens as a replica without the absolute lifetime could have renewed them (an earlier
/// release, mid-upgrade): the layer's key, a recent `iat`, an `exp` ahead, and the sign-in
/// `days_ago` days back (`None`: no session id nor sign-in time at all).
async fn renewed_elsewhere(days_ago: Option<u64>, issued_days_ago: u64) -> String {
    let now = crate::common::clock::now();
    let mut claims = forge::identity_claims("10001");
    claims["iat"] = (now - issued_days_ago * DAY).into();
    claims["exp"] = (now - issued_days_ago * DAY + 7 * DAY).into();
    if let Some(days) = days_ago {
        claims["sid"] = "AAECAwQFBgcICQoLDA0ODw".into();
        claims["auth_ms"] = ((now - days * DAY) * 1000).into();
    }
    forge::forge(&claims.to_string()).await
}

#[tokio::test]
async fn a_token_is_held_to_its_sign_in_time_whoever_renewed_it() {
    let app = app::start_with(Stack::Axum, |b| b.sliding_renewal(true)).await;
    // Signed in 29 days ago and renewed 4 days ago: valid, and past half its life, but not
    // renewed: its `exp` is already past the session's end.
    let within = renewed_elsewhere(Some(29), 4).await;
    assert_eq!(visit(&app, &within).await, ("10001".to_owned(), None));
    // Signed in 31 days ago: over, whatever its `exp` says.
    let over = renewed_elsewhere(Some(31), 1).await;
    assert_eq!(visit(&app, &over).await, ("anonymous".to_owned(), None));
    // Past half its life, a token with a sign-in time is renewed, up to the session's end;
    // one without (made with the key by something else) cannot be held to a session
    // lifetime, so it is not renewed.
    let (_, renewed) = visit(&app, &renewed_elsewhere(Some(4), 4).await).await;
    let (_, max_age) = renewed.expect("renewed");
    assert!(max_age.abs_diff(7 * DAY) <= SLACK, "{max_age}");
    let (_, renewed) = visit(&app, &renewed_elsewhere(Some(25), 4).await).await;
    let (_, max_age) = renewed.expect("renewed");
    assert!(max_age.abs_diff(5 * DAY) <= SLACK, "{max_age}");
    let without_session = renewed_elsewhere(None, 4).await;
    assert_eq!(
        visit(&app, &without_session).await,
        ("10001".to_owned(), None)
    );
}
