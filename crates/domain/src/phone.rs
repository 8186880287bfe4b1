use crate::Invalid;

/// A phone number in E.164 form. Numbers without a country code are read as Indian.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("invalid_phone", "phone", "Enter a valid mobile number, e.g. +91 98765 43210.");
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(bad());
        }
        let number = phonenumber::parse(Some(phonenumber::country::Id::IN), trimmed).map_err(|_| bad())?;
        if !phonenumber::is_valid(&number) {
            return Err(bad());
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs and messages: only the last three digits.
    pub fn masked(&self) -> String {
        let tail: String = self.0.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_default_region_and_e164() {
        assert_eq!(Phone::parse("98765 43210").unwrap().as_str(), "+919876543210");
        assert_eq!(Phone::parse("+91-98765-43210").unwrap().as_str(), "+919876543210");
        assert_eq!(Phone::parse("+1 415 555 2671").unwrap().as_str(), "+14155552671");
    }

    #[test]
    fn rejects_garbage_and_short_numbers() {
        for bad in ["", "12345", "hello", "+91 12", "+999 1234567"] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Phone::parse("+919876543210").unwrap().masked(), "…210");
    }
}
