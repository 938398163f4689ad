//! The clinic domain end to end: booking without double booking under
//! concurrency, available slots, permissions of patients and doctors, tenant
//! isolation of clinic data, and bad input that writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use cms_tests::*;

const ALPHA_HOST: &str = "alpha.localhost";

async fn slots(
    app: &TestApp,
    site: &str,
    doctor: &str,
    service: &str,
    day: NaiveDate,
) -> Vec<Value> {
    app.public(
        &format!("/api/v1/delivery/sites/{site}/available-slots?doctor={doctor}&service={service}&date={day}"),
        &[],
    )
    .await
    .expect(200)
    .body["items"]
    .as_array()
    .unwrap()
    .clone()
}

async fn book(app: &TestApp, site: &str, body: Value) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v1/delivery/sites/{site}/appointments"),
        None,
        Some(&body),
        &[],
    )
    .await
}

fn guest(doctor: &str, service: &str, start: &str, phone: &str) -> Value {
    json!({"doctor": doctor, "service": service, "start": start, "name": "Guest Visitor", "phone": phone})
}

#[tokio::test]
async fn fifty_parallel_bookings_of_one_slot_make_exactly_one_appointment() {
    let app = TestApp::spawn_with(std::collections::HashMap::from([(
        "CMS_BOOKING_LIMIT_PER_IP",
        "1000".to_owned(),
    )]))
    .await;
    let site = site_of(&app, ALPHA_HOST).await;
    let day = working_day();
    let free = slots(&app, &site, "boris-petrov", "consultation", day).await;
    let start = free[0]["start"].as_str().unwrap().to_owned();
    let before = app.count_rows("appointments");

    let attempts = (0..50).map(|i| {
        let body = guest(
            "boris-petrov",
            "consultation",
            &start,
            &format!("+7916{:07}", 1_000_000 + i),
        );
        let (app, site) = (&app, site.clone());
        async move { book(app, &site, body).await }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts: Vec<&Reply> = replies.iter().filter(|r| r.status == 409).collect();
    assert_eq!(
        created,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts.len(), 49);
    for conflict in &conflicts {
        assert_eq!(
            conflict.header("content-type"),
            Some("application/problem+json")
        );
        let nearest = conflict.body["nearest_slots"].as_array().unwrap();
        assert!(
            !nearest.is_empty(),
            "a conflict offers the nearest free slots"
        );
        assert!(nearest.iter().all(|slot| slot["start"] != start.as_str()));
    }
    assert_eq!(app.count_rows("appointments"), before + 1);

    // The booked slot is gone from available-slots.
    let after = slots(&app, &site, "boris-petrov", "consultation", day).await;
    assert!(after.iter().all(|slot| slot["start"] != start.as_str()));
    assert_eq!(after.len(), free.len() - 1);
}

#[tokio::test]
async fn overlapping_but_different_slots_are_refused_by_the_api_and_the_database() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let day = working_day();
    // Anna offers a 30-minute consultation and a 45-minute heart ultrasound.
    let consultations = slots(&app, &site, "anna-ivanova", "consultation", day).await;
    let booked = consultations
        .iter()
        .find(|slot| slot["start"].as_str().unwrap().contains("T11:00:00"))
        .unwrap();
    book(
        &app,
        &site,
        guest(
            "anna-ivanova",
            "consultation",
            booked["start"].as_str().unwrap(),
            "+79160001111",
        ),
    )
    .await
    .expect(201);
    // 10:30-11:15 overlaps 11:00-11:30: not offered, and refused when asked for.
    let ultrasound = slots(&app, &site, "anna-ivanova", "heart-ultrasound", day).await;
    let overlapping = format!("{day}T10:30:00+03:00");
    assert!(ultrasound
        .iter()
        .all(|slot| slot["start"] != overlapping.as_str()));
    let before = app.count_rows("appointments");
    let reply = book(
        &app,
        &site,
        guest(
            "anna-ivanova",
            "heart-ultrasound",
            &overlapping,
            "+79160002222",
        ),
    )
    .await
    .expect_problem(409);
    assert!(reply.body["nearest_slots"].as_array().is_some());
    assert_eq!(app.count_rows("appointments"), before);

    // Below the api: the exclusion constraint refuses an overlapping row
    // written directly, whatever wrote it.
    let mut conn = app.admin_connection();
    let refused = diesel::sql_query(
        "INSERT INTO appointments (id, tenant_id, patient_id, doctor_id, service_id, clinic_id, \
           starts_at, ends_at, price_minor, currency) \
         SELECT gen_random_uuid(), tenant_id, patient_id, doctor_id, service_id, clinic_id, \
           starts_at + interval '10 minutes', ends_at + interval '10 minutes', price_minor, currency \
         FROM appointments WHERE status <> 'cancelled' ORDER BY created_at DESC LIMIT 1",
    )
    .execute(&mut conn)
    .unwrap_err();
    assert!(
        refused.to_string().contains("appointments_no_overlap"),
        "{refused}"
    );
    // A cancelled appointment frees its time.
    diesel::sql_query(
        "UPDATE appointments SET status = 'cancelled' WHERE id = \
           (SELECT id FROM appointments ORDER BY created_at DESC LIMIT 1)",
    )
    .execute(&mut conn)
    .unwrap();
    book(
        &app,
        &site,
        guest(
            "anna-ivanova",
            "consultation",
            booked["start"].as_str().unwrap(),
            "+79160003333",
        ),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn bad_bookings_answer_422_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let day = working_day();
    let free = slots(&app, &site, "anna-ivanova", "consultation", day).await;
    let start = free[0]["start"].as_str().unwrap();
    let before = (app.count_rows("appointments"), app.count_rows("patients"));

    let yesterday = (Utc::now() - Duration::days(1))
        .format("%Y-%m-%dT10:00:00+03:00")
        .to_string();
    let cases = [
        (
            guest("anna-ivanova", "consultation", &yesterday, "+79160004444"),
            "start",
        ),
        (
            guest(
                "anna-ivanova",
                "consultation",
                &format!("{day}T03:00:00+03:00"),
                "+79160004444",
            ),
            "start",
        ),
        (
            guest("anna-ivanova", "dental-cleaning", start, "+79160004444"),
            "service",
        ),
        (
            guest("anna-ivanova", "no-such-service", start, "+79160004444"),
            "service",
        ),
        (
            guest("no-such-doctor", "consultation", start, "+79160004444"),
            "doctor",
        ),
        (
            guest("anna-ivanova", "consultation", start, "call me maybe"),
            "phone",
        ),
        (
            guest(
                "anna-ivanova",
                "consultation",
                "tomorrow at ten",
                "+79160004444",
            ),
            "start",
        ),
        (
            json!({"doctor": "anna-ivanova", "service": "consultation", "start": start}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let reply = book(&app, &site, body.clone()).await.expect_problem(422);
        assert!(
            reply.error_fields().contains(&field.to_owned()),
            "{body} -> {}",
            reply.text
        );
    }
    assert_eq!(
        (app.count_rows("appointments"), app.count_rows("patients")),
        before
    );
}

#[tokio::test]
async fn an_idempotency_key_books_once() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = slots(&app, &site, "clara-smirnova", "consultation", working_day()).await;
    let body = guest(
        "clara-smirnova",
        "consultation",
        free[0]["start"].as_str().unwrap(),
        "+79160005555",
    );
    let path = format!("/api/v1/delivery/sites/{site}/appointments");
    let first = app
        .send(
            Method::POST,
            &path,
            None,
            Some(&body),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(201);
    let again = app
        .send(
            Method::POST,
            &path,
            None,
            Some(&body),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(200);
    assert_eq!(first.body["id"], again.body["id"]);
}

#[tokio::test]
async fn patients_see_only_their_appointments_and_doctors_change_only_theirs() {
    let app = TestApp::spawn().await;
    let patient = app.login("patient@alpha.example", None).await;
    let other = app.login("patient2@alpha.example", None).await;
    let doctor = app.login("doctor@alpha.example", None).await;
    let (editor, _) = demo_editors(&app).await;

    let mine = app
        .get("/api/v1/appointments", &patient.access)
        .await
        .expect(200);
    let theirs = app
        .get("/api/v1/appointments", &other.access)
        .await
        .expect(200);
    let mine = mine.body["items"].as_array().unwrap().clone();
    let theirs = theirs.body["items"].as_array().unwrap().clone();
    assert!(!mine.is_empty() && !theirs.is_empty());
    assert!(mine
        .iter()
        .all(|a| a["patient_id"] == mine[0]["patient_id"]));
    // Another patient's appointment does not exist for this patient.
    let foreign = theirs[0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/appointments/{foreign}"), &patient.access)
        .await
        .expect_problem(404);
    app.get(&format!("/api/v1/appointments/{foreign}"), &editor.access)
        .await
        .expect(200);

    // The doctor account is Anna; patient 2's appointments are with Boris.
    let doctors_view = app
        .get("/api/v1/appointments", &doctor.access)
        .await
        .expect(200);
    let anna = doctors_view.body["items"][0]["doctor_id"].clone();
    assert!(doctors_view.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["doctor_id"] == anna));
    let borises = theirs
        .iter()
        .find(|a| a["status"] == "scheduled" && a["doctor_id"] != anna)
        .unwrap();
    let before = app.count_rows("audit_log");
    app.post(
        &format!(
            "/api/v1/appointments/{}/status",
            borises["id"].as_str().unwrap()
        ),
        &doctor.access,
        json!({"status": "confirmed"}),
    )
    .await
    .expect_problem(404);
    assert_eq!(app.count_rows("audit_log"), before, "nothing written");

    // Anna confirms her own; an invalid move answers 409 and changes nothing.
    let annas = doctors_view.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "scheduled")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/appointments/{annas}/status"),
        &doctor.access,
        json!({"status": "confirmed"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/appointments/{annas}/status"),
        &doctor.access,
        json!({"status": "scheduled"}),
    )
    .await
    .expect_problem(409);
    let current = app
        .get(&format!("/api/v1/appointments/{annas}"), &editor.access)
        .await
        .expect(200);
    assert_eq!(current.body["status"], "confirmed");
    // A patient may cancel only their own, and nothing else.
    let own_upcoming = mine.iter().find(|a| a["status"] == "scheduled").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/appointments/{own_upcoming}/status"),
        &patient.access,
        json!({"status": "confirmed"}),
    )
    .await
    .expect_problem(403);
}

#[tokio::test]
async fn reviews_are_posted_by_patients_and_published_by_staff_with_the_rating_in_step() {
    let app = TestApp::spawn().await;
    let patient = app.login("patient@alpha.example", None).await;
    let (editor, _) = demo_editors(&app).await;
    let doctors = app
        .get("/api/v1/doctors?limit=200", &editor.access)
        .await
        .expect(200);
    let kirill = doctors.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == "kirill-morozov")
        .unwrap()
        .clone();
    assert_eq!(kirill["reviews_count"], 0);

    let review = app
        .post(
            "/api/v1/reviews",
            &patient.access,
            json!({"doctor_id": kirill["id"], "rating": 4, "comment": "Good <script>alert(1)</script>doctor"}),
        )
        .await
        .expect(201);
    assert_eq!(review.body["is_published"], false);
    assert_eq!(review.body["is_verified"], false);
    assert!(!review.body["comment"].as_str().unwrap().contains("<script"));
    let id = review.body["id"].as_str().unwrap();

    // A patient cannot publish, nor post with an editor's role.
    app.post(
        &format!("/api/v1/reviews/{id}/publish"),
        &patient.access,
        json!({}),
    )
    .await
    .expect_problem(403);
    app.post(
        "/api/v1/reviews",
        &editor.access,
        json!({"doctor_id": kirill["id"], "rating": 5, "comment": "x"}),
    )
    .await
    .expect_problem(403);
    app.post(
        "/api/v1/reviews",
        &patient.access,
        json!({"doctor_id": kirill["id"], "rating": 9, "comment": ""}),
    )
    .await
    .expect_problem(422);

    let url = format!("/api/v1/doctors/{}", kirill["id"].as_str().unwrap());
    let token = editor.access.clone();
    assert_eq!(
        app.get(&url, &token).await.expect(200).body["reviews_count"],
        0,
        "unpublished reviews do not count"
    );
    app.post(
        &format!("/api/v1/reviews/{id}/publish"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    let published = app.get(&url, &token).await.expect(200).body;
    assert_eq!(published["reviews_count"], 1);
    assert_eq!(published["rating"], 4.0);
    app.post(
        &format!("/api/v1/reviews/{id}/unpublish"),
        &editor.access,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get(&url, &token).await.expect(200).body["reviews_count"],
        0
    );
}

#[tokio::test]
async fn tenant_b_sees_none_of_tenant_a_clinic_data() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    let alpha_clinics = app.get("/api/v1/clinics", &alpha.access).await.expect(200);
    let beta_clinics = app.get("/api/v1/clinics", &beta.access).await.expect(200);
    let alpha_ids: Vec<&Value> = alpha_clinics.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(!alpha_ids.is_empty());
    assert!(beta_clinics.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !alpha_ids.contains(&&c["id"])));
    let alpha_clinic = alpha_ids[0].as_str().unwrap();
    app.get(&format!("/api/v1/clinics/{alpha_clinic}"), &beta.access)
        .await
        .expect_problem(404);
    let alpha_doctor = app
        .get("/api/v1/doctors", &alpha.access)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/api/v1/doctors/{alpha_doctor}"), &beta.access)
        .await
        .expect_problem(404);
    let beta_appointments = app
        .get("/api/v1/appointments", &beta.access)
        .await
        .expect(200);
    let alpha_appointments = app
        .get("/api/v1/appointments", &alpha.access)
        .await
        .expect(200);
    let alpha_appointment_ids: Vec<&Value> = alpha_appointments.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert!(beta_appointments.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| !alpha_appointment_ids.contains(&&a["id"])));
    // Beta's public site cannot book or list alpha's doctors.
    let beta_site = site_of(&app, "beta.localhost").await;
    let reply = app
        .public(
            &format!("/api/v1/delivery/sites/{beta_site}/doctors/{alpha_doctor}"),
            &[],
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn filters_take_ids_or_slugs_and_categories_include_subcategories() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let cardiologists = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/doctors?specialization=cardiology"),
            &[],
        )
        .await
        .expect(200);
    let items = cardiologists.body["items"].as_array().unwrap();
    assert!(items.len() >= 3);
    assert!(items.iter().all(|d| d["specialization"] == "Cardiology"));
    let by_id = app
        .public(
            &format!(
                "/api/v1/delivery/sites/{site}/doctors?specialization={}",
                items[0]["specialization_id"].as_str().unwrap()
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(by_id.body["items"].as_array().unwrap().len(), items.len());
    let diagnostics = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/services?category=diagnostics"),
            &[],
        )
        .await
        .expect(200);
    let slugs: Vec<&str> = diagnostics.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.contains(&"ecg") && slugs.contains(&"heart-ultrasound"),
        "{slugs:?}"
    );
    assert!(!slugs.contains(&"consultation"));
    // ETag and 304 like other delivery responses.
    let etag = diagnostics.header("etag").unwrap().to_owned();
    let again = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/services?category=diagnostics"),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);
}

async fn statements_run(app: &TestApp) -> u64 {
    let metrics = app.send(Method::GET, "/metrics", None, None, &[]).await;
    metrics
        .text
        .lines()
        .find_map(|line| line.strip_prefix("cms_db_statements_total "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn lists_run_the_same_number_of_queries_whatever_the_page_size() {
    let app = TestApp::spawn_with(std::collections::HashMap::from([(
        "CMS_JOBS",
        "off".to_owned(),
    )]))
    .await;
    let (editor, _) = demo_editors(&app).await;
    let site = site_of(&app, ALPHA_HOST).await;
    for list in [
        "/api/v1/doctors".to_owned(),
        "/api/v1/services".to_owned(),
        "/api/v1/clinics".to_owned(),
        "/api/v1/appointments".to_owned(),
        format!("/api/v1/delivery/sites/{site}/doctors"),
        format!("/api/v1/delivery/sites/{site}/services"),
    ] {
        let mut costs = Vec::new();
        let mut sizes = Vec::new();
        for limit in [1, 50] {
            let before = statements_run(&app).await;
            let reply = app
                .get(&format!("{list}?limit={limit}"), &editor.access)
                .await
                .expect(200);
            costs.push(statements_run(&app).await - before);
            sizes.push(reply.body["items"].as_array().unwrap().len());
        }
        assert!(
            sizes[1] > sizes[0],
            "{list}: the larger page has more rows: {sizes:?}"
        );
        assert_eq!(
            costs[0], costs[1],
            "{list}: statements for 1 and {} rows differ",
            sizes[1]
        );
        assert!(
            (2..=8).contains(&costs[0]),
            "{list}: {} statements",
            costs[0]
        );
    }
}

#[tokio::test]
async fn a_day_off_empties_that_days_slots_at_once_and_extra_shifts_add_some() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let (editor, _) = demo_editors(&app).await;
    let day = working_day();
    assert!(!slots(&app, &site, "igor-kozlov", "consultation", day)
        .await
        .is_empty());
    let doctors = app
        .get("/api/v1/doctors?limit=200", &editor.access)
        .await
        .expect(200);
    let igor_record = doctors.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["slug"] == "igor-kozlov")
        .unwrap()
        .clone();
    let igor = igor_record["id"].as_str().unwrap().to_owned();
    let igor_clinic = igor_record["clinic_ids"][0].clone();
    app.post(
        &format!("/api/v1/doctors/{igor}/exceptions"),
        &editor.access,
        json!({"date": day, "kind": "off", "reason": "conference"}),
    )
    .await
    .expect(201);
    assert!(
        slots(&app, &site, "igor-kozlov", "consultation", day)
            .await
            .is_empty(),
        "a cached answer must not outlive a schedule change"
    );
    // An extra shift on a Sunday (no weekly shift) gives exactly its slots.
    let mut sunday = day;
    while sunday.weekday() != Weekday::Sun {
        sunday += Duration::days(1);
    }
    assert!(slots(&app, &site, "igor-kozlov", "consultation", sunday)
        .await
        .is_empty());
    app.post(
        &format!("/api/v1/doctors/{igor}/exceptions"),
        &editor.access,
        json!({"date": sunday, "clinic_id": igor_clinic, "kind": "extra", "start": "19:00", "end": "20:00"}),
    )
    .await
    .expect(201);
    let evening = slots(&app, &site, "igor-kozlov", "consultation", sunday).await;
    let starts: Vec<&str> = evening
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    assert_eq!(
        starts,
        vec![
            format!("{sunday}T19:00:00+03:00"),
            format!("{sunday}T19:30:00+03:00")
        ]
    );
    // Bad exceptions and schedules are refused with the field named.
    let reply = app
        .post(
            &format!("/api/v1/doctors/{igor}/exceptions"),
            &editor.access,
            json!({"date": day, "kind": "extra", "start": "19:00", "end": "20:00"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), vec!["clinic_id"]);
    // The kind is `off` or `extra`, nothing else.
    let reply = app
        .post(
            &format!("/api/v1/doctors/{igor}/exceptions"),
            &editor.access,
            json!({"date": day, "kind": "holiday"}),
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), vec!["kind"]);
    let reply = app
        .send(
            Method::PUT,
            &format!("/api/v1/doctors/{igor}/schedule"),
            Some(&editor.access),
            Some(&json!({"shifts": [
                {"clinic_id": igor_clinic, "day_of_week": 1, "start": "09:00", "end": "13:00"},
                {"clinic_id": igor_clinic, "day_of_week": 1, "start": "12:00", "end": "15:00"}
            ]})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), vec!["shifts.1.start"]);
}

#[tokio::test]
async fn patient_profiles_keep_phones_unique_and_payments_are_recorded() {
    let app = TestApp::spawn().await;
    let site = site_of(&app, ALPHA_HOST).await;
    let (editor, _) = demo_editors(&app).await;
    // A guest books with a phone...
    let free = slots(&app, &site, "elena-popova", "consultation", working_day()).await;
    let booked = book(
        &app,
        &site,
        guest(
            "elena-popova",
            "consultation",
            free[0]["start"].as_str().unwrap(),
            "8 916 777-66-55",
        ),
    )
    .await
    .expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    // ...and patient 2, who has a profile with another phone, tries to take
    // that phone: it belongs to the guest's patient record.
    let patient = app.login("patient2@alpha.example", None).await;
    let profile = app
        .send(
            Method::PUT,
            "/api/v1/patients/me",
            Some(&patient.access),
            Some(&json!({"name": "Pavel Patient", "phone": "+7 916 777 66 55", "gender": "male"})),
            &[],
        )
        .await;
    profile.expect_problem(409);
    let other = app.login("patient@alpha.example", None).await;
    let reply = app
        .send(
            Method::PUT,
            "/api/v1/patients/me",
            Some(&other.access),
            Some(&json!({"name": "Maria", "phone": "not a phone"})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), vec!["phone"]);
    let me = app
        .get("/api/v1/patients/me", &other.access)
        .await
        .expect(200);
    assert_eq!(me.body["phone"], "+79160000001");
    app.get("/api/v1/patients/me", &editor.access)
        .await
        .expect_problem(403);

    // Payment status moves record payment events; an invalid move changes nothing.
    for status in ["paid", "refunded"] {
        app.post(
            &format!("/api/v1/appointments/{id}/status"),
            &editor.access,
            json!({"payment_status": status}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/appointments/{id}/status"),
        &editor.access,
        json!({"payment_status": "paid"}),
    )
    .await
    .expect_problem(409);
    let payments = app
        .get(
            &format!("/api/v1/appointments/{id}/payments"),
            &editor.access,
        )
        .await
        .expect(200);
    let statuses: Vec<&str> = payments
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["paid", "refunded"]);
    assert_eq!(payments.body[0]["amount_minor"], 250_000);
}

#[tokio::test]
async fn doctors_and_services_are_changed_and_deleted_only_when_nothing_refers_to_them() {
    let app = TestApp::spawn().await;
    let (editor, _) = demo_editors(&app).await;
    let doctors = app
        .get("/api/v1/doctors?limit=200", &editor.access)
        .await
        .expect(200);
    let doctors = doctors.body["items"].as_array().unwrap().clone();
    let anna = doctors
        .iter()
        .find(|d| d["slug"] == "anna-ivanova")
        .unwrap();
    let galina = doctors
        .iter()
        .find(|d| d["slug"] == "galina-lebedeva")
        .unwrap();
    let changed = app
        .patch(
            &format!("/api/v1/doctors/{}", galina["id"].as_str().unwrap()),
            &editor.access,
            json!({"experience_years": 30, "service_ids": []}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["experience_years"], 30);
    assert_eq!(changed.body["service_ids"], json!([]));
    // Anna has appointments: deleting her is refused and changes nothing.
    app.delete(
        &format!("/api/v1/doctors/{}", anna["id"].as_str().unwrap()),
        &editor.access,
    )
    .await
    .expect_problem(409);
    app.get(
        &format!("/api/v1/doctors/{}", anna["id"].as_str().unwrap()),
        &editor.access,
    )
    .await
    .expect(200);
    // Galina has none (demo appointments are with the first doctors).
    app.delete(
        &format!("/api/v1/doctors/{}", galina["id"].as_str().unwrap()),
        &editor.access,
    )
    .await
    .expect(204);
    let services = app
        .get("/api/v1/services", &editor.access)
        .await
        .expect(200);
    let ecg = services.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "ecg")
        .unwrap()
        .clone();
    let repriced = app
        .patch(
            &format!("/api/v1/services/{}", ecg["id"].as_str().unwrap()),
            &editor.access,
            json!({"price_minor": 175_000}),
        )
        .await
        .expect(200);
    assert_eq!(repriced.body["price_minor"], 175_000);
    app.patch(
        &format!("/api/v1/services/{}", ecg["id"].as_str().unwrap()),
        &editor.access,
        json!({"duration_minutes": 1}),
    )
    .await
    .expect_problem(422);
}

/// A guest booking as sent by a proxy for `visitor`; answers the status.
async fn forwarded_booking(app: &TestApp, site: &str, body: &Value, visitor: &str) -> u16 {
    app.send(
        Method::POST,
        &format!("/api/v1/delivery/sites/{site}/appointments"),
        None,
        Some(body),
        &[("x-forwarded-for", visitor)],
    )
    .await
    .status
    .as_u16()
}

/// Behind a load balancer or a renderer, the per-address booking limit must
/// count visitors: a trusted proxy's `X-Forwarded-For` names them, and a
/// client's own header is believed from nobody else.
#[tokio::test]
async fn the_booking_limit_counts_the_address_a_trusted_proxy_forwards() {
    // Far in the past: refused after the limit is counted, never booked.
    let body = guest(
        "boris-petrov",
        "consultation",
        "2000-01-03T10:00:00Z",
        "+79161234567",
    );
    let limit = ("CMS_BOOKING_LIMIT_PER_IP", "1".to_owned());
    let behind_proxy = TestApp::spawn_with(std::collections::HashMap::from([
        limit.clone(),
        ("CMS_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
    ]))
    .await;
    let site = site_of(&behind_proxy, ALPHA_HOST).await;
    assert_ne!(
        forwarded_booking(&behind_proxy, &site, &body, "198.51.100.1").await,
        429
    );
    assert_ne!(
        forwarded_booking(&behind_proxy, &site, &body, "198.51.100.2").await,
        429
    );
    assert_eq!(
        forwarded_booking(&behind_proxy, &site, &body, "198.51.100.1").await,
        429
    );

    let direct = TestApp::spawn_with(std::collections::HashMap::from([limit])).await;
    let site = site_of(&direct, ALPHA_HOST).await;
    assert_ne!(
        forwarded_booking(&direct, &site, &body, "198.51.100.1").await,
        429
    );
    assert_eq!(
        forwarded_booking(&direct, &site, &body, "198.51.100.2").await,
        429,
        "a header from an untrusted peer is not believed"
    );
}
