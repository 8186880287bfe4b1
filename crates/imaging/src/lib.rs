//! SoraiPixel's local studio engine: pure CPU, no I/O, no async. Bytes in,
//! bytes out. See docs/engine.md for the method and the measured figures.
//!
//! ```text
//! decode (limits, EXIF orientation, ICC→sRGB) → matte::cutout → render
//!   (frame → retouch → compose → brand → encode) → compliance::check
//! ```

// Pixel kernels read more clearly with explicit channel indices.
#![allow(clippy::needless_range_loop)]

pub mod brand;
mod colour;
pub mod compliance;
pub mod compose;
pub mod cutout_image;
mod decode;
mod encode;
mod error;
mod format;
pub mod frame;
mod heif;
mod icc;
pub mod inspect;
pub mod matte;
pub mod plane;
mod preset;
mod recipe;
mod render;
pub mod resize;
pub mod score;

pub use colour::Colour;
pub use compliance::{ComplianceReport, Rule};
pub use compose::hybrid::{Placed, hybrid};
pub use decode::{Decoded, Limits, decode, decode_reduced};
pub use encode::{convert, encode, encode_rgb, encode_rgba, thumbnail};
pub use error::ImagingError;
pub use format::{Format, sniff};
pub use inspect::{Detection, Fidelity, detect, fidelity};
pub use matte::suitability::{LOW_CONFIDENCE, Problem};
pub use matte::{Matte, MatteParams, PaperInfo, cutout};
pub use preset::{Preset, PresetSpec};
pub use recipe::{AspectRatio, Background, Branding, Metal, Output, Recipe, Reflection, Shadow, Texture, Watermark};
pub use render::{Rendered, Stage, StageTiming, render, render_matte};
