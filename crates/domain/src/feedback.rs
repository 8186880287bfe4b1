//! A seller's verdict on one image: thumbs up, or thumbs down with what was wrong.

use crate::Invalid;

/// Free text is for a sentence or two, not an essay.
pub const MAX_TEXT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Rating::Up, Rating::Down].into_iter().find(|r| r.as_str() == s)
    }
}

/// What was wrong with an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Distorted,
    WrongColour,
    CutoutWrong,
    BadBackground,
    Blurry,
    WrongType,
    Unrealistic,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::CutoutWrong,
        Category::Distorted,
        Category::WrongColour,
        Category::BadBackground,
        Category::Blurry,
        Category::WrongType,
        Category::Unrealistic,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Distorted => "distorted",
            Category::WrongColour => "wrong_colour",
            Category::CutoutWrong => "cutout_wrong",
            Category::BadBackground => "bad_background",
            Category::Blurry => "blurry",
            Category::WrongType => "wrong_type",
            Category::Unrealistic => "unrealistic",
            Category::Other => "other",
        }
    }

    /// In words, for the seller.
    pub fn label(self) -> &'static str {
        match self {
            Category::Distorted => "The jewellery looks changed",
            Category::WrongColour => "Wrong colour",
            Category::CutoutWrong => "The cutout is wrong",
            Category::BadBackground => "Bad background",
            Category::Blurry => "Blurry",
            Category::WrongType => "Wrong kind of jewellery",
            Category::Unrealistic => "Looks unrealistic",
            Category::Other => "Something else",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A valid verdict: categories only with a thumbs down, each once, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub rating: Rating,
    pub categories: Vec<Category>,
    pub text: String,
}

impl Feedback {
    pub fn new(rating: &str, categories: &[String], text: &str) -> Result<Self, Invalid> {
        let rating = Rating::parse(rating)
            .ok_or_else(|| Invalid::new("invalid_rating", "rating", "Rate the image up or down."))?;
        let mut chosen = Vec::new();
        for c in categories {
            let c = Category::parse(c).ok_or_else(|| {
                Invalid::new("invalid_category", "categories", "Choose what was wrong from the list.")
            })?;
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        chosen.sort_by_key(|c| Category::ALL.iter().position(|x| x == c));
        if rating == Rating::Up && !chosen.is_empty() {
            return Err(Invalid::new("invalid_category", "categories", "What was wrong goes with a thumbs down."));
        }
        let text = text.trim();
        if text.chars().count() > MAX_TEXT {
            return Err(Invalid::new("text_too_long", "text", format!("Keep it under {MAX_TEXT} characters.")));
        }
        Ok(Feedback { rating, categories: chosen, text: text.to_owned() })
    }

    /// Stored form of the categories: comma-separated codes.
    pub fn categories_csv(&self) -> String {
        self.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// A week is counted from Monday 00:00 UTC (the epoch fell on a Thursday).
pub const WEEK_MS: i64 = 7 * 86_400_000;
pub const FIRST_MONDAY_MS: i64 = 4 * 86_400_000;

/// The start of the week (Monday 00:00 UTC) that holds `ms`.
pub fn week_start(ms: i64) -> i64 {
    (ms - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS
}

/// Images of one engine and kind made in one week with one verdict (or none).
#[derive(Debug, Clone, Copy)]
pub struct Tally<'a> {
    pub week_start: i64,
    pub engine: &'a str,
    /// The output's label (studio preset or AI shot).
    pub kind: &'a str,
    pub rating: Option<Rating>,
    /// Stored categories of a thumbs down.
    pub categories: &'a str,
    pub images: i64,
}

/// How often images of one group were marked down.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownRate {
    pub engine: String,
    /// Empty for an engine's total.
    pub kind: String,
    pub images: i64,
    pub rated: i64,
    pub down: i64,
}

impl DownRate {
    /// Share of the rated images marked down, in percent; `None` when none was rated.
    pub fn percent(&self) -> Option<i64> {
        (self.rated > 0).then(|| (self.down * 100 + self.rated / 2) / self.rated)
    }
}

/// One week's feedback: thumbs-down rate per engine and per kind, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    pub start: i64,
    pub engines: Vec<DownRate>,
    pub kinds: Vec<DownRate>,
    /// How many thumbs down named each category, most named first.
    pub categories: Vec<(Category, i64)>,
}

/// The item `is` finds, added by `new` when there is none.
fn entry<T>(items: &mut Vec<T>, is: impl Fn(&T) -> bool, new: impl FnOnce() -> T) -> &mut T {
    let at = items.iter().position(is).unwrap_or_else(|| {
        items.push(new());
        items.len() - 1
    });
    &mut items[at]
}

/// Weeks, newest first, from tallies in any order.
pub fn weekly(tallies: &[Tally<'_>]) -> Vec<Week> {
    let mut weeks: Vec<Week> = Vec::new();
    for t in tallies {
        let week = entry(
            &mut weeks,
            |w| w.start == t.week_start,
            || Week { start: t.week_start, engines: vec![], kinds: vec![], categories: vec![] },
        );
        for (rates, kind) in [(&mut week.engines, ""), (&mut week.kinds, t.kind)] {
            let rate = entry(
                rates,
                |r| r.engine == t.engine && r.kind == kind,
                || DownRate { engine: t.engine.to_owned(), kind: kind.to_owned(), ..DownRate::default() },
            );
            rate.images += t.images;
            rate.rated += if t.rating.is_some() { t.images } else { 0 };
            rate.down += if t.rating == Some(Rating::Down) { t.images } else { 0 };
        }
        if t.rating == Some(Rating::Down) {
            for c in t.categories.split(',').filter_map(Category::parse) {
                entry(&mut week.categories, |(k, _)| *k == c, || (c, 0)).1 += t.images;
            }
        }
    }
    for w in &mut weeks {
        w.engines.sort_by(|a, b| a.engine.cmp(&b.engine));
        w.kinds.sort_by(|a, b| b.down.cmp(&a.down).then_with(|| (&a.engine, &a.kind).cmp(&(&b.engine, &b.kind))));
        w.categories.sort_by_key(|(c, n)| (-n, Category::ALL.iter().position(|x| x == c)));
    }
    weeks.sort_by_key(|w| -w.start);
    weeks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_thumbs_down_names_what_was_wrong_once_each() {
        let f = Feedback::new("down", &s(&["blurry", "cutout_wrong", "blurry"]), "  edges  ").unwrap();
        assert_eq!(
            (f.rating, f.categories_csv(), f.text.as_str()),
            (Rating::Down, "cutout_wrong,blurry".into(), "edges")
        );
        assert_eq!(Feedback::new("up", &[], "").unwrap().rating, Rating::Up);
    }

    #[test]
    fn nonsense_is_refused_in_words() {
        assert_eq!(Feedback::new("meh", &[], "").unwrap_err().code, "invalid_rating");
        assert_eq!(Feedback::new("down", &s(&["ugly"]), "").unwrap_err().code, "invalid_category");
        assert_eq!(Feedback::new("up", &s(&["blurry"]), "").unwrap_err().code, "invalid_category");
        assert_eq!(Feedback::new("down", &[], &"x".repeat(MAX_TEXT + 1)).unwrap_err().code, "text_too_long");
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert!(!c.label().contains('_'), "labels are words");
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        let monday = 1_764_547_200_000; // 2025-12-01 00:00 UTC, a Monday
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday + WEEK_MS - 1), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK_MS);
    }

    #[test]
    fn weekly_rates_count_rated_images_and_what_was_wrong() {
        let week = |w: i64| 1_764_547_200_000 + w * WEEK_MS;
        let t = |w, engine, kind, rating, categories, images| Tally {
            week_start: week(w),
            engine,
            kind,
            rating,
            categories,
            images,
        };
        let tallies = [
            t(0, "local", "amazon", None, "", 6),
            t(0, "local", "amazon", Some(Rating::Up), "", 3),
            t(0, "local", "amazon", Some(Rating::Down), "cutout_wrong", 1),
            t(0, "cloud", "hero", Some(Rating::Down), "distorted,wrong_colour", 2),
            t(0, "cloud", "hero", Some(Rating::Down), "distorted", 1),
            t(0, "cloud", "lifestyle", Some(Rating::Up), "", 1),
            t(1, "local", "etsy", Some(Rating::Up), "", 4),
        ];
        let weeks = weekly(&tallies);
        assert_eq!(weeks.iter().map(|w| w.start).collect::<Vec<_>>(), vec![week(1), week(0)], "newest first");
        let w = &weeks[1];
        let rate = |engine: &str, kind: &str, rates: &[DownRate]| {
            rates.iter().find(|r| r.engine == engine && r.kind == kind).cloned().unwrap()
        };
        let local = rate("local", "", &w.engines);
        assert_eq!((local.images, local.rated, local.down, local.percent()), (10, 4, 1, Some(25)));
        let cloud = rate("cloud", "", &w.engines);
        assert_eq!((cloud.images, cloud.rated, cloud.down, cloud.percent()), (4, 4, 3, Some(75)));
        assert_eq!(rate("cloud", "hero", &w.kinds).percent(), Some(100));
        assert_eq!(w.kinds[0].kind, "hero", "most marked down first");
        assert_eq!(
            w.categories,
            vec![(Category::Distorted, 3), (Category::WrongColour, 2), (Category::CutoutWrong, 1)],
            "most named first"
        );
        assert_eq!(DownRate::default().percent(), None, "no rating, no rate");
    }
}
