//! `api bench-media`: the image pipeline's own cost, for `make bench`
//! (`scripts/bench_media.sh` runs libvips' `vipsthumbnail` beside it):
//! - `sample`: writes a photo-like JPEG of a given size (the inputs);
//! - `renditions`: decodes a JPEG and makes the preset widths in one format
//!   on every thread at once, as the rendition jobs do (renditions/s);
//! - `peak-rss`: decodes and renders one image and reports this process's
//!   peak resident memory (run it alone, on a 40 MP image);
//! - `uploads`: an in-process api on this database answers concurrent
//!   multipart uploads of distinct JPEGs (renditions excluded: no worker).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cms_imaging::{self as pixels, Format, Plan};
use cms_shared::media::FocalPoint;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{Config, MediaConfig};
use crate::error::ApiError;

#[derive(Debug, Serialize)]
pub struct RenditionsReport {
    pub format: &'static str,
    pub threads: usize,
    pub images: usize,
    pub renditions: usize,
    pub seconds: f64,
    pub renditions_per_s: f64,
}

fn plan(config: &MediaConfig) -> Plan {
    Plan {
        widths: config.widths.clone(),
        fills: Vec::new(),
        crop: None,
        focal: FocalPoint { x: 0.5, y: 0.5 },
        webp_quality: config.webp_quality,
        jpeg_quality: config.jpeg_quality,
        avif_quality: config.avif_quality,
        avif_speed: config.avif_speed,
        deadline: Instant::now() + Duration::from_secs(3600),
        deadline_secs: 3600,
    }
}

/// `images` decodes of `jpeg` on each of `threads` threads, each making the
/// preset widths in `format`.
pub fn renditions(
    config: &MediaConfig,
    jpeg: &[u8],
    format: Format,
    threads: usize,
    images: usize,
) -> Result<RenditionsReport, ApiError> {
    let made = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<(), ApiError> {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<(), ApiError> {
                    for _ in 0..images {
                        let decoded =
                            pixels::decode(jpeg, config.max_pixels).map_err(ApiError::internal)?;
                        let out = pixels::render(&decoded, &plan(config), &[format])
                            .map_err(ApiError::internal)?;
                        made.fetch_add(out.len(), Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| ApiError::internal("a bench thread panicked"))??;
        }
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let renditions = made.into_inner();
    Ok(RenditionsReport {
        format: format.name(),
        threads: threads.max(1),
        images: images * threads.max(1),
        renditions,
        seconds,
        renditions_per_s: renditions as f64 / seconds,
    })
}

/// This process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Decodes `jpeg` and makes its WebP widths; answers the process's peak
/// resident memory before and after, and the image's size.
pub fn peak_rss(config: &MediaConfig, jpeg: &[u8]) -> Result<Value, ApiError> {
    let before = peak_rss_mib();
    let decoded = pixels::decode(jpeg, config.max_pixels).map_err(ApiError::internal)?;
    let (width, height) = (decoded.image.width(), decoded.image.height());
    let out =
        pixels::render(&decoded, &plan(config), &[Format::Webp]).map_err(ApiError::internal)?;
    drop(decoded);
    Ok(json!({
        "width": width,
        "height": height,
        "megapixels": f64::from(width) * f64::from(height) / 1e6,
        "renditions": out.len(),
        "peak_rss_mib_before": before,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

/// `jpeg` with a comment segment naming `n` after its start marker: the
/// same picture, other bytes (so uploads are not deduplicated).
fn distinct(jpeg: &[u8], n: usize) -> Vec<u8> {
    let comment = format!("bench upload {n}");
    let length = (comment.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + comment.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(comment.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn multipart(boundary: &str, file: &[u8], n: usize) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench-{n}.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\nBench\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    body
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// `uploads` uploads of distinct copies of `jpeg`, `concurrency` at a time,
/// to an api started here on `config` (no worker), as `email`.
pub async fn uploads(
    mut config: Config,
    jpeg: Vec<u8>,
    uploads: usize,
    concurrency: usize,
    (email, password): (&str, &str),
) -> Result<Value, Box<dyn std::error::Error>> {
    config.jobs_in_serve = false;
    config.listen_addr = "127.0.0.1:0".parse()?;
    let app = crate::Application::build(config).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or("the bench user cannot log in")?
        .to_owned();
    let boundary = "cms-bench-boundary-7f3a";
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..uploads)
            .map(|n| multipart(boundary, &distinct(&jpeg, n), n))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, bodies, next, token, base) = (
                client.clone(),
                Arc::clone(&bodies),
                Arc::clone(&next),
                token.clone(),
                base.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failed = 0usize;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else { break };
                    let sent = Instant::now();
                    let answer = client
                        .post(format!("{base}/api/v1/media"))
                        .bearer_auth(&token)
                        .header(
                            "content-type",
                            format!("multipart/form-data; boundary={boundary}"),
                        )
                        .body(body.clone())
                        .send()
                        .await;
                    match answer {
                        Ok(response) if response.status().as_u16() == 201 => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        Ok(response) => {
                            failed += 1;
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            eprintln!("upload answered {status}: {text}");
                        }
                        Err(err) => {
                            failed += 1;
                            eprintln!("upload failed: {err}");
                        }
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (mine, theirs) = task.await?;
        latencies.extend(mine);
        failed += theirs;
    }
    let seconds = started.elapsed().as_secs_f64();
    handle.stop(true).await;
    latencies.sort_by(f64::total_cmp);
    Ok(json!({
        "uploads": uploads,
        "concurrency": concurrency,
        "bytes_each": jpeg.len(),
        "failed": failed,
        "seconds": seconds,
        "uploads_per_s": latencies.len() as f64 / seconds,
        "p50_ms": percentile(&latencies, 0.50),
        "p99_ms": percentile(&latencies, 0.99),
        "max_ms": latencies.last().copied().unwrap_or(0.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distinct_copy_is_still_a_jpeg_with_other_bytes() {
        let jpeg = pixels::sample_photo_jpeg(64, 48, 1, 80).unwrap_or_default();
        let (a, b) = (distinct(&jpeg, 1), distinct(&jpeg, 2));
        assert_ne!(a, b);
        assert_eq!(&a[..2], &[0xFF, 0xD8]);
        let decoded = pixels::decode(&a, 1_000_000).map(|d| d.image.width());
        assert_eq!(decoded.ok(), Some(64));
    }
}
