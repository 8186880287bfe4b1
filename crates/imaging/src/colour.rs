//! `#rrggbb` colours as used in recipes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ImagingError;

/// An sRGB colour, written `#rrggbb` in JSON and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour(pub [u8; 3]);

impl Colour {
    pub const WHITE: Colour = Colour([255, 255, 255]);
    pub const BLACK: Colour = Colour([0, 0, 0]);

    pub fn to_f32(self) -> [f32; 3] {
        self.0.map(f32::from)
    }
}

impl FromStr for Colour {
    type Err = ImagingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.trim().trim_start_matches('#');
        let bad = || ImagingError::InvalidRecipe(format!("not a #rrggbb colour: {s:?}"));
        let expanded: String = match hex.len() {
            3 => hex.chars().flat_map(|c| [c, c]).collect(),
            6 => hex.to_string(),
            _ => return Err(bad()),
        };
        let v = u32::from_str_radix(&expanded, 16).map_err(|_| bad())?;
        Ok(Colour([(v >> 16) as u8, (v >> 8) as u8, v as u8]))
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

impl Serialize for Colour {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_hex() {
        assert_eq!("#ff8000".parse::<Colour>().unwrap(), Colour([255, 128, 0]));
        assert_eq!("0f0".parse::<Colour>().unwrap(), Colour([0, 255, 0]));
        assert_eq!(Colour([1, 2, 255]).to_string(), "#0102ff");
        for bad in ["#12", "zzzzzz", "#1234567", ""] {
            assert_eq!(bad.parse::<Colour>().unwrap_err().code(), "invalid_recipe");
        }
    }
}
