//! The pixel work of media renditions, all blocking (the api runs it through its
//! bounded `images` pool): decode with allocation limits, apply the EXIF
//! orientation, crop, resize (SIMD, `fast_image_resize`), and encode WebP
//! (libwebp, lossy), AVIF (rav1e) and a fallback in the original family.
//! Nothing of the original's metadata survives: encoders get bare pixels.

use std::io::Cursor;
use std::time::Instant;

use base64::Engine;
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader};

use cms_shared::media::{CropRect, FocalPoint};

#[derive(Debug, thiserror::Error)]
pub enum PixelError {
    #[error("cannot decode the image: {0}")]
    Decode(String),
    #[error("cannot encode {0}: {1}")]
    Encode(&'static str, String),
    #[error("took longer than the limit of {0} s")]
    TimedOut(u64),
    #[error("resizing: {0}")]
    Resize(String),
}

/// What to make.
#[derive(Debug, Clone)]
pub struct Plan {
    pub widths: Vec<u32>,
    /// Named fill crops: (name, width, height).
    pub fills: Vec<(String, u32, u32)>,
    pub crop: Option<CropRect>,
    pub focal: FocalPoint,
    pub webp_quality: f32,
    pub jpeg_quality: u8,
    pub avif_quality: f32,
    pub avif_speed: u8,
    /// Give up when this passes (checked between images).
    pub deadline: Instant,
    pub deadline_secs: u64,
}

/// Encoded output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Webp,
    Avif,
    Jpeg,
    Png,
    /// A vector image, passed through as it was stored (never encoded here).
    Svg,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Webp => "webp",
            Format::Avif => "avif",
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            other => other.name(),
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
        }
    }
}

/// One encoded rendition.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// `Some("square")` for a fill crop.
    pub fill: Option<String>,
    pub bytes: Vec<u8>,
}

/// A decoded, upright image.
pub struct Decoded {
    pub image: DynamicImage,
    pub has_alpha: bool,
}

/// Decodes `bytes` (the first frame of an animation), refusing to allocate
/// for more than `max_pixels`, and applies the EXIF orientation.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<Decoded, PixelError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| PixelError::Decode(err.to_string()))?;
    if reader.format() == Some(image::ImageFormat::Avif) {
        return decode_avif(bytes, max_pixels);
    }
    let mut limits = image::Limits::default();
    // RGBA at the pixel limit, plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(limits.clone());
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| PixelError::Decode(err.to_string()))?;
    // `into_decoder` checks only width and height: reserve the output too.
    limits
        .reserve(decoder.total_bytes())
        .map_err(|err| PixelError::Decode(err.to_string()))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|err| PixelError::Decode(err.to_string()))?;
    image.apply_orientation(orientation);
    let has_alpha = image.color().has_alpha();
    Ok(Decoded { image, has_alpha })
}

/// AVIF through libaom's AV1 decoder (`avif-decode`; `image` decodes AVIF
/// only through dav1d newer than Debian's). The upload's `ispe` size was
/// checked against the pixel limit before this runs; the decoded frame is
/// checked again, since the AV1 stream states its own size.
fn decode_avif(bytes: &[u8], max_pixels: u64) -> Result<Decoded, PixelError> {
    let decode = |err: avif_decode::Error| PixelError::Decode(format!("AVIF: {err}"));
    let decoded = avif_decode::Decoder::from_avif(bytes)
        .and_then(avif_decode::Decoder::to_image)
        .map_err(decode)?;
    let too_large = |width: usize, height: usize| (width as u64) * (height as u64) > max_pixels;
    // One arm per pixel layout avif-decode answers: check the size, then
    // lay the channels out as `image` expects.
    macro_rules! frame {
        ($img:expr, $variant:ident, |$p:ident| $channels:expr) => {{
            let img = $img;
            if too_large(img.width(), img.height()) {
                return Err(PixelError::Decode(
                    "AVIF: the frame is larger than the pixel limit".into(),
                ));
            }
            let (width, height) = (img.width() as u32, img.height() as u32);
            let raw = img
                .into_buf()
                .into_iter()
                .flat_map(|$p| $channels)
                .collect();
            image::ImageBuffer::from_raw(width, height, raw).map(DynamicImage::$variant)
        }};
    }
    let image = match decoded {
        avif_decode::Image::Rgb8(img) => frame!(img, ImageRgb8, |p| [p.r, p.g, p.b]),
        avif_decode::Image::Rgba8(img) => frame!(img, ImageRgba8, |p| [p.r, p.g, p.b, p.a]),
        avif_decode::Image::Rgb16(img) => frame!(img, ImageRgb16, |p| [p.r, p.g, p.b]),
        avif_decode::Image::Rgba16(img) => frame!(img, ImageRgba16, |p| [p.r, p.g, p.b, p.a]),
        avif_decode::Image::Gray8(img) => frame!(img, ImageLuma8, |p| [p.value()]),
        avif_decode::Image::Gray16(img) => frame!(img, ImageLuma16, |p| [p.value()]),
    }
    .ok_or_else(|| PixelError::Decode("AVIF: the decoded frame has the wrong size".into()))?;
    let has_alpha = image.color().has_alpha();
    Ok(Decoded { image, has_alpha })
}

/// The widths to make for an image `source_width` wide: the presets it
/// covers (never upscaled) and, when it is narrower than the widest preset,
/// its own width.
pub fn widths_for(presets: &[u32], source_width: u32) -> Vec<u32> {
    let mut widths: Vec<u32> = presets
        .iter()
        .copied()
        .filter(|width| *width <= source_width)
        .collect();
    if presets.last().is_some_and(|widest| source_width < *widest)
        && !widths.contains(&source_width)
    {
        widths.push(source_width);
    }
    widths
}

/// The source rectangle of a `width` x `height` fill of a `source` image,
/// as large as fits, centred on the focal point as far as the edges allow.
pub fn fill_rect(
    source: (u32, u32),
    target: (u32, u32),
    focal: FocalPoint,
) -> (f64, f64, f64, f64) {
    let (sw, sh) = (f64::from(source.0), f64::from(source.1));
    let aspect = f64::from(target.0) / f64::from(target.1);
    let (cw, ch) = if sw / sh > aspect {
        (sh * aspect, sh)
    } else {
        (sw, sw / aspect)
    };
    let left = (f64::from(focal.x) * sw - cw / 2.0).clamp(0.0, sw - cw);
    let top = (f64::from(focal.y) * sh - ch / 2.0).clamp(0.0, sh - ch);
    (left, top, cw, ch)
}

struct Source {
    image: Image<'static>,
    pixel: PixelType,
    has_alpha: bool,
}

fn source_of(decoded: &Decoded, crop: Option<CropRect>) -> Result<Source, PixelError> {
    let image = match crop {
        Some(crop) => decoded
            .image
            .crop_imm(crop.x, crop.y, crop.width, crop.height),
        None => decoded.image.clone(),
    };
    let (width, height) = (image.width(), image.height());
    let (buffer, pixel) = if decoded.has_alpha {
        (image.into_rgba8().into_raw(), PixelType::U8x4)
    } else {
        (image.into_rgb8().into_raw(), PixelType::U8x3)
    };
    Ok(Source {
        image: Image::from_vec_u8(width, height, buffer, pixel)
            .map_err(|err| PixelError::Resize(err.to_string()))?,
        pixel,
        has_alpha: decoded.has_alpha,
    })
}

fn resize(
    resizer: &mut Resizer,
    source: &Source,
    size: (u32, u32),
    rect: Option<(f64, f64, f64, f64)>,
) -> Result<Image<'static>, PixelError> {
    let mut target = Image::new(size.0, size.1, source.pixel);
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if let Some((left, top, width, height)) = rect {
        options = options.crop(left, top, width, height);
    }
    resizer
        .resize(&source.image, &mut target, &options)
        .map_err(|err| PixelError::Resize(err.to_string()))?;
    Ok(target)
}

fn encode(
    format: Format,
    pixels: &Image<'_>,
    has_alpha: bool,
    plan: &Plan,
) -> Result<Vec<u8>, PixelError> {
    let (width, height, buffer) = (pixels.width(), pixels.height(), pixels.buffer());
    match format {
        Format::Webp => {
            let encoder = if has_alpha {
                webp::Encoder::from_rgba(buffer, width, height)
            } else {
                webp::Encoder::from_rgb(buffer, width, height)
            };
            // `encode_simple`, not `encode`: the latter panics on a libwebp error.
            encoder
                .encode_simple(false, plan.webp_quality)
                .map(|memory| memory.to_vec())
                .map_err(|err| PixelError::Encode("WebP", format!("{err:?}")))
        }
        Format::Avif => {
            let encoder = ravif::Encoder::new()
                .with_quality(plan.avif_quality)
                .with_speed(plan.avif_speed)
                .with_num_threads(Some(1));
            let encoded = if has_alpha {
                let pixels: Vec<ravif::RGBA8> = buffer
                    .chunks_exact(4)
                    .map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3]))
                    .collect();
                encoder.encode_rgba(ravif::Img::new(
                    &pixels[..],
                    width as usize,
                    height as usize,
                ))
            } else {
                let pixels: Vec<ravif::RGB8> = buffer
                    .chunks_exact(3)
                    .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
                    .collect();
                encoder.encode_rgb(ravif::Img::new(
                    &pixels[..],
                    width as usize,
                    height as usize,
                ))
            };
            encoded
                .map(|encoded| encoded.avif_file)
                .map_err(|err| PixelError::Encode("AVIF", err.to_string()))
        }
        Format::Jpeg => {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, plan.jpeg_quality)
                .encode(buffer, width, height, image::ExtendedColorType::Rgb8)
                .map_err(|err| PixelError::Encode("JPEG", err.to_string()))?;
            Ok(out)
        }
        Format::Png => {
            let mut out = Vec::new();
            let color = if has_alpha {
                image::ExtendedColorType::Rgba8
            } else {
                image::ExtendedColorType::Rgb8
            };
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut out),
                buffer,
                width,
                height,
                color,
            )
            .map_err(|err| PixelError::Encode("PNG", err.to_string()))?;
            Ok(out)
        }
        Format::Svg => Err(PixelError::Encode(
            "SVG",
            "vector images are stored as they are, not encoded from pixels".into(),
        )),
    }
}

/// Every rendition of `formats` for `plan`: the widths, then the fills.
pub fn render(
    decoded: &Decoded,
    plan: &Plan,
    formats: &[Format],
) -> Result<Vec<Encoded>, PixelError> {
    let source = source_of(decoded, plan.crop)?;
    let (sw, sh) = (source.image.width(), source.image.height());
    let mut resizer = Resizer::new();
    let mut out = Vec::new();
    let check = |plan: &Plan| {
        if Instant::now() > plan.deadline {
            Err(PixelError::TimedOut(plan.deadline_secs))
        } else {
            Ok(())
        }
    };
    for width in widths_for(&plan.widths, sw) {
        check(plan)?;
        let height =
            ((u64::from(sh) * u64::from(width) + u64::from(sw) / 2) / u64::from(sw)).max(1) as u32;
        let pixels = resize(&mut resizer, &source, (width, height), None)?;
        for format in formats {
            out.push(Encoded {
                format: *format,
                width,
                height,
                fill: None,
                bytes: encode(*format, &pixels, source.has_alpha, plan)?,
            });
        }
    }
    for (name, fw, fh) in &plan.fills {
        check(plan)?;
        let rect = fill_rect((sw, sh), (*fw, *fh), plan.focal);
        // Never upscale: a source crop smaller than the fill makes a
        // smaller image of the same aspect.
        let scale = (rect.2 / f64::from(*fw)).min(1.0);
        let size = (
            ((f64::from(*fw) * scale).round() as u32).max(1),
            ((f64::from(*fh) * scale).round() as u32).max(1),
        );
        let pixels = resize(&mut resizer, &source, size, Some(rect))?;
        for format in formats {
            out.push(Encoded {
                format: *format,
                width: size.0,
                height: size.1,
                fill: Some(name.clone()),
                bytes: encode(*format, &pixels, source.has_alpha, plan)?,
            });
        }
    }
    Ok(out)
}

/// The fallback format for an image: PNG when it has alpha, JPEG otherwise.
pub fn fallback(has_alpha: bool) -> Format {
    if has_alpha {
        Format::Png
    } else {
        Format::Jpeg
    }
}

/// The ThumbHash of the (cropped) image, base64.
pub fn thumbhash(decoded: &Decoded, crop: Option<CropRect>) -> Result<String, PixelError> {
    let image = match crop {
        Some(crop) => decoded
            .image
            .crop_imm(crop.x, crop.y, crop.width, crop.height),
        None => decoded.image.clone(),
    };
    let (w, h) = (image.width(), image.height());
    let scale = (100.0 / f64::from(w.max(h))).min(1.0);
    let size = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let source = Image::from_vec_u8(w, h, image.into_rgba8().into_raw(), PixelType::U8x4)
        .map_err(|err| PixelError::Resize(err.to_string()))?;
    let mut small = Image::new(size.0, size.1, PixelType::U8x4);
    Resizer::new()
        .resize(
            &source,
            &mut small,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|err| PixelError::Resize(err.to_string()))?;
    let hash = thumbhash::rgba_to_thumb_hash(size.0 as usize, size.1 as usize, small.buffer());
    Ok(base64::engine::general_purpose::STANDARD.encode(hash))
}

/// A `data:image/png` URI of the placeholder a ThumbHash describes (about
/// 32 pixels on its long side: the browser scales it up, blurred).
pub fn placeholder_uri(hash: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .ok()?;
    let (w, h, rgba) = thumbhash::thumb_hash_to_rgba(&bytes).ok()?;
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgba,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgba8,
    )
    .ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// A photo-like JPEG (`width` x `height`, smooth light, edges and grain, so
/// it compresses like a photograph rather than a flat test card), for
/// benchmarks: the same `seed` gives the same bytes.
pub fn sample_photo_jpeg(
    width: u32,
    height: u32,
    seed: u32,
    quality: u8,
) -> Result<Vec<u8>, PixelError> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut noise = move || {
        // xorshift32: cheap, repeatable grain.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 25) as i32 - 12
    };
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let sky = (170.0 + 60.0 * (fx * 3.1 + seed as f32).sin() * (fy * 2.3).cos()) as i32;
        let stripe = if (x / 97 + y / 61 + seed).is_multiple_of(7) {
            40
        } else {
            0
        };
        let grain = noise();
        let channel = |base: i32| (base + stripe + grain).clamp(0, 255) as u8;
        image::Rgb([
            channel(sky - (fy * 90.0) as i32),
            channel(120 + (fx * 80.0) as i32),
            channel(200 - (fx * fy * 120.0) as i32),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&image)
        .map_err(|err| PixelError::Encode("JPEG", err.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_never_upscaled_and_a_narrow_image_keeps_its_own() {
        let presets = [320, 640, 960, 1280, 1920];
        assert_eq!(widths_for(&presets, 4000), presets.to_vec());
        assert_eq!(widths_for(&presets, 1000), vec![320, 640, 960, 1000]);
        assert_eq!(widths_for(&presets, 200), vec![200]);
        assert_eq!(widths_for(&presets, 1920), presets.to_vec());
    }

    #[test]
    fn fills_centre_on_the_focal_point_within_the_edges() {
        let centre = FocalPoint { x: 0.5, y: 0.5 };
        // A square out of a landscape: full height, centred.
        assert_eq!(
            fill_rect((400, 200), (100, 100), centre),
            (100.0, 0.0, 200.0, 200.0)
        );
        // Focal point at the left edge: pinned to the edge.
        let left = FocalPoint { x: 0.0, y: 0.5 };
        assert_eq!(
            fill_rect((400, 200), (100, 100), left),
            (0.0, 0.0, 200.0, 200.0)
        );
        let right_third = FocalPoint { x: 0.75, y: 0.5 };
        assert_eq!(
            fill_rect((400, 200), (100, 100), right_third),
            (200.0, 0.0, 200.0, 200.0)
        );
        // 1200x630 out of a portrait: full width.
        let (_, top, w, h) = fill_rect((600, 900), (1200, 630), FocalPoint { x: 0.5, y: 0.2 });
        assert_eq!(w, 600.0);
        assert!((h - 315.0).abs() < 1e-9);
        // The focal point is an f32: 0.2 is off by a few millionths.
        assert!((top - (0.2 * 900.0 - 157.5)).abs() < 1e-3, "top {top}");
    }

    #[test]
    fn a_rendered_jpeg_is_upright_and_carries_no_metadata() {
        // 40x20 red-left/blue-right, tagged "rotate 90 clockwise".
        let mut image = image::RgbImage::new(40, 20);
        for (x, _, pixel) in image.enumerate_pixels_mut() {
            *pixel = if x < 20 {
                image::Rgb([250, 0, 0])
            } else {
                image::Rgb([0, 0, 250])
            };
        }
        let decoded = Decoded {
            image: DynamicImage::ImageRgb8(image),
            has_alpha: false,
        };
        let plan = Plan {
            widths: vec![20],
            fills: vec![("square".into(), 10, 10)],
            crop: None,
            focal: FocalPoint { x: 0.5, y: 0.5 },
            webp_quality: 80.0,
            jpeg_quality: 80,
            avif_quality: 60.0,
            avif_speed: 10,
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            deadline_secs: 60,
        };
        let out = render(&decoded, &plan, &[Format::Webp, Format::Jpeg, Format::Avif])
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(out.len(), 6);
        for encoded in &out {
            let back = image::load_from_memory(&encoded.bytes);
            if encoded.format != Format::Avif {
                let back = back.unwrap_or_else(|err| panic!("{err}"));
                assert_eq!(
                    (back.width(), back.height()),
                    (encoded.width, encoded.height)
                );
            }
            assert!(!encoded.bytes.windows(4).any(|w| w == b"Exif"));
        }
        let hash = thumbhash(&decoded, None).unwrap_or_else(|err| panic!("{err}"));
        assert!(placeholder_uri(&hash).is_some_and(|uri| uri.starts_with("data:image/png;base64,")));
    }

    fn two_halves(alpha: bool) -> Decoded {
        let mut image = image::RgbaImage::new(64, 32);
        for (x, _, pixel) in image.enumerate_pixels_mut() {
            *pixel = match (x < 32, alpha) {
                (true, _) => image::Rgba([240, 10, 10, 255]),
                (false, false) => image::Rgba([10, 10, 240, 255]),
                (false, true) => image::Rgba([10, 10, 240, 0]),
            };
        }
        let image = if alpha {
            DynamicImage::ImageRgba8(image)
        } else {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(image).into_rgb8())
        };
        Decoded {
            image,
            has_alpha: alpha,
        }
    }

    fn avif_of(decoded: &Decoded) -> Vec<u8> {
        let plan = Plan {
            widths: vec![64],
            fills: vec![],
            crop: None,
            focal: FocalPoint { x: 0.5, y: 0.5 },
            webp_quality: 80.0,
            jpeg_quality: 80,
            avif_quality: 80.0,
            avif_speed: 10,
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            deadline_secs: 60,
        };
        let mut out = render(decoded, &plan, &[Format::Avif]).unwrap_or_else(|err| panic!("{err}"));
        out.remove(0).bytes
    }

    #[test]
    fn avif_uploads_decode_with_their_colours_and_transparency() {
        let opaque =
            decode(&avif_of(&two_halves(false)), 1 << 20).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((opaque.image.width(), opaque.image.height()), (64, 32));
        assert!(!opaque.has_alpha);
        let rgb = opaque.image.to_rgb8();
        let (left, right) = (rgb.get_pixel(8, 16).0, rgb.get_pixel(56, 16).0);
        assert!(left[0] > 180 && left[2] < 70, "left {left:?}");
        assert!(right[2] > 180 && right[0] < 70, "right {right:?}");

        let clear =
            decode(&avif_of(&two_halves(true)), 1 << 20).unwrap_or_else(|err| panic!("{err}"));
        assert!(clear.has_alpha);
        let rgba = clear.image.to_rgba8();
        assert!(rgba.get_pixel(8, 16).0[3] > 240);
        assert!(rgba.get_pixel(56, 16).0[3] < 15);

        // The AV1 frame is measured again against the pixel limit.
        assert!(matches!(
            decode(&avif_of(&two_halves(false)), 1000),
            Err(PixelError::Decode(_))
        ));
    }
}
