//! A scripted browser: a `reqwest` client that never follows redirects by itself, plus a
//! hand-written RFC 6265 cookie jar with the browser rules that matter for login flows:
//! host-only cookies (or Domain, when it domain-matches), path matching, Max-Age/Expires,
//! `Secure` (sent to https and to loopback hosts, as Chromium does), the `__Host-` and
//! `__Secure-` prefixes, and SameSite on cross-site redirect chains in [`Browser::follow`]
//! (a site is approximated by scheme + host: `127.0.0.1` and `localhost` are different
//! sites, two ports of one host are the same site).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use cookie::time::OffsetDateTime;
use cookie::{Cookie, SameSite};
use http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, Method};
use url::{Host, Url};

const MAX_HOPS: usize = 20;

/// Everything a navigation went through.
#[derive(Debug)]
pub struct Visit {
    /// Every request made, in order: URL and status (the last one is the final page).
    pub hops: Vec<(String, u16)>,
    pub final_url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Visit {
    /// Asserts the visit ended on the layer's JSON error: `status`, and `code` as `error`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{:?}\n{}", self.hops, self.body);
        let body: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body));
        assert_eq!(body["error"], code, "{}", self.body);
    }
}

pub struct Browser {
    client: reqwest::Client,
    jar: Mutex<Jar>,
}

#[derive(Default)]
struct Jar {
    cookies: Vec<StoredCookie>,
    next_seq: u64,
}

#[derive(Clone, Debug)]
struct StoredCookie {
    name: String,
    value: String,
    /// The request host, or the Domain attribute's domain when not host-only.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    same_site: Option<SameSite>,
    expires: Option<OffsetDateTime>,
    /// Creation order, for the Cookie header's ordering.
    seq: u64,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("reqwest client");
        Browser {
            client,
            jar: Mutex::new(Jar::default()),
        }
    }

    /// GET without following redirects; sends the jar's cookies and stores `Set-Cookie`s.
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.request(Method::GET, url, &[], None).await
    }

    /// GET with extra headers. A `Cookie` header among them replaces the jar's cookies.
    pub async fn get_with_headers(&self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.request(Method::GET, url, headers, None).await
    }

    /// POST an `application/x-www-form-urlencoded` form, without following redirects.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.request(Method::POST, url, &[], Some(encode_form(form)))
            .await
    }

    /// POST a form as a page of another site would (Lax and Strict cookies stay home), without
    /// following redirects.
    pub async fn post_cross_site(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        self.send(Method::POST, &url, &[], Some(encode_form(form)), true)
            .await
    }

    /// Any method, extra headers (a `Cookie` header replaces the jar's cookies) and an
    /// optional form body. Same-site, no redirect following.
    pub async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        form: Option<String>,
    ) -> reqwest::Response {
        let url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        self.send(method, &url, headers, form, false).await
    }

    /// Starts a login at `start` (the app's login URL) and lets the provider approve it:
    /// the callback URL the provider sent the browser back to, not visited yet (the flow
    /// cookie is in the jar).
    pub async fn callback_from(&self, start: &str) -> String {
        let started = self.get(start).await;
        assert_eq!(started.status(), 303, "{start}");
        let at_provider = location(&started);
        let back = self.get(&at_provider).await;
        assert_eq!(back.status(), 302, "{at_provider}");
        location(&back)
    }

    /// Navigates to `url` like a browser's address bar, following 301/302/303/307/308
    /// `Location`s (relative or absolute, across hosts) up to 20 times. Panics on more.
    pub async fn follow(&self, url: &str) -> Visit {
        self.navigate(Method::GET, url, None).await
    }

    /// Submits a form like a browser, then follows redirects (303/302/301 turn into GET,
    /// 307/308 repeat the POST).
    pub async fn post_follow(&self, url: &str, form: &[(&str, &str)]) -> Visit {
        self.navigate(Method::POST, url, Some(encode_form(form)))
            .await
    }

    async fn navigate(&self, mut method: Method, url: &str, mut form: Option<String>) -> Visit {
        let mut url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        let mut chain: Vec<Url> = Vec::new();
        let mut hops = Vec::new();
        loop {
            let cross_site = chain.iter().any(|prev| site(prev) != site(&url));
            let resp = self
                .send(method.clone(), &url, &[], form.clone(), cross_site)
                .await;
            let status = resp.status().as_u16();
            hops.push((url.to_string(), status));
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
            match location.filter(|_| redirect) {
                Some(location) => {
                    if hops.len() > MAX_HOPS {
                        panic!("more than {MAX_HOPS} redirects: {hops:?}");
                    }
                    let next = url
                        .join(&location)
                        .unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
                    if !matches!(status, 307 | 308) {
                        method = Method::GET;
                        form = None;
                    }
                    chain.push(url);
                    url = next;
                }
                None => {
                    let headers = resp.headers().clone();
                    let body = resp.bytes().await.unwrap_or_default();
                    return Visit {
                        hops,
                        final_url: url.to_string(),
                        status,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    };
                }
            }
        }
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(&str, &str)],
        form: Option<String>,
        cross_site: bool,
    ) -> reqwest::Response {
        let mut req = self.client.request(method.clone(), url.clone());
        let own_cookie = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("cookie"));
        if !own_cookie {
            if let Some(cookies) = self.cookie_header(url, &method, cross_site) {
                req = req.header(COOKIE, cookies);
            }
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(form) = form {
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url} failed: {e}"));
        for set_cookie in resp.headers().get_all(SET_COOKIE) {
            if let Ok(set_cookie) = set_cookie.to_str() {
                self.store(url, set_cookie);
            }
        }
        resp
    }

    /// The `Cookie` header a same-site GET of `url` would carry.
    pub fn cookie_header_for(&self, url: &str) -> Option<String> {
        let url = Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        self.cookie_header(&url, &Method::GET, false)
    }

    fn cookie_header(&self, url: &Url, method: &Method, cross_site: bool) -> Option<String> {
        let host = url.host_str()?.to_ascii_lowercase();
        let secure_channel = url.scheme() == "https" || is_loopback(url);
        let mut jar = self.lock();
        jar.purge_expired();
        let mut matching: Vec<&StoredCookie> = jar
            .cookies
            .iter()
            .filter(|c| domain_match(c, &host))
            .filter(|c| path_match(&c.path, url.path()))
            .filter(|c| !c.secure || secure_channel)
            .filter(|c| {
                !cross_site
                    || match c.same_site {
                        Some(SameSite::Strict) => false,
                        Some(SameSite::None) => true,
                        // Lax, and unset which browsers treat as Lax: top-level GETs only.
                        _ => *method == Method::GET,
                    }
            })
            .collect();
        if matching.is_empty() {
            return None;
        }
        // RFC 6265 §5.4: longer paths first, then earlier creation.
        matching.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.seq.cmp(&b.seq)));
        let pairs: Vec<String> = matching
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        Some(pairs.join("; "))
    }

    /// Applies one `Set-Cookie` received from `url`, dropping it where a browser would.
    fn store(&self, url: &Url, set_cookie: &str) {
        let Ok(c) = Cookie::parse(set_cookie.to_owned()) else {
            return;
        };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return;
        };
        let secure = c.secure().unwrap_or(false);
        if secure && url.scheme() != "https" && !is_loopback(url) {
            return;
        }
        let (domain, host_only) = match c
            .domain()
            .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
        {
            None => (host.clone(), true),
            Some(d) if d.is_empty() => (host.clone(), true),
            Some(d) if d == host => (d, false),
            Some(d) if host.ends_with(&format!(".{d}")) && !is_ip(url) => (d, false),
            Some(_) => return, // Domain does not domain-match the host
        };
        let path = match c.path() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => default_path(url.path()),
        };
        let lower = c.name().to_ascii_lowercase();
        if lower.starts_with("__secure-") && !secure {
            return;
        }
        if lower.starts_with("__host-")
            && (!secure || c.domain().is_some() || c.path() != Some("/"))
        {
            return;
        }
        if c.same_site() == Some(SameSite::None) && !secure {
            return; // Chromium rejects SameSite=None without Secure
        }
        let now = OffsetDateTime::now_utc();
        let expires = match c.max_age() {
            // Max-Age wins over Expires; an overflowing one means "never".
            Some(max_age) => now.checked_add(max_age),
            None => c.expires_datetime(),
        };
        let mut jar = self.lock();
        let old = jar.cookies.iter().position(|o| {
            o.name == c.name() && o.domain == domain && o.host_only == host_only && o.path == path
        });
        let seq = match old {
            Some(i) => jar.cookies.remove(i).seq,
            None => jar.next_seq(),
        };
        if expires.is_some_and(|e| e <= now) {
            return; // deletion
        }
        jar.cookies.push(StoredCookie {
            name: c.name().to_owned(),
            value: c.value().to_owned(),
            domain,
            host_only,
            path,
            secure,
            same_site: c.same_site(),
            expires,
            seq,
        });
    }

    /// Value of the first stored (unexpired) cookie named `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let mut jar = self.lock();
        jar.purge_expired();
        jar.cookies
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.value.clone())
    }

    /// All stored (unexpired) cookies as (name, value, path).
    pub fn cookies(&self) -> Vec<(String, String, String)> {
        let mut jar = self.lock();
        jar.purge_expired();
        jar.cookies
            .iter()
            .map(|c| (c.name.clone(), c.value.clone(), c.path.clone()))
            .collect()
    }

    /// Plants or overwrites a host-only session cookie (for tampering tests). An existing
    /// cookie with the same host, name and path keeps its other attributes; a new one is
    /// `Secure` when its name has a `__Host-`/`__Secure-` prefix.
    pub fn set_cookie(&self, host: &str, name: &str, value: &str, path: &str) {
        let host = host.to_ascii_lowercase();
        let mut jar = self.lock();
        if let Some(c) = jar
            .cookies
            .iter_mut()
            .find(|c| c.host_only && c.domain == host && c.name == name && c.path == path)
        {
            c.value = value.to_owned();
            return;
        }
        let lower = name.to_ascii_lowercase();
        let seq = jar.next_seq();
        jar.cookies.push(StoredCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            domain: host,
            host_only: true,
            path: path.to_owned(),
            secure: lower.starts_with("__host-") || lower.starts_with("__secure-"),
            same_site: None,
            expires: None,
            seq,
        });
    }

    /// Forgets every cookie named `name`.
    pub fn remove_cookie(&self, name: &str) {
        self.lock().cookies.retain(|c| c.name != name);
    }

    /// Forgets all cookies.
    pub fn clear(&self) {
        self.lock().cookies.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Jar> {
        self.jar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Jar {
    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn purge_expired(&mut self) {
        let now = OffsetDateTime::now_utc();
        self.cookies
            .retain(|c| c.expires.is_none_or(|expires| expires > now));
    }
}

fn encode_form(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// (scheme, host): a stand-in for the registrable-domain "site".
fn site(url: &Url) -> (String, String) {
    (
        url.scheme().to_owned(),
        url.host_str().unwrap_or("").to_ascii_lowercase(),
    )
}

fn is_ip(url: &Url) -> bool {
    matches!(url.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)))
}

/// 127.0.0.0/8, ::1, localhost and *.localhost: "potentially trustworthy" like https.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

fn domain_match(c: &StoredCookie, host: &str) -> bool {
    if c.host_only {
        host == c.domain
    } else {
        host == c.domain || host.ends_with(&format!(".{}", c.domain))
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_match(cookie_path: &str, request_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// RFC 6265 §5.1.4 default-path: the request path up to, not including, its last `/`.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    let location = response.headers().get(LOCATION);
    let location = location.unwrap_or_else(|| panic!("no Location ({})", response.status()));
    location.to_str().expect("ASCII Location").to_owned()
}

/// The value of query parameter `name` in `url`.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with query parameter `name` set to `value` (or removed, with `None`).
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = Url::parse(url).expect("URL");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    parsed.to_string()
}
