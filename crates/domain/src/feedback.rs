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
}
