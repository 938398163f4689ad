//! The delivery contract: what the public `/api/v1/delivery` endpoints answer
//! and what renderers and external frontends read. The api documents its
//! answers with these types (`ToSchema` behind the `openapi` feature, which the
//! renderer does not enable) and the renderer deserialises into them, so the
//! bytes and the contract cannot drift apart.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::experiments::{Assignment, Experiment};

/// A site as renderers need it: theme, locales, hosts and navigation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteManifest {
    pub site_id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub default_locale: String,
    pub locales: Vec<String>,
    /// Theme settings (colours, fonts) the site's templates read.
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub theme: Map<String, Value>,
    /// Analytics ids, and `content_utm`: the UTM parameters whose values
    /// change what pages show (see `content_utm`).
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub analytics: Map<String, Value>,
    /// Primary host first.
    pub hosts: Vec<String>,
    /// Published pages, for navigation and hreflang.
    pub navigation: Vec<NavigationItem>,
}

impl SiteManifest {
    /// UTM parameters whose values change what the site's pages show (part of
    /// the renderer's cache key); every other parameter is normalised away.
    pub fn content_utm(&self) -> Vec<String> {
        self.analytics
            .get("content_utm")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|key| key.as_str().map(str::to_owned))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NavigationItem {
    pub path: String,
    pub locale: String,
    pub title: String,
}

/// Published paths of a site with their last change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sitemap {
    pub items: Vec<SitemapEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SitemapEntry {
    pub path: String,
    pub locale: String,
    pub last_modified: DateTime<Utc>,
}

/// A page as delivered: the published snapshot (or, in a preview, the draft)
/// with its blocks in order, SEO and the page's running experiments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryPage {
    pub id: Uuid,
    pub site_id: Uuid,
    /// The published revision; null in a preview of the draft.
    pub revision_id: Option<Uuid>,
    pub path: String,
    pub locale: String,
    pub title: String,
    pub seo: Seo,
    pub blocks: Vec<DeliveryBlock>,
    /// Running experiments of the page; the first variant of each is the control.
    #[serde(default)]
    pub experiments: Vec<Experiment>,
    /// Templates of the tenant's own modules the blocks use, by module key.
    #[serde(default)]
    pub custom_modules: BTreeMap<String, CustomModuleSource>,
    /// When the revision was published (absent in revisions imported or
    /// seeded before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
    /// True in answers of `/delivery/preview`: never cache or index them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preview: bool,
    /// The experiment variant a preview shows, if it asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_variant: Option<PreviewVariant>,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// One block: a module and its props (valid against the module's schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryBlock {
    /// The block's id (a UUID; blocks an experiment variant inserts have ids
    /// of their own form).
    pub id: String,
    /// Module key: `hero`, `rich_text`, or a custom module's key.
    pub module: String,
    #[cfg_attr(feature = "openapi", schema(value_type = HashMap<String, serde_json::Value>))]
    pub props: Map<String, Value>,
}

/// A page's SEO fields; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub og_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noindex: Option<bool>,
}

/// A custom module's template as published with the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomModuleSource {
    /// Tera source; the renderer compiles it once per version.
    pub template: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewVariant {
    pub experiment: String,
    pub variant: String,
}

/// The variants a visitor sees of a page's running experiments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignments {
    pub visitor: String,
    /// One per running experiment of the page; send exposures only for
    /// tracked ones.
    pub assignments: Vec<Assignment>,
}
