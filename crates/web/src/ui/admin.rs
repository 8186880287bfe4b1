//! Admin pages for billing: payments with filters, one payment with its events and refunds
//! (and the refund form), plan editing, and revenue by day and currency; and the review
//! queue of images to look at.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::billing::admin::{PaymentDetail, PlanEdit};
use app::sessions::Principal;
use db::billing::{Payment, PaymentFilter, Plan, RevenueDay};
use domain::billing::{Currency, Money, parse_major};

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::error::ApiError;

/// Staff reconcile against Razorpay's figures: amounts keep their paise.
pub(super) fn money(minor: i64, currency: &str) -> String {
    format!("{:#}", Money { minor, currency: Currency::parse(currency).unwrap_or(Currency::Usd) })
}

/// A page of the admin console, for staff: others are sent to sign in, or refused. What a
/// staff member may do on it (admins act, support reads) the use cases decide.
pub struct StaffPage(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Response> {
        match parts.extensions.get::<Principal>() {
            None => Err(to_login()),
            Some(p) if p.role().is_staff() => Ok(Self(p.clone())),
            Some(_) => Err(ApiError::from(app::AppError::Forbidden).into_response()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_payments.html")]
struct Payments {
    layout: Layout,
    rows: Vec<(Payment, Option<String>)>,
    filter: PaymentFilter,
}

impl Payments {
    fn money(&self, minor: impl std::borrow::Borrow<i64>, currency: &str) -> String {
        money(*minor.borrow(), currency)
    }
}

pub async fn payments(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Query(filter): Query<PaymentFilter>,
) -> Response {
    match state.app.admin_payments(&p, &filter).await {
        Ok(rows) => render(Payments { layout: Layout::new(&state, Some(&p), "Payments"), rows, filter }, None),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "admin_payment.html")]
struct PaymentPage {
    layout: Layout,
    detail: PaymentDetail,
    notice: String,
    error: FormError,
}

impl PaymentPage {
    fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        money(*minor.borrow(), &self.detail.payment.currency)
    }
}

#[derive(Deserialize, Default)]
pub struct Refunded {
    refunded: Option<String>,
}

async fn payment_page(state: &AppState, p: &Principal, id: &str, notice: &str, err: Option<&ApiError>) -> Response {
    match state.app.admin_payment(p, id).await {
        Ok(detail) => render(
            PaymentPage {
                layout: Layout::new(state, Some(p), "Payment"),
                detail,
                notice: notice.to_owned(),
                error: err.map(FormError::from).unwrap_or_default(),
            },
            err,
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn payment(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path(id): Path<String>,
    Query(q): Query<Refunded>,
) -> Response {
    let notice = if q.refunded.is_some() {
        "Refunded. The tokens it paid for were taken back as far as the balance allowed."
    } else {
        ""
    };
    payment_page(&state, &p, &id, notice, None).await
}

#[derive(Deserialize)]
pub struct RefundForm {
    /// In major units (`2.50`); empty refunds all that is left.
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Response {
    let amount = if form.amount.trim().is_empty() { Ok(None) } else { parse_major(&form.amount).map(Some).ok_or(()) };
    let result = match amount {
        Ok(amount) => state.app.refund_payment(&p, &id, amount, &form.reason).await,
        Err(()) => Err(domain::Invalid::new("invalid_refund", "amount", "Write the amount like 2.50.").into()),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/admin/payments/{id}?refunded=1")).into_response(),
        Err(e) => payment_page(&state, &p, &id, "", Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "admin_plans.html")]
struct Plans {
    layout: Layout,
    plans: Vec<Plan>,
    notice: String,
    error: FormError,
}

impl Plans {
    fn major(&self, minor: &i64) -> String {
        format!("{}.{:02}", minor / 100, minor % 100)
    }
}

async fn plans_page(state: &AppState, p: &Principal, notice: &str, err: Option<&ApiError>) -> Response {
    match state.app.admin_plans(p).await {
        Ok(plans) => render(
            Plans {
                layout: Layout::new(state, Some(p), "Plans"),
                plans,
                notice: notice.to_owned(),
                error: err.map(FormError::from).unwrap_or_default(),
            },
            err,
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn plans(State(state): State<AppState>, StaffPage(p): StaffPage, Query(q): Query<Saved>) -> Response {
    let notice =
        if q.saved.is_some() { "Saved as a new version. Orders already started keep their price." } else { "" };
    plans_page(&state, &p, notice, None).await
}

#[derive(Deserialize)]
pub struct PlanForm {
    name: String,
    tokens: String,
    price_inr: String,
    price_usd: String,
    price_eur: String,
    #[serde(default)]
    active: Option<String>,
}

pub async fn save_plan(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path(id): Path<String>,
    Form(form): Form<PlanForm>,
) -> Response {
    // Unparseable numbers become 0, which the plan rules refuse with a clear message.
    let edit = PlanEdit {
        name: form.name,
        tokens: form.tokens.trim().parse().unwrap_or(0),
        price_inr: parse_major(&form.price_inr).unwrap_or(0),
        price_usd: parse_major(&form.price_usd).unwrap_or(0),
        price_eur: parse_major(&form.price_eur).unwrap_or(0),
        active: form.active.is_some(),
    };
    match state.app.edit_plan(&p, &id, &edit).await {
        Ok(_) => Redirect::to("/admin/plans?saved=1").into_response(),
        Err(e) => plans_page(&state, &p, "", Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "admin_revenue.html")]
struct Revenue {
    layout: Layout,
    days: Vec<RevenueDay>,
    /// Per currency over the period: (currency, payments, gross, refunded).
    totals: Vec<(String, i64, i64, i64)>,
}

impl Revenue {
    fn money(&self, minor: impl std::borrow::Borrow<i64>, currency: &str) -> String {
        money(*minor.borrow(), currency)
    }

    fn date(&self, day: &i64) -> String {
        domain::time::civil(day * 86_400_000).date()
    }
}

pub async fn revenue(State(state): State<AppState>, StaffPage(p): StaffPage) -> Response {
    let days = match state.app.revenue(&p, 90).await {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut totals: Vec<(String, i64, i64, i64)> = Vec::new();
    for d in &days {
        match totals.iter_mut().find(|t| t.0 == d.currency) {
            Some(t) => {
                t.1 += d.payments;
                t.2 += d.gross;
                t.3 += d.refunded;
            }
            None => totals.push((d.currency.clone(), d.payments, d.gross, d.refunded)),
        }
    }
    render(Revenue { layout: Layout::new(&state, Some(&p), "Revenue"), days, totals }, None)
}

#[derive(Template)]
#[template(path = "admin_analytics.html")]
struct Analytics {
    layout: Layout,
    figures: Vec<app::analytics::Figure>,
    min_group: u32,
}

pub async fn analytics(State(state): State<AppState>, StaffPage(p): StaffPage) -> Response {
    match state.app.analytics(&p, 30).await {
        Ok(figures) => render(
            Analytics {
                layout: Layout::new(&state, Some(&p), "Analytics"),
                figures,
                min_group: state.app.settings.privacy.analytics_min_group,
            },
            None,
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "admin_ai_usage.html")]
struct AiUsage {
    layout: Layout,
    calls: Vec<db::cloud::CallSummary>,
}

/// Model calls of the last 30 days: how many, how many rejected by the fidelity check or
/// failed, and what they cost us.
pub async fn ai_usage(State(state): State<AppState>, StaffPage(p): StaffPage) -> Response {
    match state.app.ai_usage(&p, 30).await {
        Ok(calls) => render(AiUsage { layout: Layout::new(&state, Some(&p), "AI usage"), calls }, None),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Weeks of thumbs-down figures under the review queue.
const FEEDBACK_WEEKS: i64 = 8;

#[derive(Template)]
#[template(path = "admin_review.html")]
struct Review {
    layout: Layout,
    items: Vec<db::review::ReviewItem>,
    reasons: &'static [(&'static str, &'static str)],
    reason: String,
    engine: String,
    /// Below this a cutout counts as doubtful.
    low: f64,
    /// Thumbs-down rates of the last weeks, newest first.
    weeks: Vec<domain::feedback::Week>,
    notice: String,
    error: Option<String>,
}

impl Review {
    /// Stored category codes in words.
    fn categories(&self, csv: &str) -> String {
        let words: Vec<&str> =
            csv.split(',').filter_map(domain::feedback::Category::parse).map(|c| c.label()).collect();
        words.join(", ")
    }

    fn engine(&self, engine: &str) -> &'static str {
        if engine == "local" { "Studio" } else { "AI" }
    }

    fn week(&self, start: &i64) -> String {
        crate::ui::day(*start)
    }

    fn rate(&self, r: &domain::feedback::DownRate) -> String {
        r.percent().map_or_else(|| "—".to_owned(), |p| format!("{p}%"))
    }
}

#[derive(Deserialize, Default)]
pub struct ReviewFilter {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    engine: String,
    #[serde(default)]
    refunded: Option<i64>,
}

pub async fn review(State(state): State<AppState>, StaffPage(p): StaffPage, Query(q): Query<ReviewFilter>) -> Response {
    let notice = match q.refunded {
        Some(0) => "That image was refunded already; nothing more was given.".to_owned(),
        Some(n) => {
            format!("{n} token{} given back, with your reason in the seller's ledger.", if n == 1 { "" } else { "s" })
        }
        None => String::new(),
    };
    review_page(&state, &p, q, notice, None).await
}

async fn review_page(
    state: &AppState,
    p: &Principal,
    q: ReviewFilter,
    notice: String,
    err: Option<&ApiError>,
) -> Response {
    let loaded = async {
        Ok::<_, app::AppError>((
            state.app.review_queue(p, &q.reason, &q.engine).await?,
            state.app.weekly_feedback(p, FEEDBACK_WEEKS).await?,
        ))
    };
    match loaded.await {
        Ok((items, weeks)) => {
            let layout = Layout::new(state, Some(p), "Review queue");
            let reason = if q.reason.is_empty() { "any".to_owned() } else { q.reason };
            let low = f64::from(imaging::LOW_CONFIDENCE);
            let reasons = &app::review::REASONS;
            let error = err.map(|e| e.message.clone());
            let page = Review { layout, items, reasons, reason, engine: q.engine, low, weeks, notice, error };
            render(page, err)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct OutputRefundForm {
    reason: String,
}

/// "Refund this": what the image cost goes back to its seller, once.
pub async fn refund_output(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path(id): Path<String>,
    Form(form): Form<OutputRefundForm>,
) -> Response {
    match state.app.refund_output(&p, &id, &form.reason).await {
        Ok(n) => Redirect::to(&format!("/admin/review?refunded={n}")).into_response(),
        Err(e) => review_page(&state, &p, ReviewFilter::default(), String::new(), Some(&e.into())).await,
    }
}
