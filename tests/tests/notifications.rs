//! Notifications end to end: a booking enqueues its confirmation in its own
//! transaction (a failed one none), messages reach local fake SMS providers
//! that implement SMS.ru's, SMSC's and SmsAero's documented shapes and fail
//! on demand, retries grow and end `discarded`, the jobs api retries them, a
//! worker process killed mid-send is rescued without a second message,
//! reminders follow cancellations, tenants do not see each other's
//! templates, providers or messages, and credentials appear in no answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use cms_api::jobs::handlers::Registry;
use cms_api::jobs::worker::{self, WorkerConfig, WorkerHandle};
use cms_api::notifications::schedule::{self, QuietHours};
use cms_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

const OWNER: &str = "admin@example.com";
const ALPHA_HOST: &str = "alpha.localhost";
const SECRET: &str = "SECRET-API-ID-7f3a9c";

// ---------------------------------------------------------------- fake SMS

/// One request a fake provider received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    params: HashMap<String, String>,
    at: Instant,
}

#[derive(Default)]
struct FakeState {
    received: Vec<Received>,
    /// Messages accepted (not counting SMSC repeats of an `id` it has seen).
    delivered: Vec<Received>,
    fail_next: usize,
    fail_always: bool,
    /// Held before answering the next request.
    delay_next: Option<Duration>,
    smsc_ids: HashMap<String, u64>,
}

#[derive(Clone)]
struct FakeSms {
    url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeSms {
    async fn start() -> Self {
        let state: Arc<Mutex<FakeState>> = Arc::default();
        let shared = web::Data::from(Arc::clone(&state));
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(shared.clone())
                .default_service(web::to(fake_answer))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        FakeSms {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    fn set(&self, change: impl FnOnce(&mut FakeState)) {
        change(&mut self.state.lock().unwrap());
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    fn delivered(&self) -> Vec<Received> {
        self.state.lock().unwrap().delivered.clone()
    }
}

fn params_of(raw: &str) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(raw)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

async fn fake_answer(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<FakeState>>,
) -> HttpResponse {
    let mut params = params_of(req.query_string());
    params.extend(params_of(std::str::from_utf8(&body).unwrap_or_default()));
    if let Some(auth) = req.headers().get("authorization") {
        params.insert("authorization".into(), auth.to_str().unwrap().to_owned());
    }
    let received = Received {
        path: req.path().to_owned(),
        params,
        at: Instant::now(),
    };
    let (delay, fail) = {
        let mut state = state.lock().unwrap();
        state.received.push(received.clone());
        let fail = state.fail_always || state.fail_next > 0;
        state.fail_next = state.fail_next.saturating_sub(1);
        (state.delay_next.take(), fail)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut state = state.lock().unwrap();
    let n = state.delivered.len() as u64 + 1;
    match received.path.as_str() {
        // SMS.ru: https://sms.ru/api/send
        "/sms/send" => {
            if fail {
                return HttpResponse::Ok().json(json!({"status": "ERROR", "status_code": 220, "status_text": "Сервис временно недоступен"}));
            }
            let to = received.params["to"].clone();
            state.delivered.push(received);
            HttpResponse::Ok().json(json!({"status": "OK", "status_code": 100,
                "sms": {to: {"status": "OK", "status_code": 100, "sms_id": format!("000000-{n}")}},
                "balance": 100.5}))
        }
        // SMSC: https://smsc.ru/api/http/send/ with fmt=3; a repeated `id`
        // is not sent again.
        "/sys/send.php" => {
            if fail {
                return HttpResponse::Ok()
                    .json(json!({"error": "duplicate request, wait a minute", "error_code": 9}));
            }
            let id = received.params.get("id").cloned().unwrap_or_default();
            if let Some(existing) = state.smsc_ids.get(&id) {
                return HttpResponse::Ok().json(json!({"id": existing, "cnt": 1}));
            }
            state.smsc_ids.insert(id, n);
            state.delivered.push(received);
            HttpResponse::Ok().json(json!({"id": n, "cnt": 1}))
        }
        // SmsAero v2: POST /v2/sms/send, basic auth.
        "/v2/sms/send" => {
            if !received.params.contains_key("authorization") {
                return HttpResponse::Unauthorized()
                    .json(json!({"success": false, "message": "Unauthorized", "data": null}));
            }
            if fail {
                return HttpResponse::InternalServerError()
                    .json(json!({"success": false, "message": "Internal error", "data": null}));
            }
            state.delivered.push(received);
            HttpResponse::Ok().json(json!({"success": true, "data": {"id": n, "status": 8, "extendStatus": "queue"}, "message": null}))
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

// ---------------------------------------------------------------- helpers

async fn free_slots(app: &TestApp, site: &str, day: NaiveDate) -> Vec<String> {
    app.public(
        &format!("/api/v1/delivery/sites/{site}/available-slots?doctor=boris-petrov&service=consultation&date={day}"),
        &[],
    )
    .await
    .expect(200)
    .body["items"]
    .as_array()
    .unwrap()
    .iter()
    .map(|slot| slot["start"].as_str().unwrap().to_owned())
    .collect()
}

async fn book(app: &TestApp, site: &str, start: &str, phone: &str) -> Reply {
    let body = json!({"doctor": "boris-petrov", "service": "consultation", "start": start,
                      "name": "Guest Visitor", "phone": phone});
    app.send(
        Method::POST,
        &format!("/api/v1/delivery/sites/{site}/appointments"),
        None,
        Some(&body),
        &[],
    )
    .await
}

/// Books `start` as a guest; answers the appointment's id and its
/// confirmation job's.
async fn book_and_find_confirmation(
    app: &TestApp,
    token: &str,
    site: &str,
    start: &str,
) -> (String, String) {
    let booked = book(app, site, start, "+7 916 111-22-33").await.expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    let jobs = notification_jobs(app, token).await;
    let job = job_with_key(&jobs, &format!("notify:{id}:booked")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, job)
}

async fn notification_jobs(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/jobs?queue=notifications&limit=100", token)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn job_with_key<'a>(jobs: &'a [Value], key: &str) -> Option<&'a Value> {
    jobs.iter().find(|job| job["unique_key"] == key)
}

async fn wait_for_job(
    app: &TestApp,
    token: &str,
    id: &str,
    state: &str,
    within: Duration,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let job = app
            .get(&format!("/api/v1/jobs/{id}"), token)
            .await
            .expect(200)
            .body;
        if job["state"] == state {
            return job;
        }
        assert!(Instant::now() < deadline, "job never became {state}: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn worker_config(backoff: Duration) -> WorkerConfig {
    WorkerConfig {
        queues: vec![("notifications".to_owned(), 4)],
        lease: Duration::from_secs(2),
        poll: Duration::from_millis(20),
        backoff_base: backoff,
        cron: false,
    }
}

async fn start_worker(app: &TestApp, backoff: Duration) -> WorkerHandle {
    let mut config = app.config.clone();
    config.jobs_in_serve = false;
    let state = cms_api::app::build_state(config).await.unwrap();
    worker::start(state, Registry::standard(), worker_config(backoff))
}

/// Alpha's owner, with SMS.ru configured to a fresh fake provider.
async fn alpha_on_fake_sms_ru(app: &TestApp) -> (Session, FakeSms) {
    let owner = app.login(OWNER, Some("alpha")).await;
    let fake = FakeSms::start().await;
    configure_provider(
        app,
        &owner.access,
        "sms_ru",
        &fake,
        json!({"api_id": SECRET}),
    )
    .await
    .expect(200);
    (owner, fake)
}

async fn configure_provider(
    app: &TestApp,
    token: &str,
    kind: &str,
    fake: &FakeSms,
    credentials: Value,
) -> Reply {
    app.send(
        Method::PUT,
        &format!("/api/v1/notification-providers/{kind}"),
        Some(token),
        Some(&json!({"credentials": credentials, "base_url": fake.url, "sender": "Clinic"})),
        &[],
    )
    .await
}

/// No quiet hours for the tenant (equal ends): a test of retries must not
/// wait for the clinic's morning, whatever the time of day it runs at.
async fn without_quiet_hours(app: &TestApp, token: &str) {
    let current = app
        .get("/api/v1/notification-settings", token)
        .await
        .expect(200)
        .body;
    app.send(
        Method::PUT,
        "/api/v1/notification-settings",
        Some(token),
        Some(
            &json!({"reminder_offsets": current["reminder_offsets"], "quiet_start": "09:00",
                     "quiet_end": "09:00", "channels": current["channels"],
                     "locale": current["locale"], "staff_email": current["staff_email"]}),
        ),
        &[],
    )
    .await
    .expect(200);
}

fn jobs_off() -> HashMap<&'static str, String> {
    HashMap::from([
        ("CMS_JOBS", "off".to_owned()),
        ("CMS_BOOKING_LIMIT_PER_IP", "1000".to_owned()),
        // The fake providers and the SMTP server listen on loopback.
        ("CMS_OUTBOUND_ALLOW_HOSTS", "127.0.0.1/32".to_owned()),
    ])
}

async fn notifications_of(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/v1/notifications", token)
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_booking_enqueues_one_confirmation_in_its_transaction_and_a_failed_booking_none() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let jobs_before = app.count_rows("jobs");

    let booked = book(&app, &site, &free[0], "8 (916) 123-45-67")
        .await
        .expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    let starts_at: DateTime<Utc> = booked.body["starts_at"].as_str().unwrap().parse().unwrap();
    let jobs = notification_jobs(&app, &owner.access).await;
    let confirmations: Vec<&Value> = jobs
        .iter()
        .filter(|job| job["unique_key"] == format!("notify:{id}:booked"))
        .collect();
    assert_eq!(confirmations.len(), 1, "{jobs:?}");
    assert_eq!(confirmations[0]["kind"], "notification.send");
    assert_eq!(confirmations[0]["args"]["event"], "appointment.booked");
    // The confirmation and the two reminders, nothing else.
    assert_eq!(app.count_rows("jobs"), jobs_before + 3);

    // Reminders 24 h and 2 h before, moved out of quiet hours in Moscow.
    let quiet = QuietHours {
        start: chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        end: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    };
    for (label, hours) in [("24h", 24), ("2h", 2)] {
        let job = job_with_key(&jobs, &format!("reminder:{id}:{label}")).unwrap();
        let run_at: DateTime<Utc> = job["run_at"].as_str().unwrap().parse().unwrap();
        let expected = schedule::reminder_at(
            starts_at,
            chrono::Duration::hours(hours),
            chrono_tz::Europe::Moscow,
            quiet,
        );
        assert_eq!(run_at, expected, "{label}");
        assert!(run_at <= starts_at - chrono::Duration::hours(hours));
        let local = run_at.with_timezone(&chrono_tz::Europe::Moscow).time();
        assert!(!quiet.contains(local), "{label} at {local}");
    }

    // The slot taken (409) and a phone that is not a phone (422): no job,
    // no patient.
    let jobs_after = app.count_rows("jobs");
    let patients = app.count_rows("patients");
    book(&app, &site, &free[0], "+7 916 765-43-21")
        .await
        .expect_problem(409);
    let refused = book(&app, &site, &free[1], "+7 000 12")
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["phone"]);
    let refused = book(&app, &site, &free[1], "call me")
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["phone"]);
    assert_eq!(app.count_rows("jobs"), jobs_after);
    assert_eq!(app.count_rows("patients"), patients);

    // The phone was stored in E.164.
    assert_eq!(app.count_rows("patients WHERE phone = '+79161234567'"), 1);

    // Cancelling cancels the reminders and tells the patient.
    app.post(
        &format!("/api/v1/appointments/{id}/status"),
        &owner.access,
        json!({"status": "cancelled"}),
    )
    .await
    .expect(200);
    let jobs = notification_jobs(&app, &owner.access).await;
    for label in ["24h", "2h"] {
        assert_eq!(
            job_with_key(&jobs, &format!("reminder:{id}:{label}")).unwrap()["state"],
            "cancelled"
        );
    }
    assert_eq!(
        job_with_key(&jobs, &format!("notify:{id}:cancelled")).unwrap()["state"],
        "available"
    );
}

/// SMS.ru takes no idempotency id: an answer that comes after the client
/// gave up leaves the message `unknown` (it may have been sent). The queue
/// never sends it again; a person can, once, as a new message.
#[tokio::test]
async fn an_answer_after_the_timeout_is_unknown_never_resent_by_the_queue_and_staff_can_resend() {
    let mut overrides = jobs_off();
    overrides.insert("CMS_PROVIDER_TIMEOUT_MS", "1000".to_owned());
    let app = TestApp::spawn_with(overrides).await;
    let (owner, fake) = alpha_on_fake_sms_ru(&app).await;
    fake.set(|s| s.delay_next = Some(Duration::from_secs(3)));
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let (_, job) = book_and_find_confirmation(&app, &owner.access, &site, &free[0]).await;
    let discarded = wait_for_job(
        &app,
        &owner.access,
        &job,
        "discarded",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(discarded["attempt"], 1, "{discarded}");
    assert!(
        discarded["errors"]
            .to_string()
            .contains("may have been sent"),
        "{discarded}"
    );
    let log = notifications_of(&app, &owner.access).await;
    let message = log.iter().find(|n| n["job_id"] == job.as_str()).unwrap();
    assert_eq!(message["status"], "unknown", "{message}");
    // Past the late answer and many backoffs: still one request.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.received().len(), 1, "the queue asked again");

    let resent = app
        .post(
            &format!(
                "/api/v1/notifications/{}/resend",
                message["id"].as_str().unwrap()
            ),
            &owner.access,
            json!({}),
        )
        .await
        .expect(202);
    let new_job = resent.body["job_id"].as_str().unwrap().to_owned();
    assert_ne!(resent.body["id"], message["id"]);
    wait_for_job(
        &app,
        &owner.access,
        &new_job,
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(fake.received().len(), 2, "one request more");
    // The fake did send the late one: exactly why nothing resent it by itself.
    assert_eq!(fake.delivered().len(), 2, "the late one and the resend");
    // A message that was sent is not resent.
    app.post(
        &format!(
            "/api/v1/notifications/{}/resend",
            resent.body["id"].as_str().unwrap()
        ),
        &owner.access,
        json!({}),
    )
    .await
    .expect_problem(409);
    worker.shutdown(Duration::from_secs(2)).await;
}

/// A provider host that resolved to a public address when it was saved and
/// resolves to 127.0.0.1 when the message goes out is refused at send time
/// by the outbound guard: the (local) provider never hears of it.
#[tokio::test]
async fn a_provider_host_that_turns_local_after_saving_is_refused_at_send_time() {
    let hosts = HostsFile::new(&[("sms.test", "93.184.216.34")]);
    let mut overrides = jobs_off();
    overrides.insert("CMS_OUTBOUND_ALLOW_HOSTS", "sms.test".to_owned());
    overrides.insert("CMS_OUTBOUND_HOSTS_FILE", hosts.path());
    let app = TestApp::spawn_with(overrides).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let fake = FakeSms::start().await;
    let port = fake.url.rsplit(':').next().unwrap().to_owned();
    app.send(
        Method::PUT,
        "/api/v1/notification-providers/sms_ru",
        Some(&owner.access),
        Some(&json!({"credentials": {"api_id": SECRET},
                     "base_url": format!("http://sms.test:{port}"), "sender": "Clinic"})),
        &[],
    )
    .await
    .expect(200);
    hosts.set(&[("sms.test", "127.0.0.1")]);
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let worker = start_worker(&app, Duration::from_millis(100)).await;
    let (_, job) = book_and_find_confirmation(&app, &owner.access, &site, &free[0]).await;
    let discarded = wait_for_job(
        &app,
        &owner.access,
        &job,
        "discarded",
        Duration::from_secs(20),
    )
    .await;
    assert!(
        discarded["errors"].to_string().contains("127.0.0.1"),
        "{discarded}"
    );
    assert!(fake.received().is_empty(), "the provider was called");
    worker.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_failing_provider_is_retried_with_growing_delays_then_discarded_and_the_jobs_api_retries_it(
) {
    let app = TestApp::spawn_with(jobs_off()).await;
    let (owner, fake) = alpha_on_fake_sms_ru(&app).await;
    without_quiet_hours(&app, &owner.access).await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;

    // Three failures, then success: one message, after growing delays.
    fake.set(|s| s.fail_next = 3);
    let worker = start_worker(&app, Duration::from_millis(100)).await;
    let (id, job) = book_and_find_confirmation(&app, &owner.access, &site, &free[0]).await;
    let done = wait_for_job(
        &app,
        &owner.access,
        &job,
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(done["attempt"], 4);
    assert_eq!(done["errors"].as_array().unwrap().len(), 3);
    assert!(done["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("SMS.ru 220"));
    let received = fake.received();
    assert_eq!(received.len(), 4);
    assert_eq!(fake.delivered().len(), 1, "one message");
    let gaps: Vec<Duration> = received.windows(2).map(|w| w[1].at - w[0].at).collect();
    // 100, 200 and 400 ms, each ±25%: every gap is at least its delay's
    // floor (comparing jittered gaps with each other is flaky under load).
    for (gap, floor_ms) in gaps.iter().zip([75, 150, 300]) {
        assert!(*gap >= Duration::from_millis(floor_ms), "{gaps:?}");
    }
    let sent = &received[3];
    assert_eq!(sent.path, "/sms/send");
    assert_eq!(sent.params["api_id"], SECRET);
    assert_eq!(sent.params["to"], "79161112233");
    assert_eq!(sent.params["json"], "1");
    assert!(
        sent.params["msg"].contains("Guest Visitor"),
        "{:?}",
        sent.params
    );
    let log = notifications_of(&app, &owner.access).await;
    let row = log.iter().find(|n| n["job_id"] == job.as_str()).unwrap();
    assert_eq!(row["status"], "sent");
    assert_eq!(row["provider_message_id"], "000000-1");
    assert_eq!(row["recipient"], "+79161112233");
    worker.shutdown(Duration::from_secs(2)).await;

    // Failing always: discarded with its errors (fast backoff to get there).
    fake.set(|s| s.fail_always = true);
    let worker = start_worker(&app, Duration::from_millis(2)).await;
    app.post(
        &format!("/api/v1/appointments/{id}/status"),
        &owner.access,
        json!({"status": "cancelled"}),
    )
    .await
    .expect(200);
    let jobs = notification_jobs(&app, &owner.access).await;
    let doomed = job_with_key(&jobs, &format!("notify:{id}:cancelled")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let discarded = wait_for_job(
        &app,
        &owner.access,
        &doomed,
        "discarded",
        Duration::from_secs(30),
    )
    .await;
    let attempts = discarded["max_attempts"].as_i64().unwrap();
    assert_eq!(
        discarded["errors"].as_array().unwrap().len() as i64,
        attempts
    );
    assert_eq!(fake.delivered().len(), 1);

    // The provider is back: the jobs api's retry sends it, once.
    fake.set(|s| s.fail_always = false);
    app.post(
        &format!("/api/v1/jobs/{doomed}/retry"),
        &owner.access,
        json!({}),
    )
    .await
    .expect(200);
    wait_for_job(
        &app,
        &owner.access,
        &doomed,
        "completed",
        Duration::from_secs(10),
    )
    .await;
    let delivered = fake.delivered();
    assert_eq!(delivered.len(), 2);
    assert!(
        delivered[1].params["msg"].contains("отменена"),
        "{:?}",
        delivered[1].params
    );
    worker.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_retry_that_would_land_in_the_patients_quiet_hours_waits_for_their_end() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let (owner, fake) = alpha_on_fake_sms_ru(&app).await;
    // Quiet hours from an hour ago to three hours from now, in the zone of
    // the clinic the visit is booked at.
    let zone: chrono_tz::Tz = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Zone {
            #[diesel(sql_type = diesel::sql_types::Text)]
            time_zone: String,
        }
        diesel::sql_query(
            "SELECT c.time_zone FROM clinics c JOIN tenants t ON t.id = c.tenant_id
             WHERE t.slug = 'alpha' GROUP BY c.time_zone",
        )
        .load::<Zone>(&mut app.admin_connection())
        .unwrap()
        .into_iter()
        .map(|zone| zone.time_zone.parse().unwrap())
        .collect::<Vec<_>>()
        .pop()
        .unwrap()
    };
    let local_now = Utc::now().with_timezone(&zone);
    let (start, end) = (
        local_now - chrono::Duration::hours(1),
        local_now + chrono::Duration::hours(3),
    );
    app.send(
        Method::PUT,
        "/api/v1/notification-settings",
        Some(&owner.access),
        Some(&json!({"reminder_offsets": [1440], "quiet_start": start.format("%H:%M").to_string(),
                     "quiet_end": end.format("%H:%M").to_string(), "channels": ["sms"], "locale": "en"})),
        &[],
    )
    .await
    .expect(200);
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    // The first attempt fails; the next one would come 100 ms later.
    fake.set(|s| s.fail_next = 1);
    let worker = start_worker(&app, Duration::from_millis(100)).await;
    let (_, job) = book_and_find_confirmation(&app, &owner.access, &site, &free[0]).await;
    let waiting = wait_for_job(
        &app,
        &owner.access,
        &job,
        "retryable",
        Duration::from_secs(20),
    )
    .await;
    let run_at: DateTime<Utc> = waiting["run_at"].as_str().unwrap().parse().unwrap();
    let quiet_end = end.with_second(0).unwrap().with_nanosecond(0).unwrap();
    assert!(
        (run_at - quiet_end.with_timezone(&Utc)).num_seconds().abs() < 5,
        "the retry is due at {run_at}, the quiet hours end at {quiet_end}"
    );
    assert!(waiting["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("end of the quiet hours"));
    assert_eq!(fake.received().len(), 1, "nothing was sent again at night");
    worker.shutdown(Duration::from_secs(2)).await;
}

/// What a worker process killed during a provider call left behind.
struct KilledMidSend {
    app: TestApp,
    owner: Session,
    fake: FakeSms,
    /// The confirmation's job, found `running` after the kill.
    job_id: String,
    /// Everything the killed worker logged (at `debug`).
    log: String,
}

/// Books a visit with `kind` as the SMS provider (its first call hanging for
/// 5 s) and SIGKILLs the `api worker` process that runs the confirmation
/// while the provider is answering.
async fn kill_a_worker_mid_send(kind: &str, credentials: Value) -> KilledMidSend {
    let app = TestApp::spawn_with(jobs_off()).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let fake = FakeSms::start().await;
    configure_provider(&app, &owner.access, kind, &fake, credentials)
        .await
        .expect(200);
    fake.set(|s| s.delay_next = Some(Duration::from_secs(5)));

    let log_path = std::env::temp_dir().join(format!("cms-worker-{}.log", uuid::Uuid::now_v7()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = std::process::Command::new(api_binary())
        .arg("worker")
        .env("DATABASE_URL", app.db.app_url())
        .env("CMS_OUTBOUND_ALLOW_HOSTS", "127.0.0.1/32")
        .env("CMS_SECRETS_KEY", &*cms_tests::TEST_SECRETS_KEY)
        .env("REDIS_URL", redis_url())
        .env(
            "CMS_REDIS_PREFIX",
            format!("test:{}:", uuid::Uuid::now_v7().simple()),
        )
        .env(
            "CMS_JWT_PRIVATE_KEY",
            cms_api::auth::tokens::SigningKey::generate_pem().unwrap(),
        )
        .env("CMS_JOB_QUEUES", "notifications=2")
        .env("CMS_JOB_LEASE_SECS", "2")
        .env("CMS_JOB_POLL_MS", "100")
        .env("CMS_JOB_BACKOFF_MS", "50")
        .env("RUST_LOG", "debug")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let booked = book(&app, &site, &free[0], "+7 916 222-33-44")
        .await
        .expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the worker process never called the provider"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL while the provider is still answering.
    child.kill().unwrap();
    child.wait().unwrap();
    let jobs = notification_jobs(&app, &owner.access).await;
    let job = job_with_key(&jobs, &format!("notify:{id}:booked"))
        .unwrap()
        .clone();
    assert_eq!(job["state"], "running");
    let output = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    KilledMidSend {
        job_id: job["id"].as_str().unwrap().to_owned(),
        app,
        owner,
        fake,
        log: output,
    }
}

#[tokio::test]
async fn a_worker_killed_mid_send_is_rescued_and_the_message_goes_out_once() {
    let KilledMidSend {
        app,
        owner,
        fake,
        job_id,
        log,
    } = kill_a_worker_mid_send("smsc", json!({"login": "clinic", "password": SECRET})).await;

    // Another worker rescues it after the lease and completes it: SMSC takes
    // our idempotency id, so sending again cannot send twice.
    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let done = wait_for_job(
        &app,
        &owner.access,
        &job_id,
        "completed",
        Duration::from_secs(20),
    )
    .await;
    assert!(done["attempt"].as_i64().unwrap() >= 2, "{done}");
    worker.shutdown(Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    let received = fake.received();
    assert_eq!(received.len(), 2, "the lost call and the rescued one");
    assert!(received.iter().all(|r| r.path == "/sys/send.php"));
    assert_eq!(
        received[0].params["id"], received[1].params["id"],
        "one idempotency id"
    );
    assert_eq!(received[0].params["fmt"], "3");
    assert_eq!(received[0].params["phones"], "+79162223344");
    assert_eq!(
        fake.delivered().len(),
        1,
        "the provider sent the message once"
    );
    let log_rows = notifications_of(&app, &owner.access).await;
    let rows: Vec<&Value> = log_rows
        .iter()
        .filter(|n| n["job_id"] == job_id.as_str())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "sent");
    assert_eq!(rows[0]["provider_message_id"], "1");

    // The worker's log lines never held the credentials.
    assert!(log.contains("job"), "the worker logged: {log}");
    assert!(!log.contains(SECRET), "{log}");
}

#[tokio::test]
async fn a_worker_killed_mid_send_to_a_provider_without_idempotency_never_sends_twice() {
    let KilledMidSend {
        app,
        owner,
        fake,
        job_id,
        log,
    } = kill_a_worker_mid_send("sms_ru", json!({"api_id": SECRET})).await;

    // SMS.ru takes no idempotency id and may have sent the message: the
    // rescued job is discarded with the reason rather than sent again.
    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let discarded = wait_for_job(
        &app,
        &owner.access,
        &job_id,
        "discarded",
        Duration::from_secs(20),
    )
    .await;
    worker.shutdown(Duration::from_secs(2)).await;
    let errors = discarded["errors"].to_string();
    assert!(errors.contains("may have sent"), "{discarded}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fake.received().len(), 1, "called once, never again");
    let log_rows = notifications_of(&app, &owner.access).await;
    let row = log_rows
        .iter()
        .find(|n| n["job_id"] == job_id.as_str())
        .unwrap();
    assert_eq!(row["status"], "failed");
    assert!(row["error"].as_str().unwrap().contains("may have sent"));
    assert!(!log.contains(SECRET), "{log}");
}

#[tokio::test]
async fn tenants_see_only_their_own_templates_providers_and_messages_and_credentials_never_show() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let alpha = app.login(OWNER, Some("alpha")).await;
    let beta = app.login(OWNER, Some("beta")).await;
    let fake = FakeSms::start().await;

    let configured = configure_provider(
        &app,
        &alpha.access,
        "smsaero",
        &fake,
        json!({"email": "ops@alpha.example", "api_key": SECRET}),
    )
    .await
    .expect(200);
    assert_eq!(configured.body["kind"], "smsaero");
    assert_eq!(configured.body["credentials_set"], true);
    assert!(!configured.text.contains(SECRET));
    // Stored sealed: the secret is not in the table in the clear.
    assert_eq!(
        app.count_rows(&format!(
            "notification_providers WHERE position(convert_to('{SECRET}', 'UTF8') in ciphertext) > 0"
        )),
        0
    );

    let template = json!({"event": "appointment.booked", "channel": "sms", "locale": "ru",
                          "body": "ALPHA {{ patient_name }} {{ starts_at }}"});
    app.send(
        Method::PUT,
        "/api/v1/notification-templates",
        Some(&alpha.access),
        Some(&template),
        &[],
    )
    .await
    .expect(200);

    // A booking sends through alpha's provider with alpha's template.
    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    book(&app, &site, &free[0], "+7 916 333-44-55")
        .await
        .expect(201);
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.delivered().is_empty() {
        assert!(Instant::now() < deadline, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.shutdown(Duration::from_secs(2)).await;
    let sent = &fake.delivered()[0];
    assert_eq!(sent.path, "/v2/sms/send");
    assert!(
        sent.params["text"].starts_with("ALPHA Guest Visitor"),
        "{:?}",
        sent.params
    );
    assert_eq!(sent.params["number"], "79163334455");
    assert!(sent.params["authorization"].starts_with("Basic "));

    // Alpha sees its own; beta sees none of it.
    let mine = app
        .get("/api/v1/notification-providers", &alpha.access)
        .await
        .expect(200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(notifications_of(&app, &alpha.access).await.len(), 1);
    let theirs = app
        .get("/api/v1/notification-providers", &beta.access)
        .await
        .expect(200);
    assert_eq!(theirs.body["items"], json!([]));
    assert_eq!(
        notifications_of(&app, &beta.access).await,
        Vec::<Value>::new()
    );
    let templates = app
        .get("/api/v1/notification-templates", &beta.access)
        .await
        .expect(200);
    assert!(!templates.text.contains("ALPHA"), "{}", templates.text);
    let templates = app
        .get("/api/v1/notification-templates", &alpha.access)
        .await
        .expect(200);
    assert!(templates.text.contains("ALPHA"));

    // No answer holds the credentials: providers, log, audit, jobs.
    for path in [
        "/api/v1/notification-providers",
        "/api/v1/notifications",
        "/api/v1/audit-log",
        "/api/v1/jobs",
        "/api/v1/notification-settings",
    ] {
        let reply = app.get(path, &alpha.access).await.expect(200);
        assert!(!reply.text.contains(SECRET), "{path}: {}", reply.text);
    }
    // Editors may not read or change any of it.
    let editor = app.login(ALPHA_EDITOR, None).await;
    app.get("/api/v1/notification-providers", &editor.access)
        .await
        .expect_problem(403);
}

#[tokio::test]
async fn bad_templates_and_settings_answer_422_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let before = app.count_rows("notification_templates");
    let cases = [
        (
            json!({"event": "appointment.booked", "channel": "sms", "locale": "ru", "body": "Hi {{ name"}),
            "body",
        ),
        (
            json!({"event": "appointment.booked", "channel": "sms", "locale": "ru", "body": "{% if %}"}),
            "body",
        ),
        (
            json!({"event": "nope", "channel": "sms", "locale": "ru", "body": "x"}),
            "event",
        ),
        (
            json!({"event": "appointment.booked", "channel": "fax", "locale": "ru", "body": "x"}),
            "channel",
        ),
    ];
    for (body, field) in cases {
        let reply = app
            .send(
                Method::PUT,
                "/api/v1/notification-templates",
                Some(&owner.access),
                Some(&body),
                &[],
            )
            .await
            .expect_problem(422);
        assert_eq!(reply.error_fields(), vec![field], "{body}");
    }
    assert_eq!(app.count_rows("notification_templates"), before);

    let preview = app
        .post(
            "/api/v1/notification-templates/preview",
            &owner.access,
            json!({"body": "{{ patient_name }}: {{ starts_at }}"}),
        )
        .await
        .expect(200);
    assert_eq!(preview.body["body"], "Анна Иванова: 10.12.2026 15:00");
    app.post(
        "/api/v1/notification-templates/preview",
        &owner.access,
        json!({"body": "{{ oops"}),
    )
    .await
    .expect_problem(422);

    let settings = app
        .get("/api/v1/notification-settings", &owner.access)
        .await
        .expect(200);
    assert_eq!(settings.body["reminder_offsets"], json!([1440, 120]));
    let bad = app
        .send(
            Method::PUT,
            "/api/v1/notification-settings",
            Some(&owner.access),
            Some(
                &json!({"reminder_offsets": [1], "quiet_start": "25:00", "quiet_end": "09:00",
                         "channels": ["sms"], "locale": "ru"}),
            ),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(bad.error_fields(), vec!["reminder_offsets", "quiet_start"]);
    assert_eq!(app.count_rows("notification_settings"), 0);
    let unknown = HashSet::from(["fax"]);
    for kind in unknown {
        app.send(
            Method::PUT,
            &format!("/api/v1/notification-providers/{kind}"),
            Some(&owner.access),
            Some(&json!({"credentials": {}})),
            &[],
        )
        .await
        .expect_problem(404);
    }
    let missing = app
        .send(
            Method::PUT,
            "/api/v1/notification-providers/sms_ru",
            Some(&owner.access),
            Some(&json!({"credentials": {}})),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(missing.error_fields(), vec!["credentials.api_id"]);
    let smtp = app
        .send(
            Method::PUT,
            "/api/v1/notification-providers/smtp",
            Some(&owner.access),
            Some(
                &json!({"credentials": {}, "base_url": "smtp://mail.example.com?tls=sometimes",
                         "sender": "clinic@alpha.example"}),
            ),
            &[],
        )
        .await
        .expect_problem(422);
    assert_eq!(smtp.error_fields(), vec!["base_url"]);
    // A login never travels in the clear, nor sits in the (answered) URL.
    for (base_url, credentials) in [
        (
            "smtp://127.0.0.1:2525",
            json!({"username": "clinic", "password": SECRET}),
        ),
        (
            "smtp://mail.example.com?tls=opportunistic",
            json!({"username": "clinic", "password": SECRET}),
        ),
        ("smtps://clinic:hunter2@mail.example.com", json!({})),
    ] {
        let refused = app
            .send(
                Method::PUT,
                "/api/v1/notification-providers/smtp",
                Some(&owner.access),
                Some(&json!({"credentials": credentials, "base_url": base_url,
                             "sender": "clinic@alpha.example"})),
                &[],
            )
            .await
            .expect_problem(422);
        assert_eq!(refused.error_fields(), vec!["base_url"], "{base_url}");
        assert!(!refused.text.contains(SECRET));
    }
    assert_eq!(app.count_rows("notification_providers"), 0);
}

#[tokio::test]
async fn rescheduling_moves_the_reminders_and_tells_the_patient() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let booked = book(&app, &site, &free[0], "+7 916 444-55-66")
        .await
        .expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    let before = notification_jobs(&app, &owner.access).await;
    let jobs_before = app.count_rows("jobs");

    let target = free.last().unwrap().clone();
    let moved = app
        .post(
            &format!("/api/v1/appointments/{id}/reschedule"),
            &owner.access,
            json!({"start": target}),
        )
        .await
        .expect(200);
    let starts_at: DateTime<Utc> = moved.body["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(starts_at, target.parse::<DateTime<Utc>>().unwrap());
    let after = notification_jobs(&app, &owner.access).await;
    let quiet = QuietHours {
        start: chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
        end: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    };
    for (label, hours) in [("24h", 24), ("2h", 2)] {
        let key = format!("reminder:{id}:{label}");
        let old = job_with_key(&before, &key).unwrap();
        let new = job_with_key(&after, &key).unwrap();
        assert_eq!(old["id"], new["id"], "moved, not doubled");
        let run_at: DateTime<Utc> = new["run_at"].as_str().unwrap().parse().unwrap();
        let expected = schedule::reminder_at(
            starts_at,
            chrono::Duration::hours(hours),
            chrono_tz::Europe::Moscow,
            quiet,
        );
        assert_eq!(run_at, expected, "{label}");
    }
    assert_ne!(
        job_with_key(&before, &format!("reminder:{id}:24h")).unwrap()["run_at"],
        job_with_key(&after, &format!("reminder:{id}:24h")).unwrap()["run_at"]
    );
    let told: Vec<&Value> = after
        .iter()
        .filter(|job| job["args"]["event"] == "appointment.rescheduled")
        .collect();
    assert_eq!(told.len(), 1);
    // One job more: the rescheduling message; the reminders moved.
    assert_eq!(app.count_rows("jobs"), jobs_before + 1);

    // A reminder that already went out is due again for the new time: the
    // sent one keeps its row (key suffixed), a new one takes the key.
    let sent_id = job_with_key(&after, &format!("reminder:{id}:24h")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE jobs SET state = 'completed', finished_at = now() WHERE id = $1::uuid",
        )
        .bind::<diesel::sql_types::Text, _>(&sent_id)
        .execute(&mut app.admin_connection())
        .unwrap();
    }
    let again = free[2].clone();
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &owner.access,
        json!({"start": again}),
    )
    .await
    .expect(200);
    let later = notification_jobs(&app, &owner.access).await;
    let fresh = job_with_key(&later, &format!("reminder:{id}:24h")).unwrap();
    assert_ne!(
        fresh["id"],
        sent_id.as_str(),
        "a new reminder for the new time"
    );
    assert_eq!(fresh["state"], "available");
    let expected = schedule::reminder_at(
        again.parse().unwrap(),
        chrono::Duration::hours(24),
        chrono_tz::Europe::Moscow,
        quiet,
    );
    assert_eq!(
        fresh["run_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        expected
    );
    let kept = job_with_key(&later, &format!("reminder:{id}:24h~{sent_id}")).unwrap();
    assert_eq!(kept["state"], "completed");
    // The 2 h reminder had not run: it moved rather than doubled.
    let running_id = job_with_key(&later, &format!("reminder:{id}:2h")).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        running_id,
        job_with_key(&after, &format!("reminder:{id}:2h")).unwrap()["id"]
            .as_str()
            .unwrap()
    );
    // One being sent while the visit moves is replaced too: it finishes
    // under its lease, a new one takes the key for the new time.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "UPDATE jobs SET state = 'running', attempt = 1, lease_owner = gen_random_uuid(), claim_token = gen_random_uuid(),
                    lease_expires_at = now() + interval '1 minute' WHERE id = $1::uuid",
        )
        .bind::<diesel::sql_types::Text, _>(&running_id)
        .execute(&mut app.admin_connection())
        .unwrap();
    }
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &owner.access,
        json!({"start": free[3]}),
    )
    .await
    .expect(200);
    let last = notification_jobs(&app, &owner.access).await;
    let replaced = job_with_key(&last, &format!("reminder:{id}:2h")).unwrap();
    assert_ne!(replaced["id"], running_id.as_str());
    assert_eq!(replaced["state"], "available");
    let still_running = job_with_key(&last, &format!("reminder:{id}:2h~{running_id}")).unwrap();
    assert_eq!(still_running["state"], "running");

    // A taken or unscheduled time is refused and moves nothing.
    let other = book(&app, &site, &free[1], "+7 916 444-55-67")
        .await
        .expect(201);
    let other_start = other.body["starts_at"].as_str().unwrap().to_owned();
    let jobs_now = app.count_rows("jobs");
    app.post(
        &format!("/api/v1/appointments/{id}/reschedule"),
        &owner.access,
        json!({"start": other_start}),
    )
    .await
    .expect_problem(409);
    assert_eq!(app.count_rows("jobs"), jobs_now);
}

#[tokio::test]
async fn a_lead_emails_the_staff_address_over_smtp() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let owner = app.login(OWNER, Some("alpha")).await;
    let smtp = SmtpServer::start().await;
    app.send(
        Method::PUT,
        "/api/v1/notification-providers/smtp",
        Some(&owner.access),
        Some(
            &json!({"credentials": {}, "base_url": format!("smtp://127.0.0.1:{}", smtp.port),
                     "sender": "clinic@alpha.example"}),
        ),
        &[],
    )
    .await
    .expect(200);
    app.send(
        Method::PUT,
        "/api/v1/notification-settings",
        Some(&owner.access),
        Some(&json!({"reminder_offsets": [1440, 120], "quiet_start": "21:00", "quiet_end": "09:00",
                     "channels": ["sms", "email"], "locale": "en", "staff_email": "staff@alpha.example"})),
        &[],
    )
    .await
    .expect(200);

    let site = site_of(&app, ALPHA_HOST).await;
    let jobs_before = app.count_rows("jobs");
    app.send(
        Method::POST,
        &format!("/api/v1/delivery/sites/{site}/leads"),
        None,
        Some(
            &json!({"path": "/", "fields": {"name": "Ann Lead", "phone": "+7 (900) 123-45-67",
                                            "comment": "Call me after five"}}),
        ),
        &[],
    )
    .await
    .expect(201);
    assert_eq!(app.count_rows("jobs"), jobs_before + 1, "one staff message");

    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let log = notifications_of(&app, &owner.access).await;
        if let Some(row) = log.iter().find(|n| n["status"] == "sent") {
            break row.clone();
        }
        assert!(Instant::now() < deadline, "no email went out: {log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    worker.shutdown(Duration::from_secs(2)).await;
    assert_eq!(row["channel"], "email");
    assert_eq!(row["event"], "lead.received");
    assert_eq!(row["recipient"], "staff@alpha.example");
    assert!(row["provider_message_id"]
        .as_str()
        .unwrap()
        .ends_with("@cms>"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !smtp.received().contains("Call me after five") {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd got: {}",
            smtp.received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = smtp.received();
    assert!(received.contains("Subject: New lead"), "{received}");
    assert!(received.contains("To: staff@alpha.example"), "{received}");
    assert!(
        received.contains("New lead: Ann Lead +7 (900) 123-45-67"),
        "{received}"
    );

    // A patient's review waits for moderation: the staff are told too, once.
    let patient = app.login("patient@alpha.example", None).await;
    let doctors = app
        .get("/api/v1/doctors?limit=200", &owner.access)
        .await
        .expect(200);
    let doctor = doctors.body["items"][0]["id"].clone();
    let jobs_before = app.count_rows("jobs");
    app.post(
        "/api/v1/reviews",
        &patient.access,
        json!({"doctor_id": doctor, "rating": 2, "comment": "Waited an hour"}),
    )
    .await
    .expect(201);
    assert_eq!(app.count_rows("jobs"), jobs_before + 1, "one staff message");
    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !smtp.received().contains("Waited an hour") {
        assert!(
            Instant::now() < deadline,
            "aiosmtpd got: {}",
            smtp.received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.shutdown(Duration::from_secs(2)).await;
    let received = smtp.received();
    assert!(
        received.contains("Subject: Review awaiting moderation"),
        "{received}"
    );
    assert!(
        received.contains("A new review awaits moderation: Maria Patient (2): Waited an hour"),
        "{received}"
    );
    let log = notifications_of(&app, &owner.access).await;
    let review_rows: Vec<&Value> = log
        .iter()
        .filter(|n| n["event"] == "review.pending")
        .collect();
    assert_eq!(review_rows.len(), 1);
    assert_eq!(review_rows[0]["status"], "sent");
    assert_eq!(review_rows[0]["recipient"], "staff@alpha.example");
}

#[tokio::test]
async fn patients_who_opted_out_get_essential_messages_but_no_reminders() {
    let (log, fake) = book_and_run_the_reminders(true).await;
    let by_event =
        |event: &str| -> Vec<&Value> { log.iter().filter(|n| n["event"] == event).collect() };
    assert_eq!(by_event("appointment.booked")[0]["status"], "sent");
    let reminders = by_event("appointment.reminder");
    assert_eq!(reminders.len(), 2);
    for reminder in reminders {
        assert_eq!(reminder["status"], "skipped");
        assert!(reminder["error"].as_str().unwrap().contains("opted out"));
    }
    assert_eq!(fake.delivered().len(), 1, "only the confirmation");
}

/// A patient who did not opt out gets the confirmation and both reminders,
/// end to end through the provider.
#[tokio::test]
async fn a_patient_who_did_not_opt_out_gets_both_reminders() {
    let (log, fake) = book_and_run_the_reminders(false).await;
    let reminders: Vec<&Value> = log
        .iter()
        .filter(|n| n["event"] == "appointment.reminder")
        .collect();
    assert_eq!(reminders.len(), 2);
    for reminder in reminders {
        assert_eq!(reminder["status"], "sent", "{reminder}");
        assert_eq!(reminder["recipient"], "+79165556677");
    }
    assert_eq!(
        fake.delivered().len(),
        3,
        "the confirmation and two reminders"
    );
}

/// Books a visit for +7 916 555-66-77 (opted out of reminders or not), makes
/// its reminders due now and runs the worker until its three jobs are done;
/// answers the notification log and the fake provider.
async fn book_and_run_the_reminders(opt_out: bool) -> (Vec<Value>, FakeSms) {
    use diesel::RunQueryDsl;
    let app = TestApp::spawn_with(jobs_off()).await;
    let (owner, fake) = alpha_on_fake_sms_ru(&app).await;
    let site = site_of(&app, ALPHA_HOST).await;
    let free = free_slots(&app, &site, working_day()).await;
    let booked = book(&app, &site, &free[0], "+7 916 555-66-77")
        .await
        .expect(201);
    let id = booked.body["id"].as_str().unwrap().to_owned();
    let mut admin = app.admin_connection();
    diesel::sql_query(format!(
        "UPDATE patients SET notifications_opt_out = {opt_out} WHERE phone = '+79165556677'"
    ))
    .execute(&mut admin)
    .unwrap();
    // This appointment's reminders are due now (not the demo visits').
    diesel::sql_query(format!(
        "UPDATE jobs SET run_at = now() WHERE unique_key LIKE 'reminder:{id}:%'"
    ))
    .execute(&mut admin)
    .unwrap();

    let worker = start_worker(&app, Duration::from_millis(50)).await;
    let keys = [
        format!("notify:{id}:booked"),
        format!("reminder:{id}:24h"),
        format!("reminder:{id}:2h"),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = notification_jobs(&app, &owner.access).await;
        let done = keys
            .iter()
            .all(|key| job_with_key(&jobs, key).is_some_and(|job| job["state"] == "completed"));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "{jobs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.shutdown(Duration::from_secs(2)).await;
    (notifications_of(&app, &owner.access).await, fake)
}

#[tokio::test]
async fn a_patient_opts_out_of_reminders_on_their_profile() {
    let app = TestApp::spawn_with(jobs_off()).await;
    let patient = app.login("patient@alpha.example", Some("alpha")).await;
    let profile = app
        .get("/api/v1/patients/me", &patient.access)
        .await
        .expect(200);
    assert_eq!(profile.body["notifications_opt_out"], false);
    let name = profile.body["name"].as_str().unwrap().to_owned();
    let phone = profile.body["phone"].as_str().unwrap().to_owned();
    let saved = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/patients/me",
            Some(&patient.access),
            Some(&json!({"name": name, "phone": phone, "notifications_opt_out": true})),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(saved.body["notifications_opt_out"], true);
    // A later save without the field leaves the choice as it is.
    let kept = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/patients/me",
            Some(&patient.access),
            Some(&json!({"name": name, "phone": phone})),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(kept.body["notifications_opt_out"], true);
    let mut admin = app.admin_connection();
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct OptOut {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        notifications_opt_out: bool,
    }
    let stored: OptOut =
        diesel::sql_query("SELECT notifications_opt_out FROM patients WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(
                profile.body["id"]
                    .as_str()
                    .unwrap()
                    .parse::<uuid::Uuid>()
                    .unwrap(),
            )
            .get_result(&mut admin)
            .unwrap();
    assert!(stored.notifications_opt_out);
}
