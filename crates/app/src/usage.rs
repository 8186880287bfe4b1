//! API usage per key per UTC day (calls answered, images made, tokens they cost), for the
//! developers page, `GET /api/v1/usage` and its CSV.

use db::usage::Usage;
use domain::listing::safe_cell;

use crate::sessions::Principal;
use crate::{App, AppError, Result, now_ms};

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 366;

/// `YYYY-MM-DD` as its first millisecond, or `invalid_date` naming `field`.
fn parse_day(text: &str, field: &'static str) -> Result<i64> {
    domain::time::parse_date(text)
        .ok_or_else(|| domain::Invalid::new("invalid_date", field, "Give a date as YYYY-MM-DD.").into())
}

impl App {
    /// Usage between `from` and `to` (inclusive days; default the last 30), newest first.
    pub async fn api_usage(&self, p: &Principal, from: Option<&str>, to: Option<&str>) -> Result<Vec<Usage>> {
        let day_ms = crate::limits::DAY;
        let to_ms = match to {
            Some(t) => parse_day(t, "to")?,
            None => now_ms() - now_ms().rem_euclid(day_ms),
        };
        let from_ms = match from {
            Some(f) => parse_day(f, "from")?,
            None => to_ms - 29 * day_ms,
        };
        if from_ms > to_ms || (to_ms - from_ms) / day_ms >= MAX_DAYS {
            return Err(domain::Invalid::new("invalid_range", "from", "Choose up to a year, from before to.").into());
        }
        let (from, to) = (db::usage::day(from_ms), db::usage::day(to_ms));
        Ok(self.db.api_usage(&p.user.id, &from, &to).await?)
    }
}

/// The rows as CSV (key names cannot become formulas in a spreadsheet).
pub fn usage_csv(rows: &[Usage]) -> Result<Vec<u8>> {
    let io = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["day", "key", "key_id", "calls", "images", "tokens"]).map_err(io)?;
    for r in rows {
        let numbers = [r.calls, r.images, r.tokens].map(|n| n.to_string());
        w.write_record([r.day.clone(), safe_cell(&r.key_name), r.key_id.clone()].iter().chain(&numbers)).map_err(io)?;
    }
    w.into_inner().map_err(|e| AppError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_day_names_its_field() {
        assert_eq!(parse_day("1970-01-02", "to").unwrap(), 86_400_000);
        let e = parse_day("2023-02-29", "to").unwrap_err();
        assert_eq!((e.code(), matches!(e, AppError::Invalid(ref i) if i.field == "to")), ("invalid_date", true));
    }
}
