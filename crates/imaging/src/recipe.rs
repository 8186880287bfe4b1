//! What to make from a photo: the recipe stored as JSON with each creation.

use serde::{Deserialize, Serialize};

use crate::{Colour, Format, ImagingError, Preset};

/// Output aspect ratios (product.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AspectRatio {
    #[serde(rename = "1:1")]
    Square,
    #[serde(rename = "3:4")]
    Portrait3x4,
    #[serde(rename = "4:5")]
    Portrait4x5,
    #[serde(rename = "9:16")]
    Story9x16,
    #[serde(rename = "4:3")]
    Landscape4x3,
    #[serde(rename = "16:9")]
    Wide16x9,
    #[serde(rename = "1.91:1")]
    Link191x100,
    #[serde(rename = "2:3")]
    Portrait2x3,
}

impl AspectRatio {
    pub const ALL: [AspectRatio; 8] = [
        AspectRatio::Square,
        AspectRatio::Portrait3x4,
        AspectRatio::Portrait4x5,
        AspectRatio::Story9x16,
        AspectRatio::Landscape4x3,
        AspectRatio::Wide16x9,
        AspectRatio::Link191x100,
        AspectRatio::Portrait2x3,
    ];

    /// Width : height as integers.
    pub fn ratio(self) -> (u32, u32) {
        match self {
            AspectRatio::Square => (1, 1),
            AspectRatio::Portrait3x4 => (3, 4),
            AspectRatio::Portrait4x5 => (4, 5),
            AspectRatio::Story9x16 => (9, 16),
            AspectRatio::Landscape4x3 => (4, 3),
            AspectRatio::Wide16x9 => (16, 9),
            AspectRatio::Link191x100 => (191, 100),
            AspectRatio::Portrait2x3 => (2, 3),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AspectRatio::Square => "1:1",
            AspectRatio::Portrait3x4 => "3:4",
            AspectRatio::Portrait4x5 => "4:5",
            AspectRatio::Story9x16 => "9:16",
            AspectRatio::Landscape4x3 => "4:3",
            AspectRatio::Wide16x9 => "16:9",
            AspectRatio::Link191x100 => "1.91:1",
            AspectRatio::Portrait2x3 => "2:3",
        }
    }

    /// Whether `w×h` has this ratio within one pixel of rounding.
    pub fn matches(self, w: u32, h: u32) -> bool {
        let (a, b) = self.ratio();
        let want = f64::from(a) / f64::from(b);
        let tol = 1.0 / f64::from(h.max(1)) + 1.0 / f64::from(w.max(1));
        (f64::from(w) / f64::from(h.max(1)) - want).abs() <= want * tol + 1e-9
    }

    /// Canvas with this ratio whose longest side is `long`.
    pub fn canvas(self, long: u32) -> (u32, u32) {
        let (a, b) = self.ratio();
        if a >= b {
            (long, ((u64::from(long) * u64::from(b) + u64::from(a) / 2) / u64::from(a)).max(1) as u32)
        } else {
            (((u64::from(long) * u64::from(a) + u64::from(b) / 2) / u64::from(b)).max(1) as u32, long)
        }
    }
}

impl std::str::FromStr for AspectRatio {
    type Err = ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AspectRatio::ALL
            .into_iter()
            .find(|a| a.label() == s.trim())
            .ok_or_else(|| ImagingError::invalid(format!("unknown aspect ratio {s:?}")))
    }
}

/// Procedural backdrop textures the local engine draws itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Texture {
    Linen,
    Marble,
    Velvet,
}

/// The backdrop behind the jewellery. In JSON either the tagged object
/// (`{"kind": "solid", "colour": "#eeeae4"}`) or the CLI's words (`"transparent"`, `"#eeeae4"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
pub enum Background {
    /// Pure RGB 255, as marketplaces require.
    White,
    /// None: an RGBA PNG (or WebP) whose alpha is the matte.
    Transparent,
    Solid {
        colour: Colour,
    },
    /// Two-colour linear gradient; `angle_deg` 90 runs top to bottom.
    Gradient {
        from: Colour,
        to: Colour,
        #[serde(default = "default_angle")]
        angle_deg: f32,
    },
    /// A procedural texture tinted by `colour`.
    Texture {
        texture: Texture,
        #[serde(default = "default_texture_colour")]
        colour: Colour,
    },
}

impl Serialize for Background {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Background::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for Background {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Words(String),
            Tagged(#[serde(with = "Background")] Background),
        }
        match Form::deserialize(d)? {
            Form::Words(s) => s.parse().map_err(serde::de::Error::custom),
            Form::Tagged(b) => Ok(b),
        }
    }
}

fn default_angle() -> f32 {
    90.0
}

fn default_texture_colour() -> Colour {
    Colour([236, 232, 224])
}

impl std::str::FromStr for Background {
    type Err = ImagingError;
    /// CLI forms: `white`, `transparent`, `#rrggbb`, `#aaaaaa-#bbbbbb` (gradient), `linen`, `marble`,
    /// `velvet`, optionally `velvet:#rrggbb`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (name, tint) = match s.split_once(':') {
            Some((n, t)) => (n, Some(t.parse::<Colour>()?)),
            None => (s, None),
        };
        let texture = |t| Background::Texture { texture: t, colour: tint.unwrap_or_else(default_texture_colour) };
        match name.to_ascii_lowercase().as_str() {
            "white" => Ok(Background::White),
            "transparent" => Ok(Background::Transparent),
            "linen" => Ok(texture(Texture::Linen)),
            "marble" => Ok(texture(Texture::Marble)),
            "velvet" => {
                Ok(Background::Texture { texture: Texture::Velvet, colour: tint.unwrap_or(Colour([40, 24, 48])) })
            }
            _ => match s.split_once('-') {
                Some((a, b)) => Ok(Background::Gradient { from: a.parse()?, to: b.parse()?, angle_deg: 90.0 }),
                None => Ok(Background::Solid { colour: s.parse()? }),
            },
        }
    }
}

/// Shadow drawn from the matte.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shadow {
    None,
    /// Tight shadow where the piece touches the surface.
    Contact {
        #[serde(default = "d_contact_opacity")]
        opacity: f32,
        #[serde(default = "d_contact_softness")]
        softness: f32,
    },
    /// Offset soft shadow; `angle_deg` is the light direction (90 = light from the top).
    Drop {
        #[serde(default = "d_drop_angle")]
        angle_deg: f32,
        /// Offset as a fraction of the subject's size.
        #[serde(default = "d_drop_distance")]
        distance: f32,
        #[serde(default = "d_drop_softness")]
        softness: f32,
        #[serde(default = "d_drop_opacity")]
        opacity: f32,
    },
}

fn d_contact_opacity() -> f32 {
    0.45
}
fn d_contact_softness() -> f32 {
    0.012
}
fn d_drop_angle() -> f32 {
    60.0
}
fn d_drop_distance() -> f32 {
    0.03
}
fn d_drop_softness() -> f32 {
    0.03
}
fn d_drop_opacity() -> f32 {
    0.3
}

impl Shadow {
    pub fn contact() -> Self {
        Shadow::Contact { opacity: d_contact_opacity(), softness: d_contact_softness() }
    }

    pub fn drop() -> Self {
        Shadow::Drop {
            angle_deg: d_drop_angle(),
            distance: d_drop_distance(),
            softness: d_drop_softness(),
            opacity: d_drop_opacity(),
        }
    }
}

impl std::str::FromStr for Shadow {
    type Err = ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Shadow::None),
            "contact" => Ok(Shadow::contact()),
            "drop" => Ok(Shadow::drop()),
            other => Err(ImagingError::invalid(format!("unknown shadow {other:?}"))),
        }
    }
}

/// Mirror reflection under the piece, as on a glossy surface.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reflection {
    pub opacity: f32,
    /// Fade-out length as a fraction of the subject height.
    pub length: f32,
}

impl Default for Reflection {
    fn default() -> Self {
        Reflection { opacity: 0.25, length: 0.35 }
    }
}

/// Target metal for recolouring (stones, pearls and enamel keep their colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metal {
    YellowGold,
    RoseGold,
    WhiteGold,
    Silver,
    Platinum,
    AntiqueGold,
    Copper,
    Gunmetal,
    Custom(Colour),
}

impl Metal {
    /// Mid-tone colour of the polished metal.
    pub fn colour(self) -> Colour {
        match self {
            Metal::YellowGold => Colour([212, 175, 55]),
            Metal::RoseGold => Colour([215, 150, 130]),
            Metal::WhiteGold => Colour([222, 220, 212]),
            Metal::Silver => Colour([196, 198, 202]),
            Metal::Platinum => Colour([210, 210, 206]),
            Metal::AntiqueGold => Colour([168, 134, 60]),
            Metal::Copper => Colour([184, 115, 72]),
            Metal::Gunmetal => Colour([92, 94, 98]),
            Metal::Custom(c) => c,
        }
    }
}

impl std::str::FromStr for Metal {
    type Err = ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Ok(match key.as_str() {
            "yellow_gold" | "gold" => Metal::YellowGold,
            "rose_gold" => Metal::RoseGold,
            "white_gold" => Metal::WhiteGold,
            "silver" => Metal::Silver,
            "platinum" => Metal::Platinum,
            "antique_gold" => Metal::AntiqueGold,
            "copper" => Metal::Copper,
            "gunmetal" => Metal::Gunmetal,
            _ => Metal::Custom(s.parse()?),
        })
    }
}

/// Text over the image (discouraged by marketplaces; refused by their checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    pub text: String,
    #[serde(default = "d_wm_opacity")]
    pub opacity: f32,
}

fn d_wm_opacity() -> f32 {
    0.35
}

/// A seller's branding strip along the bottom of the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Branding {
    /// PNG or JPEG logo bytes (not serialised: the job layer supplies them).
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
    pub business_name: String,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub background: Option<Colour>,
    pub text_colour: Option<Colour>,
}

/// Encoding of the result (defaults to the preset's, or JPEG 90).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub format: Format,
    pub quality: u8,
    /// Longest side when no preset decides it.
    pub long_side: Option<u32>,
}

/// Everything that decides how a catalogue image is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recipe {
    pub preset: Option<Preset>,
    /// None: the preset's (white).
    pub background: Option<Background>,
    /// None: contact shadow, except for pure-white presets (none).
    pub shadow: Option<Shadow>,
    pub reflection: Option<Reflection>,
    /// Overrides the preset's canvas ratio.
    pub aspect_ratio: Option<AspectRatio>,
    pub recolour: Option<Metal>,
    pub output: Option<Output>,
    /// Crop tightly to the subject for a detail shot.
    pub closeup: bool,
    /// Subject fill override (0.3..0.98 of the frame).
    pub fill: Option<f32>,
    /// White balance and exposure from the neutral paper.
    pub colour_correct: bool,
    /// Gentle local contrast on the metal.
    pub local_contrast: bool,
    /// Remove dust specks on the jewellery.
    pub dust_removal: bool,
    pub watermark: Option<Watermark>,
    pub branding: Option<Branding>,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            preset: None,
            background: None,
            shadow: None,
            reflection: None,
            aspect_ratio: None,
            recolour: None,
            output: None,
            closeup: false,
            fill: None,
            colour_correct: true,
            local_contrast: true,
            dust_removal: true,
            watermark: None,
            branding: None,
        }
    }
}

impl Recipe {
    pub fn for_preset(preset: Preset) -> Self {
        Recipe { preset: Some(preset), ..Recipe::default() }
    }

    /// The backdrop actually drawn: presets that require pure white always get it.
    pub fn backdrop(&self) -> Background {
        match (&self.background, self.preset) {
            (_, Some(p)) if p.spec().pure_white => Background::White,
            (Some(b), _) => b.clone(),
            (None, _) => Background::White,
        }
    }

    /// Whether the result is an image with alpha (no backdrop at all).
    pub fn transparent(&self) -> bool {
        self.backdrop() == Background::Transparent
    }

    /// Reject values no renderer should see (NaN, out-of-range opacities, absurd sizes).
    pub fn validate(&self) -> Result<(), ImagingError> {
        let unit = |name: &str, v: f32| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ImagingError::invalid(format!("{name} must be within 0..1")))
            }
        };
        if let Some(f) = self.fill
            && !(f.is_finite() && (0.3..=0.98).contains(&f))
        {
            return Err(ImagingError::invalid("fill must be within 0.3..0.98"));
        }
        match self.shadow {
            Some(Shadow::Contact { opacity, softness }) => {
                unit("shadow opacity", opacity)?;
                unit("shadow softness", softness)?;
            }
            Some(Shadow::Drop { angle_deg, distance, softness, opacity }) => {
                if !angle_deg.is_finite() {
                    return Err(ImagingError::invalid("shadow angle must be finite"));
                }
                unit("shadow distance", distance)?;
                unit("shadow softness", softness)?;
                unit("shadow opacity", opacity)?;
            }
            _ => {}
        }
        if let Some(r) = self.reflection {
            unit("reflection opacity", r.opacity)?;
            unit("reflection length", r.length)?;
        }
        if let Some(Background::Gradient { angle_deg, .. }) = self.background
            && !angle_deg.is_finite()
        {
            return Err(ImagingError::invalid("gradient angle must be finite"));
        }
        if let Some(w) = &self.watermark {
            unit("watermark opacity", w.opacity)?;
            if w.text.chars().count() > 80 {
                return Err(ImagingError::invalid("watermark text is limited to 80 characters"));
            }
        }
        if let Some(b) = &self.branding {
            let long = [Some(&b.business_name), b.phone.as_ref(), b.website.as_ref()]
                .into_iter()
                .flatten()
                .any(|s| s.chars().count() > 80);
            if long {
                return Err(ImagingError::invalid("branding fields are limited to 80 characters"));
            }
        }
        if self.transparent() {
            let shadow = self.shadow.is_some_and(|s| s != Shadow::None);
            if shadow || self.reflection.is_some() || self.branding.is_some() || self.watermark.is_some() {
                return Err(ImagingError::invalid(
                    "a transparent image has no shadow, reflection, watermark or branding strip: choose a background for those",
                ));
            }
            if self.output.is_some_and(|o| o.format == Format::Jpeg) {
                return Err(ImagingError::invalid("JPEG has no transparency: choose PNG or WebP"));
            }
        }
        if let Some(o) = self.output {
            if o.format == Format::Heic {
                return Err(ImagingError::invalid("HEIC output is not supported"));
            }
            if o.long_side.is_some_and(|l| !(64..=8192).contains(&l)) {
                return Err(ImagingError::invalid("long_side must be within 64..8192"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_json_round_trip_and_defaults() {
        let json = r##"{"preset":"etsy","background":{"kind":"gradient","from":"#ffffff","to":"#e0d0c0"},
            "shadow":{"kind":"drop","opacity":0.5},"recolour":{"custom":"#aa8844"},"aspect_ratio":"4:3"}"##;
        let r: Recipe = serde_json::from_str(json).unwrap();
        assert_eq!(r.preset, Some(Preset::Etsy));
        assert!(
            matches!(r.shadow, Some(Shadow::Drop { opacity, angle_deg, .. }) if opacity == 0.5 && angle_deg == 60.0)
        );
        assert_eq!(r.recolour, Some(Metal::Custom(Colour([0xaa, 0x88, 0x44]))));
        assert_eq!(r.aspect_ratio, Some(AspectRatio::Landscape4x3));
        assert!(r.colour_correct);
        let back: Recipe = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let empty: Recipe = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Recipe::default());
        let metal: Metal = serde_json::from_str("\"rose_gold\"").unwrap();
        assert_eq!(metal, Metal::RoseGold);
    }

    #[test]
    fn cli_forms_parse() {
        assert_eq!("white".parse::<Background>().unwrap(), Background::White);
        assert_eq!("#102030".parse::<Background>().unwrap(), Background::Solid { colour: Colour([16, 32, 48]) });
        assert!(matches!("#fff-#000".parse::<Background>().unwrap(), Background::Gradient { .. }));
        assert!(matches!(
            "marble".parse::<Background>().unwrap(),
            Background::Texture { texture: Texture::Marble, .. }
        ));
        assert!("nonsense".parse::<Background>().is_err());
        assert_eq!("Transparent".parse::<Background>().unwrap(), Background::Transparent);
        assert_eq!("drop".parse::<Shadow>().unwrap(), Shadow::drop());
        assert_eq!("1.91:1".parse::<AspectRatio>().unwrap(), AspectRatio::Link191x100);
        assert_eq!("gunmetal".parse::<Metal>().unwrap(), Metal::Gunmetal);
    }

    #[test]
    fn backgrounds_read_as_words_or_tagged_and_write_tagged() {
        let r: Recipe = serde_json::from_str(r#"{"background":"transparent"}"#).unwrap();
        assert_eq!(r.background, Some(Background::Transparent));
        assert_eq!(serde_json::to_value(&r).unwrap()["background"], serde_json::json!({"kind": "transparent"}));
        let back: Recipe = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r, "stored recipes read back");
        let r: Recipe = serde_json::from_str(r##"{"background":"#eeeae4"}"##).unwrap();
        assert_eq!(r.background, Some(Background::Solid { colour: Colour([0xee, 0xea, 0xe4]) }));
        let e = serde_json::from_str::<Recipe>(r#"{"background":"tartan"}"#).unwrap_err();
        assert!(e.to_string().contains("tartan"), "{e}");
    }

    #[test]
    fn pure_white_presets_keep_white_and_transparency_has_no_backdrop_effects() {
        let t = |preset| Recipe { preset, background: Some(Background::Transparent), ..Recipe::default() };
        assert!(!t(Some(Preset::Amazon)).transparent(), "Amazon main images stay pure white");
        assert!(t(Some(Preset::Etsy)).transparent());
        assert!(t(None).validate().is_ok());
        let shadow = Recipe { shadow: Some(Shadow::drop()), ..t(None) };
        assert_eq!(shadow.validate().unwrap_err().code(), "invalid_recipe");
        assert!(Recipe { shadow: Some(Shadow::drop()), ..t(Some(Preset::Amazon)) }.validate().is_ok());
        let jpeg = Recipe { output: Some(Output { format: Format::Jpeg, quality: 90, long_side: None }), ..t(None) };
        assert!(jpeg.validate().unwrap_err().to_string().contains("JPEG"));
    }

    #[test]
    fn aspect_canvases_match_their_ratio() {
        for a in AspectRatio::ALL {
            let (w, h) = a.canvas(2000);
            assert_eq!(w.max(h), 2000);
            assert!(a.matches(w, h), "{a:?} {w}x{h}");
        }
        assert!(!AspectRatio::Square.matches(1000, 900));
    }

    #[test]
    fn validation_rejects_nonsense() {
        let mut r = Recipe { fill: Some(f32::NAN), ..Recipe::default() };
        assert_eq!(r.validate().unwrap_err().code(), "invalid_recipe");
        r.fill = Some(0.8);
        assert!(r.validate().is_ok());
        r.shadow = Some(Shadow::Contact { opacity: 3.0, softness: 0.1 });
        assert!(r.validate().is_err());
    }
}
