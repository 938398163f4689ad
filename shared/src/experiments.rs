//! A/B experiments as delivery carries them, and the rules that decide what a
//! visitor sees: targeting, deterministic bucketing and applying a variant to
//! a page's blocks. The api (`/assign`, events, results) and the renderer
//! both call these functions, so a visitor gets the same variant from either.
//!
//! Bucketing follows GrowthBook's v2 hash: FNV-1a 32 of the experiment seed
//! followed by the visitor id, hashed again as its decimal text, modulo
//! 10,000. Each variant owns a range that starts where the previous variant's
//! full share ends and covers `coverage` of that share, so raising coverage
//! only adds visitors and never moves one who was already in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Buckets of the hash space: weights are honoured to 0.01%.
pub const BUCKETS: u32 = 10_000;

/// A running experiment as the delivery page carries it. The first variant is
/// the control: the page as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    pub id: String,
    /// Hash seed; stays the same for the experiment's life so visitors keep
    /// their variant across restarts and nodes.
    pub seed: String,
    /// The conversion event that counts (`lead_submitted`, or a named click).
    pub goal: String,
    /// Share of traffic in the experiment, in percent (0-100).
    pub coverage: f64,
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub targeting: Vec<Rule>,
}

/// One arm: its weight and how it changes the page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    pub key: String,
    #[serde(default)]
    pub name: String,
    pub weight: f64,
    /// Props to merge into named blocks: `{"<block id>": {...props}}`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, HashMap<String, serde_json::Value>>))]
    pub overrides: Map<String, Value>,
    /// Block ids not shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hide: Vec<String>,
    /// Blocks added to the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insert: Vec<InsertedBlock>,
    /// The whole block list, replacing the page's (applied first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<NewBlock>>,
}

impl Variant {
    /// Whether the variant shows the page exactly as published.
    pub fn changes_nothing(&self) -> bool {
        self.overrides.is_empty()
            && self.hide.is_empty()
            && self.insert.is_empty()
            && self.blocks.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewBlock {
    pub module: String,
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub props: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsertedBlock {
    /// The block it follows; absent (or no longer on the page): at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    pub module: String,
    #[serde(default = "empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub props: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// What a targeting rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Only visitors matching some include rule take part.
    Include,
    /// Visitors matching it see the control and are not counted.
    Exclude,
    /// Visitors matching it see `variant` and are not counted.
    Force,
}

/// A targeting rule: every condition it names must hold. UTM values compare
/// case-insensitively; `flag` matches a `flag=` query parameter (repeatable
/// or comma-separated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub action: RuleAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

impl Rule {
    /// A rule must name at least one condition, else it matches everyone.
    pub fn has_condition(&self) -> bool {
        self.utm_source.is_some()
            || self.utm_medium.is_some()
            || self.utm_campaign.is_some()
            || self.locale.is_some()
            || self.flag.is_some()
    }

    fn matches(&self, visitor: &Visitor<'_>) -> bool {
        let utm = |name: &str, wanted: &Option<String>| {
            wanted.as_ref().is_none_or(|wanted| {
                visitor
                    .utm
                    .iter()
                    .any(|(key, value)| *key == name && value.eq_ignore_ascii_case(wanted))
            })
        };
        utm("utm_source", &self.utm_source)
            && utm("utm_medium", &self.utm_medium)
            && utm("utm_campaign", &self.utm_campaign)
            && self
                .locale
                .as_ref()
                .is_none_or(|locale| locale.eq_ignore_ascii_case(visitor.locale))
            && self
                .flag
                .as_ref()
                .is_none_or(|flag| visitor.flags.iter().any(|f| f == flag))
    }
}

/// What assignment knows of a request.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub id: &'a str,
    pub locale: &'a str,
    pub utm: &'a [(&'static str, String)],
    pub flags: &'a [String],
    /// False under `DNT: 1`, `Sec-GPC: 1` or a refused consent: the visitor
    /// sees the control and nothing is recorded.
    pub tracking_allowed: bool,
}

/// Why a visitor sees what they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// In the experiment, by hash: counted.
    Bucketed,
    /// A force rule chose the variant.
    Forced,
    /// An exclude rule matched, or no include rule did.
    NotTargeted,
    /// Outside the coverage.
    NotCovered,
    /// Do Not Track or no consent.
    NoTracking,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub experiment: String,
    pub variant: String,
    /// Whether exposures and conversions of this visitor count.
    pub tracked: bool,
    pub reason: Reason,
}

/// FNV-1a, 32 bits.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// The visitor's bucket in `0..BUCKETS` for this seed (GrowthBook hash v2).
pub fn bucket(seed: &str, visitor: &str) -> u32 {
    let mut input = String::with_capacity(seed.len() + visitor.len());
    input.push_str(seed);
    input.push_str(visitor);
    let first = fnv1a32(input.as_bytes());
    fnv1a32(first.to_string().as_bytes()) % BUCKETS
}

/// Each variant's `[start, end)` bucket range. Starts depend on the weights
/// only; coverage (0-100) shortens each range from its end.
pub fn bucket_ranges(weights: &[f64], coverage: f64) -> Vec<(u32, u32)> {
    let clean: Vec<f64> = weights
        .iter()
        .map(|w| if w.is_finite() && *w > 0.0 { *w } else { 0.0 })
        .collect();
    let total: f64 = clean.iter().sum();
    let coverage = if coverage.is_finite() {
        coverage.clamp(0.0, 100.0) / 100.0
    } else {
        0.0
    };
    let scale = f64::from(BUCKETS);
    let mut cumulative = 0.0;
    clean
        .iter()
        .map(|weight| {
            let share = if total > 0.0 { weight / total } else { 0.0 };
            // Rounded bucket counts: u32 fits, values are within 0..=BUCKETS.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let start = (cumulative * scale).round() as u32;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let end = ((cumulative + share * coverage) * scale).round() as u32;
            cumulative += share;
            (start, end.min(BUCKETS))
        })
        .collect()
}

/// The variant index the hash puts a visitor in, `None` outside the coverage.
pub fn choose(experiment: &Experiment, visitor_id: &str) -> Option<usize> {
    let weights: Vec<f64> = experiment.variants.iter().map(|v| v.weight).collect();
    let n = bucket(&experiment.seed, visitor_id);
    bucket_ranges(&weights, experiment.coverage)
        .iter()
        .position(|(start, end)| n >= *start && n < *end)
}

/// What this visitor sees of this experiment.
pub fn assign(experiment: &Experiment, visitor: &Visitor<'_>) -> Assignment {
    let control = experiment
        .variants
        .first()
        .map(|v| v.key.clone())
        .unwrap_or_default();
    let answer = |variant: String, tracked: bool, reason: Reason| Assignment {
        experiment: experiment.id.clone(),
        variant,
        tracked,
        reason,
    };
    if !visitor.tracking_allowed {
        return answer(control, false, Reason::NoTracking);
    }
    for rule in &experiment.targeting {
        if rule.action == RuleAction::Force && rule.matches(visitor) {
            if let Some(variant) = rule
                .variant
                .as_ref()
                .filter(|key| experiment.variants.iter().any(|v| &v.key == *key))
            {
                return answer(variant.clone(), false, Reason::Forced);
            }
        }
    }
    let excluded = experiment
        .targeting
        .iter()
        .any(|rule| rule.action == RuleAction::Exclude && rule.matches(visitor));
    let mut includes = experiment
        .targeting
        .iter()
        .filter(|rule| rule.action == RuleAction::Include)
        .peekable();
    let included = includes.peek().is_none() || includes.any(|rule| rule.matches(visitor));
    if excluded || !included {
        return answer(control, false, Reason::NotTargeted);
    }
    match choose(experiment, visitor.id) {
        Some(index) => answer(
            experiment.variants[index].key.clone(),
            true,
            Reason::Bucketed,
        ),
        None => answer(control, false, Reason::NotCovered),
    }
}

/// The running experiments a delivery page carries; malformed entries (from
/// a newer api, say) are skipped rather than breaking the page.
pub fn experiments_of(page: &Value) -> Vec<Experiment> {
    page.get("experiments")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| serde_json::from_value(item.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Feature flags of a query string: every `flag=` value, comma-separated
/// lists split, at most 10 of at most 64 characters.
pub fn flags_from_query(query: &str) -> Vec<String> {
    let mut flags: Vec<String> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "flag")
        .flat_map(|(_, value)| {
            value
                .split(',')
                .map(|flag| flag.trim().chars().take(64).collect::<String>())
                .filter(|flag| !flag.is_empty())
                .collect::<Vec<_>>()
        })
        .take(10)
        .collect();
    flags.sort();
    flags.dedup();
    flags
}

/// Applies a variant to a delivery page's `blocks`: replace the list, merge
/// overrides into named blocks, hide blocks, insert blocks. Inserted and
/// replacing blocks get ids derived from the variant so anchors are stable.
pub fn apply_variant(page: &mut Value, experiment_id: &str, variant: &Variant) {
    if variant.changes_nothing() {
        return;
    }
    let short: String = experiment_id.chars().take(8).collect();
    let new_id = |kind: &str, index: usize| format!("x{short}-{}-{kind}{index}", variant.key);
    let mut blocks: Vec<Value> = match &variant.blocks {
        Some(replacement) => replacement
            .iter()
            .enumerate()
            .map(|(index, block)| block_json(new_id("b", index), &block.module, &block.props))
            .collect(),
        None => page
            .get("blocks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    for block in &mut blocks {
        let Some(id) = block.get("id").and_then(Value::as_str) else {
            continue;
        };
        if let Some(Value::Object(patch)) = variant.overrides.get(id) {
            let patch = patch.clone();
            if !block.get("props").is_some_and(Value::is_object) {
                block["props"] = empty_object();
            }
            if let Some(Value::Object(props)) = block.get_mut("props") {
                for (key, value) in patch {
                    props.insert(key, value);
                }
            }
        }
    }
    blocks.retain(|block| {
        !block
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| variant.hide.iter().any(|hidden| hidden == id))
    });
    for (index, inserted) in variant.insert.iter().enumerate() {
        let block = block_json(new_id("i", index), &inserted.module, &inserted.props);
        let position = inserted.after.as_ref().and_then(|after| {
            blocks
                .iter()
                .position(|b| b.get("id").and_then(Value::as_str) == Some(after.as_str()))
        });
        match position {
            Some(at) => blocks.insert(at + 1, block),
            None => blocks.push(block),
        }
    }
    page["blocks"] = Value::Array(blocks);
}

fn block_json(id: String, module: &str, props: &Value) -> Value {
    let mut block = Map::new();
    block.insert("id".into(), Value::String(id));
    block.insert("module".into(), Value::String(module.to_owned()));
    block.insert("props".into(), props.clone());
    Value::Object(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn experiment(weights: &[f64], coverage: f64) -> Experiment {
        Experiment {
            id: "exp-1".into(),
            seed: "0192c7a0-seed".into(),
            goal: "lead_submitted".into(),
            coverage,
            variants: weights
                .iter()
                .enumerate()
                .map(|(i, w)| Variant {
                    key: ["a", "b", "c", "d"][i].into(),
                    weight: *w,
                    ..Variant::default()
                })
                .collect(),
            targeting: Vec::new(),
        }
    }

    fn visitor(id: &str) -> Visitor<'_> {
        Visitor {
            id,
            locale: "en",
            utm: &[],
            flags: &[],
            tracking_allowed: true,
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("visitor-{i}")).collect()
    }

    #[test]
    fn fnv1a_matches_reference_values() {
        // Published FNV-1a 32 test vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn bucket_matches_growthbook_hash_v2() {
        // fnv(decimal(fnv(seed + id))) % 10_000, from an independent Python
        // implementation of GrowthBook's hash v2.
        assert_eq!(bucket("seed", "visitor"), 2808);
        assert_eq!(bucket("exp-1", "0192c7a0-1111"), 3209);
        assert_eq!(bucket("", "a"), 216);
    }

    #[test]
    fn assignment_is_stable_for_a_visitor() {
        let exp = experiment(&[50.0, 50.0], 100.0);
        for id in ids(1_000) {
            let first = assign(&exp, &visitor(&id));
            for _ in 0..3 {
                assert_eq!(assign(&exp, &visitor(&id)), first);
            }
            // Another experiment object with the same seed agrees (other node).
            let copy: Experiment = match serde_json::to_value(&exp).map(serde_json::from_value) {
                Ok(Ok(copy)) => copy,
                other => panic!("an experiment must survive the wire: {other:?}"),
            };
            assert_eq!(assign(&copy, &visitor(&id)), first);
        }
    }

    #[test]
    fn weights_are_honoured_within_tolerance_over_100k_visitors() {
        for weights in [vec![50.0, 50.0], vec![20.0, 30.0, 50.0], vec![90.0, 10.0]] {
            let exp = experiment(&weights, 100.0);
            let mut counts = vec![0_u32; weights.len()];
            let n = 100_000;
            for id in ids(n) {
                let a = assign(&exp, &visitor(&id));
                assert!(a.tracked);
                let index = exp
                    .variants
                    .iter()
                    .position(|v| v.key == a.variant)
                    .unwrap_or(usize::MAX);
                counts[index] += 1;
            }
            let total: f64 = weights.iter().sum();
            for (count, weight) in counts.iter().zip(&weights) {
                let expected = weight / total;
                let observed = f64::from(*count) / n as f64;
                // 5 standard deviations of a binomial proportion at n = 100k.
                let tolerance = 5.0 * (expected * (1.0 - expected) / n as f64).sqrt();
                assert!(
                    (observed - expected).abs() < tolerance,
                    "weights {weights:?}: observed {observed}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn coverage_changes_do_not_rebucket_included_visitors() {
        let low = experiment(&[50.0, 50.0], 20.0);
        let high = experiment(&[50.0, 50.0], 80.0);
        let mut included_low = 0;
        let mut included_high = 0;
        for id in ids(20_000) {
            let before = assign(&low, &visitor(&id));
            let after = assign(&high, &visitor(&id));
            if before.tracked {
                included_low += 1;
                assert!(after.tracked, "{id} left the experiment");
                assert_eq!(before.variant, after.variant, "{id} changed variant");
            } else {
                assert_eq!(before.reason, Reason::NotCovered);
                assert_eq!(before.variant, "a", "uncovered visitors see the control");
            }
            if after.tracked {
                included_high += 1;
            }
        }
        // About 20% and 80% of 20k visitors.
        assert!((3_600..4_400).contains(&included_low), "{included_low}");
        assert!((15_400..16_600).contains(&included_high), "{included_high}");
    }

    #[test]
    fn zero_coverage_and_zero_weights_put_nobody_in() {
        let none = experiment(&[50.0, 50.0], 0.0);
        let zero = experiment(&[0.0, 0.0], 100.0);
        for id in ids(1_000) {
            assert!(!assign(&none, &visitor(&id)).tracked);
            assert!(!assign(&zero, &visitor(&id)).tracked);
        }
        let only_b = experiment(&[0.0, 100.0], 100.0);
        for id in ids(1_000) {
            assert_eq!(assign(&only_b, &visitor(&id)).variant, "b");
        }
    }

    #[test]
    fn do_not_track_shows_the_control_untracked() {
        let exp = experiment(&[0.0, 100.0], 100.0);
        let mut v = visitor("someone");
        v.tracking_allowed = false;
        let a = assign(&exp, &v);
        assert_eq!(
            (a.variant.as_str(), a.tracked, a.reason),
            ("a", false, Reason::NoTracking)
        );
    }

    #[test]
    fn targeting_includes_excludes_and_forces() {
        let mut exp = experiment(&[0.0, 100.0], 100.0);
        exp.targeting = vec![
            Rule {
                action: RuleAction::Force,
                variant: Some("a".into()),
                utm_source: None,
                utm_medium: None,
                utm_campaign: None,
                locale: None,
                flag: Some("old-hero".into()),
            },
            Rule {
                action: RuleAction::Exclude,
                variant: None,
                utm_source: None,
                utm_medium: Some("email".into()),
                utm_campaign: None,
                locale: None,
                flag: None,
            },
            Rule {
                action: RuleAction::Include,
                variant: None,
                utm_source: Some("Google".into()),
                utm_medium: None,
                utm_campaign: None,
                locale: None,
                flag: None,
            },
        ];
        let google = [("utm_source", "google".to_owned())];
        let google_email = [
            ("utm_source", "google".to_owned()),
            ("utm_medium", "email".to_owned()),
        ];
        let flags = ["old-hero".to_owned()];
        let with = |utm: &[(&'static str, String)], flags: &[String]| {
            assign(
                &exp,
                &Visitor {
                    id: "v1",
                    locale: "en",
                    utm,
                    flags,
                    tracking_allowed: true,
                },
            )
        };
        let in_google = with(&google, &[]);
        assert_eq!((in_google.variant.as_str(), in_google.tracked), ("b", true));
        let not_included = with(&[], &[]);
        assert_eq!(not_included.reason, Reason::NotTargeted);
        assert_eq!(not_included.variant, "a");
        let excluded = with(&google_email, &[]);
        assert_eq!(excluded.reason, Reason::NotTargeted);
        let forced = with(&google, &flags);
        assert_eq!(
            (forced.variant.as_str(), forced.tracked, forced.reason),
            ("a", false, Reason::Forced)
        );
    }

    #[test]
    fn flags_come_from_the_query() {
        assert_eq!(
            flags_from_query("flag=b,a&x=1&flag=c&flag="),
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]
        );
        assert!(flags_from_query("utm_source=x").is_empty());
    }

    #[test]
    fn variants_override_hide_insert_and_replace_blocks() {
        let page = json!({"blocks": [
            {"id": "h", "module": "hero", "props": {"title": "Old", "subtitle": "Keep"}},
            {"id": "f", "module": "faq", "props": {}},
            {"id": "c", "module": "cta", "props": {}}
        ]});
        let mut overrides = Map::new();
        overrides.insert("h".into(), json!({"title": "New"}));
        let variant = Variant {
            key: "b".into(),
            weight: 50.0,
            overrides,
            hide: vec!["f".into()],
            insert: vec![InsertedBlock {
                after: Some("h".into()),
                module: "stats".into(),
                props: json!({"items": []}),
            }],
            ..Variant::default()
        };
        let mut changed = page.clone();
        apply_variant(&mut changed, "exp-1", &variant);
        let blocks = changed["blocks"].as_array().cloned().unwrap_or_default();
        let modules: Vec<&str> = blocks.iter().filter_map(|b| b["module"].as_str()).collect();
        assert_eq!(modules, ["hero", "stats", "cta"]);
        assert_eq!(
            blocks[0]["props"],
            json!({"title": "New", "subtitle": "Keep"})
        );
        assert_eq!(blocks[1]["id"], "xexp-1-b-i0");

        let replace = Variant {
            key: "c".into(),
            weight: 1.0,
            blocks: Some(vec![NewBlock {
                module: "rich_text".into(),
                props: json!({"html": "<p>x</p>"}),
            }]),
            ..Variant::default()
        };
        let mut replaced = page.clone();
        apply_variant(&mut replaced, "exp-1", &replace);
        assert_eq!(replaced["blocks"].as_array().map(Vec::len), Some(1));

        let mut control = page.clone();
        apply_variant(&mut control, "exp-1", &Variant::default());
        assert_eq!(control, page);
    }

    #[test]
    fn malformed_experiments_in_a_page_are_skipped() {
        let page = json!({"experiments": [
            {"id": "x", "seed": "s", "goal": "g", "coverage": 100, "variants": [{"key": "a", "weight": 1}]},
            {"id": "broken"}
        ]});
        let found = experiments_of(&page);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "x");
    }
}
