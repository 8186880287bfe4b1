//! Synthetic jewellery-on-paper photographs with exact ground-truth alpha.
//!
//! Every scene is drawn from analytic primitives (ring bands, bangles, chain
//! links, hooks, stones) whose area coverage *is* the ground truth, then lit and
//! photographed: paper colour with a lighting gradient and vignetting, contact and
//! cast shadows, lens blur, sensor noise and JPEG compression. Deterministic per
//! seed; no downloads.

pub mod metrics;
mod rng;
mod scene;
pub mod shapes;

pub use metrics::{Metrics, evaluate};
pub use rng::Rng;
pub use scene::{Kind, Paper, Scene, SceneSpec, generate};
pub use shapes::Metal;

/// One benchmark stratum: a kind of piece, metal and paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stratum {
    pub kind: Kind,
    pub metal: Metal,
    pub paper: Paper,
}

impl Stratum {
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.kind.name(), self.metal.name(), self.paper.name())
    }

    pub fn spec(&self, width: u32, height: u32, seed: u64) -> SceneSpec {
        SceneSpec { kind: self.kind, metal: self.metal, paper: self.paper, width, height, seed, jpeg_quality: 90 }
    }
}

/// The benchmark's strata: metal on paper incl. silver on white, thin chains,
/// bangles with holes, earring pairs, translucent stones; white, grey, coloured paper.
pub fn strata() -> Vec<Stratum> {
    use Kind::*;
    use Metal::*;
    use Paper::*;
    [
        (Ring, Gold, White),
        (Ring, Silver, White),
        (Ring, RoseGold, Grey),
        (Bangle, Gold, Coloured),
        (Bangle, Silver, White),
        (Chain, Gold, White),
        (Chain, Silver, White),
        (Chain, RoseGold, Coloured),
        (Earrings, Gold, Coloured),
        (Earrings, Silver, Grey),
        (Stones, Silver, Grey),
        (Stones, Gold, White),
    ]
    .into_iter()
    .map(|(kind, metal, paper)| Stratum { kind, metal, paper })
    .collect()
}

/// 12 MP (4000×3000) and 2 MP (1728×1152), the two benchmark sizes.
pub const SIZE_12MP: (u32, u32) = (4000, 3000);
pub const SIZE_2MP: (u32, u32) = (1728, 1152);
