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

/// `2026-03-01T09:05:07.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let c = civil(ms);
    let (secs, millis) = (ms.div_euclid(1000).rem_euclid(60), ms.rem_euclid(1000));
    format!("{}T{:02}:{:02}:{secs:02}.{millis:03}Z", c.date(), c.hour, c.minute)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(951_782_400_000 + 3_723_456), "2000-02-29T01:02:03.456Z");
        assert_eq!(super::civil(0).date(), "1970-01-01");
        assert_eq!(super::civil(951_782_400_000).date(), "2000-02-29");
        let c = super::civil(1_772_323_500_000);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute), (2026, 3, 1, 0, 5));
    }
}
