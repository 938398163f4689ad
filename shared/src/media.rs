//! Media on the wire: a library item as `/api/v1/media` answers it, and an
//! image as delivery resolves a block's `{"media": id}` reference into it,
//! which is what renderers and external frontends draw `<picture>` from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One made rendition of a media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rendition {
    /// `webp`, `avif`, or the original's family (`jpeg`, `png`) for fallbacks.
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// Content-addressed and immutable.
    pub url: String,
    pub bytes: u64,
    /// The named fill crop (`square`, `og`) this is; none for plain widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
}

/// Where fill crops centre: fractions of the width and height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FocalPoint {
    pub x: f32,
    pub y: f32,
}

/// A crop rectangle in the image's displayed pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CropRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// A media of the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaItem {
    pub id: Uuid,
    /// `jpeg`, `png`, `webp`, `gif`, `avif` or `svg`: from the bytes.
    pub kind: String,
    /// `uploading`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Why its renditions failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub file_name: String,
    pub byte_size: u64,
    /// Displayed size: after EXIF orientation and the crop.
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub alt: String,
    pub decorative: bool,
    pub title: String,
    pub tags: Vec<String>,
    pub focal_point: FocalPoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<CropRect>,
    /// ThumbHash (base64) of the image, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// A `data:` URI of the placeholder, ready for a CSS background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder_uri: Option<String>,
    pub renditions: Vec<Rendition>,
    /// The version of the rendition presets the renditions were made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presets: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One candidate of a `srcset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSource {
    pub src: String,
    pub width: u32,
}

/// Modern formats of an image at several widths, narrowest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSources {
    #[serde(default)]
    pub avif: Vec<ImageSource>,
    #[serde(default)]
    pub webp: Vec<ImageSource>,
}

/// A block's image as delivery answers it: the media reference resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolvedImage {
    /// The media id the block refers to.
    pub media: Uuid,
    /// The fallback (original family) at the largest width made.
    pub src: String,
    pub width: u32,
    pub height: u32,
    /// The block's override, else the media's alt text; empty for
    /// decorative images.
    pub alt: String,
    /// `data:` URI of a tiny PNG decoded from the ThumbHash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    pub sources: ImageSources,
}

/// One thing that uses a media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaUse {
    /// `block` (a draft block of a page), `published` (a page's live
    /// revision), `doctor` (a doctor's photo) or `site` (site settings).
    pub kind: String,
    /// The page, doctor or site.
    pub id: Uuid,
    /// The block, for `block` uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_id: Option<Uuid>,
    /// The page's path, the doctor's or the site's name.
    pub label: String,
}
