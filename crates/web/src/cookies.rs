//! The session cookie: `__Host-` prefixed, Secure, HttpOnly, SameSite=Lax. The cookie list
//! is short on purpose: this one and nothing else (documented in docs/privacy.md).

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
    let wanted = name(settings);
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
