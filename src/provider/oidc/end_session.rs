//! OpenID Connect RP-Initiated Logout 1.0 §2: the URL that ends the user's session at the
//! provider.

use url::Url;

use crate::provider::EndSessionRequest;

/// `end_session_endpoint` with the logout request added to its query (any query it has is
/// kept): `client_id`, `post_logout_redirect_uri`, `state`, and `id_token_hint` when the ID
/// token is known, else `logout_hint` with the user id.
pub(super) fn end_session_url(
    endpoint: &Url,
    client_id: &str,
    request: &EndSessionRequest<'_>,
) -> Url {
    let mut url = endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("client_id", client_id)
            .append_pair(
                "post_logout_redirect_uri",
                request.post_logout_redirect_uri().as_str(),
            )
            .append_pair("state", request.state());
        match request.id_token() {
            Some(id_token) => query.append_pair("id_token_hint", id_token.secret()),
            None => query.append_pair("logout_hint", request.user_id()),
        };
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &Url) -> Vec<(String, String)> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn the_request_is_added_to_the_endpoint_query() {
        let endpoint = Url::parse("https://idp.example/logout?ui=compact").unwrap();
        let back = Url::parse("https://app.example/bye?a=1&b=2").unwrap();
        let mut request = EndSessionRequest {
            user_id: "user 1",
            post_logout_redirect_uri: &back,
            state: "st",
            id_token: None,
        };
        let url = end_session_url(&endpoint, "client:1", &request);
        assert_eq!(url.path(), "/logout");
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            params(&url),
            [
                pair("ui", "compact"),
                pair("client_id", "client:1"),
                pair(
                    "post_logout_redirect_uri",
                    "https://app.example/bye?a=1&b=2"
                ),
                pair("state", "st"),
                pair("logout_hint", "user 1"),
            ]
        );

        let id_token = crate::oauth2::IdToken::new("h.c.s");
        request.id_token = Some(&id_token);
        let url = end_session_url(&endpoint, "client:1", &request);
        let names: Vec<String> = params(&url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "ui",
                "client_id",
                "post_logout_redirect_uri",
                "state",
                "id_token_hint"
            ],
            "the ID token replaces the logout hint"
        );
    }
}
