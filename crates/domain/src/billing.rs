//! Money and payment rules: currencies in minor units, the visitor's currency, the payment
//! state machine, GST on Indian invoices, and how many tokens a refund takes back.

use serde::{Deserialize, Serialize};

/// The currencies we sell in. Amounts are integer minor units: paise for INR, cents otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "INR")]
    Inr,
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "EUR")]
    Eur,
}

/// Countries whose currency is the euro (ISO 3166-1 alpha-2).
const EUROZONE: [&str; 20] = [
    "AT", "BE", "HR", "CY", "EE", "FI", "FR", "DE", "GR", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PT", "SK", "SI",
    "ES",
];

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::Inr, Currency::Usd, Currency::Eur];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Inr => "INR",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Currency::ALL.into_iter().find(|c| c.code().eq_ignore_ascii_case(code.trim()))
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Inr => "₹",
            Currency::Usd => "$",
            Currency::Eur => "€",
        }
    }

    /// Whether a visitor whose prices are in `self` may see and pay them in `other`
    /// instead. Only dollars may become euros: the euro list carries the same figures in a
    /// dearer currency, so the switch never lowers a price. Rupees stay rupees (an Indian
    /// sale is invoiced with GST and paid by UPI), and nothing becomes rupees or dollars.
    pub fn may_switch_to(self, other: Currency) -> bool {
        other == self || (self == Currency::Usd && other == Currency::Eur)
    }

    /// India pays in rupees, the eurozone in euros, everyone else in dollars.
    pub fn for_country(country: &str) -> Self {
        let c = country.trim().to_ascii_uppercase();
        if c == "IN" {
            Currency::Inr
        } else if EUROZONE.contains(&c.as_str()) {
            Currency::Eur
        } else {
            Currency::Usd
        }
    }
}

/// An exact amount: `minor` units of `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl std::fmt::Display for Money {
    /// `₹1,499`, `$4.99` — Indian digit grouping for rupees; whole amounts
    /// without `.00`, as prices read. `{:#}` always writes the paise or cents
    /// (invoices and accounts, where columns of amounts line up).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let (major, cents) = (abs / 100, abs % 100);
        let digits = major.to_string();
        let grouped = match self.currency {
            Currency::Inr if digits.len() > 3 => {
                let (head, tail) = digits.split_at(digits.len() - 3);
                let mut out = String::new();
                for (i, ch) in head.chars().enumerate() {
                    if i > 0 && (head.len() - i) % 2 == 0 {
                        out.push(',');
                    }
                    out.push(ch);
                }
                format!("{out},{tail}")
            }
            _ => {
                let mut out = String::new();
                for (i, ch) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i) % 3 == 0 {
                        out.push(',');
                    }
                    out.push(ch);
                }
                out
            }
        };
        if cents == 0 && !f.alternate() {
            return write!(f, "{sign}{}{grouped}", self.currency.symbol());
        }
        write!(f, "{sign}{}{grouped}.{cents:02}", self.currency.symbol())
    }
}

/// What `tokens` cost at a pack's rate (`amount` for `pack_tokens`), rounded to the
/// currency's usual small unit (whole rupees; cents), for a price list in money.
pub fn tokens_at_rate(tokens: i64, amount: i64, pack_tokens: i64, currency: Currency) -> Money {
    let per = i128::from(pack_tokens.max(1));
    let exact = (i128::from(tokens) * i128::from(amount) + per / 2) / per;
    let step = if currency == Currency::Inr { 100 } else { 1 };
    let rounded = ((exact + step / 2) / step * step).max(step);
    Money { minor: i64::try_from(rounded).unwrap_or(i64::MAX), currency }
}

/// `"149"`, `"149.5"`, `"1,499.00"` → minor units (two decimals); anything else → `None`.
pub fn parse_major(text: &str) -> Option<i64> {
    let t = text.trim().replace(',', "");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// Where a Razorpay payment is. It only moves forward: a late `authorized` event cannot undo
/// a capture, and a failure cannot undo money already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Created,
    Authorized,
    Captured,
    Refunded,
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Created => "created",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Created, Self::Authorized, Self::Captured, Self::Refunded, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    fn rank(self) -> u8 {
        match self {
            PaymentStatus::Created => 0,
            PaymentStatus::Authorized | PaymentStatus::Failed => 1,
            PaymentStatus::Captured => 2,
            PaymentStatus::Refunded => 3,
        }
    }

    /// The state after hearing `news`: later states win, earlier ones are ignored.
    /// (Razorpay can fail a payment only before capture, and retry an authorized one.)
    pub fn advance(self, news: PaymentStatus) -> PaymentStatus {
        if news.rank() > self.rank() || (self == PaymentStatus::Failed && news == PaymentStatus::Authorized) {
            news
        } else {
            self
        }
    }
}

/// Where a Razorpay subscription is. `cancelled`, `completed` and `expired` are final: an
/// `activated` event delivered late cannot bring a cancelled subscription back.
pub fn subscription_status_after(current: &str, news: &str) -> String {
    const FINAL: [&str; 3] = ["cancelled", "completed", "expired"];
    if FINAL.contains(&current) { current.to_owned() } else { news.to_owned() }
}

/// GST on a price that includes it (18% on SaaS in India): intra-state sales split it into
/// CGST + SGST, inter-state sales charge IGST. Amounts in paise; rounding goes to the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gst {
    pub taxable: i64,
    pub cgst: i64,
    pub sgst: i64,
    pub igst: i64,
}

pub fn gst_included(total: i64, rate_percent: i64, same_state: bool) -> Gst {
    let tax = (total * rate_percent + (100 + rate_percent) / 2) / (100 + rate_percent);
    if same_state {
        let cgst = tax / 2;
        Gst { taxable: total - tax, cgst, sgst: tax - cgst, igst: 0 }
    } else {
        Gst { taxable: total - tax, cgst: 0, sgst: 0, igst: tax }
    }
}

/// A GSTIN: 2-digit state code, 10-character PAN, entity digit, `Z`, check character.
pub fn parse_gstin(raw: &str) -> Result<String, crate::Invalid> {
    let g = raw.trim().to_ascii_uppercase();
    let b = g.as_bytes();
    let ok = b.len() == 15
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..7].iter().all(u8::is_ascii_uppercase)
        && b[7..11].iter().all(u8::is_ascii_digit)
        && b[11].is_ascii_uppercase()
        && b[12].is_ascii_alphanumeric()
        && b[13] == b'Z'
        && b[14].is_ascii_alphanumeric();
    if ok {
        Ok(g)
    } else {
        Err(crate::Invalid::new("invalid_gstin", "gstin", "A GSTIN has 15 characters, like 27ABCDE1234F1Z5."))
    }
}

/// Tokens to take back so that, after refunds totalling `refunded` of `amount`, the buyer
/// keeps tokens in proportion to what they still paid for. Rounds in the buyer's favour.
pub fn tokens_to_claw_back(tokens_granted: i64, amount: i64, refunded: i64, already_clawed: i64) -> i64 {
    if amount <= 0 {
        return 0;
    }
    let target = i128::from(tokens_granted) * i128::from(refunded.clamp(0, amount)) / i128::from(amount);
    (i64::try_from(target).unwrap_or(tokens_granted) - already_clawed).max(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_dollars_may_become_euros() {
        use Currency::*;
        assert!(Usd.may_switch_to(Eur) && Currency::ALL.iter().all(|c| c.may_switch_to(*c)));
        for (from, to) in [(Eur, Usd), (Usd, Inr), (Eur, Inr), (Inr, Usd), (Inr, Eur)] {
            assert!(!from.may_switch_to(to), "{from:?} → {to:?}");
        }
    }

    use super::*;

    #[test]
    fn currency_from_country() {
        assert_eq!(Currency::for_country("in"), Currency::Inr);
        assert_eq!(Currency::for_country("DE"), Currency::Eur);
        assert_eq!(Currency::for_country("US"), Currency::Usd);
        assert_eq!(Currency::for_country("XX"), Currency::Usd);
    }

    #[test]
    fn money_formats_exactly() {
        assert_eq!(Money { minor: 14_900, currency: Currency::Inr }.to_string(), "₹149");
        assert_eq!(format!("{:#}", Money { minor: 14_900, currency: Currency::Inr }), "₹149.00");
        assert_eq!(format!("{:#}", Money { minor: 14_999_900, currency: Currency::Inr }), "₹1,49,999.00");
        assert_eq!(Money { minor: 149_900, currency: Currency::Inr }.to_string(), "₹1,499");
        assert_eq!(Money { minor: 149_950, currency: Currency::Inr }.to_string(), "₹1,499.50");
        assert_eq!(Money { minor: 499, currency: Currency::Usd }.to_string(), "$4.99");
        assert_eq!(Money { minor: 123_456_789, currency: Currency::Eur }.to_string(), "€1,234,567.89");
    }

    #[test]
    fn token_prices_in_money_round_to_what_people_pay() {
        // Starter: ₹149 for 80 tokens, $4.99 for 80.
        assert_eq!(tokens_at_rate(8, 14_900, 80, Currency::Inr).to_string(), "₹15");
        assert_eq!(tokens_at_rate(1, 14_900, 80, Currency::Inr).to_string(), "₹2");
        assert_eq!(tokens_at_rate(8, 499, 80, Currency::Usd).to_string(), "$0.50");
        assert_eq!(tokens_at_rate(1, 499, 80, Currency::Usd).to_string(), "$0.06");
    }

    #[test]
    fn major_units_parse_exactly() {
        assert_eq!(parse_major("149"), Some(14_900));
        assert_eq!(parse_major("1,499.5"), Some(149_950));
        assert_eq!(parse_major(" 4.99 "), Some(499));
        for bad in ["", "-1", "1.999", "abc", "1.2.3", ".5", "99999999999999999999"] {
            assert_eq!(parse_major(bad), None, "{bad}");
        }
    }

    #[test]
    fn payments_only_move_forward() {
        use PaymentStatus::*;
        assert_eq!(Created.advance(Captured), Captured);
        assert_eq!(Captured.advance(Authorized), Captured);
        assert_eq!(Captured.advance(Failed), Captured);
        assert_eq!(Authorized.advance(Failed), Authorized);
        assert_eq!(Created.advance(Failed), Failed);
        assert_eq!(Failed.advance(Authorized), Authorized);
        assert_eq!(Failed.advance(Captured), Captured);
        assert_eq!(Refunded.advance(Captured), Refunded);
        assert_eq!(subscription_status_after("cancelled", "active"), "cancelled");
        assert_eq!(subscription_status_after("halted", "active"), "active");
    }

    #[test]
    fn gst_splits_add_up() {
        let g = gst_included(14_900, 18, true);
        assert_eq!(g.taxable + g.cgst + g.sgst, 14_900);
        assert_eq!((g.cgst, g.sgst, g.igst), (1136, 1137, 0));
        let g = gst_included(14_900, 18, false);
        assert_eq!((g.taxable, g.igst), (12_627, 2273));
        assert!(parse_gstin("27abcde1234f1z5").is_ok());
        assert!(parse_gstin("27ABCDE1234F1X5").is_err());
    }

    #[test]
    fn claw_back_is_proportional_and_cumulative() {
        assert_eq!(tokens_to_claw_back(80, 14_900, 14_900, 0), 80);
        assert_eq!(tokens_to_claw_back(80, 14_900, 7_450, 0), 40);
        assert_eq!(tokens_to_claw_back(80, 14_900, 14_900, 40), 40);
        assert_eq!(tokens_to_claw_back(80, 14_900, 100, 0), 0);
        assert_eq!(tokens_to_claw_back(80, 14_900, 99_999, 80), 0);
    }
}
