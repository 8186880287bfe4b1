//! How the token ledger reads to a seller. The ledger itself records every
//! movement (a hold when work is accepted, a charge per image, a release of
//! what was left); a seller wants one line per thing bought: "2 images made ·
//! −2 tokens", not a hold and a charge that look like paying twice.

/// One recorded movement, as the ledger stores it: `amount` is positive, except that
/// what was taken back (a refund's claw-back, a negative adjustment) is stored as the
/// signed change it made.
#[derive(Debug, Clone, Copy)]
pub struct Movement<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: &'a str,
    pub reference: &'a str,
    pub at: i64,
}

/// One line of the seller's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// When it last moved.
    pub at: i64,
    pub what: String,
    /// Effect on spendable tokens (negative: spent or taken back).
    pub change: i64,
    /// Spendable tokens after it.
    pub balance: i64,
    /// Tokens still reserved for work in progress; nothing to pay yet.
    pub reserved: i64,
}

impl Line {
    /// "+20", "−2" (a true minus sign), "0".
    pub fn change_text(&self) -> String {
        match self.change {
            c if c > 0 => format!("+{c}"),
            c if c < 0 => format!("\u{2212}{}", -c),
            _ => "0".to_owned(),
        }
    }
}

/// "1 token", "3 tokens".
pub fn tokens(n: i64) -> String {
    if n.abs() == 1 { format!("{n} token") } else { format!("{n} tokens") }
}

/// What the movements of one purchase are grouped under: a creation's hold,
/// charges and release share `creation:<id>`, a listing's `listing:<id>:<generation>`,
/// and a one-step spend (hold and charge) its whole reference.
pub fn group_key(reference: &str) -> &str {
    let parts = match reference.split(':').next() {
        Some("creation") => 2,
        Some("listing") => 3,
        _ => return reference,
    };
    match reference.match_indices(':').nth(parts - 1) {
        Some((end, _)) => &reference[..end],
        None => reference,
    }
}

/// The ledger reference of an invitation reward taken back (its reason says why).
pub const REFERRAL_REVERSED: &str = "referral-reversed:";

#[derive(Default)]
struct Group<'a> {
    at: i64,
    balance: i64,
    held: i64,
    charged: i64,
    released: i64,
    charges: i64,
    other: i64,
    charge_reason: Option<&'a str>,
    first_reason: &'a str,
    first_reference: &'a str,
    kind: &'a str,
}

impl Group<'_> {
    fn line(&self) -> Line {
        let (what, change, reserved) = match self.kind {
            "grant" => (self.first_reason.to_owned(), self.other, 0),
            "refund" if self.first_reference.starts_with(REFERRAL_REVERSED) => {
                (self.first_reason.to_owned(), self.other, 0)
            }
            "refund" => (format!("{} taken back for a refunded payment", tokens(-self.other)), self.other, 0),
            "adjustment" => (format!("Correction by our team: {}", self.first_reason), self.other, 0),
            _ => self.purchase(),
        };
        Line { at: self.at, what, change, balance: self.balance, reserved }
    }

    /// A hold with its charges and release (or a charge alone, from older records).
    fn purchase(&self) -> (String, i64, i64) {
        // A free creation: its zero hold names it ("Made again for free").
        if self.held == 0 && self.charged == 0 && self.released == 0 && self.charges == 0 {
            return (self.first_reason.to_owned(), 0, 0);
        }
        let finished = self.released > 0 || (self.held > 0 && self.charged >= self.held);
        let reserved = if finished || self.held == 0 { 0 } else { self.held - self.charged };
        let what = match (self.charge_reason, self.held > 0 && !finished) {
            (_, true) => "Being made".to_owned(),
            (Some("Image made"), false) if self.charges > 1 => format!("{} images made", self.charges),
            (Some(reason), false) => reason.to_owned(),
            (None, false) => "Not made; nothing charged".to_owned(),
        };
        (what, -(self.held.max(self.charged) - self.released), reserved)
    }
}

/// One page of the seller's statement, newest first. `page` is a page of the ledger
/// (newest first); `related` holds the other movements of purchases the page cuts
/// through (their hold on an older page, their charges on a newer one). A purchase is
/// shown whole, on the page that holds its newest movement.
pub fn statement_page(page: &[Movement<'_>], related: &[Movement<'_>]) -> Vec<Line> {
    let on_page: std::collections::HashSet<&str> = page.iter().map(|m| m.id).collect();
    let mut all: Vec<Movement<'_>> = page.to_vec();
    all.extend(related.iter().filter(|m| !on_page.contains(m.id)));
    // The ledger's own order: newest first, ties by id.
    all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(a.id)));
    let mut newest: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for m in &all {
        newest.entry(group_key(m.reference)).or_insert(m.id);
    }
    all.retain(|m| newest.get(group_key(m.reference)).is_some_and(|id| on_page.contains(id)));
    statement(&all)
}

/// The purchases a page of movements shows only in part: those without their hold,
/// and those whose hold is not yet settled (charged in full or released) in the page.
pub fn unfinished_purchases<'a>(page: &[Movement<'a>]) -> Vec<&'a str> {
    let mut keys: Vec<&'a str> = Vec::new();
    for m in page.iter().filter(|m| matches!(m.kind, "hold" | "charge" | "release")) {
        let key = group_key(m.reference);
        if keys.contains(&key) {
            continue;
        }
        let part: Vec<_> = page.iter().filter(|o| group_key(o.reference) == key).collect();
        let held: i64 = part.iter().filter(|o| o.kind == "hold").map(|o| o.amount).sum();
        let charged: i64 = part.iter().filter(|o| o.kind == "charge").map(|o| o.amount).sum();
        let released = part.iter().any(|o| o.kind == "release");
        if held == 0 || (!released && charged < held) {
            keys.push(key);
        }
    }
    keys
}

/// The seller's statement, newest first, from movements newest first.
pub fn statement(movements: &[Movement<'_>]) -> Vec<Line> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: std::collections::HashMap<&str, Group<'_>> = std::collections::HashMap::new();
    for m in movements {
        let key = group_key(m.reference);
        let g = groups.entry(key).or_insert_with(|| {
            order.push(key);
            // The newest movement comes first: its time and balance stand for the line.
            Group {
                at: m.at,
                balance: m.balance_after,
                kind: m.kind,
                first_reason: m.reason,
                first_reference: m.reference,
                ..Group::default()
            }
        });
        match m.kind {
            "hold" => g.held += m.amount,
            "charge" => {
                g.charged += m.amount;
                g.charges += 1;
                g.charge_reason = Some(m.reason);
            }
            "release" => g.released += m.amount,
            _ => g.other += m.amount,
        }
        if matches!(m.kind, "hold" | "charge" | "release") {
            g.kind = "purchase";
        }
    }
    order.iter().filter_map(|k| groups.get(k)).map(Group::line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv<'a>(kind: &'a str, amount: i64, balance_after: i64, reason: &'a str, reference: &'a str) -> Movement<'a> {
        Movement { id: reference, kind, amount, balance_after, reason, reference, at: balance_after }
    }

    #[test]
    fn a_hold_and_its_charges_read_as_one_purchase() {
        let lines = statement(&[
            mv("release", 1, 18, "Unused tokens returned", "creation:c1:release"),
            mv("charge", 1, 17, "Image made", "creation:c1:output:1"),
            mv("charge", 1, 17, "Image made", "creation:c1:output:0"),
            mv("hold", 3, 17, "Creation accepted", "creation:c1"),
            mv("grant", 20, 20, "Welcome tokens", "welcome:u"),
        ]);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].what.as_str(), lines[0].change, lines[0].balance), ("2 images made", -2, 18));
        assert_eq!((lines[1].what.as_str(), lines[1].change), ("Welcome tokens", 20));
        assert_eq!((lines[0].change_text(), lines[1].change_text()), ("\u{2212}2".to_owned(), "+20".to_owned()));
    }

    #[test]
    fn work_in_progress_is_reserved_and_a_failure_costs_nothing() {
        let lines = statement(&[
            mv("hold", 2, 8, "Creation accepted", "creation:c2"),
            mv("release", 1, 10, "Listing failed: tokens returned", "listing:l1:0:release"),
            mv("hold", 1, 9, "Listing accepted", "listing:l1:0"),
        ]);
        assert_eq!((lines[0].what.as_str(), lines[0].change, lines[0].reserved), ("Being made", -2, 2));
        assert_eq!((lines[1].what.as_str(), lines[1].change), ("Not made; nothing charged", 0));
    }

    #[test]
    fn a_one_step_spend_and_a_single_image_read_plainly() {
        let lines = statement(&[
            mv("charge", 1, 4, "Background removed (API)", "removebg:r1"),
            mv("hold", 1, 4, "Background removed (API)", "removebg:r1"),
            mv("charge", 1, 5, "Image made", "creation:c3:output:0"),
            mv("hold", 1, 5, "Creation accepted", "creation:c3"),
        ]);
        assert_eq!((lines[0].what.as_str(), lines[0].change), ("Background removed (API)", -1));
        assert_eq!((lines[1].what.as_str(), lines[1].change), ("Image made", -1));
    }

    #[test]
    fn refunds_and_corrections_say_what_happened() {
        let lines = statement(&[
            mv("refund", -26, 0, "Tokens returned for a refunded payment", "refund:rfnd_1"),
            mv("adjustment", -5, 26, "duplicate grant", "adjust:1"),
        ]);
        assert_eq!((lines[0].what.as_str(), lines[0].change), ("26 tokens taken back for a refunded payment", -26));
        assert_eq!((lines[1].what.as_str(), lines[1].change), ("Correction by our team: duplicate grant", -5));
        assert_eq!((tokens(1), tokens(2)), ("1 token".to_owned(), "2 tokens".to_owned()));
    }

    #[test]
    fn a_purchase_cut_by_a_page_is_shown_whole_once() {
        let at = |m: Movement<'static>, at: i64| Movement { at, ..m };
        let hold = at(mv("hold", 3, 7, "Creation accepted", "creation:c1"), 10);
        let first = at(mv("charge", 1, 7, "Image made", "creation:c1:output:0"), 11);
        let grant = at(mv("grant", 2, 9, "Daily reward", "daily:1"), 12);
        let second = at(mv("charge", 1, 9, "Image made", "creation:c1:output:1"), 13);
        let release = at(mv("release", 1, 10, "Unused tokens returned", "creation:c1:release"), 14);
        // Newer page: the release, a charge and a grant; the hold and a charge are older.
        let newer = [release, second, grant];
        assert_eq!(unfinished_purchases(&newer), ["creation:c1"]);
        let lines = statement_page(&newer, &[hold, first, second, release]);
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].what.as_str(), lines[0].change, lines[0].reserved), ("2 images made", -2, 0));
        // Older page: the rest of that purchase is shown with its newest movement, not here.
        let older = [first, hold];
        assert_eq!(statement_page(&older, &[hold, first, second, release]), []);
    }

    #[test]
    fn a_free_creation_reads_as_what_it_was() {
        let lines = statement(&[
            mv("hold", 0, 12, "Made again for free", "creation:c9"),
            mv("grant", 12, 12, "Welcome tokens", "welcome:u"),
        ]);
        assert_eq!((lines[0].what.as_str(), lines[0].change, lines[0].reserved), ("Made again for free", 0, 0));
    }
}
