//! The refresh token as an httpOnly cookie, for browser apps the api serves
//! itself (the admin at `/admin`): a reload keeps the session, yet no script
//! can read the token. The cookie is `SameSite=Strict` (no other site's page
//! makes the browser send it), scoped to `/api/v1/auth` (no other request
//! carries it), `Secure` on https, and rotates with every refresh like the
//! token in a body does. Apps on other origins keep the token in memory.
//!
//! A second cookie, `cms_session=1`, holds no secret: scripts read it to
//! know whether there is a session to resume, instead of asking and being
//! refused. Both are set and cleared together, with the same lifetime.

use std::time::Duration;

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse};

use super::session::TokenPair;

pub const NAME: &str = "cms_refresh";
pub const MARKER: &str = "cms_session";
const PATH: &str = "/api/v1/auth";

/// The refresh token the request's cookie carries, if any.
pub fn read(req: &HttpRequest) -> Option<String> {
    req.cookie(NAME)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// The session's two cookies: the token (httpOnly, auth paths only) and the
/// marker scripts may read.
fn cookies(req: &HttpRequest, token: String, max_age: time::Duration) -> [Cookie<'static>; 2] {
    let secure = req.connection_info().scheme() == "https";
    let marker = if token.is_empty() { "" } else { "1" };
    [
        Cookie::build(NAME, token)
            .path(PATH)
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(max_age)
            .finish(),
        Cookie::build(MARKER, marker)
            .path("/")
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(max_age)
            .finish(),
    ]
}

/// Adds the cookies that end the session in the browser to `response`.
pub fn clear_on(req: &HttpRequest, response: &mut HttpResponse) {
    for cookie in cookies(req, String::new(), time::Duration::ZERO) {
        // Only fails for a cookie that is not a valid header value; ours are.
        let _ = response.add_cookie(&cookie);
    }
}

/// The answer to login, refresh or switch-tenant: the pair as JSON, with the
/// refresh token moved into the cookie when `in_cookie`.
pub fn answer(
    req: &HttpRequest,
    mut pair: TokenPair,
    in_cookie: bool,
    ttl: Duration,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header(("Cache-Control", "no-store"));
    if in_cookie {
        if let Some(token) = pair.refresh_token.take() {
            let max_age = time::Duration::seconds(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
            for cookie in cookies(req, token, max_age) {
                response.cookie(cookie);
            }
        }
    }
    response.json(pair)
}
