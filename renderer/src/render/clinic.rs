//! What the clinic modules (`doctors_list`, `services_list`, `reviews`,
//! `booking_widget`) show, picked from the site's clinic data document
//! (`/api/v1/delivery/sites/{site}/clinic-data`) by the block's props.
//! Props name things by slug or by name, as editors type them.

use serde_json::{json, Value};

pub const MODULES: [&str; 4] = ["doctors_list", "services_list", "reviews", "booking_widget"];

fn items(data: &Value, key: &str) -> Vec<Value> {
    data[key].as_array().cloned().unwrap_or_default()
}

/// Whether `wanted` (a prop) names this record by slug or name.
fn names(record: &Value, wanted: &str) -> bool {
    let wanted = wanted.trim().to_lowercase();
    ["slug", "name", "id"].iter().any(|key| {
        record[*key]
            .as_str()
            .is_some_and(|value| value.to_lowercase() == wanted)
    })
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

fn clinic_ids_named(data: &Value, wanted: Option<&str>) -> Option<Vec<Value>> {
    let wanted = wanted?;
    Some(
        items(data, "clinics")
            .into_iter()
            .filter(|clinic| names(clinic, wanted))
            .map(|clinic| clinic["id"].clone())
            .collect(),
    )
}

fn doctors(data: &Value, props: &Value) -> Vec<Value> {
    let specialization = prop(props, "specialization").map(str::to_owned);
    let specializations = items(data, "specializations");
    let clinics = clinic_ids_named(data, prop(props, "clinic"));
    items(data, "doctors")
        .into_iter()
        .filter(|doctor| {
            specialization.as_deref().is_none_or(|wanted| {
                specializations
                    .iter()
                    .any(|s| s["id"] == doctor["specialization_id"] && names(s, wanted))
            })
        })
        .filter(|doctor| {
            clinics.as_ref().is_none_or(|ids| {
                doctor["clinic_ids"]
                    .as_array()
                    .is_some_and(|mine| mine.iter().any(|id| ids.contains(id)))
            })
        })
        .map(|doctor| {
            let rating = doctor["rating"].as_f64().unwrap_or(0.0);
            let photo = doctor["photo"]
                .as_str()
                .map(|src| json!({"src": src, "alt": doctor["name"], "width": 600, "height": 600}));
            json!({
                "id": doctor["id"], "slug": doctor["slug"], "name": doctor["name"],
                "specialization": doctor["specialization"], "photo": photo,
                "experience_years": doctor["experience_years"],
                "rating": format!("{rating:.1}"), "reviews_count": doctor["reviews_count"],
                "service_ids": doctor["service_ids"],
            })
        })
        .collect()
}

/// Category ids of `wanted` and everything below it.
fn category_tree(data: &Value, wanted: &str) -> Vec<Value> {
    let categories = items(data, "categories");
    let mut ids: Vec<Value> = categories
        .iter()
        .filter(|c| names(c, wanted))
        .map(|c| c["id"].clone())
        .collect();
    let mut grew = true;
    while grew {
        grew = false;
        for category in &categories {
            if ids.contains(&category["parent_id"]) && !ids.contains(&category["id"]) {
                ids.push(category["id"].clone());
                grew = true;
            }
        }
    }
    ids
}

fn services(data: &Value, props: &Value) -> Vec<Value> {
    let categories = prop(props, "category").map(|wanted| category_tree(data, wanted));
    let names_by_id: Vec<(Value, Value)> = items(data, "categories")
        .into_iter()
        .map(|c| (c["id"].clone(), c["name"].clone()))
        .collect();
    items(data, "services")
        .into_iter()
        .filter(|service| {
            categories
                .as_ref()
                .is_none_or(|ids| ids.contains(&service["category_id"]))
        })
        .map(|service| {
            let category = names_by_id
                .iter()
                .find(|(id, _)| *id == service["category_id"])
                .map(|(_, name)| name.clone())
                .unwrap_or(Value::Null);
            json!({
                "id": service["id"], "slug": service["slug"], "name": service["name"],
                "description": service["description"], "category": category,
                "duration_minutes": service["duration_minutes"],
                "price": price(service["price_minor"].as_i64().unwrap_or(0), service["currency"].as_str().unwrap_or("RUB")),
            })
        })
        .collect()
}

fn reviews(data: &Value, props: &Value) -> Vec<Value> {
    let doctors = items(data, "doctors");
    let wanted = prop(props, "doctor");
    items(data, "reviews")
        .into_iter()
        .filter_map(|review| {
            let doctor = doctors.iter().find(|d| d["id"] == review["doctor_id"])?;
            if wanted.is_some_and(|wanted| !names(doctor, wanted)) {
                return None;
            }
            let rating = review["rating"].as_u64().unwrap_or(0).min(5) as usize;
            Some(json!({
                "doctor": doctor["name"], "rating": rating,
                "stars": format!("{}{}", "★".repeat(rating), "☆".repeat(5 - rating)),
                "comment": review["comment"], "verified": review["is_verified"],
            }))
        })
        .take(limit(props, 6))
        .collect()
}

/// The `clinic` context of a clinic module, or `None` without clinic data
/// (the template then shows its props-only version).
pub fn view(module: &str, props: &Value, data: &Value) -> Option<Value> {
    if !data.is_object() {
        return None;
    }
    Some(match module {
        "doctors_list" => {
            let mut list = doctors(data, props);
            list.truncate(limit(props, 6));
            json!({ "doctors": list })
        }
        "services_list" => json!({ "services": services(data, props) }),
        "reviews" => json!({ "reviews": reviews(data, props) }),
        "booking_widget" => {
            let doctors = doctors(data, props);
            let wanted_service = prop(props, "service");
            let services: Vec<Value> = services(data, &json!({}))
                .into_iter()
                .filter(|s| wanted_service.is_none_or(|wanted| names(s, wanted)))
                .filter(|s| {
                    doctors.iter().any(|d| {
                        d["service_ids"]
                            .as_array()
                            .is_some_and(|ids| ids.contains(&s["id"]))
                    })
                })
                .collect();
            json!({ "doctors": doctors, "services": services })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_grouped_in_major_units() {
        assert_eq!(price(250_000, "RUB"), "2\u{a0}500\u{a0}₽");
        assert_eq!(
            price(1_234_567_850, "EUR"),
            "12\u{a0}345\u{a0}678.50\u{a0}€"
        );
        assert_eq!(price(9_900, "USD"), "$99");
    }

    #[test]
    fn props_pick_records_by_slug_or_name_and_categories_include_children() {
        let data = json!({
            "specializations": [{"id": "s1", "slug": "cardiology", "name": "Cardiology"}],
            "clinics": [], "reviews": [],
            "categories": [
                {"id": "c1", "slug": "diagnostics", "name": "Diagnostics", "parent_id": null},
                {"id": "c2", "slug": "ultrasound", "name": "Ultrasound", "parent_id": "c1"}
            ],
            "services": [
                {"id": "v1", "slug": "echo", "name": "Echo", "category_id": "c2", "price_minor": 100, "currency": "RUB"},
                {"id": "v2", "slug": "visit", "name": "Visit", "category_id": "c0", "price_minor": 100, "currency": "RUB"}
            ],
            "doctors": [
                {"id": "d1", "slug": "a", "name": "A", "specialization_id": "s1", "clinic_ids": [], "service_ids": ["v1"], "rating": 4.5},
                {"id": "d2", "slug": "b", "name": "B", "specialization_id": "s2", "clinic_ids": [], "service_ids": ["v2"], "rating": 0}
            ]
        });
        let cardiologists = view(
            "doctors_list",
            &json!({"specialization": "Cardiology"}),
            &data,
        );
        assert_eq!(
            cardiologists.unwrap()["doctors"].as_array().unwrap().len(),
            1
        );
        let diagnostics =
            view("services_list", &json!({"category": "diagnostics"}), &data).unwrap();
        assert_eq!(diagnostics["services"][0]["slug"], "echo");
        assert_eq!(diagnostics["services"].as_array().unwrap().len(), 1);
        assert!(view("reviews", &json!({}), &Value::Null).is_none());
    }
}
