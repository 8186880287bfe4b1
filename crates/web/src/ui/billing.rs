//! Buying tokens: the pricing page, Checkout (Razorpay's, or the simulated one in dev mode),
//! the billing page (plans, payments, invoices, GSTIN) and printable invoices.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::billing::{Checkout, InvoiceView, PlanPrice};
use app::sessions::Principal;
use db::billing::{Payment, Subscription};
use domain::billing::{Currency, Money};

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth, currency_of};

/// Razorpay Checkout needs its script, its frames and its API; only this page allows them.
const CHECKOUT_CSP: &str = "default-src 'self'; script-src 'self' https://checkout.razorpay.com; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; connect-src 'self' https://*.razorpay.com; \
    frame-src https://api.razorpay.com https://checkout.razorpay.com; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "pricing.html")]
struct Pricing {
    layout: Layout,
    packs: Vec<PlanPrice>,
    monthly: Vec<PlanPrice>,
    currency: &'static str,
    /// Currencies the visitor may switch to (code, symbol), theirs included.
    choices: Vec<(&'static str, &'static str)>,
    signed_in: bool,
    /// What each thing costs: (what, tokens, about this much money at `rate`).
    costs: Vec<(String, String, String)>,
    /// The pack whose rate turns tokens into money ("Starter pack's rate (₹149 for 80 tokens)").
    rate: String,
}

/// Every priced thing in tokens, and in money at the smallest pack's rate (the dearest
/// per token, so no line promises less than a buyer pays).
fn costs(tokens: &settings::Tokens, packs: &[PlanPrice]) -> (Vec<(String, String, String)>, String) {
    let Some(pack) = packs.iter().min_by_key(|p| p.amount) else { return (Vec::new(), String::new()) };
    let currency = Currency::parse(pack.currency).unwrap_or(Currency::Usd);
    let tiered = [
        ("AI styled scene", tokens.generated_image),
        ("AI metal colour change", tokens.recolour),
        ("AI model shot", tokens.model_pose),
    ];
    let rows = std::iter::once(("Catalogue image from our studio engine".to_owned(), tokens.local_output_cost))
        .chain(tiered.into_iter().flat_map(|(what, prices)| {
            ["Standard", "Pro", "Ultra"].into_iter().zip(prices).map(move |(tier, n)| (format!("{what}, {tier}"), n))
        }))
        .chain([("HD upscale".to_owned(), tokens.upscale), ("Listing copy for one photo".to_owned(), tokens.listing)])
        .map(|(what, n)| {
            let money = domain::billing::tokens_at_rate(n, pack.amount, pack.tokens, currency);
            (what, domain::ledger::tokens(n), format!("≈ {money}"))
        })
        .collect();
    (rows, format!("{} pack's rate ({} for {} tokens)", pack.name, pack.display, pack.tokens))
}

#[derive(Deserialize)]
pub struct CurrencyForm {
    currency: String,
}

/// The pricing page's currency switch: among those the server allows the visitor.
pub async fn switch_currency(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Form(form): Form<CurrencyForm>,
) -> Response {
    let switched =
        crate::extract::with_visitor(&headers, &client, &state, |v| state.app.switch_currency(v, &form.currency));
    match switched {
        Ok(value) => {
            let mut response = Redirect::to("/pricing").into_response();
            cookies::set_currency(response.headers_mut(), &state.app.settings, &value);
            response
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn pricing(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
) -> Response {
    let (currency, cookie) = currency_of(&headers, &client, &state);
    let (_, choices) = crate::extract::with_visitor(&headers, &client, &state, |v| state.app.currency_choices(v));
    let plans = match state.app.price_list(currency).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (monthly, packs): (Vec<_>, Vec<_>) = plans.into_iter().partition(|p| p.kind == "monthly");
    let (costs, rate) = costs(&state.app.settings.tokens, &packs);
    let offers: Vec<serde_json::Value> = packs
        .iter()
        .chain(&monthly)
        .map(|plan| {
            serde_json::json!({
                "@type": "Offer",
                "name": plan.name,
                // Whole amounts as the page shows them ("149"), else with their paise ("149.50").
                "price": if plan.amount % 100 == 0 {
                    (plan.amount / 100).to_string()
                } else {
                    format!("{}.{:02}", plan.amount / 100, plan.amount % 100)
                },
                "priceCurrency": plan.currency,
            })
        })
        .collect();
    let product = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "SoraiPixel tokens",
        "description": "Tokens for catalogue-ready jewellery images: one studio image from one token.",
        "brand": {"@type": "Brand", "name": "SoraiPixel"},
        "offers": offers,
    });
    let description = "Prices for SoraiPixel: token packs and monthly plans in rupees, dollars or euros; one \
                       catalogue-ready jewellery image from one token.";
    let page = Pricing {
        layout: Layout::new(&state, p.as_ref(), "Pricing").public(&state, "/pricing", description).structured(&product),
        packs,
        monthly,
        currency: currency.code(),
        choices: choices.into_iter().map(|c| (c.code(), c.symbol())).collect(),
        signed_in: p.is_some(),
        costs,
        rate,
    };
    let mut response = render(page, None);
    if let Some(value) = cookie {
        cookies::set_currency(response.headers_mut(), &state.app.settings, &value);
    }
    response
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    layout: Layout,
    checkout: Checkout,
    /// The Checkout options as JSON for checkout.js (escaped for a script data block).
    data: String,
    script: String,
}

#[derive(Deserialize)]
pub struct CheckoutForm {
    plan_id: String,
}

/// Creates the order (or subscription) at the server's price, then shows Checkout.
pub async fn checkout(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    headers: HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let (currency, _) = currency_of(&headers, &client, &state);
    let checkout = match state.app.start_checkout(&p, &form.plan_id, currency).await {
        Ok(c) => c,
        Err(e) => return billing_page(&state, &p, "", Some(&e.into())).await,
    };
    // `</` cannot close the data block early once every `<` is escaped.
    let data = serde_json::to_string(&checkout).unwrap_or_default().replace('<', "\\u003c");
    let simulated = checkout.simulated;
    let page = CheckoutPage {
        layout: Layout::new(&state, Some(&p), "Checkout"),
        checkout,
        data,
        script: crate::assets::url("checkout.js"),
    };
    let mut response = render(page, None);
    if !simulated {
        let h = response.headers_mut();
        h.insert("content-security-policy", HeaderValue::from_static(CHECKOUT_CSP));
        // Checkout opens bank and UPI windows and may use the Payment Request API.
        h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin-allow-popups"));
        h.insert(
            "permissions-policy",
            HeaderValue::from_static(
                "camera=(), microphone=(), geolocation=(), payment=(self \"https://api.razorpay.com\")",
            ),
        );
    }
    response
}

#[derive(Template)]
#[template(path = "billing.html")]
struct Billing {
    layout: Layout,
    subscriptions: Vec<Subscription>,
    payments: Vec<Payment>,
    gstin: String,
    notice: String,
    error: FormError,
}

impl Billing {
    fn money(&self, minor: impl std::borrow::Borrow<i64>, currency: &str) -> String {
        Money { minor: *minor.borrow(), currency: Currency::parse(currency).unwrap_or(Currency::Usd) }.to_string()
    }

    /// "12 Mar 2026" from Unix seconds (Razorpay's periods).
    fn day(&self, secs: &Option<i64>) -> String {
        secs.map(|s| super::day(s * 1000)).unwrap_or_default()
    }
}

async fn billing_page(state: &AppState, p: &Principal, notice: &str, err: Option<&ApiError>) -> Response {
    let (subscriptions, payments) = match (state.app.subscriptions(p).await, state.app.payments(p).await) {
        (Ok(s), Ok(pay)) => (s, pay),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
    // Subscriptions never paid for are checkout attempts, not plans.
    let subscriptions = subscriptions.into_iter().filter(|s| s.current_start.is_some()).collect();
    let balance = state.app.balance(p).await.map(|b| b.balance).unwrap_or(p.tokens.balance);
    let page = Billing {
        layout: Layout { tokens: Some(balance), ..Layout::new(state, Some(p), "Billing") },
        subscriptions,
        payments,
        gstin: p.user.gstin.clone().unwrap_or_default(),
        notice: notice.to_owned(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

#[derive(Deserialize, Default)]
pub struct BillingNotice {
    paid: Option<String>,
    saved: Option<String>,
    cancelled: Option<String>,
}

pub async fn billing(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Query(n): Query<BillingNotice>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let notice = if n.paid.is_some() {
        "Payment received. Your tokens are in your balance."
    } else if n.saved.is_some() {
        "Saved. Your next invoices will show it."
    } else if n.cancelled.is_some() {
        "Your plan will end at the close of the period you have paid for."
    } else {
        ""
    };
    billing_page(&state, &p, notice, None).await
}

#[derive(Deserialize)]
pub struct GstinForm {
    #[serde(default)]
    gstin: String,
}

pub async fn save_gstin(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Form(form): Form<GstinForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.set_gstin(&p, &form.gstin).await {
        Ok(_) => Redirect::to("/billing?saved=1").into_response(),
        Err(e) => billing_page(&state, &p, "", Some(&e.into())).await,
    }
}

pub async fn cancel(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.cancel_subscription(&p, &id).await {
        Ok(_) => Redirect::to("/billing?cancelled=1").into_response(),
        Err(e) => billing_page(&state, &p, "", Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    layout: Layout,
    view: InvoiceView,
    seller_name: String,
    seller_address: String,
    seller_email: String,
}

impl InvoicePage {
    fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        // Invoices write every amount with its paise, so the columns add up by eye.
        format!("{:#}", Money { minor: *minor.borrow(), ..self.view.total })
    }
}

pub async fn invoice(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(number): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let view = match state.app.invoice(&p, &number).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let contact = &state.app.settings.contact;
    render(
        InvoicePage {
            layout: Layout::new(&state, Some(&p), &format!("Invoice {number}")),
            view,
            seller_name: if contact.company.is_empty() { "SoraiPixel".into() } else { contact.company.clone() },
            seller_address: contact.address.clone(),
            seller_email: contact.email.clone(),
        },
        None,
    )
}
