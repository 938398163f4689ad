//! Clinic demo data for `make run` and the tests: two clinics, specializations,
//! a category tree, services, ten doctors with weekly schedules (a lunch
//! break, Saturday mornings), patients, appointments and reviews. Skipped
//! when the tenant already has clinics, so seeding twice changes nothing.

use chrono::{Datelike, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::db::appointments::{self, Appointment, AppointmentStatus, Patient, PaymentStatus};
use crate::db::clinics::{self, Clinic, Specialization};
use crate::db::doctors::{self, DoctorRow, ScheduleShift};
use crate::db::reviews::{self, Review};
use crate::db::schema::clinics as clinics_table;
use crate::db::services::{self, ServiceCategory, ServiceRow};
use crate::error::ApiError;

/// Accounts the demo links to clinic records.
pub struct DemoPeople {
    /// Linked to the first doctor (role `doctor`).
    pub doctor_user: Uuid,
    /// Patients with profiles (role `patient`), in order.
    pub patient_users: Vec<(Uuid, &'static str, &'static str)>,
}

fn time(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

const DOCTOR_NAMES: [(&str, &str, usize); 10] = [
    ("anna-ivanova", "Dr. Anna Ivanova", 0),
    ("boris-petrov", "Dr. Boris Petrov", 0),
    ("clara-smirnova", "Dr. Clara Smirnova", 1),
    ("denis-kuznetsov", "Dr. Denis Kuznetsov", 1),
    ("elena-popova", "Dr. Elena Popova", 2),
    ("fedor-sokolov", "Dr. Fedor Sokolov", 2),
    ("galina-lebedeva", "Dr. Galina Lebedeva", 3),
    ("igor-kozlov", "Dr. Igor Kozlov", 3),
    ("julia-novikova", "Dr. Julia Novikova", 0),
    ("kirill-morozov", "Dr. Kirill Morozov", 1),
];

pub fn seed(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    time_zone: &str,
    people: &DemoPeople,
) -> Result<bool, ApiError> {
    let existing: i64 = clinics_table::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(false);
    }
    let now = Utc::now();
    let clinic = |slug: &str, name: &str, address: &str, lat: f64, lon: f64| Clinic {
        id: Uuid::now_v7(),
        tenant_id,
        slug: slug.into(),
        name: name.into(),
        address: address.into(),
        phone: "+74951234567".into(),
        email: "hello@clinic.example".into(),
        working_hours: json!({"mon-fri": [["08:00", "20:00"]], "sat": [["09:00", "15:00"]]}),
        latitude: Some(lat),
        longitude: Some(lon),
        time_zone: time_zone.into(),
        is_active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let central = clinics::insert(
        conn,
        &clinic(
            "central",
            "Central Clinic",
            "1 Tverskaya St",
            55.7601,
            37.6186,
        ),
    )?;
    let north = clinics::insert(
        conn,
        &clinic(
            "north",
            "North Clinic",
            "12 Leningradsky Ave",
            55.8017,
            37.5312,
        ),
    )?;
    let specializations: Vec<Specialization> = [
        ("cardiology", "Cardiology", "heart"),
        ("dentistry", "Dentistry", "tooth"),
        ("pediatrics", "Pediatrics", "child"),
        ("neurology", "Neurology", "brain"),
    ]
    .iter()
    .map(|(slug, name, icon)| {
        clinics::insert_specialization(
            conn,
            &Specialization {
                id: Uuid::now_v7(),
                tenant_id,
                slug: (*slug).into(),
                name: (*name).into(),
                description: String::new(),
                icon: (*icon).into(),
                created_at: now,
                version: 1,
            },
        )
    })
    .collect::<Result<_, _>>()?;
    let category = |slug: &str, name: &str, parent: Option<Uuid>, position: i32| ServiceCategory {
        id: Uuid::now_v7(),
        tenant_id,
        parent_id: parent,
        slug: slug.into(),
        name: name.into(),
        position,
        created_at: now,
        version: 1,
    };
    let consultations =
        services::insert_category(conn, &category("consultations", "Consultations", None, 0))?;
    let diagnostics =
        services::insert_category(conn, &category("diagnostics", "Diagnostics", None, 1))?;
    let ultrasound = services::insert_category(
        conn,
        &category("ultrasound", "Ultrasound", Some(diagnostics.id), 0),
    )?;
    let both = [central.id, north.id];
    let service = |slug: &str, name: &str, category: Uuid, price: i64, minutes: i32| ServiceRow {
        id: Uuid::now_v7(),
        tenant_id,
        category_id: category,
        slug: slug.into(),
        name: name.into(),
        description: format!("{name} at our clinics."),
        price_minor: price,
        currency: "RUB".into(),
        duration_minutes: minutes,
        preparation: String::new(),
        is_active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let consultation = services::insert(
        conn,
        &service(
            "consultation",
            "Consultation",
            consultations.id,
            250_000,
            30,
        ),
        &both,
    )?;
    let ecg = services::insert(
        conn,
        &service("ecg", "ECG", diagnostics.id, 150_000, 20),
        &both,
    )?;
    let heart_echo = services::insert(
        conn,
        &service(
            "heart-ultrasound",
            "Heart ultrasound",
            ultrasound.id,
            400_000,
            45,
        ),
        &[central.id],
    )?;
    let cleaning = services::insert(
        conn,
        &service(
            "dental-cleaning",
            "Dental cleaning",
            consultations.id,
            350_000,
            60,
        ),
        &both,
    )?;
    let mut doctor_ids = Vec::new();
    for (index, (slug, name, specialization)) in DOCTOR_NAMES.iter().enumerate() {
        let clinic_ids = if index % 3 == 2 {
            vec![north.id]
        } else {
            vec![central.id, north.id]
        };
        let mut service_ids = vec![consultation.id];
        match specialization {
            0 => service_ids.extend([ecg.id, heart_echo.id]),
            1 => service_ids.push(cleaning.id),
            _ => {}
        }
        let doctor = doctors::insert(
            conn,
            &DoctorRow {
                id: Uuid::now_v7(),
                tenant_id,
                user_id: (index == 0).then_some(people.doctor_user),
                specialization_id: specializations[*specialization].id,
                slug: (*slug).into(),
                name: (*name).into(),
                photo: Some("/assets/demo/doctor.jpg".into()),
                photo_media_id: None,
                bio: format!("{name} has treated patients for {} years.", 5 + index),
                experience_years: 5 + index as i32,
                education: "First Moscow State Medical University".into(),
                certificates: json!([{"name": "Board certification", "year": 2015}]),
                consultation_price_minor: None,
                rating_total: 0,
                reviews_count: 0,
                is_active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            },
            &clinic_ids,
            &service_ids,
        )?;
        let mut shifts = Vec::new();
        for day in 1..=5 {
            let clinic = clinic_ids[(day as usize + index) % clinic_ids.len()];
            for (start, end) in [(time(9, 0), time(13, 0)), (time(14, 0), time(18, 0))] {
                shifts.push(ScheduleShift {
                    id: Uuid::now_v7(),
                    tenant_id,
                    doctor_id: doctor.id,
                    clinic_id: clinic,
                    day_of_week: day,
                    start_time: start,
                    end_time: end,
                    is_active: true,
                });
            }
        }
        shifts.push(ScheduleShift {
            id: Uuid::now_v7(),
            tenant_id,
            doctor_id: doctor.id,
            clinic_id: clinic_ids[0],
            day_of_week: 6,
            start_time: time(10, 0),
            end_time: time(14, 0),
            is_active: true,
        });
        doctors::replace_schedule(conn, doctor.id, &shifts)?;
        doctor_ids.push(doctor.id);
    }
    let mut patients = Vec::new();
    for (index, (user, name, phone)) in people.patient_users.iter().enumerate() {
        patients.push(appointments::insert_patient(
            conn,
            &Patient {
                id: Uuid::now_v7(),
                tenant_id,
                user_id: Some(*user),
                name: (*name).into(),
                phone: (*phone).into(),
                birth_date: chrono::NaiveDate::from_ymd_opt(1985 + index as i32, 3, 14),
                gender: Some(if index % 2 == 0 { "female" } else { "male" }.into()),
                notifications_opt_out: false,
                created_at: now,
            },
        )?);
    }
    // A completed visit last week (reviewed), and upcoming ones at 07:00 UTC,
    // inside every doctor's Monday-to-Friday morning shift.
    let monday_next = {
        let today = now.date_naive();
        let ahead = 7 - i64::from(today.weekday().num_days_from_monday());
        today + Duration::days(ahead)
    };
    for (index, patient) in patients.iter().enumerate() {
        let doctor = doctor_ids[index % doctor_ids.len()];
        let at = |date: chrono::NaiveDate, hour: u32| {
            date.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
        };
        let visit = |start: chrono::DateTime<Utc>, status: AppointmentStatus| Appointment {
            id: Uuid::now_v7(),
            tenant_id,
            site_id: None,
            patient_id: patient.id,
            doctor_id: doctor,
            service_id: consultation.id,
            clinic_id: central.id,
            starts_at: start,
            ends_at: start + Duration::minutes(30),
            status,
            payment_status: if status == AppointmentStatus::Completed {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Pending
            },
            price_minor: consultation.price_minor,
            currency: "RUB".into(),
            notes: String::new(),
            idempotency_key: None,
            created_at: now,
            updated_at: now,
        };
        let past = appointments::insert_once(
            conn,
            &visit(
                at(monday_next - Duration::days(14), 7 + index as u32),
                AppointmentStatus::Completed,
            ),
        )?
        .0;
        let (upcoming, created) = appointments::insert_once(
            conn,
            &visit(
                at(monday_next + Duration::days(1), 7 + index as u32),
                AppointmentStatus::Scheduled,
            ),
        )?;
        if created {
            // Its reminders: the jobs an owner sees in `GET /jobs` after `make run`.
            crate::notifications::schedule_reminders(conn, &upcoming)?;
        }
        let review = reviews::insert(
            conn,
            &Review {
                id: Uuid::now_v7(),
                tenant_id,
                patient_id: patient.id,
                doctor_id: doctor,
                appointment_id: Some(past.id),
                rating: 5 - index as i32 % 2,
                comment: "Attentive, explained everything, on time.".into(),
                is_verified: true,
                is_published: true,
                moderated_at: Some(now),
                created_at: now,
            },
        )?;
        doctors::add_review_rating(conn, doctor, review.rating, 1)?;
    }
    Ok(true)
}
