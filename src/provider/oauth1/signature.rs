//! OAuth 1.0a (RFC 5849) request signing, done by the `oauth1-request` crate.

use oauth1_request::serializer::Serializer;
use oauth1_request::signature_method::HmacSha1;
use oauth1_request::{Builder, Credentials, Request};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::{Position, Url};

/// RFC 5849 §3.6: everything but ALPHA, DIGIT, `-`, `.`, `_` and `~` is encoded.
const RFC5849: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The credentials one request is signed with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Signer<'a> {
    pub(super) consumer_key: &'a str,
    pub(super) consumer_secret: &'a str,
    /// The token and its secret: the request token, or the access token.
    pub(super) token: Option<(&'a str, &'a str)>,
}

/// The protocol parameters that are not credentials (RFC 5849 §3.1).
#[derive(Debug, Clone, Copy)]
pub(super) struct Protocol<'a> {
    pub(super) callback: Option<&'a str>,
    pub(super) verifier: Option<&'a str>,
    /// Unique per request (a fresh random token).
    pub(super) nonce: &'a str,
    /// Unix seconds, from the layer's clock.
    pub(super) timestamp: u64,
    /// Sends `oauth_version=1.0`, which RFC 5849 makes optional and Twitter's examples send.
    pub(super) version: bool,
}

/// A request's own parameters, percent-encoded and sorted as RFC 5849 §3.4.1.3.2 requires
/// (by encoded name, then encoded value), for `oauth1-request` to sign. The crate's own
/// `ParameterList` sorts and encodes names differently, which breaks names like `c@`.
struct EncodedParameters(Vec<(String, String)>);

impl EncodedParameters {
    fn new(pairs: impl Iterator<Item = (String, String)>) -> Self {
        let encode = |s: &str| utf8_percent_encode(s, RFC5849).to_string();
        let mut encoded: Vec<(String, String)> = pairs
            .filter(|(name, _)| !name.starts_with("oauth_"))
            .map(|(name, value)| (encode(&name), encode(&value)))
            .collect();
        encoded.sort();
        // `oauth1-request` writes a name into the signature base string as it is given, but
        // encodes values there itself; so names go in encoded twice, values once.
        let for_base_string = encoded
            .into_iter()
            .map(|(name, value)| (encode(&name), value))
            .collect();
        Self(for_base_string)
    }
}

/// The protocol parameters in sorted order, as the serializer must see them.
const PROTOCOL_PARAMETERS: [&str; 8] = [
    "oauth_callback",
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_token",
    "oauth_verifier",
    "oauth_version",
];

fn serialize_protocol_parameter<S: Serializer>(serializer: &mut S, index: usize) {
    match index {
        0 => serializer.serialize_oauth_callback(),
        1 => serializer.serialize_oauth_consumer_key(),
        2 => serializer.serialize_oauth_nonce(),
        3 => serializer.serialize_oauth_signature_method(),
        4 => serializer.serialize_oauth_timestamp(),
        5 => serializer.serialize_oauth_token(),
        6 => serializer.serialize_oauth_verifier(),
        _ => serializer.serialize_oauth_version(),
    }
}

impl Request for EncodedParameters {
    fn serialize<S: Serializer>(&self, mut serializer: S) -> S::Output {
        let mut next = 0;
        for (name, value) in &self.0 {
            while next < PROTOCOL_PARAMETERS.len() && PROTOCOL_PARAMETERS[next] < name.as_str() {
                serialize_protocol_parameter(&mut serializer, next);
                next += 1;
            }
            serializer.serialize_parameter_encoded(name, value);
        }
        while next < PROTOCOL_PARAMETERS.len() {
            serialize_protocol_parameter(&mut serializer, next);
            next += 1;
        }
        serializer.end()
    }
}

/// The `Authorization: OAuth ...` header value for `method url`, where `url` may carry a
/// query (its parameters are signed, as RFC 5849 §3.4.1.3 requires) and `form` is the
/// `application/x-www-form-urlencoded` body's parameters, if any.
pub(super) fn authorization(
    method: &str,
    url: &Url,
    form: &[(&str, &str)],
    signer: Signer<'_>,
    protocol: Protocol<'_>,
) -> String {
    let base_uri = &url[..Position::AfterPath];
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()));
    let body = form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let request = EncodedParameters::new(query.chain(body));

    let client = Credentials::new(signer.consumer_key, signer.consumer_secret);
    let mut builder: Builder<'_, HmacSha1, &str, &str> = Builder::new(client, HmacSha1::new());
    if let Some((token, secret)) = signer.token {
        builder.token(Credentials::new(token, secret));
    }
    builder
        .callback(protocol.callback)
        .verifier(protocol.verifier)
        .version(protocol.version)
        .nonce(protocol.nonce)
        .timestamp(std::num::NonZeroU64::new(protocol.timestamp));
    builder.authorize(method, base_uri, &request)
}

/// Reads `oauth_signature` back out of an `Authorization` header (tests).
#[cfg(test)]
fn signature_of(header: &str) -> String {
    let start = header.find("oauth_signature=\"").unwrap() + "oauth_signature=\"".len();
    let end = start + header[start..].find('"').unwrap();
    percent_decode(&header[start..end])
}

#[cfg(test)]
fn percent_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of a `POST` to `url` with `params`, signed with `signer` and `protocol`.
    fn signature(url: &str, params: &[(&str, &str)], signer: Signer, protocol: Protocol) -> String {
        let url = Url::parse(url).unwrap();
        signature_of(&authorization("POST", &url, params, signer, protocol))
    }

    /// Protocol parameters with only a nonce and a time: no callback, no verifier, no version.
    fn at(nonce: &str, timestamp: u64) -> Protocol<'_> {
        Protocol {
            callback: None,
            verifier: None,
            nonce,
            timestamp,
            version: false,
        }
    }

    /// RFC 5849 §3.4.1.1's request, with the signature corrected by erratum 2550.
    #[test]
    fn rfc_5849_section_3_4_1_1_signs_as_erratum_2550_says() {
        let signer = Signer {
            consumer_key: "9djdj82h48djs9d2",
            consumer_secret: "j49sk3j29djd",
            token: Some(("kkk9d7dh3k39sjv7", "dh893hdasih9")),
        };
        let url = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
        let params = [("c2", ""), ("a3", "2 q")];
        let signed = signature(url, &params, signer, at("7d8f3e4a", 137131201));
        assert_eq!(signed, "r6/TJjbCOr97/+UU0NsvSne7s5g=");
    }

    /// RFC 5849 §1.2: the temporary-credentials request to `/initiate`.
    #[test]
    fn rfc_5849_section_1_2_initiate() {
        let signer = Signer {
            consumer_key: "dpf43f3p2l4k3l03",
            consumer_secret: "kd94hf93k423kf44",
            token: None,
        };
        let protocol = Protocol {
            callback: Some("http://printer.example.com/ready"),
            ..at("wIjqoS", 137131200)
        };
        let signed = signature("https://photos.example.net/initiate", &[], signer, protocol);
        assert_eq!(signed, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");
    }

    /// Twitter's "Creating a signature" example.
    #[test]
    fn twitter_creating_a_signature_example() {
        let signer = Signer {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: Some((
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
                "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
            )),
        };
        let protocol = Protocol {
            version: true,
            ..at("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", 1318622958)
        };
        let url = "https://api.twitter.com/1.1/statuses/update.json?include_entities=true";
        let params = [(
            "status",
            "Hello Ladies + Gentlemen, a signed OAuth request!",
        )];
        let signed = signature(url, &params, signer, protocol);
        assert_eq!(signed, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    }
}
