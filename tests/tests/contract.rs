//! The delivery contract in `cms_shared::delivery` is what clients read: every
//! revision the demo seed published, every live page as delivered (with its
//! experiments), manifests and sitemaps deserialise into the shared types, and
//! serialising them back loses nothing a client reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_shared::delivery::{DeliveryPage, SiteManifest, Sitemap};
use cms_tests::*;
use diesel::prelude::*;
use serde_json::Value;

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    snapshot: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    live: bool,
}

/// Equal as JSON values, numbers by value (`100` and `100.0` are one number).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same(x, y)))
        }
        _ => a == b,
    }
}

/// Nothing a client reads is lost or changed by going through the type.
fn assert_round_trip(original: &Value, typed: &Value, what: &str) {
    assert!(
        same(original, typed),
        "{what} changed in the round trip:\n{original}\n{typed}"
    );
}

#[tokio::test]
async fn every_demo_revision_and_live_page_deserialises_into_the_contract() {
    let app = TestApp::spawn().await;
    let mut conn = app.admin_connection();
    let snapshots: Vec<Snapshot> = diesel::sql_query(
        "SELECT r.snapshot::text AS snapshot, (p.published_revision_id IS NOT DISTINCT FROM r.id) AS live \
         FROM page_revisions r JOIN pages p ON p.id = r.page_id",
    )
    .load(&mut conn)
    .unwrap();
    assert!(
        snapshots.iter().filter(|s| s.live).count() >= 4,
        "the seed publishes pages"
    );
    for stored in &snapshots {
        let original: Value = serde_json::from_str(&stored.snapshot).unwrap();
        let page: DeliveryPage = serde_json::from_value(original.clone()).unwrap_or_else(|err| {
            panic!("a stored revision breaks the contract: {err}\n{original}")
        });
        assert!(!page.blocks.is_empty(), "{original}");
        assert_round_trip(&original, &serde_json::to_value(&page).unwrap(), "revision");
    }

    let (editor, _) = demo_editors(&app).await;
    let site = app.first_site(&editor.access).await;
    let manifest = app
        .public("/api/v1/delivery/sites/by-host/alpha.localhost", &[])
        .await
        .expect(200);
    let typed: SiteManifest = serde_json::from_value(manifest.body.clone()).unwrap();
    assert_eq!(typed.site_id.to_string(), site);
    assert_round_trip(
        &manifest.body,
        &serde_json::to_value(&typed).unwrap(),
        "manifest",
    );

    let sitemap = app
        .public(&format!("/api/v1/delivery/sites/{site}/sitemap"), &[])
        .await
        .expect(200);
    let sitemap: Sitemap = serde_json::from_value(sitemap.body).unwrap();
    assert!(!sitemap.items.is_empty());
    let mut with_experiments = 0;
    for entry in &sitemap.items {
        let reply = app
            .public(
                &format!(
                    "/api/v1/delivery/sites/{site}/pages?path={}&locale={}",
                    entry.path, entry.locale
                ),
                &[],
            )
            .await
            .expect(200);
        let page: DeliveryPage = serde_json::from_value(reply.body.clone())
            .unwrap_or_else(|err| panic!("{}: {err}\n{}", entry.path, reply.text));
        assert_eq!(page.path, entry.path);
        with_experiments += usize::from(!page.experiments.is_empty());
        assert_round_trip(
            &reply.body,
            &serde_json::to_value(&page).unwrap(),
            &entry.path,
        );
    }
    assert!(
        with_experiments >= 1,
        "the demo home page runs an experiment"
    );
}
