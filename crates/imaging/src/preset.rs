//! Marketplace presets as one data table (product.md, "Marketplace presets").

use serde::{Deserialize, Serialize};

use crate::Format;
use crate::recipe::AspectRatio;

/// Every marketplace preset the engine can produce and check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Amazon jewellery main image.
    Amazon,
    AmazonGeneral,
    Etsy,
    Shopify,
    Ebay,
    Flipkart,
    Myntra,
    Ajio,
    Meesho,
    InstagramSquare,
    InstagramPortrait,
    GoogleShopping,
    Whatsapp,
}

/// What a preset requires and what the engine renders for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PresetSpec {
    pub id: &'static str,
    pub label: &'static str,
    /// Rendered canvas size.
    pub width: u32,
    pub height: u32,
    /// Accepted range of the longest side.
    pub min_long_side: u32,
    pub max_long_side: u32,
    /// Accepted shortest side (e.g. Etsy's ≥2000).
    pub min_short_side: u32,
    /// Accepted aspect ratios (empty: the rendered one only).
    pub aspects: &'static [AspectRatio],
    pub format: Format,
    pub quality: u8,
    /// Share of the frame the subject's longer extent fills when rendered.
    pub fill: f32,
    /// Minimum fill the checker requires (None: not a rule).
    pub min_fill: Option<f32>,
    /// Background outside the subject must be pure RGB 255.
    pub pure_white: bool,
    /// No text, watermark or branding allowed on the image.
    pub no_overlays: bool,
    pub min_bytes: Option<u64>,
    pub max_bytes: Option<u64>,
}

const MB: u64 = 1_000_000;

macro_rules! spec {
    ($id:literal, $label:literal, $w:literal x $h:literal, long $lmin:literal..=$lmax:literal, short $smin:literal,
     $aspects:expr, fill $fill:literal, min_fill $mf:expr, white $white:literal, no_overlays $no:literal, bytes $bmin:expr, $bmax:expr) => {
        PresetSpec {
            id: $id,
            label: $label,
            width: $w,
            height: $h,
            min_long_side: $lmin,
            max_long_side: $lmax,
            min_short_side: $smin,
            aspects: $aspects,
            format: Format::Jpeg,
            quality: 90,
            fill: $fill,
            min_fill: $mf,
            pure_white: $white,
            no_overlays: $no,
            min_bytes: $bmin,
            max_bytes: $bmax,
        }
    };
}

use AspectRatio as A;

/// The table. Sizes and rules from product.md; `fill` is what we aim for.
const SPECS: [PresetSpec; 13] = [
    spec!("amazon", "Amazon jewellery main image", 2000 x 2000, long 1000..=2100, short 500, &[], fill 0.88, min_fill Some(0.85), white true, no_overlays true, bytes None, Some(10 * MB)),
    spec!("amazon_general", "Amazon (general)", 2000 x 2000, long 1000..=10000, short 500, &[A::Square], fill 0.88, min_fill Some(0.85), white true, no_overlays true, bytes None, Some(10 * MB)),
    spec!("etsy", "Etsy", 2000 x 2000, long 2000..=10000, short 2000, &[A::Square, A::Landscape4x3], fill 0.75, min_fill None, white false, no_overlays false, bytes None, Some(20 * MB)),
    spec!("shopify", "Shopify", 2048 x 2048, long 800..=4472, short 800, &[A::Square], fill 0.8, min_fill None, white false, no_overlays false, bytes None, Some(20 * MB)),
    spec!("ebay", "eBay", 1600 x 1600, long 500..=9000, short 500, &[], fill 0.8, min_fill None, white false, no_overlays false, bytes None, Some(12 * MB)),
    spec!("flipkart", "Flipkart", 1500 x 1500, long 1000..=10000, short 1000, &[A::Square], fill 0.85, min_fill Some(0.8), white true, no_overlays true, bytes None, Some(10 * MB)),
    spec!("myntra", "Myntra", 1080 x 1440, long 1440..=1440, short 1080, &[A::Portrait3x4], fill 0.8, min_fill None, white false, no_overlays true, bytes Some(500_000), Some(MB)),
    spec!("ajio", "Ajio", 1117 x 1400, long 1400..=1400, short 1117, &[], fill 0.8, min_fill None, white false, no_overlays true, bytes None, Some(5 * MB)),
    spec!("meesho", "Meesho", 1500 x 1500, long 1200..=10000, short 1200, &[A::Square], fill 0.8, min_fill None, white false, no_overlays false, bytes None, Some(5 * MB)),
    spec!("instagram_square", "Instagram square", 1080 x 1080, long 1080..=1080, short 1080, &[A::Square], fill 0.7, min_fill None, white false, no_overlays false, bytes None, Some(8 * MB)),
    spec!("instagram_portrait", "Instagram portrait", 1080 x 1350, long 1350..=1350, short 1080, &[A::Portrait4x5], fill 0.7, min_fill None, white false, no_overlays false, bytes None, Some(8 * MB)),
    spec!("google_shopping", "Google Shopping", 1500 x 1500, long 1500..=10000, short 1500, &[], fill 0.8, min_fill None, white false, no_overlays true, bytes None, Some(16 * MB)),
    spec!("whatsapp", "WhatsApp catalogue", 500 x 500, long 500..=10000, short 500, &[A::Square], fill 0.8, min_fill None, white false, no_overlays false, bytes None, Some(5 * MB)),
];

impl Preset {
    pub const ALL: [Preset; 13] = [
        Preset::Amazon,
        Preset::AmazonGeneral,
        Preset::Etsy,
        Preset::Shopify,
        Preset::Ebay,
        Preset::Flipkart,
        Preset::Myntra,
        Preset::Ajio,
        Preset::Meesho,
        Preset::InstagramSquare,
        Preset::InstagramPortrait,
        Preset::GoogleShopping,
        Preset::Whatsapp,
    ];

    pub fn spec(&self) -> &'static PresetSpec {
        &SPECS[*self as usize]
    }

    pub fn id(&self) -> &'static str {
        self.spec().id
    }
}

impl std::str::FromStr for Preset {
    type Err = crate::ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase().replace('-', "_");
        let key = match key.as_str() {
            "instagram" => "instagram_square",
            "google" => "google_shopping",
            other => other,
        };
        Preset::ALL
            .into_iter()
            .find(|p| p.id() == key)
            .ok_or_else(|| crate::ImagingError::InvalidRecipe(format!("unknown preset {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_enum_and_is_consistent() {
        for p in Preset::ALL {
            let s = p.spec();
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", s.id), "table row order must follow the enum");
            assert_eq!(s.id.parse::<Preset>().unwrap(), p);
            let long = s.width.max(s.height);
            assert!((s.min_long_side..=s.max_long_side).contains(&long), "{}", s.id);
            assert!(s.width.min(s.height) >= s.min_short_side, "{}", s.id);
            assert!(s.min_fill.is_none_or(|m| s.fill >= m), "{}", s.id);
            if !s.aspects.is_empty() {
                assert!(s.aspects.iter().any(|a| a.matches(s.width, s.height)), "{}", s.id);
            }
        }
        assert_eq!(Preset::Myntra.spec().width, 1080);
        assert!("nope".parse::<Preset>().is_err());
    }
}
