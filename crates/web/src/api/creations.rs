use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::{Value, json};

use app::corrections::Correction;
use app::creations::CreationRequest;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo, CreationJson};

/// A creation as its owner sees it, outputs and their compliance reports included.
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
    CreationJson(req): CreationJson,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    callback_scope(&p, &req)?;
    let (c, callback) = state.app.create_creation(&p, req, &client).await?;
    let mut body = json!({"id": c.id, "status": c.status, "tokens_held": c.tokens_held});
    if let Some(callback) = callback {
        body["callback"] = json!(callback);
    }
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// A callback carries the creation's images and details: a key needs `images:read` too.
fn callback_scope(p: &app::sessions::Principal, req: &app::creations::CreationRequest) -> Result<(), ApiError> {
    let may_read = p.key.as_ref().is_none_or(|k| k.scopes.allows(domain::Scope::ImagesRead));
    if req.callback_url.is_some() && !may_read {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "This API key needs the images:read scope for a callback_url.",
        ));
    }
    Ok(())
}

/// `PUT /api/v1/outputs/{id}/feedback` `{rating: "up"|"down", categories?, text?}`.
pub async fn feedback(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<app::feedback::FeedbackRequest>,
) -> Result<Json<app::feedback::FeedbackView>, ApiError> {
    Ok(Json(state.app.set_feedback(&p, &id, &req).await?))
}

/// `POST /api/v1/outputs/{id}/remake`: a generated image marked down, made again free, once.
pub async fn remake(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let c = state.app.free_remake(&p, &id, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": c.id, "status": c.status, "tokens_held": c.tokens_held}))))
}

/// `POST /api/v1/creations/{id}/corrections/preview` `{strokes, size?}`: the cutout under
/// the creation with the strokes applied, as an RGBA PNG at screen size (free; the brush).
pub async fn correction_preview(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    ApiJson(c): ApiJson<Correction>,
) -> Result<Response, ApiError> {
    let png = state.app.matte_preview(&p, &id, c).await?;
    Ok(super::image_response(png, "image/png", None))
}

/// `POST /api/v1/creations/{id}/corrections` `{strokes}`: the creation's images made again,
/// free, with the seller's keep/remove strokes.
pub async fn correct(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(c): ApiJson<Correction>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = headers.get("idempotency-key").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let c = state.app.correct_creation(&p, &id, Correction { idempotency_key: key, ..c }, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": c.id, "status": c.status, "tokens_held": c.tokens_held}))))
}

/// `POST /api/v1/batches` `{upload_ids, …same options…}`: one creation per photo, held together.
pub async fn create_batch(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    CreationJson(req): CreationJson,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    callback_scope(&p, &req)?;
    let (id, made, callback) = state.app.create_batch(&p, req, &client).await?;
    let held: i64 = made.iter().map(|c| c.tokens_held).sum();
    let creations: Vec<Value> =
        made.iter().map(|c| json!({"id": c.id, "upload_id": c.upload_id, "status": c.status})).collect();
    let mut body = json!({"id": id, "tokens_held": held, "creations": creations});
    if let Some(callback) = callback {
        body["callback"] = json!(callback);
    }
    Ok((StatusCode::ACCEPTED, Json(body)))
}

pub async fn show_batch(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let all = state.app.batch(&p, &id).await?;
    let finished = all.iter().all(|(c, _)| !matches!(c.status.as_str(), "queued" | "running"));
    let charged: i64 = all.iter().map(|(c, _)| c.tokens_charged).sum();
    let creations: Vec<Value> = all.into_iter().map(|(c, o)| app::creations::view(c, o)).collect();
    Ok(Json(json!({"id": id, "finished": finished, "tokens_charged": charged, "creations": creations})))
}

pub async fn batch_zip(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, chunks) = state.app.batch_zip(&p, &id, &client).await?;
    Ok(super::zip_response(name, chunks))
}

pub async fn zip(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, chunks) = state.app.creation_zip(&p, &id, &client).await?;
    Ok(super::zip_response(name, chunks))
}

pub async fn cancel(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = state.app.cancel_creation(&p, &id, &client).await?;
    let (c, outputs) = state.app.creation_with_outputs(&p, &c.id).await?;
    Ok(Json(app::creations::view(c, outputs)))
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
    Ok(Json(app::creations::view(c, outputs)))
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
                    let event = Event::default().event("done").data(app::creations::view(c, outputs).to_string());
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

/// `?format=jpeg|png|webp&size=N` (longest side in pixels, never enlarged).
#[derive(serde::Deserialize)]
pub struct Conversion {
    format: Option<String>,
    size: Option<u32>,
}

/// `GET /api/v1/outputs/{id}/before?size=`: the photo under a studio image, framed as the
/// image (the viewer's before/after lines up pixel for pixel). 404 for generated scenes.
pub async fn before(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<Conversion>,
) -> Result<Response, ApiError> {
    let bytes = state.app.output_before(&p, &id, q.size.unwrap_or(960)).await?;
    Ok(super::image_response(bytes, imaging::Format::Jpeg.mime(), None))
}

pub async fn output(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<Conversion>,
) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        None | Some("") => None,
        Some(f) => Some(f.parse::<imaging::Format>().map_err(|_| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_format", "Format must be jpeg, png or webp.")
        })?),
    };
    let (output, format, bytes) = state.app.output_as(&p, &id, format, q.size).await?;
    let stem = output.file_name();
    let stem = stem.rsplit_once('.').map_or(stem.as_str(), |(s, _)| s);
    let name = format!("soraipixel-{stem}.{}", format.extension());
    Ok(super::image_response(bytes, format.mime(), Some(name)))
}
