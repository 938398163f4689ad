//! Specializations and service categories change in place (PATCH): renamed,
//! moved in the category tree (never under themselves) and reordered, with
//! the usual answers for bad input and other tenants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cms_tests::*;
use serde_json::{json, Value};

fn find<'a>(list: &'a Value, slug: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item["slug"] == slug)
        .unwrap()
}

#[tokio::test]
async fn specializations_and_categories_are_changed_with_patch() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com", Some("alpha")).await;
    let beta = app.login("admin@example.com", Some("beta")).await;

    let specializations = app
        .get("/api/v1/specializations", &admin.access)
        .await
        .expect(200);
    let cardiology = find(&specializations.body, "cardiology")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit_before = app.count_rows("audit_log");
    let changed = app
        .patch(
            &format!("/api/v1/specializations/{cardiology}"),
            &admin.access,
            json!({"name": "  Heart care ", "icon": "heart"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["name"], "Heart care");
    assert_eq!(changed.body["icon"], "heart");
    assert_eq!(changed.body["slug"], "cardiology");
    assert_eq!(app.count_rows("audit_log"), audit_before + 1);
    app.patch(
        &format!("/api/v1/specializations/{cardiology}"),
        &admin.access,
        json!({}),
    )
    .await
    .expect_problem(422);
    let taken = find(&specializations.body, "dentistry")["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/api/v1/specializations/{cardiology}"),
        &admin.access,
        json!({"slug": taken}),
    )
    .await
    .expect_problem(409);
    app.patch(
        &format!("/api/v1/specializations/{cardiology}"),
        &beta.access,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(404);

    let categories = app
        .get("/api/v1/service-categories", &admin.access)
        .await
        .expect(200);
    let child = categories
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !c["parent_id"].is_null())
        .unwrap()
        .clone();
    let (child_id, parent_id) = (
        child["id"].as_str().unwrap(),
        child["parent_id"].as_str().unwrap(),
    );
    // A category cannot move under its own subcategory (or itself).
    for target in [child_id, parent_id] {
        let refused = app
            .patch(
                &format!("/api/v1/service-categories/{parent_id}"),
                &admin.access,
                json!({"parent_id": target}),
            )
            .await
            .expect_problem(422);
        assert_eq!(refused.error_fields(), ["parent_id"], "{}", refused.text);
    }
    let moved = app
        .patch(
            &format!("/api/v1/service-categories/{child_id}"),
            &admin.access,
            json!({"parent_id": null, "position": 7, "name": "Top level now"}),
        )
        .await
        .expect(200);
    assert!(moved.body["parent_id"].is_null(), "{}", moved.text);
    assert_eq!(moved.body["position"], 7);
    assert_eq!(moved.body["name"], "Top level now");
    // Leaving `parent_id` out keeps it.
    let renamed = app
        .patch(
            &format!("/api/v1/service-categories/{child_id}"),
            &admin.access,
            json!({"name": "Renamed"}),
        )
        .await
        .expect(200);
    assert!(renamed.body["parent_id"].is_null());
    app.patch(
        &format!("/api/v1/service-categories/{child_id}"),
        &beta.access,
        json!({"name": "x"}),
    )
    .await
    .expect_problem(404);
}

#[tokio::test]
async fn clinic_records_answer_their_location_on_create() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin@example.com", Some("alpha")).await;
    let specialization = app
        .post(
            "/api/v1/specializations",
            &admin.access,
            json!({"slug": "allergy", "name": "Allergy"}),
        )
        .await
        .expect(201);
    let category = app
        .post(
            "/api/v1/service-categories",
            &admin.access,
            json!({"slug": "labs", "name": "Labs"}),
        )
        .await
        .expect(201);
    let category_id = category.body["id"].as_str().unwrap();
    let service = app
        .post(
            "/api/v1/services",
            &admin.access,
            json!({"slug": "blood-test", "name": "Blood test", "category_id": category_id,
                   "price_minor": 90_000, "currency": "RUB", "duration_minutes": 15, "clinic_ids": []}),
        )
        .await
        .expect(201);
    let specialization_id = specialization.body["id"].as_str().unwrap();
    let clinics = app.get("/api/v1/clinics", &admin.access).await.expect(200);
    let clinic = clinics.body["items"][0]["id"].as_str().unwrap();
    let doctor = app
        .post(
            "/api/v1/doctors",
            &admin.access,
            json!({"slug": "new-doctor", "name": "Dr. New", "specialization_id": specialization_id,
                   "clinic_ids": [clinic], "service_ids": []}),
        )
        .await
        .expect(201);
    for (reply, collection) in [
        (&specialization, "specializations"),
        (&category, "service-categories"),
        (&service, "services"),
        (&doctor, "doctors"),
    ] {
        let id = reply.body["id"].as_str().unwrap();
        assert_eq!(
            reply.header("location"),
            Some(format!("/api/v1/{collection}/{id}").as_str()),
            "{}",
            reply.text
        );
    }
    let location = service.header("location").unwrap().to_owned();
    let read = app.get(&location, &admin.access).await.expect(200);
    assert_eq!(read.body["name"], "Blood test");
}
