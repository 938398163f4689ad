//! What a rendered page depends on, so equal requests share one cache entry:
//! site, locale, path, the experiment variants a visitor is assigned, and only
//! the UTM values a site declares content-relevant. Every other query
//! parameter (click ids, other UTM values, cache busters) is dropped.

/// The UTM parameters lead forms carry and sites may declare content-relevant.
pub const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// The UTM parameters of a raw query string (first value of each, decoded,
/// at most 200 characters), in `UTM_KEYS` order.
pub fn utm_values(query: &str) -> Vec<(&'static str, String)> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if let Some(utm) = UTM_KEYS.iter().find(|utm| **utm == key) {
            if !found.iter().any(|(seen, _)| seen == utm) {
                found.push((utm, value.chars().take(200).collect()));
            }
        }
    }
    found.sort_by_key(|(key, _)| UTM_KEYS.iter().position(|utm| utm == key));
    found
}

/// The cache key of a rendered page.
pub fn page_key(
    site: &str,
    locale: &str,
    path: &str,
    variants: &[(String, String)],
    utm: &[(&'static str, String)],
    relevant_utm: &[String],
) -> String {
    let mut key = format!("{site}|{locale}|{path}");
    let mut variants: Vec<&(String, String)> = variants.iter().collect();
    variants.sort();
    for (experiment, variant) in variants {
        key.push_str(&format!("|x:{experiment}={variant}"));
    }
    for (name, value) in utm {
        if relevant_utm.iter().any(|relevant| relevant == name) {
            key.push_str(&format!("|{name}={}", value.replace('|', "%7C")));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irrelevant_parameters_do_not_change_the_key() {
        let relevant = vec!["utm_campaign".to_owned()];
        let plain = page_key("s", "en", "/", &[], &utm_values(""), &relevant);
        let noisy = page_key(
            "s",
            "en",
            "/",
            &[],
            &utm_values("gclid=1&utm_source=google&fbclid=2&_=123"),
            &relevant,
        );
        assert_eq!(plain, noisy);
        let campaign = page_key(
            "s",
            "en",
            "/",
            &[],
            &utm_values("utm_campaign=spring%20sale&utm_source=x"),
            &relevant,
        );
        assert_ne!(plain, campaign);
        assert!(
            campaign.ends_with("|utm_campaign=spring sale"),
            "{campaign}"
        );
    }

    #[test]
    fn variants_are_keyed_in_a_stable_order() {
        let one = page_key(
            "s",
            "en",
            "/",
            &[("e2".into(), "b".into()), ("e1".into(), "a".into())],
            &[],
            &[],
        );
        let two = page_key(
            "s",
            "en",
            "/",
            &[("e1".into(), "a".into()), ("e2".into(), "b".into())],
            &[],
            &[],
        );
        assert_eq!(one, two);
    }

    #[test]
    fn utm_values_take_the_first_of_each_in_a_fixed_order() {
        let values = utm_values("utm_medium=cpc&utm_source=a&utm_source=b&x=1");
        assert_eq!(
            values,
            vec![
                ("utm_source", "a".to_owned()),
                ("utm_medium", "cpc".to_owned())
            ]
        );
    }
}
