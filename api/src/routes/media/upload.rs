//! `POST /media`: the multipart upload, read as it streams in.

use actix_multipart::Multipart;
use actix_web::{post, web, HttpResponse};
use bytes::BytesMut;
use futures_util::StreamExt;
use utoipa::ToSchema;

use cms_shared::media::MediaItem;

use super::{check_tags, check_texts};
use crate::auth::extract::TenantCtx;
use crate::auth::roles::Permission;
use crate::error::{ApiError, FieldError, Problem};
use crate::media::{self, Upload};
use crate::state::AppState;

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads it as a stream
pub struct UploadForm {
    /// The image: JPEG, PNG, WebP, GIF or AVIF (judged from its bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Alt text (required to use the image in a block unless decorative).
    alt: Option<String>,
    title: Option<String>,
    /// Comma-separated, or the field repeated.
    tags: Option<String>,
}

const MAX_TEXT_FIELD: usize = 4096;

fn multipart_error(err: actix_multipart::MultipartError) -> ApiError {
    ApiError::BadRequest(format!(
        "expected multipart/form-data with a `file` field: {err}"
    ))
}

/// Reads the form as it streams in: the file up to the byte limit (a larger
/// one is refused without reading the rest), small text fields.
async fn read_upload(mut form: Multipart, max_bytes: usize) -> Result<Upload, ApiError> {
    let mut file: Option<(BytesMut, String)> = None;
    let (mut alt, mut title, mut tags) = (String::new(), String::new(), Vec::<String>::new());
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(255)
                    .collect::<String>();
                let mut bytes = BytesMut::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    if bytes.len() + chunk.len() > max_bytes {
                        return Err(ApiError::PayloadTooLarge { limit: max_bytes });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((bytes, file_name));
            }
            "alt" | "title" | "tags" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    if text.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(ApiError::invalid(&name, "is too long"));
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text)
                    .map_err(|_| ApiError::invalid(&name, "is not UTF-8 text"))?
                    .trim()
                    .to_owned();
                match name.as_str() {
                    "alt" => alt = text,
                    "title" => title = text,
                    _ => tags.extend(
                        text.split(',')
                            .map(str::trim)
                            .filter(|tag| !tag.is_empty())
                            .map(str::to_owned),
                    ),
                }
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "is not a field of an upload (file, alt, title, tags)",
                ))
            }
        }
    }
    let mut errors = Vec::new();
    check_texts(&mut errors, Some(&alt), Some(&title));
    tags.sort();
    tags.dedup();
    check_tags(&mut errors, &tags);
    let Some((bytes, file_name)) = file else {
        errors.push(FieldError::new("file", "is required"));
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Upload {
        bytes: bytes.freeze(),
        file_name,
        alt,
        title,
        tags,
    })
}

/// Upload an image. The same bytes uploaded again answer the existing media
/// (200) instead of a new one (201).
#[utoipa::path(
    tag = "media",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; renditions follow (status `processing`)", body = MediaItem),
        (status = 200, description = "The tenant already has these bytes", body = MediaItem),
        (status = 400, description = "Not a multipart form", body = Problem),
        (status = 403, body = Problem),
        (status = 413, description = "Larger than CMS_MEDIA_MAX_BYTES", body = Problem),
        (status = 422, description = "Not an accepted image (from its bytes), too many pixels, trailing data, quota, SVG not allowed or not well-formed", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/media")]
pub(super) async fn upload_media(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    ctx.require(Permission::WriteContent)?;
    let upload = read_upload(form, state.config.media.max_bytes).await?;
    let uploaded = media::upload(&state, ctx.audit(), Some(ctx.user.user_id()), upload).await?;
    let mut response = if uploaded.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header(("ETag", crate::http::etag::etag_for(uploaded.media.version)))
        .json(uploaded.media))
}
