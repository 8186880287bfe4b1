//! Server-rendered pages. Forms post back to the same path; success redirects (so a reload
//! never repeats an action), failure re-renders the form with the error next to its field.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use app::sessions::Principal;

use crate::AppState;
use crate::error::ApiError;

mod account;
mod admin;
mod auth;
mod billing;
mod cloud;
mod developers;
pub(crate) mod errors;
mod listings;
pub(crate) mod marketplaces;
mod pages;
mod people;
mod reference;
mod seo;
mod shared;
mod studio;

/// `max_upload_bytes` bounds each photo; a studio form may carry up to ten, the others one
/// (and their text fields).
pub fn routes(max_upload_bytes: u64) -> axum::Router<AppState> {
    let form_limit = usize::try_from(max_upload_bytes.saturating_mul(10)).unwrap_or(usize::MAX);
    let one_photo = usize::try_from(max_upload_bytes).unwrap_or(usize::MAX).saturating_add(256 * 1024);
    axum::Router::new()
        .route("/", get(pages::landing))
        .route("/robots.txt", get(seo::robots))
        .route("/gallery", get(marketplaces::gallery))
        .route("/jewellery-photography/{marketplace}", get(marketplaces::page))
        .route("/sitemap.xml", get(seo::sitemap))
        .route("/privacy", get(pages::privacy))
        .route("/privacy/acknowledge", axum::routing::post(pages::acknowledge_policy))
        .route("/unsubscribe/{token}", get(pages::unsubscribe_page).post(pages::unsubscribe))
        .route("/contact", get(pages::contact))
        .route("/developers", get(reference::developers))
        .route("/dashboard", get(account::dashboard))
        .route("/settings", get(account::settings).post(account::save_profile))
        .route("/settings/verify-email", axum::routing::post(account::resend_verification))
        .route("/settings/phone", axum::routing::post(account::send_phone_proof))
        .route("/settings/phone/verify", axum::routing::post(account::confirm_phone))
        .route("/settings/code", axum::routing::post(account::confirmation_code))
        .route("/settings/sessions/{id}/end", axum::routing::post(account::end_session))
        .route("/settings/sessions/end-others", axum::routing::post(account::end_other_sessions))
        .route("/settings/export", axum::routing::post(account::request_export))
        .route("/activity", get(account::activity))
        .route("/settings/consents", axum::routing::post(account::save_consents))
        .route("/settings/delete", axum::routing::post(account::delete_account))
        .route("/studio", get(studio::studio))
        .route(
            "/studio/upload",
            axum::routing::post(studio::upload).layer(axum::extract::DefaultBodyLimit::max(form_limit)),
        )
        .route("/studio/uploads/{id}/delete", axum::routing::post(studio::delete_upload))
        .route("/studio/new", get(studio::new_creation))
        .route("/studio/create", axum::routing::post(studio::create))
        .route("/studio/ai", get(cloud::page))
        .route("/studio/ai/create", axum::routing::post(cloud::create))
        .route(
            "/studio/ai/try-on",
            axum::routing::post(cloud::try_on).layer(axum::extract::DefaultBodyLimit::max(one_photo)),
        )
        .route("/themes/{id}", get(cloud::theme_tile))
        .route(
            "/try",
            get(cloud::try_free).post(cloud::try_submit).layer(axum::extract::DefaultBodyLimit::max(one_photo)),
        )
        .route("/try/{id}", get(cloud::try_result))
        .route("/listings", get(listings::listings).post(listings::create))
        .route("/listings/{id}", get(listings::batch))
        .route("/listings/{id}/shopify", axum::routing::post(listings::push))
        .route("/listings/{batch}/items/{id}", axum::routing::post(listings::edit))
        .route("/listings/{batch}/items/{id}/regenerate", axum::routing::post(listings::regenerate))
        .route("/settings/developers", get(developers::show))
        .route("/settings/developers/keys", axum::routing::post(developers::create_key))
        .route("/settings/developers/keys/{id}/delete", axum::routing::post(developers::delete_key))
        .route("/settings/developers/webhooks", axum::routing::post(developers::create_webhook))
        .route("/settings/developers/webhooks/{id}/delete", axum::routing::post(developers::delete_webhook))
        .route("/settings/developers/webhooks/{id}/test", axum::routing::post(developers::test_webhook))
        .route(
            "/settings/developers/webhooks/{id}/deliveries/{delivery_id}/resend",
            axum::routing::post(developers::resend),
        )
        .route("/settings/brand", get(listings::brand).post(listings::save_brand))
        .route("/settings/shopify", get(listings::shopify).post(listings::connect))
        .route("/settings/shopify/disconnect", axum::routing::post(listings::disconnect))
        .route("/creations/{id}", get(studio::creation))
        .route("/creations/{id}/cancel", axum::routing::post(studio::cancel))
        .route("/creations/{id}/again", axum::routing::post(studio::try_again))
        .route("/creations/{id}/delete", axum::routing::post(studio::delete_creation))
        .route("/creations/{id}/fix", get(studio::fix))
        .route("/outputs/{id}/feedback", axum::routing::post(studio::feedback))
        .route("/outputs/{id}/remake", axum::routing::post(studio::remake))
        .route("/batches/{id}", get(studio::batch))
        .route("/batches/{id}/delete", axum::routing::post(studio::delete_batch))
        .route("/s/{token}", get(shared::page))
        .route("/s/{token}/image", get(shared::image))
        .route("/tokens", get(account::tokens))
        .route("/referrals", get(account::referrals))
        .route("/tokens/daily-reward", axum::routing::post(account::claim_reward))
        .route("/tokens/alert", axum::routing::post(account::set_alert))
        .route("/pricing", get(billing::pricing))
        .route("/pricing/currency", axum::routing::post(billing::switch_currency))
        .route("/billing", get(billing::billing))
        .route("/billing/checkout", axum::routing::post(billing::checkout))
        .route("/billing/gstin", axum::routing::post(billing::save_gstin))
        .route("/billing/subscriptions/{id}/cancel", axum::routing::post(billing::cancel))
        .route("/billing/invoices/{number}", get(billing::invoice))
        .route("/admin/people", get(people::search))
        .route("/admin/people/{id}", get(people::person))
        .route("/admin/people/{id}/images/{output}", get(people::thumbnail))
        .route("/admin/people/{id}/{action}", axum::routing::post(people::act))
        .route("/admin/payments", get(admin::payments))
        .route("/admin/payments/{id}", get(admin::payment))
        .route("/admin/payments/{id}/refund", axum::routing::post(admin::refund))
        .route("/admin/plans", get(admin::plans))
        .route("/admin/plans/{id}", axum::routing::post(admin::save_plan))
        .route("/admin/revenue", get(admin::revenue))
        .route("/admin/analytics", get(admin::analytics))
        .route("/admin/ai-usage", get(admin::ai_usage))
        .route("/admin/review", get(admin::review))
        .route("/admin/review/{id}/refund", axum::routing::post(admin::refund_output))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/login/phone", get(auth::phone_page).post(auth::phone_send))
        .route("/login/phone/verify", axum::routing::post(auth::phone_verify))
        .route("/logout", axum::routing::post(auth::logout))
        .route("/verify-email", get(auth::verify_email_page).post(auth::verify_email))
        .route("/forgot-password", get(auth::forgot_page).post(auth::forgot))
        .route("/reset-password", get(auth::reset_page).post(auth::reset))
}

/// What a page says of itself in search results when it says nothing more particular.
const DESCRIPTION: &str = "SoraiPixel turns phone photos of rings, necklaces and earrings into catalogue-ready \
    jewellery images for Amazon, Etsy, Shopify and Flipkart: pure white or styled backgrounds, the right size, \
    and a marketplace check you can read.";

/// What every page's frame needs: title, who is signed in, the CSRF token, asset URLs.
pub struct Layout {
    pub title: String,
    pub user_name: Option<String>,
    /// Spendable tokens of the signed-in user, always shown in the header.
    pub tokens: Option<i64>,
    pub csrf: String,
    pub css: String,
    pub htmx: String,
    /// Our own progressive behaviour (live progress, drag and drop, before/after).
    pub js: String,
    pub contact_email: String,
    /// Admins act in the admin console; read-only support staff only see it.
    pub is_admin: bool,
    pub is_staff: bool,
    /// A significant privacy policy change the user has not acknowledged yet.
    pub policy_notice: Option<app::consents::PolicyVersion>,
    /// The page's summary for search results and link previews.
    pub description: String,
    /// Public pages only: their one address, and the picture a link preview shows.
    pub canonical: Option<String>,
    pub preview_image: Option<String>,
    /// Structured data about the page (JSON-LD), for search engines.
    pub structured: Option<String>,
}

impl Layout {
    pub fn new(state: &AppState, principal: Option<&Principal>, title: &str) -> Self {
        let csrf = principal.and_then(|p| p.session.as_ref()).map(|s| state.app.csrf_token(s)).unwrap_or_default();
        Self {
            title: title.to_owned(),
            user_name: principal.map(|p| display_name(&p.user)),
            tokens: principal.map(|p| p.tokens.balance),
            csrf,
            css: crate::assets::url("app.css"),
            htmx: crate::assets::url("htmx-2.0.11.min.js"),
            js: crate::assets::url("studio.js"),
            contact_email: state.app.settings.contact.email.clone(),
            is_admin: principal.is_some_and(|p| p.role() == domain::Role::Admin),
            is_staff: principal.is_some_and(|p| p.role().is_staff()),
            policy_notice: principal.and_then(|p| app::consents::policy_notice(&p.user)),
            description: DESCRIPTION.to_owned(),
            canonical: None,
            preview_image: None,
            structured: None,
        }
    }

    /// A page anyone may find: its canonical address at the deployment's public URL, its
    /// summary, and a preview picture for shared links.
    pub fn public(mut self, state: &AppState, path: &str, description: &str) -> Self {
        let base = state.app.settings.server.public_url.trim_end_matches('/');
        self.canonical = Some(format!("{base}{path}"));
        self.preview_image = Some(format!("{base}{}", crate::assets::url("examples/chain-1000000-after.jpg")));
        if !description.is_empty() {
            description.clone_into(&mut self.description);
        }
        self
    }

    /// Adds structured data; `<` is escaped so the data can never close its script element.
    pub fn structured(mut self, data: &serde_json::Value) -> Self {
        self.structured = Some(data.to_string().replace('<', "\\u003c"));
        self
    }

    /// `hx-headers` value so htmx requests carry the CSRF token without inline script.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ crate::security::CSRF_HEADER: self.csrf }).to_string()
    }
}

pub fn display_name(u: &db::users::User) -> String {
    if !u.name.is_empty() { u.name.clone() } else { u.email.clone().or_else(|| u.phone.clone()).unwrap_or_default() }
}

/// A form error shown next to `field` (or above the form when `field` is empty).
#[derive(Default)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormError {
    pub fn on(&self, field: &str) -> bool {
        self.field == field
    }
}

impl From<&ApiError> for FormError {
    fn from(e: &ApiError) -> Self {
        Self { field: e.field.unwrap_or_default().to_owned(), message: e.message.clone() }
    }
}

/// Renders `page` with the status of `err` (422, 409, 429…) or 200.
pub fn render<T: Template>(page: T, err: Option<&ApiError>) -> Response {
    let status = err.map(|e| e.status).unwrap_or(StatusCode::OK);
    match page.render() {
        Ok(html) => {
            let mut response = (status, axum::response::Html(html)).into_response();
            if let Some(secs) = err.and_then(|e| e.retry_after) {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A posted form's fields, in order (a checkbox group repeats its name).
pub(crate) fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `name`, trimmed; empty when absent.
pub(crate) fn field(f: &[(String, String)], name: &str) -> String {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

pub fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub body: String,
    pub link: String,
    pub link_text: String,
}

/// A creation's, listing's or export's stored state in the seller's words.
pub fn status_word(status: &str) -> &'static str {
    match status {
        "queued" => "Waiting",
        "succeeded" | "ready" => "Done",
        "canceled" => "Stopped",
        "failed" => "Not made",
        _ => "Being made",
    }
}

/// A listing's stored state in the seller's words.
pub fn listing_word(status: &str) -> &'static str {
    match status {
        "queued" => "Waiting",
        "ready" => "Ready",
        "failed" => "Not written",
        _ => "Being written",
    }
}

/// A payment's stored state in the buyer's words.
pub fn payment_word(status: &str) -> &'static str {
    match status {
        "created" => "Not paid",
        "captured" | "paid" => "Paid",
        "refunded" => "Refunded",
        "failed" => "Failed",
        _ => "Being confirmed",
    }
}

/// A log entry's detail as a person reads it: an id (ours are UUIDs) says nothing to
/// them and is left out.
pub fn plain_detail(detail: &str) -> &str {
    let id_like = detail.len() == 36
        && detail
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    if id_like { "" } else { detail }
}

/// A stored message as a sentence: capital first letter, full stop at the end.
pub fn sentence(words: &str) -> String {
    let words = app::capitalise(words.trim());
    if words.is_empty() || words.ends_with(['.', '!', '?']) { words } else { format!("{words}.") }
}

/// "1 token", "3 tokens".
pub fn tokens(n: impl std::borrow::Borrow<i64>) -> String {
    domain::ledger::tokens(*n.borrow())
}

/// A moment shown on a page: `<time datetime=…>12 Mar 2026, 14:05 UTC</time>`, which the
/// page's script rewrites in the reader's own time zone (UTC stays without script).
pub struct When(i64);

pub fn when(ms: impl std::borrow::Borrow<i64>) -> When {
    When(*ms.borrow())
}

/// "12 Mar 2026" (UTC) from epoch milliseconds.
pub fn day(ms: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let c = domain::time::civil(ms);
    let name = usize::try_from(c.month - 1).ok().and_then(|m| MONTHS.get(m)).copied().unwrap_or("?");
    format!("{} {name} {}", c.day, c.year)
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = domain::time::civil(self.0);
        let (at, date) = (domain::time::rfc3339(self.0), day(self.0));
        write!(f, "<time datetime=\"{at}\">{date}, {:02}:{:02} UTC</time>", c.hour, c.minute)
    }
}

/// Only digits, letters and punctuation of our own: nothing to escape.
impl askama::filters::HtmlSafe for When {}

/// A redirect to `back` when it is one of our own paths, else to `fallback`. Browsers drop
/// tabs and line breaks from URLs and read `\` as `/`, so `/\t/evil.example` would become
/// `//evil.example`: a path with any control character, space, backslash or non-ASCII
/// character, or one that starts with `//`, is not ours.
pub fn redirect_back(back: &str, fallback: &str) -> Response {
    let ours =
        back.starts_with('/') && !back.starts_with("//") && back.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    Redirect::to(if ours { back } else { fallback }).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_left_out_of_what_a_seller_reads() {
        assert_eq!(super::plain_detail("0193a1b2-1c2d-7e3f-8a9b-0c1d2e3f4a5b"), "");
        assert_eq!(super::plain_detail("Chrome on Android"), "Chrome on Android");
        assert_eq!((super::status_word("succeeded"), super::payment_word("captured")), ("Done", "Paid"));
        assert_eq!((super::status_word("failed"), super::payment_word("failed")), ("Not made", "Failed"));
        assert_eq!((super::listing_word("running"), super::listing_word("ready")), ("Being written", "Ready"));
    }

    #[test]
    fn formats_times() {
        assert_eq!(
            super::when(0).to_string(),
            "<time datetime=\"1970-01-01T00:00:00.000Z\">1 Jan 1970, 00:00 UTC</time>"
        );
        assert!(super::when(1_772_323_500_000).to_string().ends_with(">1 Mar 2026, 00:05 UTC</time>"));
        assert!(super::when(951_782_400_000).to_string().contains(">29 Feb 2000, 00:00 UTC<"));
    }

    #[test]
    fn only_our_own_paths_are_followed() {
        let target = |back: &str| {
            let r = super::redirect_back(back, "/dashboard");
            r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        assert_eq!(target("/studio?x=1"), "/studio?x=1");
        for evil in [
            "//evil.example/",
            "/\t/evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "/a\r\nX: 1",
            "/ /e",
            "/é",
            "",
        ] {
            assert_eq!(target(evil), "/dashboard", "{evil:?}");
        }
    }
}
