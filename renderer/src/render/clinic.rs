//! What the clinic modules (`doctors_list`, `services_list`, `reviews`,
//! `booking_widget`) show, picked from the site's clinic data document
//! (`/api/v1/delivery/sites/{site}/clinic-data`) by the block's props.
//! Props name things by slug or by name, as editors type them.

use cms_shared::clinic::{ClinicData, PublicDoctor, PublicService};
use serde_json::{json, Value};
use uuid::Uuid;

pub const MODULES: [&str; 4] = ["doctors_list", "services_list", "reviews", "booking_widget"];

/// Whether `wanted` (a prop) names a record by slug, name or id.
fn names(wanted: &str, slug: &str, name: &str, id: &Uuid) -> bool {
    let wanted = wanted.trim().to_lowercase();
    slug.to_lowercase() == wanted || name.to_lowercase() == wanted || id.to_string() == wanted
}

fn prop<'a>(props: &'a Value, key: &str) -> Option<&'a str> {
    props[key].as_str().map(str::trim).filter(|v| !v.is_empty())
}

fn limit(props: &Value, default: usize) -> usize {
    props["limit"]
        .as_u64()
        .map_or(default, |n| n.clamp(1, 50) as usize)
}

/// `2 500 ₽` from minor units.
pub fn price(minor: i64, currency: &str) -> String {
    let major = minor / 100;
    let digits = major.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(digit);
    }
    let cents = minor % 100;
    let amount = if cents == 0 {
        grouped
    } else {
        format!("{grouped}.{cents:02}")
    };
    match currency {
        "RUB" => format!("{amount}\u{a0}₽"),
        "EUR" => format!("{amount}\u{a0}€"),
        "USD" => format!("${amount}"),
        other => format!("{amount}\u{a0}{other}"),
    }
}

fn clinic_ids_named(data: &ClinicData, wanted: Option<&str>) -> Option<Vec<Uuid>> {
    let wanted = wanted?;
    Some(
        data.clinics
            .iter()
            .filter(|clinic| names(wanted, &clinic.slug, &clinic.name, &clinic.id))
            .map(|clinic| clinic.id)
            .collect(),
    )
}

/// The doctors a block shows: of the `specialization` and `clinic` its props
/// name, if any.
fn doctors<'a>(data: &'a ClinicData, props: &Value) -> Vec<&'a PublicDoctor> {
    let specialization = prop(props, "specialization");
    let clinics = clinic_ids_named(data, prop(props, "clinic"));
    data.doctors
        .iter()
        .filter(|doctor| {
            specialization.is_none_or(|wanted| {
                data.specializations.iter().any(|s| {
                    s.id == doctor.specialization_id && names(wanted, &s.slug, &s.name, &s.id)
                })
            })
        })
        .filter(|doctor| {
            clinics
                .as_ref()
                .is_none_or(|ids| doctor.clinic_ids.iter().any(|id| ids.contains(id)))
        })
        .collect()
}

fn doctor_card(doctor: &PublicDoctor) -> Value {
    // A library photo comes resolved (sources, placeholder); a URL photo
    // is shown as it is.
    let photo = match &doctor.photo_image {
        Some(image) => serde_json::to_value(image).ok(),
        None => doctor
            .photo
            .as_ref()
            .map(|src| json!({"src": src, "alt": doctor.name, "width": 600, "height": 600})),
    };
    json!({
        "id": doctor.id, "slug": doctor.slug, "name": doctor.name,
        "specialization": doctor.specialization, "photo": photo,
        "experience_years": doctor.experience_years,
        "rating": format!("{:.1}", doctor.rating), "reviews_count": doctor.reviews_count,
        "service_ids": doctor.service_ids,
    })
}

/// Category ids of `wanted` and everything below it.
fn category_tree(data: &ClinicData, wanted: &str) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = data
        .categories
        .iter()
        .filter(|c| names(wanted, &c.slug, &c.name, &c.id))
        .map(|c| c.id)
        .collect();
    let mut grew = true;
    while grew {
        grew = false;
        for category in &data.categories {
            if category
                .parent_id
                .is_some_and(|parent| ids.contains(&parent))
                && !ids.contains(&category.id)
            {
                ids.push(category.id);
                grew = true;
            }
        }
    }
    ids
}

/// The services a block shows: of the `category` its props name (and its
/// subcategories), if any.
fn services<'a>(data: &'a ClinicData, category: Option<&str>) -> Vec<&'a PublicService> {
    let categories = category.map(|wanted| category_tree(data, wanted));
    data.services
        .iter()
        .filter(|service| {
            categories
                .as_ref()
                .is_none_or(|ids| ids.contains(&service.category_id))
        })
        .collect()
}

fn service_card(data: &ClinicData, service: &PublicService) -> Value {
    let category = data
        .categories
        .iter()
        .find(|c| c.id == service.category_id)
        .map(|c| c.name.as_str());
    json!({
        "id": service.id, "slug": service.slug, "name": service.name,
        "description": service.description, "category": category,
        "duration_minutes": service.duration_minutes,
        "price": price(service.price_minor, &service.currency),
    })
}

fn reviews(data: &ClinicData, props: &Value) -> Vec<Value> {
    let wanted = prop(props, "doctor");
    data.reviews
        .iter()
        .filter_map(|review| {
            let doctor = data.doctors.iter().find(|d| d.id == review.doctor_id)?;
            if wanted.is_some_and(|wanted| !names(wanted, &doctor.slug, &doctor.name, &doctor.id)) {
                return None;
            }
            let rating = review.rating.clamp(0, 5) as usize;
            Some(json!({
                "doctor": doctor.name, "rating": rating,
                "stars": format!("{}{}", "★".repeat(rating), "☆".repeat(5 - rating)),
                "comment": review.comment, "verified": review.is_verified,
            }))
        })
        .take(limit(props, 6))
        .collect()
}

/// The `clinic` context of a clinic module, or `None` without clinic data
/// (the template then shows its props-only version).
pub fn view(module: &str, props: &Value, data: Option<&ClinicData>) -> Option<Value> {
    let data = data?;
    Some(match module {
        "doctors_list" => {
            let list: Vec<Value> = doctors(data, props)
                .into_iter()
                .take(limit(props, 6))
                .map(doctor_card)
                .collect();
            json!({ "doctors": list })
        }
        "services_list" => {
            let list: Vec<Value> = services(data, prop(props, "category"))
                .into_iter()
                .map(|service| service_card(data, service))
                .collect();
            json!({ "services": list })
        }
        "reviews" => json!({ "reviews": reviews(data, props) }),
        "booking_widget" => {
            let doctors = doctors(data, props);
            let wanted_service = prop(props, "service");
            let services: Vec<Value> = services(data, None)
                .into_iter()
                .filter(|s| {
                    wanted_service.is_none_or(|wanted| names(wanted, &s.slug, &s.name, &s.id))
                })
                .filter(|s| doctors.iter().any(|d| d.service_ids.contains(&s.id)))
                .map(|service| service_card(data, service))
                .collect();
            let doctors: Vec<Value> = doctors.into_iter().map(doctor_card).collect();
            json!({ "doctors": doctors, "services": services })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cms_shared::clinic::{PublicReview, PublicServiceCategory, PublicSpecialization};

    #[test]
    fn prices_are_grouped_in_major_units() {
        assert_eq!(price(250_000, "RUB"), "2\u{a0}500\u{a0}₽");
        assert_eq!(
            price(1_234_567_850, "EUR"),
            "12\u{a0}345\u{a0}678.50\u{a0}€"
        );
        assert_eq!(price(9_900, "USD"), "$99");
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn sample() -> ClinicData {
        let at = chrono::Utc::now();
        let category = |n: u128, slug: &str, parent: Option<u128>| PublicServiceCategory {
            id: id(n),
            parent_id: parent.map(id),
            slug: slug.into(),
            name: slug.to_uppercase(),
            position: 0,
            created_at: at,
        };
        let service = |n: u128, slug: &str, category: u128| PublicService {
            id: id(n),
            category_id: id(category),
            slug: slug.into(),
            name: slug.to_uppercase(),
            description: String::new(),
            price_minor: 100,
            currency: "RUB".into(),
            duration_minutes: 30,
            preparation: String::new(),
            is_active: true,
            clinic_ids: vec![],
            created_at: at,
            updated_at: at,
        };
        let doctor = |n: u128, slug: &str, specialization: u128, service: u128| PublicDoctor {
            id: id(n),
            specialization_id: id(specialization),
            specialization: String::new(),
            slug: slug.into(),
            name: slug.to_uppercase(),
            photo: None,
            photo_image: None,
            bio: String::new(),
            experience_years: 1,
            education: String::new(),
            certificates: vec![],
            consultation_price_minor: None,
            rating: 4.5,
            reviews_count: 1,
            is_active: true,
            clinic_ids: vec![],
            service_ids: vec![id(service)],
            created_at: at,
            updated_at: at,
        };
        ClinicData {
            clinics: vec![],
            specializations: vec![PublicSpecialization {
                id: id(1),
                slug: "cardiology".into(),
                name: "Cardiology".into(),
                description: String::new(),
                icon: String::new(),
                created_at: at,
            }],
            categories: vec![
                category(10, "diagnostics", None),
                category(11, "ultrasound", Some(10)),
            ],
            services: vec![service(20, "echo", 11), service(21, "visit", 12)],
            doctors: vec![doctor(30, "a", 1, 20), doctor(31, "b", 2, 21)],
            reviews: vec![PublicReview {
                id: id(40),
                doctor_id: id(31),
                rating: 4,
                comment: "Kind".into(),
                is_verified: true,
                created_at: at,
            }],
        }
    }

    #[test]
    fn props_pick_records_by_slug_or_name_and_categories_include_children() {
        let data = sample();
        let cardiologists = view(
            "doctors_list",
            &json!({"specialization": "Cardiology"}),
            Some(&data),
        )
        .unwrap();
        assert_eq!(cardiologists["doctors"].as_array().unwrap().len(), 1);
        assert_eq!(cardiologists["doctors"][0]["rating"], "4.5");
        let diagnostics = view(
            "services_list",
            &json!({"category": "diagnostics"}),
            Some(&data),
        )
        .unwrap();
        assert_eq!(diagnostics["services"][0]["slug"], "echo");
        assert_eq!(diagnostics["services"][0]["category"], "ULTRASOUND");
        assert_eq!(diagnostics["services"].as_array().unwrap().len(), 1);
        let reviews = view("reviews", &json!({"doctor": "b"}), Some(&data)).unwrap();
        assert_eq!(reviews["reviews"][0]["stars"], "★★★★☆");
        let booking = view("booking_widget", &json!({"service": "echo"}), Some(&data)).unwrap();
        assert_eq!(booking["services"].as_array().unwrap().len(), 1);
        assert!(view("reviews", &json!({}), None).is_none());
    }
}
