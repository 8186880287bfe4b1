//! `/settings/developers`: API keys and webhook endpoints, each secret shown once, and each
//! endpoint's delivery log with "send test event" and "send again".

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use app::sessions::{KeyRequest, Principal};
use app::webhooks::{EndpointRequest, EndpointView};
use db::api_keys::ApiKey;
use db::usage::Usage;
use db::webhooks::Delivery;
use domain::webhook::EventType;
use domain::{Scope, Scopes};

use super::{FormError, Layout, field, fields, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};

/// A secret made just now, shown once.
struct Revealed {
    what: &'static str,
    name: String,
    secret: String,
}

struct EndpointRow {
    endpoint: EndpointView,
    labels: Vec<&'static str>,
    deliveries: Vec<Delivery>,
}

#[derive(Template)]
#[template(path = "developers.html")]
struct DevelopersPage {
    layout: Layout,
    keys: Vec<ApiKey>,
    endpoints: Vec<EndpointRow>,
    revealed: Option<Revealed>,
    scopes: Vec<(&'static str, &'static str)>,
    events: Vec<(&'static str, &'static str)>,
    limits: settings::Api,
    timeout_secs: u64,
    usage: Vec<Usage>,
    error: FormError,
}

impl DevelopersPage {
    fn scope_names(&self, k: &ApiKey) -> String {
        Scopes::from_stored(&k.scopes).names().iter().map(|s| scope_label(s)).collect::<Vec<_>>().join(", ")
    }

    fn event_label(&self, event_type: &str) -> &'static str {
        EventType::parse(event_type).map_or("Test event", EventType::label)
    }
}

fn scope_label(scope: &str) -> &'static str {
    match Scope::parse(scope) {
        Some(Scope::ImagesWrite) => "Make images",
        Some(Scope::ImagesRead) => "Read images",
        Some(Scope::ListingsWrite) => "Listings",
        Some(Scope::AccountRead) => "Read account",
        None => "Unknown",
    }
}

async fn page(state: &AppState, p: &Principal, revealed: Option<Revealed>, err: Option<&ApiError>) -> Response {
    let loaded = async {
        let keys = state.app.api_keys(p).await?;
        let usage = state.app.api_usage(p, None, None).await?;
        let mut endpoints = Vec::new();
        for endpoint in state.app.webhooks(p).await? {
            let mut deliveries = state.app.webhook_deliveries(p, &endpoint.id).await?;
            deliveries.truncate(20);
            let labels = endpoint.events.iter().filter_map(|e| EventType::parse(e)).map(EventType::label).collect();
            endpoints.push(EndpointRow { endpoint, labels, deliveries });
        }
        Ok::<_, app::AppError>((keys, usage, endpoints))
    };
    let (keys, usage, endpoints) = match loaded.await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = DevelopersPage {
        layout: Layout::new(state, Some(p), "API and webhooks"),
        keys,
        endpoints,
        revealed,
        scopes: Scope::ALL.iter().map(|s| (s.as_str(), scope_label(s.as_str()))).collect(),
        events: EventType::ALL.iter().map(|e| (e.as_str(), e.label())).collect(),
        limits: state.app.settings.api,
        timeout_secs: state.app.settings.webhooks.timeout_secs,
        usage,
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

/// After an action: back to the page (at `to`), or the page with what went wrong.
async fn then(state: &AppState, p: &Principal, done: app::Result<()>, to: &str) -> Response {
    match done {
        Ok(()) => Redirect::to(to).into_response(),
        Err(e) => page(state, p, None, Some(&e.into())).await,
    }
}

pub async fn show(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    page(&state, &p, None, None).await
}

const DAY_MS: i64 = 86_400_000;

pub async fn create_key(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    let scopes: Vec<String> = f.iter().filter(|(k, _)| k == "scopes").map(|(_, v)| v.clone()).collect();
    let expires_at =
        field(&f, "expires_in_days").parse::<i64>().ok().filter(|d| *d > 0).map(|d| app::now_ms() + d * DAY_MS);
    let request = KeyRequest {
        name: field(&f, "name"),
        scopes: Some(scopes),
        expires_at,
        per_minute: field(&f, "per_minute").parse().ok(),
        images_per_day: field(&f, "images_per_day").parse().ok(),
    };
    match state.app.create_api_key(&p, &request, &client).await {
        Ok((key, secret)) => page(&state, &p, Some(Revealed { what: "API key", name: key.name, secret }), None).await,
        Err(e) => page(&state, &p, None, Some(&e.into())).await,
    }
}

pub async fn delete_key(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let done = state.app.delete_api_key(&p, &id, &client).await;
    then(&state, &p, done, "/settings/developers").await
}

pub async fn create_webhook(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    let events = f.iter().filter(|(k, _)| k == "events").map(|(_, v)| v.clone()).collect();
    let request = EndpointRequest { url: field(&f, "url"), events };
    match state.app.create_webhook(&p, &request, &client).await {
        Ok((endpoint, secret)) => {
            page(&state, &p, Some(Revealed { what: "Signing secret", name: endpoint.url, secret }), None).await
        }
        Err(e) => page(&state, &p, None, Some(&e.into())).await,
    }
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let done = state.app.delete_webhook(&p, &id, &client).await;
    then(&state, &p, done, "/settings/developers").await
}

pub async fn test_webhook(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    let done = state.app.test_webhook(&p, &id).await;
    then(&state, &p, done, &format!("/settings/developers#endpoint-{id}")).await
}

pub async fn resend(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path((id, delivery)): Path<(String, String)>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let done = state.app.resend_webhook(&p, &id, &delivery).await;
    then(&state, &p, done, &format!("/settings/developers#endpoint-{id}")).await
}
