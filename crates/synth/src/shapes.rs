//! Analytic jewellery primitives. Each gives, for a pixel centre, its area
//! coverage (from the signed distance to the edge in pixels, exact for edges
//! that are straight at the pixel scale) and its shaded colour.

use std::f32::consts::PI;

/// Metal colour family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metal {
    Gold,
    RoseGold,
    Silver,
}

impl Metal {
    pub fn name(self) -> &'static str {
        match self {
            Metal::Gold => "gold",
            Metal::RoseGold => "rose",
            Metal::Silver => "silver",
        }
    }

    fn tint(self) -> [f32; 3] {
        match self {
            Metal::Gold => [1.0, 0.80, 0.45],
            Metal::RoseGold => [1.0, 0.72, 0.62],
            Metal::Silver => [0.93, 0.94, 0.96],
        }
    }
}

/// Polished metal reflects a studio: a broad soft light, a narrow highlight that
/// clips to white, dark room reflections toward the edges. `u` runs across the
/// wire (−1..1), `t` along it (radians).
pub fn metal_colour(metal: Metal, u: f32, t: f32) -> [f32; 3] {
    let soft = 0.45 * (-((u - 0.25 - 0.2 * (2.0 * t).sin()) / 0.28).powi(2)).exp();
    let glint = 0.95 * (-((u + 0.45 + 0.1 * (3.0 * t).cos()) / 0.09).powi(2)).exp();
    let dark = 0.12 * (-((u - 0.75) / 0.1).powi(2)).exp();
    let f = 0.32 + soft + glint - dark;
    metal.tint().map(|c| c * f)
}

#[derive(Debug, Clone, Copy)]
pub enum Fill {
    Metal(Metal),
    /// A cut stone: colour and opacity (translucent stones let paper through).
    Gem([f32; 3], f32),
}

#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Elliptical ring band: centre, outer and inner radius, y squash, rotation.
    Annulus { cx: f32, cy: f32, r_out: f32, r_in: f32, ey: f32, rot: f32 },
    /// A wire segment with round ends.
    Capsule { ax: f32, ay: f32, bx: f32, by: f32, r: f32 },
    /// Filled ellipse (pendant, stone).
    Disc { cx: f32, cy: f32, r: f32, ey: f32, rot: f32 },
}

#[derive(Debug, Clone, Copy)]
pub struct Part {
    pub shape: Shape,
    pub fill: Fill,
    /// Counts toward the thin-structure mask (chain wire, earring hooks).
    pub thin: bool,
}

/// Coverage of a half-plane edge at signed distance `d` px (negative inside).
#[inline]
fn cov(d: f32) -> f32 {
    (0.5 - d).clamp(0.0, 1.0)
}

impl Part {
    /// Pixel bounding box (inclusive-exclusive), unclamped.
    pub fn bbox(&self) -> (f32, f32, f32, f32) {
        match self.shape {
            Shape::Annulus { cx, cy, r_out, ey, .. } | Shape::Disc { cx, cy, r: r_out, ey, .. } => {
                let r = r_out * ey.max(1.0);
                (cx - r - 2.0, cy - r - 2.0, cx + r + 2.0, cy + r + 2.0)
            }
            Shape::Capsule { ax, ay, bx, by, r } => {
                (ax.min(bx) - r - 2.0, ay.min(by) - r - 2.0, ax.max(bx) + r + 2.0, ay.max(by) + r + 2.0)
            }
        }
    }

    /// Inner hole test for annuli: (is inside the inner ellipse, distance to it in px).
    pub fn hole_depth(&self, x: f32, y: f32) -> Option<f32> {
        if let Shape::Annulus { cx, cy, r_in, ey, rot, .. } = self.shape {
            let (rho, g) = ellipse_rho(x - cx, y - cy, ey, rot);
            let d = (r_in - rho) / g;
            return (d > 0.0).then_some(d);
        }
        None
    }

    /// Coverage (0..1) and colour (0..1 linear-ish sRGB) at pixel centre (x, y).
    pub fn sample(&self, x: f32, y: f32) -> Option<(f32, [f32; 3])> {
        let (c, u, t) = match self.shape {
            Shape::Annulus { cx, cy, r_out, r_in, ey, rot } => {
                let (rho, g) = ellipse_rho(x - cx, y - cy, ey, rot);
                let c = cov((rho - r_out) / g) * cov((r_in - rho) / g);
                let mid = 0.5 * (r_out + r_in);
                let half = 0.5 * (r_out - r_in);
                let t = (y - cy).atan2(x - cx);
                (c, ((rho - mid) / half.max(0.5)).clamp(-1.0, 1.0), t)
            }
            Shape::Capsule { ax, ay, bx, by, r } => {
                let (dx, dy) = (bx - ax, by - ay);
                let len2 = (dx * dx + dy * dy).max(1e-6);
                let s = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
                let (qx, qy) = (ax + s * dx, ay + s * dy);
                let dist = ((x - qx).powi(2) + (y - qy).powi(2)).sqrt();
                let side = if (x - ax) * dy - (y - ay) * dx >= 0.0 { 1.0 } else { -1.0 };
                (cov(dist - r), (side * dist / r.max(0.5)).clamp(-1.0, 1.0), s * PI)
            }
            Shape::Disc { cx, cy, r, ey, rot } => {
                let (rho, g) = ellipse_rho(x - cx, y - cy, ey, rot);
                let t = (y - cy).atan2(x - cx);
                (cov((rho - r) / g), (2.0 * rho / r.max(0.5) - 1.0).clamp(-1.0, 1.0), t)
            }
        };
        if c <= 0.0 {
            return None;
        }
        match self.fill {
            Fill::Metal(m) => Some((c, metal_colour(m, u, t))),
            Fill::Gem(colour, opacity) => {
                // Facets: alternating bright and deep sectors, a table in the middle.
                let facet = if u < -0.3 {
                    1.15
                } else if ((t * 4.0).sin() * (u * 5.0).cos()) > 0.0 {
                    1.05
                } else {
                    0.65
                };
                Some((c * opacity, colour.map(|v| v * facet)))
            }
        }
    }
}

/// Normalised elliptical radius and its gradient magnitude (px → radius units).
#[inline]
fn ellipse_rho(dx: f32, dy: f32, ey: f32, rot: f32) -> (f32, f32) {
    let (s, c) = rot.sin_cos();
    let lx = c * dx + s * dy;
    let ly = (-s * dx + c * dy) / ey;
    let rho = (lx * lx + ly * ly).sqrt().max(1e-3);
    let g = ((lx * lx + ly * ly / (ey * ey)).sqrt() / rho).max(0.2);
    (rho, g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annulus_coverage_and_hole() {
        let p = Part {
            shape: Shape::Annulus { cx: 50.0, cy: 50.0, r_out: 20.0, r_in: 10.0, ey: 1.0, rot: 0.0 },
            fill: Fill::Metal(Metal::Gold),
            thin: false,
        };
        assert!(p.sample(50.0, 50.0).is_none(), "hole");
        assert_eq!(p.sample(65.0, 50.0).map(|s| s.0), Some(1.0));
        let edge = p.sample(70.0, 50.0).map(|s| s.0).unwrap();
        assert!((edge - 0.5).abs() < 0.01);
        assert!(p.hole_depth(52.0, 50.0).is_some_and(|d| (d - 8.0).abs() < 0.01));
        assert!(p.hole_depth(65.0, 50.0).is_none());
    }

    #[test]
    fn silver_has_clipped_glints_and_dark_reflections() {
        let vals: Vec<f32> = (0..200).map(|i| metal_colour(Metal::Silver, -1.0 + i as f32 / 100.0, 0.3)[1]).collect();
        assert!(vals.iter().any(|v| *v >= 1.0));
        assert!(vals.iter().any(|v| *v < 0.35));
    }
}
