//! Access and refresh tokens: only valid EdDSA tokens of our key get in;
//! refresh tokens rotate, reuse revokes the family, logout revokes the session;
//! browser apps may keep the refresh token in an httpOnly cookie instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cms_api::auth::tokens::{Claims, SigningKey};
use cms_tests::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn claims_of(token: &str) -> Claims {
    serde_json::from_value(decode_part(token.split('.').nth(1).unwrap())).unwrap()
}

#[tokio::test]
async fn forged_expired_and_tampered_tokens_get_401() {
    let app = TestApp::spawn().await;
    let session = app.login(ALPHA_EDITOR, None).await;
    app.get("/api/v1/auth/me", &session.access)
        .await
        .expect(200);
    let valid = claims_of(&session.access);
    let now = chrono::Utc::now().timestamp();

    let expired = app
        .config
        .signing_key
        .sign(&Claims {
            exp: now - 120,
            iat: now - 1000,
            ..valid.clone()
        })
        .unwrap();
    let other_key = SigningKey::from_pem(&SigningKey::generate_pem().unwrap())
        .unwrap()
        .sign(&valid)
        .unwrap();

    let parts: Vec<&str> = session.access.split('.').collect();
    let alg_none = format!(
        "{}.{}.",
        encode_part(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    let mut escalated = decode_part(parts[1]);
    escalated["role"] = json!("owner");
    let tampered = format!("{}.{}.{}", parts[0], encode_part(&escalated), parts[2]);

    // The classic confusion attack: HMAC keyed with the published public key.
    let jwks = app
        .send(Method::GET, "/api/v1/auth/jwks.json", None, None, &[])
        .await
        .expect(200);
    let x = jwks.body["keys"][0]["x"].as_str().unwrap().to_owned();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(app.config.signing_key.kid().to_owned());
    let hs256_raw = jsonwebtoken::encode(
        &hs_header,
        &valid,
        &EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(&x).unwrap()),
    )
    .unwrap();
    let hs256_text =
        jsonwebtoken::encode(&hs_header, &valid, &EncodingKey::from_secret(x.as_bytes())).unwrap();

    for (name, token) in [
        ("expired", expired),
        ("signed by another key", other_key),
        ("alg none", alg_none),
        ("tampered payload", tampered),
        ("HS256 with the public key bytes", hs256_raw),
        ("HS256 with the public key text", hs256_text),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let reply = app.get("/api/v1/auth/me", &token).await;
        assert_eq!(reply.status.as_u16(), 401, "{name}: {}", reply.text);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{name}"
        );
    }
    let reply = app
        .send(Method::GET, "/api/v1/sites", None, None, &[])
        .await;
    assert_eq!(reply.status.as_u16(), 401, "no token");
}

#[tokio::test]
async fn access_tokens_carry_the_documented_claims_and_verify_with_the_jwks() {
    let app = TestApp::spawn().await;
    let session = app.login(ALPHA_EDITOR, Some("alpha")).await;
    let header = decode_part(session.access.split('.').next().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], app.config.signing_key.kid());
    let claims = claims_of(&session.access);
    assert_eq!(claims.role.as_deref(), Some("editor"));
    assert_eq!(claims.exp - claims.iat, 900, "15-minute access tokens");

    let jwks = app
        .send(Method::GET, "/api/v1/auth/jwks.json", None, None, &[])
        .await
        .expect(200);
    let key = &jwks.body["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let verified = jsonwebtoken::decode::<Claims>(
        &session.access,
        &decoding,
        &jsonwebtoken::Validation::new(Algorithm::EdDSA),
    )
    .unwrap();
    assert_eq!(verified.claims, claims);
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": token})),
        &[],
    )
    .await
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let first = app.login(ALPHA_EDITOR, None).await;

    let second = refresh(&app, &first.refresh).await.expect(200);
    let second_refresh = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first.refresh);
    app.get(
        "/api/v1/sites",
        second.body["access_token"].as_str().unwrap(),
    )
    .await
    .expect(200);

    // Someone replays the first token: rejected, and the family dies with it.
    refresh(&app, &first.refresh).await.expect_problem(401);
    refresh(&app, &second_refresh).await.expect_problem(401);

    // A separate login is a separate family and still works.
    let other = app.login(ALPHA_EDITOR, None).await;
    refresh(&app, &other.refresh).await.expect(200);
    refresh(&app, "not-a-token").await.expect_problem(401);
}

/// The cookie `name` a reply sets: its value and the whole header.
fn set_cookie(reply: &Reply, name: &str) -> (String, String) {
    let prefix = format!("{name}=");
    let header = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} cookie: {:?}", reply.headers))
        .to_owned();
    let value = header[prefix.len()..].split(';').next().unwrap().to_owned();
    (value, header)
}

/// The `cms_refresh` cookie a reply sets.
fn session_cookie(reply: &Reply) -> (String, String) {
    set_cookie(reply, "cms_refresh")
}

/// A login asking for a cookie session (`tenant` by slug, if any).
async fn cookie_login(app: &TestApp, email: &str, tenant: Option<&str>) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": DEMO_PASSWORD, "tenant": tenant, "session_cookie": true})),
        &[],
    )
    .await
    .expect(200)
}

async fn refresh_by_cookie(app: &TestApp, cookie: &str) -> Reply {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&json!({})),
        &[("Cookie", &format!("cms_refresh={cookie}"))],
    )
    .await
}

#[tokio::test]
async fn a_cookie_session_keeps_the_refresh_token_out_of_scripts_and_rotates_it() {
    let app = TestApp::spawn().await;
    let login = cookie_login(&app, ALPHA_EDITOR, None).await;
    assert!(login.body.get("refresh_token").is_none(), "{}", login.text);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let (first, attributes) = session_cookie(&login);
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/v1/auth",
        "Max-Age=",
    ] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    assert!(
        !attributes.contains("Secure"),
        "plain http here: {attributes}"
    );
    // The marker scripts read to know a session can be resumed: no secret.
    let (_, marker) = set_cookie(&login, "cms_session");
    assert!(
        marker.starts_with("cms_session=1;") && marker.contains("Path=/;"),
        "{marker}"
    );
    assert!(!marker.contains("HttpOnly"), "{marker}");

    // A reload: the cookie alone gets a new pair and a rotated cookie.
    let renewed = refresh_by_cookie(&app, &first).await.expect(200);
    assert!(renewed.body.get("refresh_token").is_none());
    let (second, _) = session_cookie(&renewed);
    assert_ne!(second, first);
    app.get(
        "/api/v1/auth/me",
        renewed.body["access_token"].as_str().unwrap(),
    )
    .await
    .expect(200);

    // The old cookie replayed: refused, cleared, and the family revoked.
    let replayed = refresh_by_cookie(&app, &first).await.expect_problem(401);
    let (cleared, attributes) = session_cookie(&replayed);
    assert_eq!(cleared, "");
    assert!(attributes.contains("Max-Age=0"), "{attributes}");
    refresh_by_cookie(&app, &second).await.expect_problem(401);

    // No token anywhere is a 401, not a 422.
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&json!({})),
        &[],
    )
    .await
    .expect_problem(401);
}

#[tokio::test]
async fn switching_tenant_and_logging_out_carry_the_cookie_session() {
    let app = TestApp::spawn().await;
    let login = cookie_login(&app, PLATFORM_ADMIN, Some("alpha")).await;
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let switched = app
        .send(
            Method::POST,
            "/api/v1/auth/switch-tenant",
            Some(&access),
            Some(&json!({"tenant": "beta", "session_cookie": true})),
            &[],
        )
        .await
        .expect(200);
    let (beta_cookie, _) = session_cookie(&switched);
    let resumed = refresh_by_cookie(&app, &beta_cookie).await.expect(200);
    let sites = app
        .get(
            "/api/v1/sites",
            resumed.body["access_token"].as_str().unwrap(),
        )
        .await
        .expect(200);
    assert_eq!(sites.body["items"][0]["name"], "Beta Product Landing");
    let (current, _) = session_cookie(&resumed);

    // Logout with the cookie only: it is cleared and its family revoked.
    let out = app
        .send(
            Method::POST,
            "/api/v1/auth/logout",
            Some(resumed.body["access_token"].as_str().unwrap()),
            Some(&json!({})),
            &[("Cookie", &format!("cms_refresh={current}"))],
        )
        .await
        .expect(204);
    let (cleared, _) = session_cookie(&out);
    assert_eq!(cleared, "");
    refresh_by_cookie(&app, &current).await.expect_problem(401);
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_refresh_family() {
    let app = TestApp::spawn().await;
    let session = app.login(ALPHA_EDITOR, None).await;
    let bystander = app.login(ALPHA_EDITOR, None).await;

    app.post(
        "/api/v1/auth/logout",
        &session.access,
        json!({"refresh_token": session.refresh}),
    )
    .await
    .expect(204);
    app.get("/api/v1/auth/me", &session.access)
        .await
        .expect_problem(401);
    refresh(&app, &session.refresh).await.expect_problem(401);
    // Other sessions of the same user are not affected.
    app.get("/api/v1/auth/me", &bystander.access)
        .await
        .expect(200);
}

#[tokio::test]
async fn login_fails_alike_for_wrong_password_and_unknown_email() {
    let app = TestApp::spawn().await;
    let wrong = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": ALPHA_EDITOR, "password": "nope-nope-nope"})),
            &[],
        )
        .await
        .expect_problem(401);
    let unknown = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": "ghost@alpha.example", "password": "nope-nope-nope"})),
            &[],
        )
        .await
        .expect_problem(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    // A tenant the user does not belong to.
    app.login_reply(ALPHA_EDITOR, Some("beta"))
        .await
        .expect_problem(403);
    app.login_reply(ALPHA_EDITOR, Some("no-such-tenant"))
        .await
        .expect_problem(403);
}

#[tokio::test]
async fn me_and_switch_tenant_follow_memberships() {
    let app = TestApp::spawn().await;
    let admin = app.login(PLATFORM_ADMIN, Some("alpha")).await;
    let me = app.get("/api/v1/auth/me", &admin.access).await.expect(200);
    assert_eq!(me.body["email"], PLATFORM_ADMIN);
    assert_eq!(me.body["is_platform_admin"], true);
    assert_eq!(me.body["role"], "owner");
    let slugs: Vec<&str> = me.body["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["alpha", "beta"]);

    let switched = app
        .post(
            "/api/v1/auth/switch-tenant",
            &admin.access,
            json!({"tenant": "beta"}),
        )
        .await
        .expect(200);
    let beta_token = switched.body["access_token"].as_str().unwrap();
    let sites = app.get("/api/v1/sites", beta_token).await.expect(200);
    assert_eq!(sites.body["items"][0]["name"], "Beta Product Landing");

    let editor = app.login(ALPHA_EDITOR, None).await;
    app.post(
        "/api/v1/auth/switch-tenant",
        &editor.access,
        json!({"tenant": "beta"}),
    )
    .await
    .expect_problem(403);
}

#[tokio::test]
async fn login_is_rate_limited_per_account_and_per_ip_with_retry_after() {
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_LOGIN_LIMIT_PER_ACCOUNT", "3".to_owned()),
        ("CMS_LOGIN_LIMIT_PER_IP", "6".to_owned()),
    ]))
    .await;
    for _ in 0..3 {
        app.login_reply(ALPHA_EDITOR, None).await.expect(200);
    }
    let limited = app
        .login_reply(ALPHA_EDITOR, None)
        .await
        .expect_problem(429);
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry_after), "{retry_after}");

    // Another account from the same IP still has budget, until the IP's runs out.
    app.login_reply(BETA_EDITOR, None).await.expect(200);
    app.login_reply(BETA_EDITOR, None).await.expect(200);
    app.login_reply(PLATFORM_ADMIN, None)
        .await
        .expect_problem(429);
}

#[tokio::test]
async fn without_redis_the_api_serves_on_in_process_fallbacks() {
    // Nothing listens on port 1: every Redis call fails fast.
    let app = TestApp::spawn_with(HashMap::from([
        ("REDIS_URL", "redis://127.0.0.1:1".to_owned()),
        ("CMS_LOGIN_LIMIT_PER_ACCOUNT", "2".to_owned()),
    ]))
    .await;
    let ready = app
        .send(Method::GET, "/readyz", None, None, &[])
        .await
        .expect(200);
    assert_eq!(ready.body["redis"], "unavailable");
    let session = app.login(ALPHA_EDITOR, None).await;
    app.login_reply(ALPHA_EDITOR, None).await.expect(200);
    app.login_reply(ALPHA_EDITOR, None)
        .await
        .expect_problem(429);
    app.post("/api/v1/auth/logout", &session.access, json!({}))
        .await
        .expect(204);
    app.get("/api/v1/auth/me", &session.access)
        .await
        .expect_problem(401);
}
