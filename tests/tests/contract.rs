//! The delivery contract in `cms_shared::delivery` is what clients read: every
//! revision the demo seed published, every live page as delivered (with its
//! experiments), manifests and sitemaps deserialise into the shared types, and
//! serialising them back loses nothing a client reads. So do the public
//! clinic answers (clinics, specializations, services, doctors, a doctor's
//! page, clinic data, free slots), the problem a taken slot answers, and the
//! events batch and its answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Datelike, Duration, Utc, Weekday};
use cms_shared::clinic::{
    ClinicData, ClinicList, DoctorDetail, PublicDoctor, PublicService, SlotList, SpecializationList,
};
use cms_shared::delivery::{DeliveryPage, SiteManifest, Sitemap};
use cms_shared::events::{EventBatch, EventInput, EventKind, EventsAccepted};
use cms_shared::problem::Problem;
use cms_tests::*;
use diesel::prelude::*;
use reqwest::Method;
use serde::de::DeserializeOwned;
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

/// The answer at `path` parsed into `T`, checked to lose nothing in a round trip.
async fn typed<T: DeserializeOwned + serde::Serialize>(app: &TestApp, path: &str) -> T {
    let reply = app.public(path, &[]).await.expect(200);
    let typed: T = serde_json::from_value(reply.body.clone())
        .unwrap_or_else(|err| panic!("{path} breaks the contract: {err}\n{}", reply.text));
    assert_round_trip(&reply.body, &serde_json::to_value(&typed).unwrap(), path);
    typed
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[tokio::test]
async fn public_clinic_answers_events_and_problems_deserialise_into_the_contract() {
    let app = TestApp::spawn().await;
    let (editor, _) = demo_editors(&app).await;
    let site = app.first_site(&editor.access).await;
    let base = format!("/api/v1/delivery/sites/{site}");

    let data: ClinicData = typed(&app, &format!("{base}/clinic-data")).await;
    assert!(!data.clinics.is_empty() && !data.doctors.is_empty() && !data.services.is_empty());
    assert!(!data.reviews.is_empty(), "the seed publishes a review");
    let clinics: ClinicList = typed(&app, &format!("{base}/clinics")).await;
    assert_eq!(clinics.items, data.clinics);
    let specializations: SpecializationList = typed(&app, &format!("{base}/specializations")).await;
    assert_eq!(specializations.items, data.specializations);
    let doctors: Page<PublicDoctor> = typed(&app, &format!("{base}/doctors")).await;
    assert_eq!(doctors.items.len(), data.doctors.len());
    let services: Page<PublicService> = typed(&app, &format!("{base}/services")).await;
    assert_eq!(services.items.len(), data.services.len());
    let reviewed = &data.reviews[0].doctor_id;
    let detail: DoctorDetail = typed(&app, &format!("{base}/doctors/{reviewed}")).await;
    assert_eq!(&detail.doctor.id, reviewed);
    assert!(!detail.reviews.is_empty());

    // Visitors see no patient and no doctor's account.
    let raw = app.public(&format!("{base}/clinic-data"), &[]).await.text;
    for private in ["patient_id", "appointment_id", "user_id", "tenant_id"] {
        assert!(!raw.contains(private), "clinic data shows {private}");
    }

    // Free slots, and the problem a taken one answers.
    let doctor = data
        .doctors
        .iter()
        .find(|d| !d.service_ids.is_empty())
        .unwrap();
    let service = data
        .services
        .iter()
        .find(|s| doctor.service_ids.contains(&s.id))
        .unwrap();
    let mut day = Utc::now().date_naive() + Duration::days(3);
    while !matches!(day.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu) {
        day += Duration::days(1);
    }
    let slots: SlotList = typed(
        &app,
        &format!(
            "{base}/available-slots?doctor={}&service={}&date={day}",
            doctor.slug, service.slug
        ),
    )
    .await;
    assert!(slots.items.len() >= 2, "the demo doctor works on {day}");
    let booking = serde_json::json!({
        "doctor": doctor.slug, "service": service.slug,
        "start": slots.items[0].start.to_rfc3339(),
        "name": "Guest Visitor", "phone": "+7 916 555-01-23",
    });
    let path = format!("{base}/appointments");
    app.send(Method::POST, &path, None, Some(&booking), &[])
        .await
        .expect(201);
    let taken = app
        .send(Method::POST, &path, None, Some(&booking), &[])
        .await
        .expect_problem(409);
    let problem: Problem = serde_json::from_value(taken.body.clone()).unwrap();
    let nearest = problem.nearest_slots.unwrap();
    assert!(
        !nearest.is_empty()
            && nearest
                .iter()
                .all(|slot| slot.start != slots.items[0].start)
    );

    // The events batch as renderers send it, and a refused one naming its item.
    let home = app
        .public(&format!("{base}/pages?path=/&locale=en"), &[])
        .await
        .expect(200);
    let home: DeliveryPage = serde_json::from_value(home.body).unwrap();
    let experiment = &home.experiments[0];
    let event = |visitor: &str, kind: EventKind, name: Option<&str>| EventInput {
        experiment: experiment.id.parse().unwrap(),
        variant: experiment.variants[0].key.clone(),
        visitor: visitor.into(),
        kind,
        name: name.map(str::to_owned),
    };
    let batch = EventBatch {
        events: vec![
            event("contract-1", EventKind::Exposure, None),
            event("contract-1", EventKind::Custom, Some("video_played")),
        ],
    };
    let reply = app
        .send(
            Method::POST,
            "/api/v1/delivery/events",
            None,
            Some(&serde_json::to_value(&batch).unwrap()),
            &[],
        )
        .await
        .expect(202);
    let accepted: EventsAccepted = serde_json::from_value(reply.body).unwrap();
    assert_eq!((accepted.accepted, accepted.recorded), (2, 2));
    let refused = EventBatch {
        events: vec![
            event("contract-2", EventKind::Exposure, None),
            event("contract-2", EventKind::Custom, None),
        ],
    };
    let reply = app
        .send(
            Method::POST,
            "/api/v1/delivery/events",
            None,
            Some(&serde_json::to_value(&refused).unwrap()),
            &[],
        )
        .await
        .expect_problem(422);
    let problem: Problem = serde_json::from_value(reply.body).unwrap();
    let items: Vec<usize> = problem
        .errors
        .iter()
        .filter_map(|e| e.item_of("events"))
        .collect();
    assert_eq!(items, vec![1], "{:?}", problem.errors);
    let mut unknown = serde_json::to_value(&refused).unwrap();
    unknown["events"][1]["kind"] = "click".into();
    let reply = app
        .send(
            Method::POST,
            "/api/v1/delivery/events",
            None,
            Some(&unknown),
            &[],
        )
        .await
        .expect_problem(422);
    let problem: Problem = serde_json::from_value(reply.body).unwrap();
    assert_eq!(
        problem.errors[0].field, "events.1.kind",
        "{:?}",
        problem.errors
    );
}
