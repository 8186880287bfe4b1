//! Profile fields a user can correct themselves: trimmed, bounded, and free of control
//! characters so they are safe to show in pages, emails and invoices. Only a multi-line
//! field (the address) keeps line breaks, as `\n`.

use crate::Invalid;

pub const CATEGORIES: &[&str] =
    &["fine_jewellery", "fashion_jewellery", "bridal", "silver", "gold", "diamond", "handmade", "other"];

/// A required short text such as a name.
pub fn name(input: &str) -> Result<String, Invalid> {
    let v = text("name", input, 100)?;
    if v.is_empty() {
        return Err(Invalid::new("invalid_name", "name", "Enter your name."));
    }
    Ok(v)
}

/// An optional one-line text field of at most `max` characters; empty input clears it.
pub fn optional(field: &'static str, input: &str, max: usize) -> Result<Option<String>, Invalid> {
    let v = text(field, input, max)?;
    Ok((!v.is_empty()).then_some(v))
}

/// An optional multi-line field (a postal address): lines trimmed, blank lines dropped,
/// `\r\n` read as `\n`, no other control characters.
pub fn multiline(field: &'static str, input: &str, max: usize) -> Result<Option<String>, Invalid> {
    let lines: Vec<String> =
        input.split('\n').map(|l| text(field, l.trim_end_matches('\r'), max)).collect::<Result<_, _>>()?;
    let v = lines.into_iter().filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    if v.chars().count() > max {
        return Err(Invalid::new("too_long", field, format!("Use at most {max} characters.")));
    }
    Ok((!v.is_empty()).then_some(v))
}

pub fn website(input: &str) -> Result<Option<String>, Invalid> {
    let Some(v) = optional("website", input, 200)? else {
        return Ok(None);
    };
    let with_scheme = if v.contains("://") { v } else { format!("https://{v}") };
    let host = with_scheme.split_once("://").map(|(scheme, rest)| (scheme, rest.split('/').next().unwrap_or_default()));
    match host {
        Some(("http" | "https", host)) if host.contains('.') && !host.contains(char::is_whitespace) => {
            Ok(Some(with_scheme))
        }
        _ => Err(Invalid::new("invalid_website", "website", "Enter a web address such as https://yourshop.com.")),
    }
}

pub fn category(input: &str) -> Result<Option<String>, Invalid> {
    let v = input.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if CATEGORIES.contains(&v) {
        Ok(Some(v.to_owned()))
    } else {
        Err(Invalid::new("invalid_category", "category", "Choose a category from the list."))
    }
}

fn text(field: &'static str, input: &str, max: usize) -> Result<String, Invalid> {
    let v = input.trim();
    if v.chars().count() > max {
        return Err(Invalid::new("too_long", field, format!("Use at most {max} characters.")));
    }
    if v.chars().any(char::is_control) {
        return Err(Invalid::new("invalid_characters", field, "Remove control characters."));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_bounded_and_clean() {
        assert_eq!(name("  Asha Jewels ").unwrap(), "Asha Jewels");
        assert_eq!(name("   ").unwrap_err().code, "invalid_name");
        assert_eq!(name(&"a".repeat(101)).unwrap_err().code, "too_long");
        assert_eq!(name("a\u{0}b").unwrap_err().code, "invalid_characters");
        // A line break in a one-line field would start a new line in a mail or an invoice.
        assert_eq!(name("Asha\nClick https://evil.example").unwrap_err().code, "invalid_characters");
        assert_eq!(optional("company", "A\r\nB", 50).unwrap_err().code, "invalid_characters");
        assert_eq!(
            multiline("address", " 12 MG Road\r\n\n Bengaluru 560001 ", 300).unwrap().as_deref(),
            Some("12 MG Road\nBengaluru 560001")
        );
        assert_eq!(multiline("address", "12 MG Road\t", 300).unwrap().as_deref(), Some("12 MG Road"));
        assert_eq!(multiline("address", "a\u{7}b", 300).unwrap_err().code, "invalid_characters");
        assert_eq!(optional("company", "", 10).unwrap(), None);
        assert_eq!(website("ashajewels.in").unwrap().as_deref(), Some("https://ashajewels.in"));
        assert_eq!(website("javascript:alert(1)").unwrap_err().code, "invalid_website");
        assert_eq!(category("bridal").unwrap().as_deref(), Some("bridal"));
        assert!(category("weapons").is_err());
    }
}
