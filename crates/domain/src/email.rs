use crate::Invalid;

/// A syntactically valid, lower-cased email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("invalid_email", "email", "Enter a valid email address.");
        let s = input.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        // The local part as people really use it (letters, digits and `. _ % + - '`):
        // nothing that could close a header, a tag or a quoted string where it is shown.
        let local_ok = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'');
        if local.is_empty()
            || local.len() > 64
            || !local.chars().all(local_ok)
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !domain.contains('.')
            || !domain.split('.').all(label_ok)
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    /// An address as typed to find an account (sign-in, a forgotten password): trimmed and
    /// lower-cased only, so an account made under older, looser rules is still found.
    pub fn lookup(input: &str) -> Option<Self> {
        let s = input.trim().to_lowercase();
        let ok = s.len() <= 254 && s.contains('@') && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        ok.then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The inbox an address delivers to, for telling one person's addresses apart from
/// another's: any case, without a `+tag`, and without dots for Gmail.
pub fn inbox(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((mailbox, domain)) = email.rsplit_once('@') else { return email };
    let mailbox = mailbox.split('+').next().unwrap_or_default();
    let mailbox =
        if matches!(domain, "gmail.com" | "googlemail.com") { mailbox.replace('.', "") } else { mailbox.to_owned() };
    let domain = if domain == "googlemail.com" { "gmail.com" } else { domain };
    format!("{mailbox}@{domain}")
}

/// An address as someone else may see it: the first two letters of the mailbox and the
/// domain (`as•••@example.com`); nothing of an address without a domain.
pub fn masked(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((mailbox, domain)) => format!("{}•••@{domain}", mailbox.chars().take(2).collect::<String>()),
        None => "•••".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(Email::parse("  Priya.Shah+gold@Example.co.IN ").unwrap().as_str(), "priya.shah+gold@example.co.in");
        assert_eq!(Email::parse("o'neil_99%x@example.com").unwrap().as_str(), "o'neil_99%x@example.com");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@-x.com",
            "a..b@c.com",
            "a@b..com",
            "<script>@x.com",
            "a\"b@x.com",
            "a/b@x.com",
            "a>b@x.com",
            &format!("{}@x.com", "a".repeat(65)),
        ] {
            assert_eq!(Email::parse(bad).unwrap_err().code, "invalid_email", "{bad}");
        }
    }

    #[test]
    fn a_masked_address_keeps_two_letters_and_the_domain() {
        assert_eq!(masked("asha.mehta@example.com"), "as•••@example.com");
        assert_eq!(masked("a@x.in"), "a•••@x.in");
        assert_eq!(masked(""), "•••");
    }

    #[test]
    fn one_inbox_under_its_aliases() {
        assert_eq!(inbox("Meera.Shah+shop@GMail.com"), "meerashah@gmail.com");
        assert_eq!(inbox("meerashah@googlemail.com"), "meerashah@gmail.com");
        assert_eq!(inbox("meera.shah+2@example.com"), "meera.shah@example.com");
        assert_ne!(inbox("meera@example.com"), inbox("meera@example.in"));
    }
}
