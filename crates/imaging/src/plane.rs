//! Small single-channel planes and the handful of morphology / filtering
//! operations the matte needs (square structuring elements, chessboard
//! distances, box means). Written here rather than pulling imageproc (and its
//! nalgebra/rand tree) for five short loops.

/// A `w×h` row-major plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane<T> {
    pub w: usize,
    pub h: usize,
    pub data: Vec<T>,
}

impl<T: Copy> Plane<T> {
    pub fn new(w: usize, h: usize, fill: T) -> Self {
        Plane { w, h, data: vec![fill; w * h] }
    }

    #[inline]
    pub fn get(&self, x: usize, y: usize) -> T {
        self.data[y * self.w + x]
    }

    #[inline]
    pub fn set(&mut self, x: usize, y: usize, v: T) {
        self.data[y * self.w + x] = v;
    }

    /// Value at clamped coordinates (never out of bounds).
    #[inline]
    pub fn at(&self, x: isize, y: isize) -> T {
        let x = x.clamp(0, self.w as isize - 1) as usize;
        let y = y.clamp(0, self.h as isize - 1) as usize;
        self.data[y * self.w + x]
    }
}

/// Binary mask stored as 0/1 bytes.
pub type Mask = Plane<u8>;

/// Separable square max (dilation) or min (erosion) with radius `r`, on a 0/1
/// mask: a sliding count of set pixels makes it O(1) per pixel at any radius.
fn morph(m: &Mask, r: usize, max: bool) -> Mask {
    if r == 0 || m.w == 0 || m.h == 0 {
        return m.clone();
    }
    let (w, h) = (m.w, m.h);
    // Dilation: any set pixel in the window. Erosion: all set (outside counts as set,
    // so erosion does not eat in from the frame edge).
    let decide = |count: usize, window: usize| if max { count > 0 } else { count == window };
    let mut tmp = Mask::new(w, h, 0);
    for y in 0..h {
        let row = &m.data[y * w..(y + 1) * w];
        let mut count: usize = row[..r.min(w - 1) + 1].iter().map(|&v| usize::from(v != 0)).sum();
        for x in 0..w {
            let lo = x.saturating_sub(r);
            let hi = (x + r).min(w - 1);
            let window = hi - lo + 1;
            tmp.data[y * w + x] = u8::from(decide(count, window));
            if x + r + 1 < w {
                count += usize::from(row[x + r + 1] != 0);
            }
            if x >= r {
                count -= usize::from(row[x - r] != 0);
            }
        }
    }
    let mut out = Mask::new(w, h, 0);
    let mut counts = vec![0usize; w];
    for yy in 0..=r.min(h - 1) {
        for (c, &v) in counts.iter_mut().zip(&tmp.data[yy * w..(yy + 1) * w]) {
            *c += usize::from(v != 0);
        }
    }
    for y in 0..h {
        let lo = y.saturating_sub(r);
        let hi = (y + r).min(h - 1);
        let window = hi - lo + 1;
        for (o, &c) in out.data[y * w..(y + 1) * w].iter_mut().zip(&counts) {
            *o = u8::from(decide(c, window));
        }
        if y + r + 1 < h {
            let add = y + r + 1;
            for (c, &v) in counts.iter_mut().zip(&tmp.data[add * w..(add + 1) * w]) {
                *c += usize::from(v != 0);
            }
        }
        if y >= r {
            for (c, &v) in counts.iter_mut().zip(&tmp.data[(y - r) * w..(y - r + 1) * w]) {
                *c -= usize::from(v != 0);
            }
        }
    }
    out
}

pub fn dilate(m: &Mask, r: usize) -> Mask {
    morph(m, r, true)
}

pub fn erode(m: &Mask, r: usize) -> Mask {
    morph(m, r, false)
}

/// The pixels of `m` 4-connected to the frame's border.
pub fn touching_border(m: &Mask) -> Mask {
    let (w, h) = (m.w, m.h);
    let mut out = Mask::new(w, h, 0);
    let mut stack: Vec<usize> = (0..w * h)
        .filter(|&i| m.data[i] != 0 && (i % w == 0 || i / w == 0 || i % w + 1 == w || i / w + 1 == h))
        .collect();
    for &i in &stack {
        out.data[i] = 1;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let around =
            [(x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1), (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w)];
        for n in around.into_iter().flatten() {
            if m.data[n] != 0 && out.data[n] == 0 {
                out.data[n] = 1;
                stack.push(n);
            }
        }
    }
    out
}

/// Chessboard distance (in pixels, capped at 255) from each pixel to the nearest
/// pixel where `m` is 0. Zero on those pixels themselves. Outside the plane counts
/// as "not set" only when `border_is_zero`.
pub fn distance_inside(m: &Mask, border_is_zero: bool) -> Plane<u8> {
    let (w, h) = (m.w, m.h);
    let mut d = Plane::new(w, h, 0u8);
    let edge = if border_is_zero { 1u8 } else { 255 };
    for y in 0..h {
        for x in 0..w {
            if m.data[y * w + x] == 0 {
                continue;
            }
            let mut v = 255u8;
            if x == 0 || y == 0 {
                v = v.min(edge);
            }
            if x > 0 {
                v = v.min(d.data[y * w + x - 1].saturating_add(1));
            }
            if y > 0 {
                let up = (y - 1) * w;
                v = v.min(d.data[up + x].saturating_add(1));
                if x > 0 {
                    v = v.min(d.data[up + x - 1].saturating_add(1));
                }
                if x + 1 < w {
                    v = v.min(d.data[up + x + 1].saturating_add(1));
                }
            }
            d.data[y * w + x] = v;
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let i = y * w + x;
            if m.data[i] == 0 {
                continue;
            }
            let mut v = d.data[i];
            if x + 1 == w || y + 1 == h {
                v = v.min(edge);
            }
            if x + 1 < w {
                v = v.min(d.data[i + 1].saturating_add(1));
            }
            if y + 1 < h {
                let dn = (y + 1) * w;
                v = v.min(d.data[dn + x].saturating_add(1));
                if x + 1 < w {
                    v = v.min(d.data[dn + x + 1].saturating_add(1));
                }
                if x > 0 {
                    v = v.min(d.data[dn + x - 1].saturating_add(1));
                }
            }
            d.data[i] = v;
        }
    }
    d
}

/// Mean over a `(2r+1)²` window with edge clamping, via running sums
/// (rows, then a column-sum vector sliding down: cache-friendly).
pub fn box_mean(p: &Plane<f32>, r: usize) -> Plane<f32> {
    if r == 0 || p.w == 0 || p.h == 0 {
        return p.clone();
    }
    let (w, h) = (p.w, p.h);
    let norm = 1.0 / (2 * r + 1) as f32;
    let mut tmp = Plane::new(w, h, 0f32);
    let clamp_w = |i: isize| i.clamp(0, w as isize - 1) as usize;
    for y in 0..h {
        let row = &p.data[y * w..(y + 1) * w];
        let out = &mut tmp.data[y * w..(y + 1) * w];
        let mut s: f32 = (-(r as isize)..=r as isize).map(|i| row[clamp_w(i)]).sum();
        for x in 0..w {
            out[x] = s * norm;
            s += row[clamp_w(x as isize + r as isize + 1)] - row[clamp_w(x as isize - r as isize)];
        }
    }
    let mut out = Plane::new(w, h, 0f32);
    let clamp_h = |i: isize| i.clamp(0, h as isize - 1) as usize;
    let mut sums = vec![0f32; w];
    for i in -(r as isize)..=r as isize {
        let y = clamp_h(i);
        for (s, v) in sums.iter_mut().zip(&tmp.data[y * w..(y + 1) * w]) {
            *s += v;
        }
    }
    for y in 0..h {
        for (o, s) in out.data[y * w..(y + 1) * w].iter_mut().zip(&sums) {
            *o = s * norm;
        }
        let add = clamp_h(y as isize + r as isize + 1);
        let sub = clamp_h(y as isize - r as isize);
        let (a, b) = (&tmp.data[add * w..(add + 1) * w], &tmp.data[sub * w..(sub + 1) * w]);
        for ((s, x), y2) in sums.iter_mut().zip(a).zip(b) {
            *s += x - y2;
        }
    }
    out
}

/// Average of `values` over the pixels where `weight` > 0 (normalised convolution),
/// `fallback` where the window holds no weight at all.
pub fn masked_mean(values: &Plane<f32>, weight: &Plane<f32>, r: usize, fallback: f32) -> Plane<f32> {
    masked_mean_with(values, weight, &box_mean(weight, r), r, fallback)
}

/// As [`masked_mean`], with the weight's box mean `den` computed once by the caller.
pub fn masked_mean_with(
    values: &Plane<f32>,
    weight: &Plane<f32>,
    den: &Plane<f32>,
    r: usize,
    fallback: f32,
) -> Plane<f32> {
    let vw =
        Plane { w: values.w, h: values.h, data: values.data.iter().zip(&weight.data).map(|(v, w)| v * w).collect() };
    let num = box_mean(&vw, r);
    Plane {
        w: values.w,
        h: values.h,
        data: num.data.iter().zip(&den.data).map(|(n, d)| if *d > 1e-4 { n / d } else { fallback }).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(w: usize, x0: usize, x1: usize) -> Mask {
        let mut m = Mask::new(w, w, 0);
        for y in x0..x1 {
            for x in x0..x1 {
                m.set(x, y, 1);
            }
        }
        m
    }

    #[test]
    fn dilate_and_erode_are_square() {
        let m = square(9, 4, 5);
        let d = dilate(&m, 2);
        assert_eq!(d.data.iter().filter(|&&v| v == 1).count(), 25);
        assert_eq!(erode(&d, 2), m);
        assert_eq!(erode(&m, 1).data.iter().filter(|&&v| v == 1).count(), 0);
    }

    #[test]
    fn chessboard_distance() {
        let m = square(9, 1, 8);
        let d = distance_inside(&m, true);
        assert_eq!(d.get(4, 4), 4);
        assert_eq!(d.get(1, 1), 1);
        assert_eq!(d.get(0, 0), 0);
        let full = Mask::new(5, 5, 1);
        assert_eq!(distance_inside(&full, true).get(2, 2), 3);
        assert_eq!(distance_inside(&full, false).get(2, 2), 255);
    }

    #[test]
    fn box_and_masked_means() {
        let mut p = Plane::new(7, 7, 0f32);
        p.set(3, 3, 9.0);
        let b = box_mean(&p, 1);
        assert!((b.get(3, 3) - 1.0).abs() < 1e-5);
        assert!((b.get(2, 2) - 1.0).abs() < 1e-5);
        assert!(b.get(0, 0).abs() < 1e-6);
        let v = Plane::new(7, 7, 5f32);
        let mut wgt = Plane::new(7, 7, 0f32);
        wgt.set(0, 0, 1.0);
        let m = masked_mean(&v, &wgt, 1, -1.0);
        assert!((m.get(1, 1) - 5.0).abs() < 1e-5);
        assert_eq!(m.get(5, 5), -1.0);
    }
}
