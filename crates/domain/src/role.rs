use serde::{Deserialize, Serialize};

/// What an account may do beyond its own things: staff read the admin console; only
/// admins act in it (refunds, plans, suspensions, token adjustments, roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    /// Read-only staff: sees the admin console, changes nothing.
    Support,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::User, Role::Support, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Support => "support",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// As staff pages name it.
    pub fn words(self) -> &'static str {
        match self {
            Role::User => "Seller",
            Role::Support => "Support (read only)",
            Role::Admin => "Admin",
        }
    }

    pub fn is_staff(self) -> bool {
        self != Role::User
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_and_only_staff_are_staff() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("emperor"), None);
        assert!(!Role::User.is_staff() && Role::Support.is_staff() && Role::Admin.is_staff());
    }
}
