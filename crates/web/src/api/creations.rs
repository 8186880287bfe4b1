use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};

use app::creations::CreationRequest;
use db::creations::{Creation, Output};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

/// A creation as its owner sees it, outputs and their compliance reports included.
pub fn view(c: Creation, outputs: Vec<Output>) -> Value {
    let outputs: Vec<Value> = outputs
        .into_iter()
        .map(|o| {
            let compliance = o.compliance.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok());
            json!({
                "id": o.id, "label": o.label, "format": o.format, "width": o.width, "height": o.height,
                "bytes": o.bytes, "url": format!("/api/v1/outputs/{}", o.id), "compliance": compliance,
            })
        })
        .collect();
    let mut v = json!(c);
    v["outputs"] = json!(outputs);
    v
}

pub async fn quote(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(req): ApiJson<CreationRequest>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"tokens": state.app.quote(&p, &req).await?})))
}

pub async fn create(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<CreationRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let c = state.app.create_creation(&p, req, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": c.id, "status": c.status, "tokens_held": c.tokens_held}))))
}

pub async fn list(
    State(state): State<AppState>,
    Auth(p): Auth,
    Query(page): Query<super::Page>,
) -> Result<Json<Value>, ApiError> {
    let list = state.app.creations(&p, page.before, page.limit.unwrap_or(20)).await?;
    let next = list.last().map(|c| c.created_at);
    Ok(Json(json!({"creations": list, "next_before": next})))
}

pub async fn show(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (c, outputs) = state.app.creation_with_outputs(&p, &id).await?;
    Ok(Json(view(c, outputs)))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_creation(&p, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Server-sent events: a `progress` event whenever status or progress changes, then one
/// `done` event with the whole creation.
pub async fn events(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    state.app.creation_with_outputs(&p, &id).await?;
    let stream = futures_util::stream::unfold(
        (state, p, id, None::<(String, i64)>, false),
        |(state, p, id, last, finished)| async move {
            if finished {
                return None;
            }
            loop {
                let Ok((c, outputs)) = state.app.creation_with_outputs(&p, &id).await else {
                    return Some((Ok(Event::default().event("error").data("unavailable")), (state, p, id, last, true)));
                };
                let now = (c.status.clone(), c.progress);
                if matches!(c.status.as_str(), "succeeded" | "failed" | "canceled") {
                    let event = Event::default().event("done").data(view(c, outputs).to_string());
                    return Some((Ok(event), (state, p, id, Some(now), true)));
                }
                if last.as_ref() != Some(&now) {
                    let event = Event::default()
                        .event("progress")
                        .data(json!({"status": now.0, "progress": now.1}).to_string());
                    return Some((Ok(event), (state, p, id, Some(now), false)));
                }
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

pub async fn output(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (output, bytes) = state.app.output_bytes(&p, &id).await?;
    let extension = if output.format == "jpeg" { "jpg" } else { output.format.as_str() };
    let name = format!("soraipixel-{}-{}.{extension}", output.label, output.ordinal + 1);
    Ok(super::image_response(bytes, app::uploads::mime_of(&output.format), Some(name)))
}
