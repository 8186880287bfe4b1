//! Our cookies, all `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax: the session and the
//! visitor's currency. The list is short on purpose (documented in docs/privacy.md).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

use settings::Settings;

pub const SECURE_NAME: &str = "__Host-sp_session";
/// Only with `session.insecure_cookies` (plain-HTTP development away from localhost).
pub const INSECURE_NAME: &str = "sp_session";

fn name(settings: &Settings) -> &'static str {
    if settings.session.insecure_cookies { INSECURE_NAME } else { SECURE_NAME }
}

pub fn session_token(headers: &HeaderMap, settings: &Settings) -> Option<String> {
    read(headers, name(settings))
}

fn cookie(settings: &Settings, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if settings.session.insecure_cookies { "" } else { "; Secure" };
    let text = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}; Max-Age={max_age_secs}", name(settings));
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn set_session(headers: &mut HeaderMap, settings: &Settings, token: &str) {
    let max_age = settings.session.absolute_timeout_days * 86_400;
    headers.append(SET_COOKIE, cookie(settings, token, max_age));
}

pub fn clear_session(headers: &mut HeaderMap, settings: &Settings) {
    headers.append(SET_COOKIE, cookie(settings, "", 0));
}

/// The currency cookie: which currency this visitor's prices are in, signed by us so the
/// browser cannot pick a cheaper one. Essential (it keeps the price shown the price charged).
fn currency_name(settings: &Settings) -> &'static str {
    if settings.session.insecure_cookies { "sp_currency" } else { "__Host-sp_currency" }
}

pub fn read(headers: &HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub fn currency(headers: &HeaderMap, settings: &Settings) -> Option<String> {
    read(headers, currency_name(settings))
}

pub fn set_currency(headers: &mut HeaderMap, settings: &Settings, value: &str) {
    let secure = if settings.session.insecure_cookies { "" } else { "; Secure" };
    let text = format!("{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}; Max-Age=2592000", currency_name(settings));
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.append(SET_COOKIE, v);
    }
}
