//! A remove.bg-compatible call for integrators moving over: one photo in, its cutout out,
//! at once, from the local engine, charged as one studio image. remove.bg's parameter
//! names and values are read here; one we do not support is refused by name, never
//! ignored, and we fetch nothing on a caller's behalf (`image_url`).

use std::io::Write;

use imaging::cutout_image::{Margin, Options, Position, cutout_image};
use imaging::frame::BBox;
use imaging::{Colour, Format, ImagingError};

use crate::creations::WORKING_PIXELS;
use crate::sessions::Principal;
use crate::uploads::image_error;
use crate::{App, AppError, Client, Result, now_ms};

/// The parameters we read; anything else is refused by name.
const KNOWN: [&str; 9] = ["size", "type", "format", "crop", "crop_margin", "scale", "position", "bg_color", "channels"];

/// remove.bg options clients often send with a value that asks for nothing we do not do:
/// accepted and ignored (any other value is refused by name).
const HARMLESS: [(&str, &str); 5] = [
    ("add_shadow", "false"),
    ("semitransparency", "true"),
    ("roi", "0% 0% 100% 100%"),
    ("type_level", "none"),
    ("type_level", "latest"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Png,
    Jpg,
    /// `color.jpg` and `alpha.png`.
    Zip,
}

/// One call's options, from remove.bg's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    options: Options,
    container: Container,
}

fn bad(field: &'static str, message: String) -> AppError {
    domain::Invalid::new("invalid_parameter", field, message).into()
}

fn percent(v: &str) -> Option<f32> {
    v.strip_suffix('%')?.trim().parse::<f32>().ok().filter(|p| (0.0..=100.0).contains(p)).map(|p| p / 100.0)
}

impl Ask {
    pub fn parse(fields: &[(String, String)]) -> Result<Self> {
        let harmless = |k: &str, v: &str| HARMLESS.iter().any(|(hk, hv)| *hk == k && hv.eq_ignore_ascii_case(v.trim()));
        let unknown: Vec<&str> = fields
            .iter()
            .filter(|(k, v)| !KNOWN.contains(&k.as_str()) && !harmless(k, v))
            .map(|(k, _)| k.as_str())
            .collect();
        if unknown.contains(&"image_url") {
            return Err(domain::Invalid::new(
                "image_url_not_supported",
                "image_url",
                "We do not fetch images from addresses. Send the file as image_file or image_file_b64.",
            )
            .into());
        }
        if !unknown.is_empty() {
            return Err(domain::Invalid::new(
                "unsupported_parameter",
                "parameters",
                format!("Not supported here: {}. Leave them out.", unknown.join(", ")),
            )
            .into());
        }
        let get = |name: &str| {
            fields.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_ascii_lowercase()).unwrap_or_default()
        };
        let max_pixels = match get("size").as_str() {
            "preview" | "small" | "regular" => 250_000,
            "medium" => 1_500_000,
            "hd" => 4_000_000,
            "" | "auto" | "full" | "4k" => WORKING_PIXELS,
            other => return Err(bad("size", format!("size {other:?}: use preview, medium, hd, full or auto."))),
        };
        match get("type").as_str() {
            "" | "auto" | "product" => {}
            other => {
                return Err(domain::Invalid::new(
                    "unsupported_parameter",
                    "type",
                    format!("type {other:?}: this engine cuts out products (jewellery); use auto or product."),
                )
                .into());
            }
        }
        let crop = match get("crop").as_str() {
            "" | "false" | "0" => false,
            "true" | "1" => true,
            other => return Err(bad("crop", format!("crop {other:?}: use true or false."))),
        };
        let margin = match get("crop_margin").as_str() {
            "" => Margin::Pixels(0),
            m if m.ends_with('%') => Margin::Share(
                percent(m).filter(|p| *p <= 0.5).ok_or_else(|| bad("crop_margin", "crop_margin: 0% to 50%.".into()))?,
            ),
            m => Margin::Pixels(
                m.trim_end_matches("px")
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|px| *px <= 500)
                    .ok_or_else(|| bad("crop_margin", "crop_margin: 0px to 500px, or 0% to 50%.".into()))?,
            ),
        };
        let scale = match get("scale").as_str() {
            "" | "original" => None,
            s => Some(
                percent(s)
                    .filter(|p| *p >= 0.1)
                    .ok_or_else(|| bad("scale", "scale: \"original\" or 10% to 100%.".into()))?,
            ),
        };
        let position = match get("position").as_str() {
            "" => None,
            "original" => Some(Position::Original),
            "center" => Some(Position::At(0.5, 0.5)),
            p => {
                let parts: Vec<Option<f32>> = p.split_whitespace().map(percent).collect();
                match parts.as_slice() {
                    [Some(both)] => Some(Position::At(*both, *both)),
                    [Some(x), Some(y)] => Some(Position::At(*x, *y)),
                    _ => return Err(bad("position", "position: original, center, or \"x% y%\".".into())),
                }
            }
        };
        let background = match get("bg_color").as_str() {
            "" => None,
            c => Some(colour(c).ok_or_else(|| {
                bad("bg_color", format!("bg_color {c:?}: a hex colour like 81d4fa or fff, or white, black, grey."))
            })?),
        };
        let alpha_only = match get("channels").as_str() {
            "" | "rgba" => false,
            "alpha" => true,
            other => return Err(bad("channels", format!("channels {other:?}: use rgba or alpha."))),
        };
        let container = match get("format").as_str() {
            "" | "auto" if background.is_some() => Container::Jpg,
            "" | "auto" | "png" => Container::Png,
            "jpg" | "jpeg" => Container::Jpg,
            "zip" => Container::Zip,
            other => return Err(bad("format", format!("format {other:?}: use auto, png, jpg or zip."))),
        };
        let options = Options { max_pixels, crop: crop.then_some(margin), scale, position, background, alpha_only };
        Ok(Self { options, container })
    }
}

/// Hex (`fff`, `81d4fa`, `81d4faff`) or a plain colour name.
fn colour(text: &str) -> Option<Colour> {
    let named = match text {
        "white" => Some("ffffff"),
        "black" => Some("000000"),
        "grey" | "gray" => Some("808080"),
        "red" => Some("ff0000"),
        "green" => Some("008000"),
        "blue" => Some("0000ff"),
        _ => None,
    };
    let hex = named.unwrap_or(text).trim_start_matches('#');
    let hex = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect::<String>(),
        6 => hex.to_owned(),
        // A background must be opaque: only a fully opaque alpha is accepted.
        8 if hex.ends_with("ff") => hex[..6].to_owned(),
        _ => return None,
    };
    format!("#{hex}").parse::<Colour>().ok()
}

/// The answer: the file and what remove.bg's headers say about it.
pub struct RemovedBackground {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    /// Where the subject is in the image.
    pub subject: BBox,
    pub confidence: f32,
    pub tokens: i64,
}

impl App {
    /// Cuts out one photo and charges one studio image for it.
    pub async fn remove_background(
        &self,
        p: &Principal,
        image: Vec<u8>,
        ask: Ask,
        client: &Client,
    ) -> Result<RemovedBackground> {
        let max_bytes = self.settings.uploads.max_bytes;
        if image.len() as u64 > max_bytes {
            return Err(AppError::TooLarge { limit_mb: max_bytes / (1024 * 1024) });
        }
        self.limit(&format!("removebg:{}", p.user.id), 600, crate::limits::HOUR).await?;
        self.reserve_daily_images(p, 1).await?;
        let made = self.cut_out(p, image, ask).await;
        match &made {
            Ok(m) => {
                let detail = format!("{}×{} {}", m.width, m.height, m.mime);
                self.record_activity(&p.user.id, crate::activity::Activity::Created, &detail, Some(client)).await;
            }
            Err(_) => self.release_daily_images(p, 1).await,
        }
        made
    }

    /// The paid part of `remove_background`, once the image is reserved.
    async fn cut_out(&self, p: &Principal, image: Vec<u8>, ask: Ask) -> Result<RemovedBackground> {
        let limits = self.upload_limits();
        let price = self.settings.tokens.local_output_cost;
        let balance = self.db.balance(&p.user.id).await?.balance;
        if balance < price {
            return Err(AppError::InsufficientTokens { needed: price, balance });
        }
        let made = self
            .on_cpu(move || {
                let decoded = imaging::decode(&image, &limits)?.within_pixels(WORKING_PIXELS)?;
                let matte = imaging::cutout(&decoded, &imaging::MatteParams::default())?;
                let framed = cutout_image(&matte, &ask.options)?;
                let (width, height) = (framed.image.width(), framed.image.height());
                let (bytes, mime) = match ask.container {
                    Container::Png => (imaging::encode(&framed.image, Format::Png, 90)?, "image/png"),
                    Container::Jpg => (imaging::encode(&framed.image, Format::Jpeg, 90)?, "image/jpeg"),
                    Container::Zip => (zip_pair(&framed.image)?, "application/zip"),
                };
                Ok::<_, ImagingError>(RemovedBackground {
                    bytes,
                    mime,
                    width,
                    height,
                    subject: framed.subject,
                    confidence: matte.confidence,
                    tokens: price,
                })
            })
            .await?
            .map_err(image_error)?;
        let reference = format!("removebg:{}", db::new_id());
        let key = p.key.as_ref().map(crate::sessions::KeyUse::usage_ref);
        let spend = db::ledger::Spend {
            user_id: &p.user.id,
            amount: price,
            images: 1,
            key: key.as_ref(),
            reason: "Background removed (API)",
            reference: &reference,
        };
        match self.db.spend(&spend, now_ms()).await? {
            db::ledger::Outcome::Applied(balance) => {
                self.after_spend(&p.user.id, balance.balance, price, &reference).await
            }
            _ => {
                let balance = self.db.balance(&p.user.id).await?.balance;
                return Err(AppError::InsufficientTokens { needed: price, balance });
            }
        }
        Ok(made)
    }
}

/// remove.bg's ZIP: the colours as `color.jpg` and the matte as `alpha.png`, to be joined
/// by the client (smaller than one RGBA PNG).
fn zip_pair(image: &image::DynamicImage) -> std::result::Result<Vec<u8>, ImagingError> {
    let rgba = image.to_rgba8();
    let colours = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        image::Rgb([p[0], p[1], p[2]])
    }));
    let alpha = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        image::Luma([rgba.get_pixel(x, y).0[3]])
    }));
    let failed = |e: &dyn std::fmt::Display| ImagingError::EncodeFailed(format!("zip: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("color.jpg", imaging::encode(&colours, Format::Jpeg, 90)?),
        ("alpha.png", imaging::encode(&alpha, Format::Png, 90)?),
    ] {
        zip.start_file(name, options).map_err(|e| failed(&e))?;
        zip.write_all(&bytes).map_err(|e| failed(&e))?;
    }
    Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(pairs: &[(&str, &str)]) -> Result<Ask> {
        Ask::parse(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<Vec<_>>())
    }

    fn code(r: Result<Ask>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn remove_bg_parameters_are_read_or_refused_by_name() {
        let a = ask(&[("size", "preview"), ("crop", "true"), ("crop_margin", "10%"), ("bg_color", "fff")]).unwrap();
        assert_eq!(a.container, Container::Jpg, "a background colour means no transparency: JPEG");
        assert_eq!(a.options.max_pixels, 250_000);
        assert_eq!(a.options.crop, Some(Margin::Share(0.1)));
        assert_eq!(a.options.background, Some(Colour::WHITE));
        let a = ask(&[("scale", "80%"), ("position", "50% 100%"), ("channels", "alpha"), ("format", "zip")]).unwrap();
        assert_eq!((a.options.scale, a.options.position), (Some(0.8), Some(Position::At(0.5, 1.0))));
        assert!(a.options.alpha_only && a.container == Container::Zip);
        assert_eq!(ask(&[]).unwrap().container, Container::Png);
        assert_eq!(ask(&[("crop_margin", "30px")]).unwrap().options.crop, None, "a margin only matters with crop");

        assert_eq!(code(ask(&[("image_url", "http://169.254.169.254/")])), "image_url_not_supported");
        assert_eq!(code(ask(&[("roi", "10% 0% 100% 100%"), ("add_shadow", "true")])), "unsupported_parameter");
        assert_eq!(
            code(ask(&[("roi", "0% 0% 100% 100%"), ("add_shadow", "false"), ("semitransparency", "true")])),
            "ok"
        );
        assert_eq!(code(ask(&[("type", "person")])), "unsupported_parameter");
        for (k, v) in [
            ("size", "huge"),
            ("crop_margin", "900px"),
            ("crop_margin", "60%"),
            ("scale", "5%"),
            ("position", "left"),
            ("bg_color", "81d4fa77"),
            ("bg_color", "chartreuse-ish"),
            ("channels", "rgb"),
            ("format", "tiff"),
            ("crop", "maybe"),
        ] {
            assert_eq!(code(ask(&[(k, v)])), "invalid_parameter", "{k}={v}");
        }
    }
}
