//! Listing copy and brand profiles: what a valid listing is (length rules, banned words,
//! `[TBD]` for what is not known), what a valid brand profile is, and how a spreadsheet
//! cell is made safe from formula injection.

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Written where a fact is not known: a seller fills it in before publishing.
pub const TBD: &str = "[TBD]";

/// Attributes a listing carries (empty or unknown ones read `[TBD]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attributes {
    pub material: String,
    pub stone: String,
    pub closure: String,
    pub collection: String,
    pub occasion: String,
}

/// The copy for one product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub title: String,
    /// Paragraphs of the description, rendered as HTML by [`Listing::description_html`].
    pub paragraphs: Vec<String>,
    /// Bullet points (materials, size, care).
    #[serde(default)]
    pub bullets: Vec<String>,
    pub meta_description: String,
    pub alt_text: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Length ranges, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lengths {
    pub title_min: usize,
    pub title_max: usize,
    pub meta_min: usize,
    pub meta_max: usize,
    /// Alt text stays under this.
    pub alt_max: usize,
}

impl Default for Lengths {
    fn default() -> Self {
        Self { title_min: 50, title_max: 65, meta_min: 140, meta_max: 155, alt_max: 125 }
    }
}

/// A word a brand never uses, and what to say instead (nothing: the word is dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BannedWord {
    pub word: String,
    pub replacement: String,
}

/// A seller's brand: how listings should sound and look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandProfile {
    pub brand_name: String,
    pub website: String,
    pub tagline: String,
    pub voice_do: Vec<String>,
    pub voice_dont: Vec<String>,
    pub banned_words: Vec<BannedWord>,
    pub collections: Vec<String>,
    pub occasions: Vec<String>,
    /// Placeholders `{brand}`, `{metal}`, `{stone}`, `{type}`, `{collection}`.
    pub title_format: String,
    pub lengths: Lengths,
}

impl Default for BrandProfile {
    fn default() -> Self {
        Self {
            brand_name: String::new(),
            website: String::new(),
            tagline: String::new(),
            voice_do: vec!["Warm, precise and honest".into()],
            voice_dont: vec!["Exaggerate or promise what the photo does not show".into()],
            banned_words: Vec::new(),
            collections: Vec::new(),
            occasions: Vec::new(),
            title_format: "{brand} {metal} {type} with {stone}".into(),
            lengths: Lengths::default(),
        }
    }
}

/// Words no listing of ours uses, whatever the brand says: claims a photo cannot back.
const ALWAYS_BANNED: &[&str] = &["guaranteed", "certified", "100% pure", "best in the world", "cheapest"];

const PLACEHOLDERS: &[&str] = &["{brand}", "{metal}", "{stone}", "{type}", "{collection}"];

fn chars(s: &str) -> usize {
    s.chars().count()
}

impl BrandProfile {
    /// Checks every field; the first problem names its field.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |field: &'static str, msg: &str| Err(Invalid::new("invalid_brand_profile", field, msg.to_owned()));
        if chars(self.brand_name.trim()) == 0 || chars(&self.brand_name) > 60 {
            return bad("brand_name", "Give a brand name of 1 to 60 characters.");
        }
        let web = &self.website;
        if !(web.is_empty() || web.starts_with("https://") || web.starts_with("http://")) {
            return bad("website", "A website starts with https://.");
        }
        if chars(&self.website) > 200 || chars(&self.tagline) > 120 {
            return bad("tagline", "Keep the website under 200 and the tagline under 120 characters.");
        }
        let lists = [&self.voice_do, &self.voice_dont, &self.collections, &self.occasions];
        if lists.iter().any(|l| l.len() > 30 || l.iter().any(|s| chars(s) > 120)) {
            return bad("voice_do", "Lists hold at most 30 items of at most 120 characters.");
        }
        if self.banned_words.len() > 50
            || self.banned_words.iter().any(|b| b.word.trim().is_empty() || chars(&b.word) > 40)
        {
            return bad("banned_words", "At most 50 banned words, each 1 to 40 characters.");
        }
        if !self.title_format.contains("{type}") || chars(&self.title_format) > 120 {
            return bad("title_format", "The title format must contain {type} and stay under 120 characters.");
        }
        let unknown = self.title_format.split('{').skip(1).any(|rest| {
            let name = rest.split('}').next().unwrap_or_default();
            !PLACEHOLDERS.contains(&format!("{{{name}}}").as_str())
        });
        if unknown {
            return bad("title_format", "Use only {brand}, {metal}, {stone}, {type} and {collection}.");
        }
        // Windows of at least 10 characters: whole words and phrases can land in them.
        let l = self.lengths;
        if l.title_min < 20 || l.title_max > 150 || l.title_min + 10 > l.title_max {
            return bad("lengths", "Title lengths: from at least 20, to at most 150, at least 10 apart.");
        }
        if l.meta_min < 50 || l.meta_max > 320 || l.meta_min + 10 > l.meta_max || !(40..=250).contains(&l.alt_max) {
            return bad(
                "lengths",
                "Meta description from at least 50 to at most 320, 10 apart; alt text limit 40 to 250.",
            );
        }
        Ok(())
    }

    /// The instructions this profile adds to every listing request (shown to the seller).
    pub fn instructions(&self) -> String {
        let l = self.lengths;
        let mut lines = vec![format!("Brand: {}.", self.brand_name)];
        if !self.tagline.is_empty() {
            lines.push(format!("Tagline: {}.", self.tagline));
        }
        if !self.voice_do.is_empty() {
            lines.push(format!("Voice — do: {}.", self.voice_do.join("; ")));
        }
        if !self.voice_dont.is_empty() {
            lines.push(format!("Voice — don't: {}.", self.voice_dont.join("; ")));
        }
        if !self.collections.is_empty() {
            lines.push(format!("Collection: one of {}.", self.collections.join(", ")));
        }
        if !self.occasions.is_empty() {
            lines.push(format!("Occasion: one of {}.", self.occasions.join(", ")));
        }
        let banned: Vec<&str> =
            self.banned_words.iter().map(|b| b.word.as_str()).chain(ALWAYS_BANNED.iter().copied()).collect();
        lines.push(format!("Never use: {}.", banned.join(", ")));
        lines.push(format!("Title pattern: {}.", self.title_format));
        lines.push(format!(
            "Title {}–{} characters; meta description {}–{} characters; alt text under {} characters.",
            l.title_min, l.title_max, l.meta_min, l.meta_max, l.alt_max
        ));
        lines.push(format!("Write {TBD} for any fact the photo and notes do not show."));
        lines.join("\n")
    }

    /// A title from the format and what is known.
    pub fn title_from(&self, metal: &str, stone: &str, kind: &str, collection: &str) -> String {
        let filled = self
            .title_format
            .replace("{brand}", &self.brand_name)
            .replace("{metal}", metal)
            .replace("{stone}", stone)
            .replace("{type}", kind)
            .replace("{collection}", collection);
        // An empty placeholder leaves its connecting word behind ("ring with"): drop it.
        let mut words: Vec<&str> = filled.split_whitespace().collect();
        while words
            .last()
            .is_some_and(|w| ["with", "in", "and", "by", "-", "–", "|", "for"].contains(&w.to_lowercase().as_str()))
        {
            words.pop();
        }
        words.join(" ")
    }
}

/// Replaces banned words (whole words, any case) with their replacements, or drops them.
/// Works on characters, so no case mapping can shift a byte offset.
pub fn scrub(text: &str, banned: &[BannedWord]) -> String {
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let always = ALWAYS_BANNED.iter().map(|w| BannedWord { word: (*w).to_owned(), replacement: String::new() });
    let mut out: Vec<char> = text.chars().collect();
    for b in banned.iter().cloned().chain(always) {
        let needle: Vec<char> = b.word.trim().chars().map(fold).collect();
        if needle.is_empty() {
            continue;
        }
        let mut result = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            let fits = out.len() - i >= needle.len()
                && out[i..i + needle.len()].iter().zip(&needle).all(|(a, b)| fold(*a) == *b);
            let before_ok = i == 0 || !out[i - 1].is_alphanumeric();
            let after_ok = out.get(i + needle.len()).is_none_or(|c| !c.is_alphanumeric());
            if fits && before_ok && after_ok {
                result.extend(b.replacement.chars());
                i += needle.len();
            } else {
                result.push(out[i]);
                i += 1;
            }
        }
        out = result;
    }
    out.into_iter().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a model's value means "not known".
fn unknown(v: &str) -> bool {
    let v = v.trim().trim_matches(['[', ']', '.']).to_lowercase();
    v.is_empty() || ["unknown", "n/a", "na", "tbd", "none", "not specified", "not known", "-"].contains(&v.as_str())
}

/// At most `max` characters, cut at a word boundary.
fn cut(text: &str, max: usize) -> String {
    if chars(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        if chars(&out) + usize::from(!out.is_empty()) + chars(word) > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        text.chars().take(max).collect()
    } else {
        out.trim_end_matches([',', ';', ':', '-', '–']).trim_end().to_owned()
    }
}

/// Lengthens `text` toward `min` with the given phrases, never past `max`.
fn pad(text: &str, min: usize, max: usize, phrases: &[String]) -> String {
    let mut out = text.to_owned();
    for p in phrases.iter().filter(|p| !p.is_empty()) {
        if chars(&out) >= min {
            break;
        }
        if out.contains(p.as_str()) {
            continue;
        }
        let candidate = format!("{out} | {p}");
        if chars(&candidate) <= max {
            out = candidate;
        }
    }
    out
}

/// Lengthens `text` toward `min` with whole sentences, never past `max`.
fn grow(text: &str, min: usize, max: usize, sentences: &[String]) -> String {
    let mut out = text.trim().to_owned();
    for s in sentences {
        if chars(&out) >= min {
            break;
        }
        let candidate = if out.is_empty() { s.clone() } else { format!("{out} {s}") };
        if chars(&candidate) <= max {
            out = candidate;
        }
    }
    out
}

/// What is wrong with a listing's lengths, in words a model can act on (empty: nothing).
pub fn length_problems(l: &Listing, r: Lengths) -> Vec<String> {
    let t = chars(&l.title);
    let title = (!(r.title_min..=r.title_max).contains(&t))
        .then(|| format!("the title has {t} characters; it must have {} to {}", r.title_min, r.title_max));
    title.into_iter().chain(length_problems_besides_title(l, r)).collect()
}

/// As `length_problems`, for everything but the title (a seller's own title is theirs).
pub fn length_problems_besides_title(l: &Listing, r: Lengths) -> Vec<String> {
    let mut problems = Vec::new();
    let (m, a) = (chars(&l.meta_description), chars(&l.alt_text));
    if !(r.meta_min..=r.meta_max).contains(&m) {
        problems
            .push(format!("the meta description has {m} characters; it must have {} to {}", r.meta_min, r.meta_max));
    }
    if a >= r.alt_max || a == 0 {
        problems.push(format!("the alt text has {a} characters; it must have 1 to {}", r.alt_max - 1));
    }
    problems
}

impl Listing {
    /// Makes the listing follow the rules whatever the model wrote: banned words out,
    /// `[TBD]` for unknown attributes, lengths forced into range (cut at a word, or padded
    /// with the brand and known attributes).
    pub fn enforce(mut self, brand: &BrandProfile) -> Self {
        let banned = &brand.banned_words;
        let r = brand.lengths;
        let a = &mut self.attributes;
        for field in [&mut a.material, &mut a.stone, &mut a.closure, &mut a.collection, &mut a.occasion] {
            *field = scrub(field, banned);
            if unknown(field) {
                *field = TBD.to_owned();
            }
        }
        let known: Vec<String> = [&a.material, &a.stone, &a.collection, &a.occasion]
            .into_iter()
            .filter(|v| v.as_str() != TBD)
            .cloned()
            .chain([brand.brand_name.clone(), brand.tagline.clone()])
            // Last resort for a short title: neutral words that claim nothing about the piece.
            .chain(["Fine jewellery", "Everyday elegance", "Gift idea"].map(String::from))
            .map(|p| scrub(&p, banned))
            .collect();
        // Neutral sentences that claim nothing, for copy the model left too short.
        let closing: Vec<String> = [
            "See the photos for every detail.",
            "Message us with any question before you order.",
            "Each piece is photographed as it is.",
        ]
        .map(String::from)
        .to_vec();
        let title = scrub(&self.title, banned);
        // No title at all: the brand's format with what is known.
        let title = if title.is_empty() {
            let known_or = |v: &str| if v == TBD { String::new() } else { v.to_owned() };
            scrub(
                &brand.title_from(&known_or(&a.material), &known_or(&a.stone), "jewellery", &known_or(&a.collection)),
                banned,
            )
        } else {
            title
        };
        self.title = pad(&cut(&title, r.title_max), r.title_min, r.title_max, &known);
        self.meta_description = cut(&scrub(&self.meta_description, banned), r.meta_max);
        if chars(&self.meta_description) < r.meta_min {
            let extra: Vec<String> = self.paragraphs.iter().map(|p| scrub(p, banned)).collect();
            let joined = format!("{} {}", self.meta_description, extra.join(" "));
            self.meta_description = cut(joined.trim(), r.meta_max);
        }
        self.meta_description = grow(&self.meta_description, r.meta_min, r.meta_max, &closing);
        self.meta_description = pad(&self.meta_description, r.meta_min, r.meta_max, &known);
        self.alt_text = cut(&scrub(&self.alt_text, banned), r.alt_max.saturating_sub(1));
        self.paragraphs = self.paragraphs.iter().map(|p| scrub(p, banned)).filter(|p| !p.is_empty()).take(6).collect();
        self.bullets = self.bullets.iter().map(|p| scrub(p, banned)).filter(|p| !p.is_empty()).take(10).collect();
        self.tags = self.tags.iter().map(|t| cut(&scrub(t, banned), 40)).filter(|t| !t.is_empty()).take(15).collect();
        self
    }

    /// The rules applied to a seller's own edit: as `enforce`, except that their title is
    /// kept as they wrote it (banned words aside), whatever its length: it is theirs, and
    /// `title_note` tells them when it is outside the marketplaces' range.
    pub fn enforce_keeping_title(self, brand: &BrandProfile) -> Self {
        let own = scrub(&self.title, &brand.banned_words);
        let mut out = self.enforce(brand);
        if !own.is_empty() {
            out.title = own;
        }
        out
    }

    /// A word for the seller when the title is shorter or longer than marketplaces show
    /// best; None inside the range.
    pub fn title_note(&self, r: Lengths) -> Option<String> {
        let n = chars(&self.title);
        let range = format!("marketplaces show titles of {} to {} characters best", r.title_min, r.title_max);
        if n < r.title_min {
            Some(format!("Your title has {n} characters; {range}. It is kept as you wrote it."))
        } else if n > r.title_max {
            Some(format!("Your title has {n} characters; {range}, and may cut it short. It is kept as you wrote it."))
        } else {
            None
        }
    }

    /// The description as HTML: every piece of text escaped, only `<p>`, `<ul>`, `<li>`.
    pub fn description_html(&self) -> String {
        let mut html: String = self.paragraphs.iter().map(|p| format!("<p>{}</p>", escape_html(p))).collect();
        if !self.bullets.is_empty() {
            html.push_str("<ul>");
            for b in &self.bullets {
                html.push_str(&format!("<li>{}</li>", escape_html(b)));
            }
            html.push_str("</ul>");
        }
        html
    }
}

pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A spreadsheet cell that cannot run as a formula: text starting with `=`, `+`, `-`, `@`,
/// tab or carriage return gets a leading apostrophe (OWASP's CSV injection advice).
pub fn safe_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> BrandProfile {
        BrandProfile {
            brand_name: "Meera Jewels".into(),
            banned_words: vec![BannedWord { word: "cheap".into(), replacement: "affordable".into() }],
            collections: vec!["Festive".into()],
            ..BrandProfile::default()
        }
    }

    #[test]
    fn enforcing_fixes_lengths_words_and_unknowns() {
        let raw = Listing {
            title: "Cheap guaranteed gold ring with an emerald that is lovely and very very long indeed yes".into(),
            paragraphs: vec![
                "A cheap ring, hand finished in Jaipur, with a bezel-set emerald and a polished band.".into(),
            ],
            bullets: vec![],
            meta_description: "Short.".into(),
            alt_text: "x".repeat(200),
            attributes: Attributes { material: "22k gold".into(), stone: "unknown".into(), ..Attributes::default() },
            tags: vec!["ring".into()],
        };
        let l = raw.enforce(&brand());
        let r = Lengths::default();
        assert!(length_problems(&l, r).is_empty(), "{:?} {l:?}", length_problems(&l, r));
        assert!(l.title.starts_with("affordable gold ring"), "{}", l.title);
        assert!(!l.title.to_lowercase().contains("guaranteed"));
        assert!(l.paragraphs[0].starts_with("A affordable ring"));
        assert_eq!((l.attributes.stone.as_str(), l.attributes.closure.as_str()), (TBD, TBD));
        assert_eq!(l.attributes.material, "22k gold");
    }

    #[test]
    fn scrub_matches_whole_words_only() {
        let banned = [BannedWord { word: "cheap".into(), replacement: String::new() }];
        assert_eq!(scrub("Cheap and cheapish, CHEAP!", &banned), "and cheapish, !");
        // Case mappings that change byte lengths (İ, the Kelvin sign) neither panic nor hide a word.
        assert_eq!(scrub("İİ certified \u{212A} Guaranteed", &[]), "İİ \u{212A}");
    }

    #[test]
    fn unknown_values_and_empty_titles_are_handled() {
        let raw = Listing {
            title: String::new(),
            meta_description: String::new(),
            alt_text: "Ring".into(),
            attributes: Attributes {
                material: "TBD".into(),
                stone: "None".into(),
                occasion: "not specified".into(),
                ..Attributes::default()
            },
            ..Listing::default()
        };
        let b = BrandProfile { tagline: "Guaranteed sparkle".into(), ..brand() };
        let l = raw.enforce(&b);
        assert_eq!(
            (l.attributes.material.as_str(), l.attributes.stone.as_str(), l.attributes.occasion.as_str()),
            (TBD, TBD, TBD)
        );
        assert!(l.title.starts_with("Meera Jewels"), "{}", l.title);
        assert!(
            !l.title.to_lowercase().contains("guaranteed") && !l.meta_description.to_lowercase().contains("guaranteed")
        );
        assert!(length_problems(&l, b.lengths).is_empty(), "{l:?}");
    }

    #[test]
    fn descriptions_are_escaped_html() {
        let l = Listing {
            paragraphs: vec!["<script>x</script> & co".into()],
            bullets: vec!["925 \"silver\"".into()],
            ..Listing::default()
        };
        assert_eq!(
            l.description_html(),
            "<p>&lt;script&gt;x&lt;/script&gt; &amp; co</p><ul><li>925 &quot;silver&quot;</li></ul>"
        );
    }

    #[test]
    fn cells_never_start_a_formula() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+91 98"), "'+91 98");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("Gold ring"), "Gold ring");
    }

    #[test]
    fn brand_profiles_are_checked_and_explained() {
        let mut b = brand();
        assert!(b.validate().is_ok());
        assert!(b.instructions().contains("Never use: cheap, guaranteed"));
        assert_eq!(b.title_from("22k gold", "emerald", "ring", ""), "Meera Jewels 22k gold ring with emerald");
        b.title_format = "{brand} {colour}".into();
        assert_eq!(b.validate().unwrap_err().field, "title_format");
        b.title_format = "{brand} {type}".into();
        b.lengths.title_min = 90;
        assert_eq!(b.validate().unwrap_err().field, "lengths");
        b.lengths = Lengths::default();
        b.brand_name = String::new();
        assert_eq!(b.validate().unwrap_err().field, "brand_name");
    }

    #[test]
    fn a_sellers_own_title_is_kept_with_a_note() {
        let brand = BrandProfile::default();
        let own = Listing { title: "Ring guaranteed".into(), ..Listing::default() };
        let kept = own.clone().enforce_keeping_title(&brand);
        assert_eq!(kept.title, "Ring");
        let note = kept.title_note(brand.lengths).unwrap();
        assert!(note.starts_with("Your title has 4 characters") && note.contains("50 to 65"), "{note}");
        assert_ne!(own.enforce(&brand).title, "Ring", "a model's title is still brought into range");
        let long = Listing { title: "x".repeat(90), ..Listing::default() };
        assert!(
            long.clone().enforce_keeping_title(&brand).title_note(brand.lengths).unwrap().contains("90 characters")
        );
    }
}
