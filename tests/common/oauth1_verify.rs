//! An independent, hand-written RFC 5849 (OAuth 1.0a) HMAC-SHA1 verifier, used by the fake
//! Twitter to check the library's signatures. It deliberately shares no code with the
//! `oauth1-request` crate the library uses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The protocol parameters of a verified request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthParams {
    pub consumer_key: String,
    /// `oauth_token`, if present and non-empty.
    pub token: Option<String>,
    pub signature_method: String,
    pub timestamp: u64,
    pub nonce: String,
    pub version: Option<String>,
    pub callback: Option<String>,
    pub verifier: Option<String>,
    /// Every signed parameter (header, query, form body), decoded, in arrival order.
    pub params: Vec<(String, String)>,
}

/// RFC 5849 §3.6: every byte except ALPHA / DIGIT / "-" / "." / "_" / "~" as `%XX`
/// (uppercase hex) of its UTF-8 encoding.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Strict percent-decoding (`+` stays `+`); `None` on a bad escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// RFC 5849 §3.4.1.2: `scheme://host[:port]/path` with lowercase scheme and host, the
/// default port omitted, and no query or fragment. `None` if `url` is not absolute.
pub fn base_string_uri(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let scheme = parsed.scheme().to_ascii_lowercase();
    let host = parsed.host_str()?.to_ascii_lowercase();
    let port = match parsed.port() {
        Some(p) if !((scheme == "http" && p == 80) || (scheme == "https" && p == 443)) => {
            format!(":{p}")
        }
        _ => String::new(),
    };
    Some(format!("{scheme}://{host}{port}{}", parsed.path()))
}

/// RFC 5849 §3.4.1: `METHOD&enc(base_uri)&enc(normalized parameters)`, where the
/// parameters are encoded, sorted by name then value, and joined with `=` and `&`.
/// `base_uri` is used as given (see [`base_string_uri`]).
pub fn base_string(method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(base_uri),
        percent_encode(&normalized)
    )
}

fn hmac_sha1(base_string: &str, consumer_secret: &str, token_secret: &str) -> Vec<u8> {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(base_string.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// RFC 5849 §3.4.2: base64 of HMAC-SHA1 keyed with `enc(consumer_secret)&enc(token_secret)`.
pub fn sign(base_string: &str, consumer_secret: &str, token_secret: &str) -> String {
    STANDARD.encode(hmac_sha1(base_string, consumer_secret, token_secret))
}

/// Parses `OAuth realm="x", oauth_consumer_key="...", ...` (RFC 5849 §3.5.1) into decoded
/// pairs, `realm` included. `None` if the scheme is not OAuth, a value is not quoted, an
/// escape is invalid, or a parameter appears twice.
pub fn parse_authorization(header: &str) -> Option<Vec<(String, String)>> {
    let header = header.trim_start();
    let (scheme, rest) = header.split_at(header.find(char::is_whitespace)?);
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return None;
    }
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains([',', '"', ' ']) {
            return None;
        }
        let after = rest[eq + 1..].strip_prefix('"')?;
        let close = after.find('"')?;
        let value = percent_decode(&after[..close])?;
        let name = percent_decode(name)?;
        if out.iter().any(|(k, _)| *k == name) {
            return None;
        }
        out.push((name, value));
        rest = after[close + 1..].trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
            if rest.is_empty() {
                return None; // trailing comma
            }
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(out)
}

/// Verifies an HMAC-SHA1 signed request.
///
/// * `uri`: the request URL as the client must have signed it, `scheme://host[:port]/path`
///   (normalised with [`base_string_uri`]; any query in it is ignored).
/// * `query`: the raw query string, `form_body`: the body if it is
///   `application/x-www-form-urlencoded` (both are signed parameters).
/// * `token_secret`: called with `oauth_token` when present and non-empty; `None` means
///   unknown token. Without a token the token secret is empty.
///
/// Checks: header present and well-formed, only `oauth_*` and `realm` in it, no protocol
/// parameter given twice, `oauth_signature_method=HMAC-SHA1`, `oauth_version` absent or
/// `1.0`, consumer key/nonce/numeric timestamp present, and the signature (constant time).
pub fn verify(
    method: &str,
    uri: &str,
    query: Option<&str>,
    form_body: Option<&[u8]>,
    auth_header: Option<&str>,
    consumer_secret: &str,
    token_secret: impl FnOnce(&str) -> Option<String>,
) -> Result<OAuthParams, String> {
    let header = auth_header.ok_or("no Authorization header")?;
    let header_params =
        parse_authorization(header).ok_or_else(|| format!("malformed Authorization: {header}"))?;
    let mut signature = None;
    let mut params = Vec::new();
    for (name, value) in header_params {
        match name.as_str() {
            "realm" => {}
            "oauth_signature" => signature = Some(value),
            n if n.starts_with("oauth_") => params.push((name, value)),
            _ => return Err(format!("non-protocol parameter {name:?} in Authorization")),
        }
    }
    let signature = signature.ok_or("no oauth_signature")?;
    for source in [query.map(str::as_bytes), form_body].into_iter().flatten() {
        for (name, value) in form_urlencoded::parse(source).into_owned() {
            if name == "oauth_signature" {
                return Err("oauth_signature outside the Authorization header".into());
            }
            params.push((name, value));
        }
    }

    let single = |name: &str| -> Result<Option<String>, String> {
        let mut values = params.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.clone());
        match values.next() {
            Some(_) => Err(format!("{name} given more than once")),
            None => Ok(first),
        }
    };
    let consumer_key = single("oauth_consumer_key")?.ok_or("no oauth_consumer_key")?;
    let signature_method = single("oauth_signature_method")?.ok_or("no oauth_signature_method")?;
    if signature_method != "HMAC-SHA1" {
        return Err(format!(
            "unsupported oauth_signature_method {signature_method}"
        ));
    }
    let version = single("oauth_version")?;
    if version.as_deref().is_some_and(|v| v != "1.0") {
        return Err(format!("unsupported oauth_version {version:?}"));
    }
    let timestamp = single("oauth_timestamp")?.ok_or("no oauth_timestamp")?;
    let timestamp: u64 = timestamp
        .parse()
        .map_err(|_| format!("oauth_timestamp not a number: {timestamp}"))?;
    let nonce = single("oauth_nonce")?.ok_or("no oauth_nonce")?;
    if nonce.is_empty() {
        return Err("empty oauth_nonce".into());
    }
    let token = single("oauth_token")?.filter(|t| !t.is_empty());
    let callback = single("oauth_callback")?;
    let verifier = single("oauth_verifier")?;

    let token_secret = match &token {
        Some(t) => token_secret(t).ok_or_else(|| format!("unknown oauth_token {t}"))?,
        None => String::new(),
    };
    let base_uri = base_string_uri(uri).ok_or_else(|| format!("not an absolute URI: {uri}"))?;
    let base = base_string(method, &base_uri, &params);
    let expected = hmac_sha1(&base, consumer_secret, &token_secret);
    let given = STANDARD
        .decode(&signature)
        .map_err(|_| format!("oauth_signature is not base64: {signature}"))?;
    if !bool::from(expected.ct_eq(&given)) {
        return Err(format!("invalid signature; expected base string: {base}"));
    }
    Ok(OAuthParams {
        consumer_key,
        token,
        signature_method,
        timestamp,
        nonce,
        version,
        callback,
        verifier,
        params,
    })
}
