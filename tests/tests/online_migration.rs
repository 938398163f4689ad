//! Migrations run while the previous release serves: a new expand migration
//! (a nullable column, then an index built `CONCURRENTLY` outside a
//! transaction) is applied by diesel's migration
//! harness, as `api migrate` applies its own, to the database the current
//! binary is serving reads and writes from. Every request answers 2xx during
//! the migration and after it (README "Migrations: expand, then contract").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cms_tests::{demo_editors, TestApp};
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use serde_json::json;

/// The next release's expand step, as its migration directories would hold it.
const EXPAND: &str = "SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE pages ADD COLUMN reading_minutes integer;
";
const EXPAND_DOWN: &str = "SET lock_timeout = '5s';
SET statement_timeout = '60s';
ALTER TABLE pages DROP COLUMN reading_minutes;
";
/// Alone in its file: PostgreSQL runs a string of several statements as one
/// transaction, which `CONCURRENTLY` refuses. Its timeouts are the ones
/// `api migrate` sets on its connection.
const CONCURRENT_INDEX: &str =
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS pages_reading_minutes ON pages (reading_minutes);\n";
const CONCURRENT_INDEX_DOWN: &str = "DROP INDEX CONCURRENTLY IF EXISTS pages_reading_minutes;\n";

fn write_migrations() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cms-next-release-{}",
        uuid::Uuid::now_v7().simple()
    ));
    let expand = dir.join("2099-01-01-000001_reading_minutes");
    let index = dir.join("2099-01-01-000002_reading_minutes_index");
    for (path, up, down) in [
        (&expand, EXPAND, EXPAND_DOWN),
        (&index, CONCURRENT_INDEX, CONCURRENT_INDEX_DOWN),
    ] {
        std::fs::create_dir_all(path).unwrap();
        std::fs::write(path.join("up.sql"), up).unwrap();
        std::fs::write(path.join("down.sql"), down).unwrap();
    }
    // CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    std::fs::write(index.join("metadata.toml"), "run_in_transaction = false\n").unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_expand_migration_applies_while_the_current_binary_serves() {
    let app = Arc::new(
        TestApp::spawn_with(HashMap::from([(
            "CMS_DELIVERY_CACHE_TTL_SECS",
            "0".to_owned(),
        )]))
        .await,
    );
    let (editor, _) = demo_editors(&app).await;
    let site = app.first_site(&editor.access).await;
    let page = app
        .draft_page(&editor.access, &site, "/during-migration", "During")
        .await;
    let page_id = page["id"].as_str().unwrap().to_owned();
    app.publish(&editor.access, &page_id).await.expect(200);
    let blocks = app
        .get(&format!("/api/v1/pages/{page_id}/blocks"), &editor.access)
        .await
        .expect(200);
    let hero = blocks.body["items"][0]["id"].as_str().unwrap().to_owned();

    // Smoke traffic: a visitor's page, an editor's list and an editor's
    // write, over and over, until the migrations are done and a while after.
    let done = Arc::new(AtomicBool::new(false));
    let traffic: Vec<_> = (0..3)
        .map(|kind| {
            let (app, done, token) = (Arc::clone(&app), Arc::clone(&done), editor.access.clone());
            let (site, page_id, hero) = (site.clone(), page_id.clone(), hero.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let reply = match kind {
                        0 => {
                            app.public(
                                &format!(
                                    "/api/v1/delivery/sites/{site}/pages?path=/during-migration"
                                ),
                                &[],
                            )
                            .await
                        }
                        1 => {
                            app.get(&format!("/api/v1/sites/{site}/pages"), &token)
                                .await
                        }
                        _ => {
                            app.patch(
                                &format!("/api/v1/pages/{page_id}/blocks/{hero}"),
                                &token,
                                json!({"props": {"title": format!("During {}", seen.len())}}),
                            )
                            .await
                        }
                    };
                    seen.push((reply.status.as_u16(), reply.text));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let owner_url = app.db.owner_url();
    let migrated = tokio::task::spawn_blocking(move || {
        let dir = write_migrations();
        let mut conn = PgConnection::establish(&owner_url).unwrap();
        cms_api::db::setup::set_migration_timeouts(&mut conn).unwrap();
        let started = Instant::now();
        let applied: Vec<String> = conn
            .run_pending_migrations(FileBasedMigrations::from_path(&dir).unwrap())
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        (applied, started.elapsed())
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::Relaxed);

    let mut answers = Vec::new();
    for task in traffic {
        answers.extend(task.await.unwrap());
    }
    println!(
        "applied {:?} in {:?} under {} smoke requests",
        migrated.0,
        migrated.1,
        answers.len()
    );
    assert_eq!(migrated.0.len(), 2, "{:?}", migrated.0);
    assert!(answers.len() > 30, "{}", answers.len());
    let failed: Vec<_> = answers
        .iter()
        .filter(|(status, _)| !(200..300).contains(status))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    // The index (on the new column) is there, and the editor's writes went
    // on landing before, during and after.
    let mut admin = app.admin_connection();
    let index = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'pages_reading_minutes'",
    )
    .get_result::<Count>(&mut admin)
    .unwrap()
    .n;
    assert_eq!(index, 1);
    let blocks = app
        .get(&format!("/api/v1/pages/{page_id}/blocks"), &editor.access)
        .await
        .expect(200);
    let last_title = blocks.body["items"][0]["props"]["title"]
        .as_str()
        .unwrap()
        .to_owned();
    let writes = answers
        .iter()
        .filter(|(_, text)| text.contains("\"During "))
        .count();
    assert!(last_title.starts_with("During "), "{last_title}");
    assert!(writes > 10, "{writes} writes");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
