//! The identity on every request: the `Cookie` header(s) and `Authorization` header a
//! client sends, through the layer's whole public path, and identity claims signed with the
//! layer's key (so the claims' decoding is reached, past the signature).
//!
//! Unsigned input never gives an identity. Signed claims give one only when they are a JSON
//! object that `serde_json`, reading them into owned claims of the same types, reads the same:
//! `iss` `socialauth`, `aud` `socialauth:identity`, the same `sub`, provider, name and email.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use socialauth::dev_provider::DevProvider;
use socialauth::fuzzing::{self, SECRET};
use socialauth::SocialAuthLayer;
use tower::{Layer, ServiceExt};

/// The identity claims with the types the layer gives them.
#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    provider: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    iat: u64,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
}

fn sign(signed: &str) -> String {
    let key = cookie::Key::derive_from(SECRET);
    let mut mac = Hmac::<Sha256>::new_from_slice(key.signing()).unwrap();
    mac.update(signed.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The base64url JOSE header of the identity tokens the layer issues, read from a real
/// login against the embedded dev provider, so the target follows the layer's format
/// (whatever `kid` it writes). Checks that tokens are still HMAC-SHA256 with the key the
/// target signs with.
fn genuine_header() -> &'static str {
    static HEADER: OnceLock<String> = OnceLock::new();
    HEADER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let token = runtime.block_on(async {
            let dev = DevProvider::start("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap()
                .sign_in_as("Fuzz", "fuzz@example.com");
            let layer = SocialAuthLayer::builder()
                .secret(SECRET)
                .provider(dev.oidc())
                .public_url("http://127.0.0.1:1")
                .build()
                .unwrap();
            let service = layer.layer(tower::service_fn(|_: http::Request<String>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
            }));
            let get = |uri: &str, cookie: Option<&str>| {
                let mut request = http::Request::get(uri);
                if let Some(cookie) = cookie {
                    request = request.header("cookie", cookie);
                }
                request.body(String::new()).unwrap()
            };
            let header = |response: &http::Response<_>, name: &str| {
                response.headers()[name].to_str().unwrap().to_owned()
            };
            let started = service
                .clone()
                .oneshot(get("/auth/dev?login=start", None))
                .await
                .unwrap();
            let flow = header(&started, "set-cookie");
            let flow = flow.split(';').next().unwrap().to_owned();
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let back = client
                .get(header(&started, "location"))
                .send()
                .await
                .unwrap();
            let callback = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
            let target = format!("{}?{}", callback.path(), callback.query().unwrap());
            let done = service
                .clone()
                .oneshot(get(&target, Some(&flow)))
                .await
                .unwrap();
            let identity = header(&done, "set-cookie");
            let value = identity
                .split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1;
            value.to_owned()
        });
        let (signed, signature) = token.rsplit_once('.').unwrap();
        assert_eq!(
            sign(signed),
            signature,
            "identity tokens are no longer HMAC-SHA256 under cookie::Key::derive_from(secret)\
             .signing(): update fuzz_targets/identity.rs"
        );
        token.split('.').next().unwrap().to_owned()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let identity = match mode % 4 {
        0 => {
            let cookie = [b"__Host-socialauth=".as_slice(), rest].concat();
            fuzzing::identify(&[(b"cookie", &cookie)])
        }
        1 => {
            let headers: Vec<(&[u8], &[u8])> = rest
                .split(|b| *b == b'\n')
                .map(|value| (b"cookie".as_slice(), value))
                .collect();
            fuzzing::identify(&headers)
        }
        2 => fuzzing::identify(&[(b"authorization", rest)]),
        _ => {
            let signed = format!("{}.{}", genuine_header(), URL_SAFE_NO_PAD.encode(rest));
            let token = format!("{signed}.{}", sign(&signed));
            let cookie = format!("__Host-socialauth={token}");
            let identity = fuzzing::identify(&[(b"cookie", cookie.as_bytes())]);
            if let Some(identity) = &identity {
                // What `serde_json` reads into owned claims of the same types (unknown
                // members are ignored, as the layer ignores them).
                let claims: Claims = serde_json::from_slice(rest).expect("accepted claims parse");
                assert_eq!(rest.first(), Some(&b'{'));
                assert_eq!(claims.iss, "socialauth");
                assert_eq!(claims.aud, "socialauth:identity");
                assert_eq!(claims.sub, identity.user_id());
                assert_eq!(claims.provider, identity.provider());
                assert_eq!(claims.name.as_deref(), identity.name());
                assert_eq!(claims.email.as_deref(), identity.email());
                let _ = (claims.iat, claims.exp, claims.nbf);
            }
            return;
        }
    };
    assert!(
        identity.is_none(),
        "unsigned input gave an identity: {identity:?}"
    );
});
