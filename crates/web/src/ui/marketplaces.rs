//! Pages search engines find: jewellery photography for each big marketplace (its rules
//! read from the engine's own preset table, and our own before/after examples), and a
//! public gallery of those examples.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use imaging::Preset;

use super::{Layout, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::MaybeAuth;

/// A before/after pair in `static/examples/`, made by the studio engine from a photo path
/// traced apart from it (`scripts/landing-examples.sh`), and what it was made for.
pub struct Example {
    pub name: &'static str,
    pub what: &'static str,
    pub preset: Preset,
    pub background: &'static str,
}

pub const EXAMPLES: [Example; 3] = [
    Example { name: "chain-1000000", what: "Gold chain and pendant", preset: Preset::Amazon, background: "pure white" },
    Example { name: "ring-1000001", what: "Rose-gold band", preset: Preset::Etsy, background: "linen" },
    Example {
        name: "earrings-1000000",
        what: "Rose-gold studs",
        preset: Preset::InstagramSquare,
        background: "marble",
    },
];

impl Example {
    pub fn after(&self) -> String {
        crate::assets::url(&format!("examples/{}-after.jpg", self.name))
    }

    pub fn before(&self) -> String {
        crate::assets::url(&format!("examples/{}-before.jpg", self.name))
    }

    /// "Gold chain and pendant · Amazon jewellery main image, on pure white".
    pub fn caption(&self) -> String {
        format!("{} · {}, on {}", self.what, self.preset.spec().label, self.background)
    }
}

/// One marketplace's page.
pub struct Marketplace {
    pub slug: &'static str,
    pub name: &'static str,
    pub preset: Preset,
    /// Which of `EXAMPLES` shows it best.
    pub example: usize,
    pub intro: &'static str,
}

pub const MARKETPLACES: [Marketplace; 4] = [
    Marketplace {
        slug: "amazon",
        name: "Amazon",
        preset: Preset::Amazon,
        example: 0,
        intro: "Amazon suppresses jewellery listings whose main image is not on pure white or leaves the piece too \
                small. SoraiPixel cuts your piece out of a plain-paper phone photo, places it on RGB 255 white at the \
                fill Amazon asks for, and checks the result before you upload it.",
    },
    Marketplace {
        slug: "etsy",
        name: "Etsy",
        preset: Preset::Etsy,
        example: 1,
        intro: "Etsy buyers judge handmade jewellery by its photos. SoraiPixel gives your rings, necklaces and earrings \
                a clean, styled setting at the size Etsy shows best, with the piece itself untouched: stones, \
                settings and engraving stay exactly as you shot them.",
    },
    Marketplace {
        slug: "shopify",
        name: "Shopify",
        preset: Preset::Shopify,
        example: 2,
        intro: "A Shopify store looks as good as its product grid. SoraiPixel makes every photo of a collection the same \
                square, the same fill and the same background, and can send the images and their listing copy to \
                your store as draft products.",
    },
    Marketplace {
        slug: "flipkart",
        name: "Flipkart",
        preset: Preset::Flipkart,
        example: 0,
        intro: "Flipkart's main images must be square, on white, with the product filling the frame and no text or \
                watermark. SoraiPixel makes them from the photo you took on your phone, priced in rupees per image.",
    },
];

/// A preset's rules in words, from the same table the engine renders and checks with.
pub fn rules(preset: Preset) -> Vec<String> {
    let s = preset.spec();
    let mut rules = vec![format!(
        "Size: we deliver {} × {} px; the marketplace accepts a longest side of {}–{} px.",
        s.width, s.height, s.min_long_side, s.max_long_side
    )];
    rules.push(if s.pure_white {
        "Background: pure white (RGB 255, 255, 255) everywhere outside the jewellery.".to_owned()
    } else {
        "Background: your choice of white, marble, velvet, silk, linen or your own colour.".to_owned()
    });
    let fill = (s.fill * 100.0).round();
    rules.push(match s.min_fill {
        Some(min) => {
            format!("The piece fills at least {:.0}% of the frame; we place it at {fill:.0}%.", (min * 100.0).round())
        }
        None => format!("We place the piece to fill about {fill:.0}% of the frame."),
    });
    if s.no_overlays {
        rules.push("No text, watermark, logo or border on the image.".to_owned());
    }
    rules.push(match s.max_bytes {
        Some(max) => format!("File: JPEG, under {} MB.", max / 1_000_000),
        None => "File: JPEG.".to_owned(),
    });
    rules
}

/// Who we are, for search engines.
pub fn organization(state: &AppState) -> serde_json::Value {
    let base = state.app.settings.server.public_url.trim_end_matches('/');
    json!({
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": "SoraiPixel",
        "url": format!("{base}/"),
        "logo": format!("{base}{}", crate::assets::url("logo.svg")),
        "email": state.app.settings.contact.email,
    })
}

#[derive(Template)]
#[template(path = "marketplace.html")]
struct MarketplacePage {
    layout: Layout,
    m: &'static Marketplace,
    example: &'static Example,
    rules: Vec<String>,
    others: Vec<&'static Marketplace>,
}

/// `/jewellery-photography/{marketplace}`.
pub async fn page(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(slug): Path<String>) -> Response {
    let Some(m) = MARKETPLACES.iter().find(|m| m.slug == slug) else {
        return ApiError::from(app::AppError::NotFound).into_response();
    };
    let title = format!("{} jewellery photography", m.name);
    let description = format!(
        "Jewellery photos for {}: SoraiPixel turns a phone photo of a ring, necklace or earrings into an image that \
         meets {}'s rules, checked before you upload.",
        m.name, m.name
    );
    let layout = Layout::new(&state, p.as_ref(), &title)
        .public(&state, &format!("/jewellery-photography/{}", m.slug), &description)
        .structured(&organization(&state));
    let page = MarketplacePage {
        layout,
        m,
        example: &EXAMPLES[m.example],
        rules: rules(m.preset),
        others: MARKETPLACES.iter().filter(|o| o.slug != m.slug).collect(),
    };
    render(page, None)
}

#[derive(Template)]
#[template(path = "gallery.html")]
struct Gallery {
    layout: Layout,
    examples: &'static [Example],
}

/// `/gallery`: every example, each with what it was made for.
pub async fn gallery(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let description = "Before and after: jewellery photos made catalogue-ready by SoraiPixel's studio engine, \
                       unretouched.";
    let layout = Layout::new(&state, p.as_ref(), "Gallery").public(&state, "/gallery", description);
    render(Gallery { layout, examples: &EXAMPLES }, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_rules_are_the_checkers_rules() {
        let rules = rules(Preset::Amazon).join("\n");
        assert!(rules.contains("pure white (RGB 255, 255, 255)"), "{rules}");
        assert!(rules.contains("at least 85% of the frame"), "{rules}");
        assert!(rules.contains("No text, watermark"), "{rules}");
        let etsy = super::rules(Preset::Etsy).join("\n");
        assert!(etsy.contains("your choice") && !etsy.contains("No text"), "{etsy}");
    }
}
