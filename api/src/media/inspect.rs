//! What an upload is, from its bytes alone, before any decoding: the type
//! from the signature (never the declared type or the file name), the pixel
//! dimensions from the header (so a "decompression bomb" that claims
//! 30,000 x 30,000 pixels in a few kilobytes is refused without allocating
//! its pixels), and no bytes after the image's own end (a JPEG or PNG with a
//! script appended is a polyglot a browser might sniff as HTML; WebP and
//! AVIF files declare their length, which must be the file's).
//!
//! Accepted: JPEG, PNG, WebP, GIF, AVIF. Everything else (HTML, SVG, PDF,
//! HEIC, ...) is refused. Metadata is not checked here: every accepted image
//! is decoded and re-encoded later, which drops it. The trailing-bytes check
//! is a first line only (appended bytes that end with a JPEG EOI marker pass
//! it); what stops polyglots is that only re-encoded images are served, with
//! `X-Content-Type-Options: nosniff`.

use imagesize::{Compression, ImageType};

/// Accepted image families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
    Avif,
}

impl ImageKind {
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
            ImageKind::Avif => "image/avif",
        }
    }
}

/// An upload that passed: its kind and pixel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
}

/// Why an upload is refused (each answers 422 naming `file`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is empty")]
    Empty,
    #[error("is not a JPEG, PNG, WebP, GIF or AVIF image (judged from its bytes)")]
    NotAnImage,
    #[error("is an image type that is not accepted ({0})")]
    Unsupported(&'static str),
    #[error("has no readable dimensions in its header")]
    NoDimensions,
    #[error("is {width} x {height} pixels, more than the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("has {0} bytes after the end of the image (refused as a possible polyglot)")]
    TrailingData(usize),
    #[error("is truncated or malformed")]
    Malformed,
}

/// Inspects `bytes` (the whole upload): accepted images at most
/// `max_pixels` pixels (width x height) answer their kind and size.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<Inspected, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    let kind = match imagesize::image_type(bytes).map_err(|_| Refusal::NotAnImage)? {
        ImageType::Jpeg => ImageKind::Jpeg,
        ImageType::Png => ImageKind::Png,
        ImageType::Webp => ImageKind::Webp,
        ImageType::Gif => ImageKind::Gif,
        ImageType::Heif(Compression::Av1) => ImageKind::Avif,
        ImageType::Heif(_) => return Err(Refusal::Unsupported("HEIF/HEIC")),
        #[allow(unreachable_patterns)]
        _ => return Err(Refusal::NotAnImage),
    };
    let size = imagesize::blob_size(bytes).map_err(|_| Refusal::NoDimensions)?;
    let (width, height) = (
        u32::try_from(size.width).map_err(|_| Refusal::NoDimensions)?,
        u32::try_from(size.height).map_err(|_| Refusal::NoDimensions)?,
    );
    if width == 0 || height == 0 {
        return Err(Refusal::NoDimensions);
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Refusal::TooManyPixels {
            width,
            height,
            limit: max_pixels,
        });
    }
    let end = match kind {
        ImageKind::Jpeg => jpeg_end(bytes),
        ImageKind::Png => png_end(bytes),
        ImageKind::Webp => riff_end(bytes),
        ImageKind::Avif => boxes_end(bytes),
        // GIF's trailer byte cannot be found without walking every block;
        // re-encoding drops anything appended.
        ImageKind::Gif => Some(bytes.len()),
    }
    .ok_or(Refusal::Malformed)?;
    let trailing = bytes.len() - end;
    if trailing > 0 {
        return Err(Refusal::TrailingData(trailing));
    }
    Ok(Inspected {
        kind,
        width,
        height,
    })
}

/// How many frames a GIF has (image descriptors), walking its blocks
/// without decoding any: an animation's frames count against the pixel
/// limit. A malformed file counts the frames read so far (at least one).
pub fn gif_frames(bytes: &[u8]) -> u64 {
    fn skip_sub_blocks(bytes: &[u8], mut at: usize) -> Option<usize> {
        loop {
            let len = usize::from(*bytes.get(at)?);
            at += 1;
            if len == 0 {
                return Some(at);
            }
            at += len;
        }
    }
    let mut frames = 0u64;
    let Some(&packed) = bytes.get(10) else {
        return 1;
    };
    let mut at = 13;
    if packed & 0x80 != 0 {
        at += 3 * (1 << ((packed & 0x07) + 1));
    }
    while let Some(&block) = bytes.get(at) {
        match block {
            0x21 => match skip_sub_blocks(bytes, at + 2) {
                Some(next) => at = next,
                None => break,
            },
            0x2C => {
                frames += 1;
                let Some(&local) = bytes.get(at + 9) else {
                    break;
                };
                at += 10;
                if local & 0x80 != 0 {
                    at += 3 * (1 << ((local & 0x07) + 1));
                }
                // The LZW minimum code size, then the image data.
                match skip_sub_blocks(bytes, at + 1) {
                    Some(next) => at = next,
                    None => break,
                }
            }
            _ => break,
        }
    }
    frames.max(1)
}

/// Just past the last End Of Image marker. Encoders may pad with a few zero
/// bytes after it; those are allowed.
fn jpeg_end(bytes: &[u8]) -> Option<usize> {
    let eoi = bytes.windows(2).rposition(|pair| pair == [0xFF, 0xD9])? + 2;
    let padding = bytes[eoi..].iter().take_while(|byte| **byte == 0).count();
    Some(eoi + padding)
}

/// Just past the IEND chunk, walking the chunks from the signature.
fn png_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 8;
    loop {
        let header = bytes.get(at..at + 8)?;
        let length = usize::try_from(u32::from_be_bytes(header[..4].try_into().ok()?)).ok()?;
        let next = at.checked_add(12)?.checked_add(length)?;
        if next > bytes.len() {
            return None;
        }
        if &header[4..8] == b"IEND" {
            return Some(next);
        }
        at = next;
    }
}

/// The length a RIFF (WebP) file declares: 8 + its size field, padded even.
fn riff_end(bytes: &[u8]) -> Option<usize> {
    let size = usize::try_from(u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?)).ok()?;
    let end = 8 + size + size % 2;
    (end <= bytes.len()).then_some(end)
}

/// Just past the last whole top-level ISO-BMFF box (AVIF).
fn boxes_end(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes.get(at..at + 8)?;
        let size = u64::from(u32::from_be_bytes(header[..4].try_into().ok()?));
        let size = match size {
            0 => (bytes.len() - at) as u64, // to the end of the file
            1 => u64::from_be_bytes(bytes.get(at + 8..at + 16)?.try_into().ok()?),
            size => size,
        };
        let next = at.checked_add(usize::try_from(size).ok()?)?;
        if size < 8 || next > bytes.len() {
            return None;
        }
        at = next;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 40_000_000;

    /// A PNG of `width` x `height` whose header is all there is (the pixels
    /// are never read), ended by IEND.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        for (kind, data) in [(&b"IHDR"[..], ihdr.as_slice()), (b"IEND", &[])] {
            bytes.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
            bytes.extend_from_slice(kind);
            bytes.extend_from_slice(data);
            bytes.extend_from_slice(&[0, 0, 0, 0]); // CRC: not checked here
        }
        bytes
    }

    /// A minimal baseline JPEG header (SOI, SOF0 with the size), then EOI.
    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    /// A lossless WebP (VP8L) header of `width` x `height`.
    fn webp(width: u32, height: u32) -> Vec<u8> {
        let packed = (width - 1) | ((height - 1) << 14);
        let mut chunk = vec![0x2F];
        chunk.extend_from_slice(&packed.to_le_bytes());
        let mut bytes = b"RIFF".to_vec();
        let size = 4 + 8 + chunk.len() + chunk.len() % 2;
        bytes.extend_from_slice(&u32::try_from(size).unwrap_or(0).to_le_bytes());
        bytes.extend_from_slice(b"WEBPVP8L");
        bytes.extend_from_slice(&u32::try_from(chunk.len()).unwrap_or(0).to_le_bytes());
        bytes.extend_from_slice(&chunk);
        if chunk.len() % 2 == 1 {
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn accepted_images_answer_their_kind_and_size() {
        assert_eq!(
            inspect(&png(640, 480), LIMIT),
            Ok(Inspected {
                kind: ImageKind::Png,
                width: 640,
                height: 480
            })
        );
        assert_eq!(
            inspect(&jpeg(1200, 800), LIMIT).map(|i| (i.kind, i.width, i.height)),
            Ok((ImageKind::Jpeg, 1200, 800))
        );
        assert_eq!(
            inspect(&webp(320, 200), LIMIT).map(|i| (i.kind, i.width, i.height)),
            Ok((ImageKind::Webp, 320, 200))
        );
        let gif = b"GIF89a\x10\x00\x08\x00\x00\x00\x00;";
        assert_eq!(
            inspect(gif, LIMIT).map(|i| (i.kind, i.width, i.height)),
            Ok((ImageKind::Gif, 16, 8))
        );
    }

    #[test]
    fn a_bomb_is_refused_from_its_header() {
        let bomb = png(30_000, 30_000);
        assert!(bomb.len() < 100);
        assert_eq!(
            inspect(&bomb, LIMIT),
            Err(Refusal::TooManyPixels {
                width: 30_000,
                height: 30_000,
                limit: LIMIT
            })
        );
        assert!(inspect(&png(8_000, 5_000), LIMIT).is_ok(), "exactly 40 MP");
        assert!(inspect(&png(8_000, 5_001), LIMIT).is_err());
    }

    #[test]
    fn what_is_not_an_accepted_image_is_refused() {
        let html = b"<!doctype html><html><script>alert(1)</script></html>";
        assert_eq!(inspect(html, LIMIT), Err(Refusal::NotAnImage));
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert_eq!(inspect(svg, LIMIT), Err(Refusal::NotAnImage));
        assert_eq!(inspect(b"%PDF-1.7\n", LIMIT), Err(Refusal::NotAnImage));
        assert_eq!(inspect(b"", LIMIT), Err(Refusal::Empty));
    }

    #[test]
    fn bytes_after_the_image_are_refused() {
        let script = b"<script>alert(document.cookie)</script>";
        let mut polyglot = jpeg(100, 100);
        polyglot.extend_from_slice(script);
        assert_eq!(
            inspect(&polyglot, LIMIT),
            Err(Refusal::TrailingData(script.len()))
        );
        let mut padded = jpeg(100, 100);
        padded.extend_from_slice(&[0, 0, 0]);
        assert!(inspect(&padded, LIMIT).is_ok(), "zero padding after EOI");
        let mut png_tail = png(10, 10);
        png_tail.extend_from_slice(b"<html>");
        assert_eq!(inspect(&png_tail, LIMIT), Err(Refusal::TrailingData(6)));
        let mut webp_tail = webp(10, 10);
        webp_tail.extend_from_slice(b"<html>");
        assert_eq!(inspect(&webp_tail, LIMIT), Err(Refusal::TrailingData(6)));
        // A PNG cut before IEND is malformed.
        let cut = png(10, 10);
        assert_eq!(
            inspect(&cut[..cut.len() - 6], LIMIT),
            Err(Refusal::Malformed)
        );
    }
}
