//! The theme gallery's tiles: each theme's local backdrop behind a synthetic gold ring,
//! rendered by the local engine once per process and kept in memory (30 small JPEGs).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use imaging::{Format, Matte, Recipe};

use crate::{App, AppError, Result};

/// Long side of a tile.
const TILE: u32 = 320;

fn ring() -> std::result::Result<&'static Matte, String> {
    static RING: OnceLock<std::result::Result<Matte, String>> = OnceLock::new();
    RING.get_or_init(|| {
        let scene = synth::generate(&synth::SceneSpec::gold_ring(640, 480, 11));
        let decoded = imaging::decode(&scene.jpeg, &imaging::Limits::default()).map_err(|e| e.to_string())?;
        imaging::cutout(&decoded, &imaging::MatteParams::default()).map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn render(backdrop: &str) -> std::result::Result<Vec<u8>, String> {
    let recipe = Recipe {
        background: Some(backdrop.parse().map_err(|e: imaging::ImagingError| e.to_string())?),
        aspect_ratio: Some(imaging::AspectRatio::Square),
        fill: Some(0.55),
        output: Some(imaging::Output { format: Format::Jpeg, quality: 82, long_side: Some(TILE) }),
        ..Recipe::default()
    };
    imaging::render_matte(ring()?, &recipe, &mut |_, _| {}).map(|r| r.bytes).map_err(|e| e.to_string())
}

impl App {
    /// A theme's gallery tile (JPEG).
    pub async fn theme_tile(&self, theme: &str) -> Result<Vec<u8>> {
        static TILES: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
        let tiles = TILES.get_or_init(Mutex::default);
        let lib = prompts::library().map_err(|e| AppError::Internal(e.to_string()))?;
        let theme = lib.theme(theme).map_err(|_| AppError::NotFound)?;
        if let Some(bytes) = tiles.lock().ok().and_then(|t| t.get(&theme.id).cloned()) {
            return Ok(bytes);
        }
        let backdrop = theme.local.clone();
        let bytes = self.on_cpu(move || render(&backdrop)).await?.map_err(AppError::Internal)?;
        if let Ok(mut t) = tiles.lock() {
            t.insert(theme.id.clone(), bytes.clone());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_theme_has_a_tile() {
        for theme in &prompts::library().unwrap().themes {
            let bytes = super::render(&theme.local).unwrap_or_else(|e| panic!("{}: {e}", theme.id));
            assert_eq!(imaging::sniff(&bytes).unwrap(), imaging::Format::Jpeg);
        }
    }
}
