//! Tenant isolation, proven through HTTP and below the app: row-level security
//! confines the serving role to the tenant set in the transaction, and the api
//! refuses to start with a role that would bypass it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use cms_tests::*;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::json;

async fn first_site_id(app: &TestApp, session: &Session) -> String {
    let reply = app.get("/api/v1/sites", &session.access).await.expect(200);
    reply.body["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn another_tenants_site_is_not_found_for_read_update_or_delete() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    let beta_site = first_site_id(&app, &beta).await;
    let path = format!("/api/v1/sites/{beta_site}");

    app.get(&path, &alpha.access).await.expect_problem(404);
    app.patch(&path, &alpha.access, json!({"name": "hijacked"}))
        .await
        .expect_problem(404);
    app.delete(&path, &alpha.access).await.expect_problem(404);
    app.get(&format!("{path}/domains"), &alpha.access)
        .await
        .expect_problem(404);
    app.post(
        &format!("{path}/domains"),
        &alpha.access,
        json!({"host": "evil.example"}),
    )
    .await
    .expect_problem(404);

    // Beta's site is untouched.
    let still = app.get(&path, &beta.access).await.expect(200);
    assert_eq!(still.body["name"], "Beta Product Landing");
    assert_eq!(still.body["version"], 1);
}

#[tokio::test]
async fn lists_show_only_the_callers_tenant() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    app.post(
        "/api/v1/sites",
        &alpha.access,
        json!({"name": "Alpha second"}),
    )
    .await
    .expect(201);

    let alpha_sites = app.get("/api/v1/sites", &alpha.access).await.expect(200);
    let names: Vec<&str> = alpha_sites.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alpha Clinic Landing", "Alpha second"]);

    let beta_sites = app.get("/api/v1/sites", &beta.access).await.expect(200);
    let names: Vec<&str> = beta_sites.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Beta Product Landing"]);

    // Members and the audit log are per tenant too.
    let alpha_members = app.get("/api/v1/users", &alpha.access).await.expect(200);
    let emails: Vec<&str> = alpha_members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&ALPHA_EDITOR) && !emails.contains(&BETA_EDITOR),
        "{emails:?}"
    );
    // Each tenant's audit log holds only its own records.
    let alpha_audit = app
        .get("/api/v1/audit-log", &alpha.access)
        .await
        .expect(200);
    let beta_audit = app.get("/api/v1/audit-log", &beta.access).await.expect(200);
    let actions = |reply: &Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        actions(&alpha_audit).contains(&"site.create".to_owned()),
        "{}",
        alpha_audit.text
    );
    assert!(
        !actions(&beta_audit).contains(&"site.create".to_owned()),
        "{}",
        beta_audit.text
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

fn count_sites(
    conn: &mut PgConnection,
    tenant: Option<&str>,
) -> Result<i64, diesel::result::Error> {
    count_in(conn, "sites", tenant)
}

/// Rows of `table` the app role sees in a transaction scoped to `tenant`.
fn count_in(
    conn: &mut PgConnection,
    table: &str,
    tenant: Option<&str>,
) -> Result<i64, diesel::result::Error> {
    conn.transaction(|conn| {
        if let Some(tenant) = tenant {
            diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                .bind::<Text, _>(tenant)
                .execute(conn)?;
        }
        Ok(
            diesel::sql_query(format!("SELECT count(*) AS count FROM {table}"))
                .get_result::<Count>(conn)?
                .count,
        )
    })
}

#[tokio::test]
async fn the_app_role_sees_only_the_tenant_set_in_its_transaction() {
    let app = TestApp::spawn().await;
    let (alpha, _) = demo_editors(&app).await;
    app.post(
        "/api/v1/sites",
        &alpha.access,
        json!({"name": "Alpha second"}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.count_rows("sites"),
        3,
        "superuser sees every tenant's sites"
    );

    let mut admin = app.admin_connection();
    let alpha_id = diesel::sql_query("SELECT id::text AS id FROM tenants WHERE slug = 'alpha'")
        .get_result::<Id>(&mut admin)
        .unwrap()
        .id;

    let mut conn = PgConnection::establish(&app.db.app_url()).unwrap();
    assert_eq!(count_sites(&mut conn, Some(&alpha_id)).unwrap(), 2);
    assert_eq!(
        count_sites(&mut conn, None).unwrap(),
        0,
        "no tenant set: no rows"
    );
    // The setting is transaction-local: the next transaction starts without it.
    assert_eq!(count_sites(&mut conn, None).unwrap(), 0);

    // The content tables follow the same rule.
    for table in [
        "pages",
        "page_blocks",
        "page_revisions",
        "domains",
        "memberships",
        "audit_log",
    ] {
        let all = app.count_rows(table);
        let alpha_rows = count_in(&mut conn, table, Some(&alpha_id)).unwrap();
        assert!(
            alpha_rows > 0 && alpha_rows < all,
            "{table}: alpha sees {alpha_rows} of {all}"
        );
        assert_eq!(
            count_in(&mut conn, table, None).unwrap(),
            0,
            "{table} without a tenant"
        );
    }

    // Writing a row for another tenant is refused by the policy's WITH CHECK.
    let beta_insert = conn.transaction(|conn| {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)").bind::<Text, _>(&alpha_id).execute(conn)?;
        diesel::sql_query(
            "INSERT INTO sites (id, tenant_id, name) SELECT gen_random_uuid(), id, 'x' FROM tenants WHERE slug = 'beta'",
        )
        .execute(conn)
    });
    let message = beta_insert.unwrap_err().to_string();
    assert!(message.contains("row-level security"), "{message}");
}

#[tokio::test]
async fn startup_refuses_a_role_that_bypasses_row_level_security() {
    let db = TestDatabase::create();
    let mut admin = PgConnection::establish(&admin_url()).unwrap();
    diesel::sql_query(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cms_test_bypass') THEN \
             CREATE ROLE cms_test_bypass LOGIN BYPASSRLS PASSWORD 'cms_test_bypass'; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .execute(&mut admin)
    .unwrap();

    for url in [
        role_url("cms_test_bypass", &db.name),
        cms_api::db::setup::database_url_switch(&admin_url(), &db.name),
    ] {
        let config = test_config(&db, &HashMap::from([("DATABASE_URL", url.clone())]));
        let error = match cms_api::Application::build(config).await {
            Ok(_) => panic!("the api started with {url}"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains("BYPASSRLS") && error.contains("refusing to serve"),
            "{error}"
        );
    }

    // The real app role passes the same check.
    let config = test_config(&db, &HashMap::new());
    assert!(cms_api::Application::build(config).await.is_ok());
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A new tenant-owned table without a forced policy would leak silently:
/// every table with a `tenant_id` column must force row-level security.
#[tokio::test]
async fn every_tenant_owned_table_forces_row_level_security() {
    let app = TestApp::spawn().await;
    let mut admin = app.admin_connection();
    let unprotected = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' \
         WHERE c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') \
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity \
                    AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))",
    )
    .load::<TableName>(&mut admin)
    .unwrap();
    let names: Vec<String> = unprotected.into_iter().map(|t| t.name).collect();
    assert!(names.is_empty(), "tables without forced RLS: {names:?}");
    let protected = diesel::sql_query(
        "SELECT relname::text AS name FROM pg_class WHERE relname = 'leads' AND relforcerowsecurity",
    )
    .load::<TableName>(&mut admin)
    .unwrap();
    assert_eq!(protected.len(), 1);
}

/// SECURITY DEFINER functions search `pg_temp` last: a `cms_app` session
/// that makes a temporary `domains` table, grants it to everyone and fills
/// it with its own host does not redirect `routing_host`; and no such
/// function is left without the safe path, nor may `cms_app` create in
/// `public`.
#[tokio::test]
async fn a_temporary_table_named_like_a_routed_table_does_not_redirect_routing() {
    let app = TestApp::spawn().await;
    let mut admin = app.admin_connection();
    let unsafe_functions = diesel::sql_query(
        "SELECT p.proname::text AS name FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public' \
         WHERE p.prosecdef AND NOT coalesce('search_path=public, pg_temp' = ANY (p.proconfig), false)",
    )
    .load::<TableName>(&mut admin)
    .unwrap();
    let names: Vec<String> = unsafe_functions.into_iter().map(|t| t.name).collect();
    assert!(
        names.is_empty(),
        "SECURITY DEFINER without pg_temp last: {names:?}"
    );

    let mut app_conn = PgConnection::establish(&app.db.app_url()).unwrap();
    diesel::sql_query(
        "CREATE TEMP TABLE domains (id uuid, tenant_id uuid, site_id uuid, host text)",
    )
    .execute(&mut app_conn)
    .unwrap();
    diesel::sql_query("GRANT SELECT ON pg_temp.domains TO PUBLIC")
        .execute(&mut app_conn)
        .unwrap();
    diesel::sql_query(
        "INSERT INTO pg_temp.domains VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'evil.example')",
    )
    .execute(&mut app_conn)
    .unwrap();
    let redirected =
        diesel::sql_query("SELECT site_id::text AS name FROM routing_host('evil.example')")
            .load::<TableName>(&mut app_conn)
            .unwrap();
    assert!(
        redirected.is_empty(),
        "routing_host read the temporary table"
    );
    let real =
        diesel::sql_query("SELECT site_id::text AS name FROM routing_host('alpha.localhost')")
            .load::<TableName>(&mut app_conn)
            .unwrap();
    assert_eq!(real.len(), 1, "the real domains table is still read");
    let created = diesel::sql_query("CREATE TABLE public.planted (id int)").execute(&mut app_conn);
    assert!(created.is_err(), "cms_app may create tables in public");
}

/// Every column of one row, as the superuser sees it (RLS does not apply).
fn row_text(app: &TestApp, table: &str, id: &str) -> String {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        row: String,
    }
    let mut conn = app.admin_connection();
    diesel::sql_query(format!(
        "SELECT row_to_json(t)::text AS row FROM {table} t WHERE id = '{id}'"
    ))
    .get_result::<Row>(&mut conn)
    .unwrap()
    .row
}

#[tokio::test]
async fn writes_to_another_tenants_content_and_clinic_records_answer_404_and_change_nothing() {
    let app = TestApp::spawn().await;
    // The platform admin owns both demo tenants: acting in alpha with every
    // permission there, it still cannot reach beta's rows by id.
    let attacker = app.login("admin@example.com", Some("alpha")).await;
    let beta = app.login("admin@example.com", Some("beta")).await;
    let beta_site = first_site_id(&app, &beta).await;
    let page = app
        .draft_page(&beta.access, &beta_site, "/beta-only", "Beta only")
        .await;
    let page_id = page["id"].as_str().unwrap().to_owned();
    let blocks = app
        .get(&format!("/api/v1/pages/{page_id}/blocks"), &beta.access)
        .await
        .expect(200);
    let block_id = blocks.body["items"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/modules",
        &beta.access,
        json!({"key": "beta_promo", "name": "Promo", "category": "custom",
               "props_schema": {"type": "object"}, "template": "<div>beta</div>"}),
    )
    .await
    .expect(201);
    let first = |reply: Reply| reply.body["items"][0]["id"].as_str().unwrap().to_owned();
    let doctor = first(app.get("/api/v1/doctors", &beta.access).await.expect(200));
    let service = first(app.get("/api/v1/services", &beta.access).await.expect(200));
    let appointment = first(
        app.get("/api/v1/appointments", &beta.access)
            .await
            .expect(200),
    );

    let rows = [
        ("pages", page_id.clone()),
        ("page_blocks", block_id.clone()),
        ("doctors", doctor.clone()),
        ("services", service.clone()),
        ("appointments", appointment.clone()),
    ];
    let before: Vec<String> = rows.iter().map(|(t, id)| row_text(&app, t, id)).collect();
    let module_before = app.count_rows("custom_modules");
    let audit_before = app.count_rows("audit_log");

    let token = &attacker.access;
    let attempts = [
        (
            reqwest::Method::PATCH,
            format!("/api/v1/pages/{page_id}"),
            Some(json!({"title": "hijacked"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/pages/{page_id}/blocks/{block_id}"),
            Some(json!({"props": {"title": "hijacked"}})),
        ),
        (
            reqwest::Method::PATCH,
            "/api/v1/modules/beta_promo".to_owned(),
            Some(json!({"name": "hijacked"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/doctors/{doctor}"),
            Some(json!({"bio": "hijacked"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/services/{service}"),
            Some(json!({"description": "hijacked"})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/appointments/{appointment}/status"),
            Some(json!({"status": "cancelled"})),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/pages/{page_id}/blocks/{block_id}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/pages/{page_id}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/modules/beta_promo".to_owned(),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/doctors/{doctor}"),
            None,
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/services/{service}"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let reply = app
            .send(method.clone(), &path, Some(token), body.as_ref(), &[])
            .await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
    }

    let after: Vec<String> = rows.iter().map(|(t, id)| row_text(&app, t, id)).collect();
    assert_eq!(before, after, "a row of beta changed");
    assert_eq!(app.count_rows("custom_modules"), module_before);
    assert_eq!(
        app.count_rows("audit_log"),
        audit_before,
        "nothing was audited"
    );
    // And the owner still reaches them.
    app.get(&format!("/api/v1/pages/{page_id}"), &beta.access)
        .await
        .expect(200);
    app.get("/api/v1/modules/beta_promo", &beta.access)
        .await
        .expect(200);
}
