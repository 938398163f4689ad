//! A/B experiments: the rules of their definitions (what a variant may
//! change, which edits a started experiment refuses), their lifecycle, and
//! results with statistics. Bucketing and variant application live in
//! `cms_shared::experiments`, shared with the renderer.

pub mod demo;
pub mod lifecycle;
pub mod results;
pub mod routes_cache;

use cms_shared::experiments::{RuleAction, Variant};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::modules as module_rules;
use crate::db::pages;
use crate::error::{ApiError, FieldError};

/// Event and goal names: lowercase words joined by `_`, `.`, `:` or `-`.
pub fn is_event_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':' | b'-')
        })
}

/// Visitor ids (the renderer's `cms_vid`, or a frontend's own): 1 to 64 of
/// `A-Z a-z 0-9 - _ .`.
pub fn is_visitor_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_variant_key(key: &str) -> bool {
    (1..=32).contains(&key.len())
        && key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// An experiment's definition as created (`POST /pages/{id}/experiments`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExperiment {
    pub name: String,
    #[serde(default)]
    pub hypothesis: String,
    /// The conversion event that counts: `lead_submitted` (automatic from lead
    /// forms) or a named event sent to `/delivery/events`.
    pub goal: String,
    /// Percent of traffic in the experiment (default 100).
    #[serde(default = "full_coverage")]
    pub coverage: f64,
    /// Control first (it must change nothing): `{"key","name"?,"weight",
    /// "overrides"?: {"<block id>": {props}}, "hide"?: ["<block id>"],
    /// "insert"?: [{"after"?, "module", "props"}], "blocks"?: [{"module","props"}]}`.
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub variants: Vec<Variant>,
    /// `[{"action": "include"|"exclude"|"force", "variant"?, "utm_source"?,
    /// "utm_medium"?, "utm_campaign"?, "locale"?, "flag"?}]`.
    #[serde(default)]
    #[schema(value_type = Vec<HashMap<String, serde_json::Value>>)]
    pub targeting: Vec<cms_shared::experiments::Rule>,
}

fn full_coverage() -> f64 {
    100.0
}

/// A change to an experiment (`PATCH /experiments/{id}`); absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentPatch {
    pub name: Option<String>,
    pub hypothesis: Option<String>,
    pub goal: Option<String>,
    pub coverage: Option<f64>,
    #[schema(value_type = Option<Vec<HashMap<String, serde_json::Value>>>)]
    pub variants: Option<Vec<Variant>>,
    #[schema(value_type = Option<Vec<HashMap<String, serde_json::Value>>>)]
    pub targeting: Option<Vec<cms_shared::experiments::Rule>>,
}

pub fn check_name(errors: &mut Vec<FieldError>, name: &str) {
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
}

pub fn check_hypothesis(errors: &mut Vec<FieldError>, hypothesis: &str) {
    if hypothesis.chars().count() > 2000 {
        errors.push(FieldError::new(
            "hypothesis",
            "must be at most 2000 characters",
        ));
    }
}

pub fn check_goal(errors: &mut Vec<FieldError>, goal: &str) {
    if !is_event_name(goal) {
        errors.push(FieldError::new(
            "goal",
            "must be an event name: 1 to 64 of a-z, 0-9, _ . : -",
        ));
    }
}

pub fn check_coverage(errors: &mut Vec<FieldError>, coverage: f64) {
    if !coverage.is_finite() || !(0.0..=100.0).contains(&coverage) {
        errors.push(FieldError::new(
            "coverage",
            "must be a percentage from 0 to 100",
        ));
    }
}

/// Rules a variant list must keep that need no database.
pub fn check_variants(errors: &mut Vec<FieldError>, variants: &[Variant]) {
    if !(2..=8).contains(&variants.len()) {
        errors.push(FieldError::new(
            "variants",
            "must list 2 to 8 variants, control first",
        ));
        return;
    }
    let mut total = 0.0;
    for (index, variant) in variants.iter().enumerate() {
        let field = |name: &str| format!("variants.{index}.{name}");
        if !is_variant_key(&variant.key) {
            errors.push(FieldError::new(
                &field("key"),
                "must be 1 to 32 of a-z, 0-9, _ - starting with a letter or digit",
            ));
        } else if variants[..index].iter().any(|v| v.key == variant.key) {
            errors.push(FieldError::new(&field("key"), "is used by another variant"));
        }
        if variant.name.chars().count() > 100 {
            errors.push(FieldError::new(
                &field("name"),
                "must be at most 100 characters",
            ));
        }
        if !variant.weight.is_finite() || !(0.0..=10_000.0).contains(&variant.weight) {
            errors.push(FieldError::new(&field("weight"), "must be from 0 to 10000"));
        } else {
            total += variant.weight;
        }
        if index == 0 && !variant.changes_nothing() {
            errors.push(FieldError::new(
                &field("key"),
                "the first variant is the control: the page as published, with no changes",
            ));
        }
        for (block, props) in &variant.overrides {
            if !props.is_object() {
                errors.push(FieldError::new(
                    &format!("variants.{index}.overrides.{block}"),
                    "must be an object of props",
                ));
            }
        }
        if variant.blocks.as_ref().is_some_and(Vec::is_empty) {
            errors.push(FieldError::new(
                &field("blocks"),
                "must list at least one block",
            ));
        }
        if variant.insert.len() + variant.blocks.as_ref().map_or(0, Vec::len) > 50 {
            errors.push(FieldError::new(&field("insert"), "at most 50 new blocks"));
        }
    }
    if total <= 0.0 {
        errors.push(FieldError::new("variants", "weights must not all be 0"));
    }
}

pub fn check_targeting(
    errors: &mut Vec<FieldError>,
    rules: &[cms_shared::experiments::Rule],
    variants: &[Variant],
) {
    if rules.len() > 20 {
        errors.push(FieldError::new("targeting", "at most 20 rules"));
    }
    for (index, rule) in rules.iter().enumerate() {
        let field = |name: &str| format!("targeting.{index}.{name}");
        if !rule.has_condition() {
            errors.push(FieldError::new(
                &format!("targeting.{index}"),
                "must name a condition: utm_source, utm_medium, utm_campaign, locale or flag",
            ));
        }
        match (rule.action, &rule.variant) {
            (RuleAction::Force, Some(key)) if !variants.iter().any(|v| &v.key == key) => {
                errors.push(FieldError::new(&field("variant"), "is not a variant key"));
            }
            (RuleAction::Force, None) => {
                errors.push(FieldError::new(
                    &field("variant"),
                    "a force rule names the variant",
                ));
            }
            (RuleAction::Include | RuleAction::Exclude, Some(_)) => {
                errors.push(FieldError::new(
                    &field("variant"),
                    "only force rules name a variant",
                ));
            }
            _ => {}
        }
    }
}

/// Checks what variants refer to against the page (block ids) and the module
/// library (new blocks' modules and props, sanitised like blocks are).
/// Answers the variants as stored.
pub fn resolve_variants(
    conn: &mut PgConnection,
    page_id: Uuid,
    variants: Vec<Variant>,
) -> Result<Value, ApiError> {
    let blocks = pages::blocks(conn, page_id)?;
    let known = |id: &str| blocks.iter().any(|block| block.id.to_string() == id);
    let mut errors = Vec::new();
    let mut resolved = Vec::with_capacity(variants.len());
    for (index, mut variant) in variants.into_iter().enumerate() {
        for (id, patch) in variant.overrides.iter_mut() {
            let field = format!("variants.{index}.overrides.{id}");
            let Some(block) = blocks.iter().find(|block| block.id.to_string() == *id) else {
                errors.push(FieldError::new(&field, "is not a block of this page"));
                continue;
            };
            // The block's props with the override must still be valid props
            // of its module; the override keeps its keys, sanitised.
            let mut merged = block.props.clone();
            if let (Some(props), Some(changes)) = (merged.as_object_mut(), patch.as_object()) {
                for (key, value) in changes {
                    props.insert(key.clone(), value.clone());
                }
            }
            match checked_props(conn, &block.module_key, merged, &field) {
                Ok(clean) => {
                    if let Some(changes) = patch.as_object_mut() {
                        for (key, value) in changes.iter_mut() {
                            *value = clean[key.as_str()].clone();
                        }
                    }
                }
                Err(mut found) => errors.append(&mut found),
            }
        }
        for (at, id) in variant.hide.iter().enumerate() {
            if !known(id) {
                errors.push(FieldError::new(
                    &format!("variants.{index}.hide.{at}"),
                    "is not a block of this page",
                ));
            }
        }
        for (at, inserted) in variant.insert.iter_mut().enumerate() {
            if let Some(after) = &inserted.after {
                if !known(after) {
                    errors.push(FieldError::new(
                        &format!("variants.{index}.insert.{at}.after"),
                        "is not a block of this page",
                    ));
                }
            }
            let field = format!("variants.{index}.insert.{at}");
            match checked_props(conn, &inserted.module, inserted.props.take(), &field) {
                Ok(props) => inserted.props = props,
                Err(mut found) => errors.append(&mut found),
            }
        }
        for (at, block) in variant.blocks.iter_mut().flatten().enumerate() {
            let field = format!("variants.{index}.blocks.{at}");
            match checked_props(conn, &block.module, block.props.take(), &field) {
                Ok(props) => block.props = props,
                Err(mut found) => errors.append(&mut found),
            }
        }
        resolved.push(variant);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    serde_json::to_value(resolved).map_err(ApiError::internal)
}

/// A new block's props, validated against its module (errors under `field`).
fn checked_props(
    conn: &mut PgConnection,
    module: &str,
    props: Value,
    field: &str,
) -> Result<Value, Vec<FieldError>> {
    let prefix =
        |error: FieldError| FieldError::new(&format!("{field}.{}", error.field), error.message);
    let module = module_rules::resolve(conn, module).map_err(|err| match err {
        ApiError::Validation(found) => found.into_iter().map(prefix).collect(),
        other => vec![FieldError::new(field, other.to_string())],
    })?;
    module_rules::validate_props(&module.props_schema, props).map_err(|err| match err {
        ApiError::Validation(found) => found.into_iter().map(prefix).collect(),
        other => vec![FieldError::new(field, other.to_string())],
    })
}

/// Whether `new` differs from `old` in anything but weights.
pub fn changes_more_than_weights(old: &[Variant], new: &[Variant]) -> bool {
    old.len() != new.len()
        || old.iter().zip(new).any(|(a, b)| {
            let mut b = b.clone();
            b.weight = a.weight;
            *a != b
        })
}

/// `{"a": 50, "b": 50}`: the weights, for the weight history.
pub fn weights_of(variants: &[Variant]) -> Value {
    Value::Object(
        variants
            .iter()
            .map(|v| (v.key.clone(), json!(v.weight)))
            .collect(),
    )
}
