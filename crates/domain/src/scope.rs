//! What an API key may do. A key never reaches the account itself (profile, email, phone,
//! password, consents, keys, billing, export, deletion): those need a signed-in person.

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Upload photos, make, cancel and delete creations.
    ImagesWrite,
    /// Read uploads, creations and their outputs.
    ImagesRead,
    /// Brand profile, listings and pushing them to the connected shop.
    ListingsWrite,
    /// The profile and token balance, read-only.
    AccountRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::ImagesWrite, Scope::ImagesRead, Scope::ListingsWrite, Scope::AccountRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ImagesWrite => "images:write",
            Scope::ImagesRead => "images:read",
            Scope::ListingsWrite => "listings:write",
            Scope::AccountRead => "account:read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// A key's scopes: at least one, each known, no repeats, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn all() -> Self {
        Self(Scope::ALL.to_vec())
    }

    /// From what a person asked for; `None` means every scope.
    pub fn parse<S: AsRef<str>>(asked: Option<&[S]>) -> Result<Self, Invalid> {
        let Some(asked) = asked else { return Ok(Self::all()) };
        let mut scopes = Vec::new();
        for s in asked {
            let scope = Scope::parse(s.as_ref().trim()).ok_or_else(|| {
                Invalid::new(
                    "invalid_scope",
                    "scopes",
                    format!("Unknown scope. Choose from {}.", Scope::ALL.map(Scope::as_str).join(", ")),
                )
            })?;
            scopes.push(scope);
        }
        if scopes.is_empty() {
            return Err(Invalid::new("invalid_scope", "scopes", "Choose at least one scope."));
        }
        Ok(Self(Scope::ALL.into_iter().filter(|s| scopes.contains(s)).collect()))
    }

    /// As stored: space-separated. Unknown words (from a newer version) grant nothing.
    pub fn from_stored(text: &str) -> Self {
        Self(Scope::ALL.into_iter().filter(|s| text.split_whitespace().any(|w| w == s.as_str())).collect())
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_strictly_and_store_in_order() {
        let s = Scopes::parse(Some(&["account:read", "images:read", "images:read"])).unwrap();
        assert_eq!(s.to_stored(), "images:read account:read");
        assert!(s.allows(Scope::ImagesRead) && !s.allows(Scope::ImagesWrite));
        assert_eq!(Scopes::parse::<&str>(None).unwrap(), Scopes::all());
        assert_eq!(Scopes::parse(Some(&["billing:write"])).unwrap_err().code, "invalid_scope");
        assert_eq!(Scopes::parse::<&str>(Some(&[])).unwrap_err().code, "invalid_scope");
        assert_eq!(Scopes::from_stored("images:write admin:all").names(), ["images:write"]);
    }
}
