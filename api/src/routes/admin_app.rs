//! `/admin`: the editors' single-page app (`api/admin`, built by Vite into
//! `CMS_ADMIN_DIR`). Not part of the API's spec, like Swagger UI.
//!
//! The build is read into memory once at start (a few hundred KB): no file
//! system access per request, and nothing outside the build can be named by
//! a path. Hashed assets (`/admin/assets/...`) are immutable for a year;
//! `index.html` answers every other `/admin/...` path (the app routes in the
//! browser) with `no-cache` and a strict CSP: scripts, styles and API calls
//! from this origin only, no inline script, not framed. Without a build,
//! `/admin` answers a page that says how to make one.

use std::collections::HashMap;
use std::path::Path;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::http::etag::if_none_match;

/// A build larger than this is refused at start (it would be a mistake).
const MAX_BUILD_BYTES: u64 = 32 << 20;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The admin's Content-Security-Policy, with `frame-src` for the live
/// preview's renderer. `img-src` admits `blob:` and `data:` for previews of
/// images being uploaded.
fn csp(frame_src: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; \
         frame-src {frame_src}; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'; object-src 'none'"
    )
}

struct File {
    bytes: Bytes,
    mime: &'static str,
    etag: String,
}

/// The built admin, or why there is none.
pub struct AdminApp {
    files: HashMap<String, File>,
    missing: Option<String>,
    csp: String,
}

fn mime_of(name: &str) -> Option<&'static str> {
    let (_, extension) = name.rsplit_once('.')?;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// Where the live preview shows a page: `CMS_ADMIN_PREVIEW_URL` with the
/// site's host for `{host}` (`http://{host}:8081` under `make run`). The
/// admin reads it from a `<meta>` of its page (no inline script); the CSP
/// frames the same pattern with any host.
fn with_preview_url(index: &[u8], template: &str) -> Vec<u8> {
    let meta = format!(
        "<meta name=\"cms-preview-url\" content=\"{}\">",
        template.replace('&', "&amp;").replace('"', "&quot;")
    );
    let page = String::from_utf8_lossy(index);
    match page.find("</head>") {
        Some(at) => format!("{}{meta}{}", &page[..at], &page[at..]).into_bytes(),
        None => index.to_vec(),
    }
}

impl AdminApp {
    /// Reads the build in `dir` (`index.html` and everything beside it).
    pub fn load(dir: &Path, preview_url: Option<&str>) -> AdminApp {
        let frame_src = preview_url.map_or_else(
            || "'none'".to_owned(),
            |template| template.replace("{host}", "*"),
        );
        match Self::read(dir) {
            Ok(mut files) if files.contains_key("index.html") => {
                if let (Some(template), Some(index)) = (preview_url, files.get_mut("index.html")) {
                    let bytes = with_preview_url(&index.bytes, template);
                    index.etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
                    index.bytes = bytes.into();
                }
                tracing::info!(dir = %dir.display(), files = files.len(), "serving the admin at /admin");
                AdminApp {
                    files,
                    missing: None,
                    csp: csp(&frame_src),
                }
            }
            Ok(_) => Self::unbuilt(dir, "it has no index.html"),
            Err(err) => Self::unbuilt(dir, &err.to_string()),
        }
    }

    fn unbuilt(dir: &Path, reason: &str) -> AdminApp {
        tracing::warn!(dir = %dir.display(), reason, "the admin is not built: /admin explains how to build it");
        AdminApp {
            files: HashMap::new(),
            missing: Some(format!("{} ({reason})", dir.display())),
            csp: csp("'none'"),
        }
    }

    fn read(dir: &Path) -> std::io::Result<HashMap<String, File>> {
        let mut files = HashMap::new();
        let mut total = 0u64;
        let mut pending = vec![(dir.to_path_buf(), String::new())];
        while let Some((path, prefix)) = pending.pop() {
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let file_type = entry.file_type()?;
                if file_type.is_dir() {
                    pending.push((entry.path(), format!("{prefix}{name}/")));
                    continue;
                }
                let Some(mime) = file_type.is_file().then(|| mime_of(&name)).flatten() else {
                    continue;
                };
                let bytes = std::fs::read(entry.path())?;
                total += bytes.len() as u64;
                if total > MAX_BUILD_BYTES {
                    return Err(std::io::Error::other("the build is larger than 32 MiB"));
                }
                let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
                files.insert(
                    format!("{prefix}{name}"),
                    File {
                        bytes: bytes.into(),
                        mime,
                        etag,
                    },
                );
            }
        }
        Ok(files)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(to_slash))
        .route("/admin/{path:.*}", web::get().to(admin_file));
}

async fn to_slash() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/admin/"))
        .finish()
}

async fn admin_file(
    req: HttpRequest,
    app: web::Data<AdminApp>,
    path: web::Path<String>,
) -> HttpResponse {
    if let Some(missing) = &app.missing {
        return unbuilt_page(missing);
    }
    let path = path.into_inner();
    let (file, cache) = match app.files.get(&path) {
        Some(file) if path.starts_with("assets/") => (file, IMMUTABLE),
        Some(file) => (file, "no-cache"),
        // A missing asset is a 404, not the app: a stale page asking for an
        // old build's script must not get HTML as JavaScript.
        None if path.starts_with("assets/") => return HttpResponse::NotFound().finish(),
        None => match app.files.get("index.html") {
            Some(index) => (index, "no-cache"),
            None => return HttpResponse::NotFound().finish(),
        },
    };
    let not_modified = if_none_match(&req, &file.etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, file.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
    if file.mime.starts_with("text/html") {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, app.csp.clone()))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if not_modified {
        return response.finish();
    }
    response.content_type(file.mime).body(file.bytes.clone())
}

fn unbuilt_page(missing: &str) -> HttpResponse {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>The admin is not built</title></head>\
         <body><h1>The admin is not built</h1>\
         <p>No build was found in <code>{}</code>.</p>\
         <p>Build it with <code>make admin</code> (or <code>cd api/admin &amp;&amp; npm ci &amp;&amp; npm run build</code>), \
         or point <code>CMS_ADMIN_DIR</code> at a build, then restart the api. <code>make run</code> does both.</p>\
         </body></html>",
        ammonia::clean_text(missing)
    );
    HttpResponse::ServiceUnavailable()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .content_type("text/html; charset=utf-8")
        .body(body)
}
