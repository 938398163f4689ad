//! Media references in block props (`{"media": "<id>", "alt"?: "..."}`):
//! checked when a block is written (the media is the tenant's, and has alt
//! text unless decorative) and resolved into delivery's image objects when
//! a page is published, and again in the live snapshot when the media's
//! renditions change.

use std::collections::HashMap;

use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use cms_shared::media::{ImageSource, ImageSources, ResolvedImage};

use super::{stored_renditions, url};
use crate::config::MediaConfig;
use crate::content::cache::Invalidation;
use crate::db::media::{self as store, Media};
use crate::error::{ApiError, FieldError};

/// One reference found in a JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where the reference object is (`props.image`, `props.images.2`).
    pub path: String,
    /// `None` when the `media` value is not a UUID.
    pub id: Option<Uuid>,
    /// The block's own alt text, overriding the media's.
    pub alt: Option<String>,
}

/// Every `{"media": ...}` object in `value`, depth first.
pub fn references(value: &Value, path: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    walk(value, path, &mut found);
    found
}

fn walk(value: &Value, path: &str, found: &mut Vec<Reference>) {
    match value {
        Value::Object(map) => {
            if let Some(media) = map.get("media") {
                found.push(Reference {
                    path: path.to_owned(),
                    id: media.as_str().and_then(|id| id.parse().ok()),
                    alt: map.get("alt").and_then(Value::as_str).map(str::to_owned),
                });
                return;
            }
            for (key, child) in map {
                walk(child, &format!("{path}.{key}"), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, &format!("{path}.{index}"), found);
            }
        }
        _ => {}
    }
}

/// Checks the media references of a block's props (`prefix` names the
/// props field): each must be a media of the tenant's library (RLS hides
/// other tenants' media, so their ids fail here too), and have alt text,
/// its own or the block's, unless it is decorative.
pub fn check_block_props(
    conn: &mut PgConnection,
    props: &Value,
    prefix: &str,
) -> Result<Vec<FieldError>, ApiError> {
    let refs = references(props, prefix);
    if refs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = refs.iter().filter_map(|r| r.id).collect();
    let known: HashMap<Uuid, Media> = store::existing(conn, &ids)?
        .into_iter()
        .map(|media| (media.id, media))
        .collect();
    let mut errors = Vec::new();
    for reference in refs {
        let media = reference.id.and_then(|id| known.get(&id));
        match media {
            None => errors.push(FieldError::new(
                &format!("{}.media", reference.path),
                "is not a media of this tenant's library",
            )),
            Some(media) => {
                let has_alt = reference
                    .alt
                    .as_deref()
                    .map_or(!media.alt.trim().is_empty(), |alt| !alt.trim().is_empty());
                if !has_alt && !media.decorative {
                    errors.push(FieldError::new(
                        &format!("{}.alt", reference.path),
                        "is required: the media has no alt text and is not marked decorative",
                    ));
                }
            }
        }
    }
    Ok(errors)
}

/// The delivery object of a media (`alt` is the block's override if any).
pub fn resolved(config: &MediaConfig, media: &Media, alt: Option<&str>) -> ResolvedImage {
    let renditions = stored_renditions(media);
    let plain = |format: &str| -> Vec<ImageSource> {
        let mut sources: Vec<ImageSource> = renditions
            .iter()
            .filter(|r| r.fill.is_none() && r.format == format)
            .map(|r| ImageSource {
                src: url(config, media, &r.variant),
                width: r.width,
            })
            .collect();
        sources.sort_by_key(|source| source.width);
        sources
    };
    let fallback = renditions
        .iter()
        .filter(|r| r.fill.is_none() && r.format != "webp" && r.format != "avif")
        .max_by_key(|r| r.width);
    let alt = if media.decorative && alt.is_none() {
        String::new()
    } else {
        alt.map_or_else(|| media.alt.clone(), str::to_owned)
    };
    ResolvedImage {
        media: media.id,
        src: fallback.map_or_else(String::new, |r| url(config, media, &r.variant)),
        width: fallback.map_or(media.width as u32, |r| r.width),
        height: fallback.map_or(media.height as u32, |r| r.height),
        alt,
        placeholder: media.placeholder_uri.clone(),
        sources: ImageSources {
            avif: plain("avif"),
            webp: plain("webp"),
        },
    }
}

/// Replaces every reference in `value` to a media of `media` with its
/// resolved object; a reference resolved before keeps its alt text.
/// Answers whether anything changed.
pub fn resolve_in(config: &MediaConfig, value: &mut Value, media: &HashMap<Uuid, Media>) -> bool {
    match value {
        Value::Object(map) => {
            if let Some(id) = map
                .get("media")
                .and_then(Value::as_str)
                .and_then(|id| id.parse::<Uuid>().ok())
            {
                let Some(found) = media.get(&id) else {
                    return false;
                };
                let alt = map.get("alt").and_then(Value::as_str).map(str::to_owned);
                let resolved = resolved(config, found, alt.as_deref());
                let next = match serde_json::to_value(resolved) {
                    Ok(Value::Object(next)) => next,
                    _ => return false,
                };
                let changed = *map != next;
                *map = next;
                return changed;
            }
            let mut changed = false;
            for child in map.values_mut() {
                changed |= resolve_in(config, child, media);
            }
            changed
        }
        Value::Array(items) => {
            let mut changed = false;
            for child in items {
                changed |= resolve_in(config, child, media);
            }
            changed
        }
        _ => false,
    }
}

/// Whether `map` is a resolved image (delivery's form of a reference).
fn is_resolved(map: &serde_json::Map<String, Value>) -> bool {
    map.get("media").is_some_and(Value::is_string) && map.contains_key("sources")
}

/// `value` with every resolved image turned back into the reference it was
/// made from (`{"media": id, "alt": alt}`): the form block validation knows
/// (a live snapshot being imported holds resolved images).
pub fn as_references(value: &Value) -> Value {
    match value {
        Value::Object(map) if is_resolved(map) => {
            let mut reference = serde_json::Map::new();
            reference.insert("media".into(), map["media"].clone());
            if let Some(alt) = map.get("alt").filter(|alt| alt.is_string()) {
                reference.insert("alt".into(), alt.clone());
            }
            Value::Object(reference)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, child)| (key.clone(), as_references(child)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(as_references).collect()),
        other => other.clone(),
    }
}

/// Puts the resolved images of `original` back into `checked` (the same
/// props after validation), wherever the reference there names the same
/// media.
pub fn restore_resolved(checked: &mut Value, original: &Value) {
    match (checked, original) {
        (Value::Object(checked_map), Value::Object(original_map)) => {
            if is_resolved(original_map) {
                if checked_map.get("media") == original_map.get("media") {
                    *checked_map = original_map.clone();
                }
                return;
            }
            for (key, child) in checked_map.iter_mut() {
                if let Some(original_child) = original_map.get(key) {
                    restore_resolved(child, original_child);
                }
            }
        }
        (Value::Array(checked_items), Value::Array(original_items)) => {
            for (child, original_child) in checked_items.iter_mut().zip(original_items) {
                restore_resolved(child, original_child);
            }
        }
        _ => {}
    }
}

/// Resolves every media reference of a snapshot's blocks (at publish, and
/// for previews). Media deleted by force still resolve: a live page keeps
/// its images until the next publish.
pub fn resolve_snapshot(
    conn: &mut PgConnection,
    config: &MediaConfig,
    snapshot: &mut Value,
) -> Result<(), ApiError> {
    resolve_references(conn, config, &mut snapshot["blocks"], "blocks")
}

/// Checks the media references of a site's theme (its logo): the tenant's
/// media, with alt text unless decorative; 422 at `theme.<path>` otherwise.
pub fn check_theme(conn: &mut PgConnection, theme: &Value) -> Result<(), ApiError> {
    let errors = check_block_props(conn, theme, "theme")?;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A site theme as delivery's manifest shows it: media references (the
/// logo) resolved into image objects, like block props at publish.
pub fn resolve_theme(
    conn: &mut PgConnection,
    config: &MediaConfig,
    theme: &mut Value,
) -> Result<(), ApiError> {
    resolve_references(conn, config, theme, "theme")
}

/// Resolves every media reference in `value` (`path` names it in field
/// errors' terms) with one query for all its media.
fn resolve_references(
    conn: &mut PgConnection,
    config: &MediaConfig,
    value: &mut Value,
    path: &str,
) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = references(value, path)
        .into_iter()
        .filter_map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let media: HashMap<Uuid, Media> = store::find_many(conn, &ids)?
        .into_iter()
        .map(|media| (media.id, media))
        .collect();
    resolve_in(config, value, &media);
    Ok(())
}

/// Rewrites the live snapshots that show `media` with its current
/// renditions (no new revision); answers the pages to invalidate, and the
/// sites whose theme shows it (their manifest resolves it afresh).
pub fn refresh_live(
    conn: &mut PgConnection,
    config: &MediaConfig,
    media: &Media,
) -> Result<Vec<Invalidation>, ApiError> {
    let mut changed = Vec::new();
    let one: HashMap<Uuid, Media> = [(media.id, media.clone())].into_iter().collect();
    for (revision, mut snapshot) in store::live_revisions_using(conn, media.id)? {
        if !resolve_in(config, &mut snapshot["blocks"], &one) {
            continue;
        }
        store::set_snapshot(conn, revision, &snapshot)?;
        let site = snapshot["site_id"].as_str().and_then(|id| id.parse().ok());
        let (locale, path) = (snapshot["locale"].as_str(), snapshot["path"].as_str());
        if let (Some(site), Some(locale), Some(path)) = (site, locale, path) {
            changed.push(Invalidation::page(media.tenant_id, site, locale, path));
        }
    }
    for site in store::sites_using(conn, media.id)? {
        changed.push(Invalidation::site(media.tenant_id, site));
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolved_images_validate_as_references_and_come_back_after() {
        let id = Uuid::now_v7();
        let resolved = json!({"media": id, "src": "/media/t/s/a.jpg", "width": 10, "height": 5,
                              "alt": "Hall", "placeholder": "data:image/png;base64,AA==",
                              "sources": {"avif": [], "webp": []}});
        let props =
            json!({"title": "x", "images": [resolved, {"src": "/b.jpg"}], "hero": {"media": id}});
        let references = as_references(&props);
        assert_eq!(
            references,
            json!({"title": "x", "images": [{"media": id, "alt": "Hall"}, {"src": "/b.jpg"}], "hero": {"media": id}})
        );
        let mut checked = references.clone();
        checked["title"] = json!("x (sanitised)");
        restore_resolved(&mut checked, &props);
        assert_eq!(checked["images"][0], props["images"][0]);
        assert_eq!(checked["title"], "x (sanitised)");
        assert_eq!(checked["hero"], json!({"media": id}));
    }

    #[test]
    fn references_are_found_with_their_paths_and_overrides() {
        let id = Uuid::now_v7();
        let props = json!({
            "title": "x",
            "image": {"media": id.to_string()},
            "images": [{"src": "/a.jpg"}, {"media": id.to_string(), "alt": "Front desk"}, {"media": "nope"}],
        });
        let found = references(&props, "props");
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[0],
            Reference {
                path: "props.image".into(),
                id: Some(id),
                alt: None
            }
        );
        assert_eq!(found[1].path, "props.images.1");
        assert_eq!(found[1].alt.as_deref(), Some("Front desk"));
        assert_eq!(found[2].id, None);
    }
}
