//! The documents the renderer reads from the api (site manifests, pages,
//! sitemaps, clinic data): which one (`DocKey`, with its api path and cache
//! keys) and its content parsed into the delivery contract (`Doc`).

use std::sync::Arc;

use actix_web::web::Bytes;
use cms_shared::clinic::ClinicData;
use cms_shared::delivery::{DeliveryPage, SiteManifest, Sitemap};

/// Which document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DocKey {
    Manifest {
        host: String,
    },
    Page {
        site: String,
        locale: String,
        path: String,
    },
    Sitemap {
        site: String,
    },
    /// Clinics, doctors, services and reviews for the clinic modules.
    ClinicData {
        site: String,
    },
}

impl DocKey {
    pub(crate) fn is_manifest(&self) -> bool {
        matches!(self, DocKey::Manifest { .. })
    }

    /// Key in process memory.
    pub(crate) fn id(&self) -> String {
        match self {
            DocKey::Manifest { host } => format!("m|{host}"),
            DocKey::Page { site, locale, path } => format!("p|{site}|{locale}|{path}"),
            DocKey::Sitemap { site } => format!("s|{site}"),
            DocKey::ClinicData { site } => format!("c|{site}"),
        }
    }

    /// Redis hash and field: pages of one path share a hash, so an
    /// invalidation (which names paths, not locales) deletes one key.
    pub(crate) fn shared(&self, prefix: &str) -> (String, String) {
        match self {
            DocKey::Manifest { host } => (format!("{prefix}rc:m:{host}"), "doc".into()),
            DocKey::Page { site, locale, path } => {
                (format!("{prefix}rc:p:{site}:{path}"), locale.clone())
            }
            DocKey::Sitemap { site } => (format!("{prefix}rc:s:{site}"), "doc".into()),
            DocKey::ClinicData { site } => (format!("{prefix}rc:c:{site}"), "doc".into()),
        }
    }

    pub(crate) fn api_path(&self) -> String {
        let encode = |value: &str| form_encode(value);
        match self {
            DocKey::Manifest { host } => format!("/api/v1/delivery/sites/by-host/{}", encode(host)),
            DocKey::Page { site, locale, path } => format!(
                "/api/v1/delivery/sites/{site}/pages?path={}&locale={}",
                encode(path),
                encode(locale)
            ),
            DocKey::Sitemap { site } => format!("/api/v1/delivery/sites/{site}/sitemap"),
            DocKey::ClinicData { site } => format!("/api/v1/delivery/sites/{site}/clinic-data"),
        }
    }
}

pub(crate) fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A published document and its version, parsed into its contract type
/// (`cms_shared::delivery`) once per version.
#[derive(Debug)]
pub struct Doc {
    pub etag: String,
    /// The bytes as the api sent them (shared through Redis as they are).
    pub body: Bytes,
    pub content: Content,
}

/// What a document is, typed by the delivery contract.
#[derive(Debug)]
pub enum Content {
    Manifest(Arc<SiteManifest>),
    Page(Arc<DeliveryPage>),
    Sitemap(Arc<Sitemap>),
    ClinicData(Arc<ClinicData>),
}

impl Doc {
    /// Parses `body` as the kind of document `key` names.
    pub fn parse(key: &DocKey, etag: String, body: Bytes) -> Result<Self, serde_json::Error> {
        let content = match key {
            DocKey::Manifest { .. } => Content::Manifest(Arc::new(serde_json::from_slice(&body)?)),
            DocKey::Page { .. } => Content::Page(Arc::new(serde_json::from_slice(&body)?)),
            DocKey::Sitemap { .. } => Content::Sitemap(Arc::new(serde_json::from_slice(&body)?)),
            DocKey::ClinicData { .. } => {
                Content::ClinicData(Arc::new(serde_json::from_slice(&body)?))
            }
        };
        Ok(Doc {
            etag,
            body,
            content,
        })
    }

    pub fn manifest(&self) -> Option<&Arc<SiteManifest>> {
        match &self.content {
            Content::Manifest(manifest) => Some(manifest),
            _ => None,
        }
    }

    pub fn page(&self) -> Option<&Arc<DeliveryPage>> {
        match &self.content {
            Content::Page(page) => Some(page),
            _ => None,
        }
    }

    pub fn sitemap(&self) -> Option<&Arc<Sitemap>> {
        match &self.content {
            Content::Sitemap(sitemap) => Some(sitemap),
            _ => None,
        }
    }

    pub fn clinic_data(&self) -> Option<&Arc<ClinicData>> {
        match &self.content {
            Content::ClinicData(data) => Some(data),
            _ => None,
        }
    }
}
