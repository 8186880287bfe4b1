//! Calendar dates from epoch milliseconds (UTC), without a date library.

/// A UTC date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
}

/// Howard Hinnant's civil-from-days, valid for the proleptic Gregorian calendar.
pub fn civil(ms: i64) -> Civil {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil { year: yoe + era * 400 + i64::from(month <= 2), month, day, hour: rest / 3600, minute: rest % 3600 / 60 }
}

impl Civil {
    /// `2026-03-01`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The first millisecond (UTC) of a `YYYY-MM-DD` date; `None` unless it is a real date
/// written exactly so.
pub fn parse_date(text: &str) -> Option<i64> {
    let parts: Vec<i64> = text.split('-').map(|p| p.parse::<i64>().ok()).collect::<Option<_>>()?;
    let [y, m, d] = parts[..] else { return None };
    if text.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from the civil date (the inverse of `civil`), then checked by the round trip.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + (153 * m2 + 2) / 5 + d - 1;
    let ms = (era * 146_097 + doe - 719_468) * 86_400_000;
    (civil(ms).date() == text).then_some(ms)
}

/// `2026-03-01T09:05:07.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let c = civil(ms);
    let (secs, millis) = (ms.div_euclid(1000).rem_euclid(60), ms.rem_euclid(1000));
    format!("{}T{:02}:{:02}:{secs:02}.{millis:03}Z", c.date(), c.hour, c.minute)
}

/// A wait in words, for "try again …": "in 40 seconds", "in 5 minutes", "in about
/// 7 hours", "tomorrow" (a count of seconds means nothing to a person).
pub fn wait_words(secs: u64) -> String {
    match secs {
        0..=1 => "in a moment".to_owned(),
        2..=59 => format!("in {secs} seconds"),
        60..=119 => "in a minute".to_owned(),
        120..=3_599 => format!("in {} minutes", secs.div_ceil(60)),
        3_600..=5_399 => "in about an hour".to_owned(),
        5_400..=84_599 => format!("in about {} hours", (secs + 1_800) / 3_600),
        _ => "tomorrow".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_parse_strictly() {
        assert_eq!(super::parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(super::parse_date("2024-02-29").map(|ms| super::civil(ms).date()).as_deref(), Some("2024-02-29"));
        for bad in ["2023-02-29", "2026-13-01", "2026-1-01", "yesterday", "2026-01-01T00:00", "+026-01-01", ""] {
            assert_eq!(super::parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(951_782_400_000 + 3_723_456), "2000-02-29T01:02:03.456Z");
        assert_eq!(super::civil(0).date(), "1970-01-01");
        assert_eq!(super::civil(951_782_400_000).date(), "2000-02-29");
        let c = super::civil(1_772_323_500_000);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute), (2026, 3, 1, 0, 5));
    }

    #[test]
    fn waits_read_as_people_say_them() {
        let words: Vec<String> = [0, 40, 90, 125, 3_600, 24_014, 86_000].map(super::wait_words).into();
        assert_eq!(
            words,
            [
                "in a moment",
                "in 40 seconds",
                "in a minute",
                "in 3 minutes",
                "in about an hour",
                "in about 7 hours",
                "tomorrow"
            ]
        );
    }
}
