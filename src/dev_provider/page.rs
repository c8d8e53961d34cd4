//! The dev provider's HTML: the sign-in page and the error page. Everything echoed is
//! escaped.

use crate::routes::html::escape;

/// What the sign-in page shows.
#[derive(Debug)]
pub(super) struct SignInPage<'a> {
    /// The pending sign-in the form carries.
    pub(super) ticket: &'a str,
    /// Where the user will be sent back to (the app's origin).
    pub(super) app: &'a str,
    pub(super) name: &'a str,
    pub(super) email: &'a str,
    /// Why the last submission was refused.
    pub(super) error: Option<&'a str>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;\
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px #0002;\
width:22rem}h1{font-size:1.35rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#525a6b;\
font-size:.9rem}label{display:block;font-weight:600;margin:.9rem 0 .3rem}\
input{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #c5cad3;\
border-radius:6px;font-size:1rem}.actions{display:flex;gap:.75rem;margin-top:1.4rem}\
button{flex:1;padding:.6rem;border-radius:6px;font-size:1rem;cursor:pointer;\
border:1px solid #2456d3}.primary{background:#2456d3;color:#fff}.secondary{background:#fff;\
color:#2456d3}.error{color:#b00020;font-weight:600}code{font-size:.85rem}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )
}

/// The page with the name and email inputs and the "Sign in" button.
pub(super) fn sign_in(page: &SignInPage<'_>) -> String {
    let error = page.error.map_or(String::new(), |message| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(message))
    });
    let body = format!(
        r#"<h1>Sign in to the dev provider</h1>
<p>socialauth's development provider: any name and email will do. You will return to <code>{app}</code>.</p>
{error}<form method="post" action="/authorize">
<input type="hidden" name="ticket" value="{ticket}">
<label for="name">Name</label>
<input id="name" name="name" value="{name}" required maxlength="100" autocomplete="name" autofocus>
<label for="email">Email</label>
<input id="email" name="email" type="email" value="{email}" required maxlength="254" autocomplete="email">
<div class="actions">
<button class="primary" type="submit" name="action" value="sign_in">Sign in</button>
<button class="secondary" type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>"#,
        app = escape(page.app),
        ticket = escape(page.ticket),
        name = escape(page.name),
        email = escape(page.email),
    );
    layout("Sign in to the dev provider", &body)
}

/// A page saying what is wrong with the request.
pub(super) fn error(message: &str) -> String {
    let body = format!(
        "<h1>The dev provider cannot sign you in</h1><p class=\"error\">{}</p>\
         <p>Start again from the app.</p>",
        escape(message)
    );
    layout("Dev provider: bad request", &body)
}

/// The page a logout without a `post_logout_redirect_uri` ends on.
pub(super) fn signed_out() -> String {
    layout(
        "Signed out of the dev provider",
        "<h1>Signed out of the dev provider</h1><p>You may close this page.</p>",
    )
}

/// A page saying what is wrong with a logout request.
pub(super) fn logout_error(message: &str) -> String {
    let body = format!(
        "<h1>The dev provider cannot sign you out</h1><p class=\"error\">{}</p>",
        escape(message)
    );
    layout("Dev provider: bad logout request", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_echoed_is_escaped() {
        let evil = r#""><script>alert('x')</script>&"#;
        let html = sign_in(&SignInPage {
            ticket: evil,
            app: evil,
            name: evil,
            email: evil,
            error: Some(evil),
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains(r#"alert('x')"#), "{html}");
        assert!(html.contains("&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
        assert!(!error(evil).contains("<script>"));
        assert!(!logout_error(evil).contains("<script>"));
    }
}
