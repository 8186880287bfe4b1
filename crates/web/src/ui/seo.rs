//! What search engines read: `robots.txt` (public pages in, sellers' pages and the API out)
//! and `sitemap.xml` (the public pages, at the deployment's public address).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The pages anyone may find, in the sitemap's order.
pub const PUBLIC_PAGES: [&str; 12] = [
    "/",
    "/pricing",
    "/try",
    "/gallery",
    "/jewellery-photography/amazon",
    "/jewellery-photography/etsy",
    "/jewellery-photography/shopify",
    "/jewellery-photography/flipkart",
    "/developers",
    "/privacy",
    "/contact",
    "/signup",
];

/// Sellers' own pages and everything behind a sign-in; shared links stay out of search too
/// (a seller shares them with someone, not with the web).
const PRIVATE_PREFIXES: [&str; 18] = [
    "/api/",
    "/admin",
    "/studio",
    "/dashboard",
    "/settings",
    "/creations",
    "/batches",
    "/listings",
    "/billing",
    "/tokens",
    "/referrals",
    "/activity",
    "/s/",
    "/unsubscribe/",
    "/reset-password",
    "/verify-email",
    "/logout",
    "/webhooks/",
];

fn base(state: &AppState) -> &str {
    state.app.settings.server.public_url.trim_end_matches('/')
}

fn text(body: String, mime: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}

pub async fn robots(State(state): State<AppState>) -> Response {
    let mut body = String::from("User-agent: *\nAllow: /\n");
    for prefix in PRIVATE_PREFIXES {
        body.push_str(&format!("Disallow: {prefix}\n"));
    }
    body.push_str(&format!("\nSitemap: {}/sitemap.xml\n", base(&state)));
    text(body, "text/plain; charset=utf-8")
}

pub async fn sitemap(State(state): State<AppState>) -> Response {
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for page in PUBLIC_PAGES {
        let loc = format!("{}{page}", base(&state)).replace('&', "&amp;").replace('<', "&lt;");
        body.push_str(&format!("  <url><loc>{loc}</loc></url>\n"));
    }
    body.push_str("</urlset>\n");
    text(body, "application/xml; charset=utf-8")
}
