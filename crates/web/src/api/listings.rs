//! Listing copy: brand profile, listing batches (create, read, export), per-listing edit
//! and regenerate, and publishing to the connected Shopify store.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use app::listings::BatchRequest;
use domain::listing::{BrandProfile, Listing};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, ClientInfo};

pub async fn brand(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Value>, ApiError> {
    let (version, profile) = state.app.brand_profile(&p).await?;
    let versions = state.app.brand_profile_versions(&p).await?;
    let versions: Vec<Value> = versions.into_iter().map(|(v, at)| json!({"version": v, "saved_at": at})).collect();
    Ok(Json(
        json!({"version": version, "profile": profile, "instructions": profile.instructions(), "versions": versions}),
    ))
}

pub async fn save_brand(
    State(state): State<AppState>,
    Auth(p): Auth,
    ApiJson(profile): ApiJson<BrandProfile>,
) -> Result<Json<Value>, ApiError> {
    let version = state.app.save_brand_profile(&p, &profile).await?;
    Ok(Json(json!({"version": version, "instructions": profile.instructions()})))
}

pub async fn create_batch(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let batch = state.app.create_listing_batch(&p, &req, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": batch.id, "name": batch.name}))))
}

pub async fn batches(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"batches": state.app.listing_batches(&p).await?})))
}

pub async fn batch(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (batch, listings) = state.app.listing_batch(&p, &id).await?;
    let done = listings.iter().all(|l| matches!(l.row.status.as_str(), "ready" | "failed"));
    Ok(Json(json!({"batch": batch, "finished": done, "listings": listings})))
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

/// `?format=csv` (default) or `xlsx`.
pub async fn export(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let (name, bytes, mime) = match q.format.as_deref().unwrap_or("csv") {
        "xlsx" => {
            let (n, b) = state.app.listings_xlsx(&p, &id).await?;
            (n, b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        }
        "csv" => {
            let (n, b) = state.app.listings_csv(&p, &id).await?;
            (n, b, "text/csv; charset=utf-8")
        }
        _ => {
            return Err(
                app::AppError::from(domain::Invalid::new("invalid_format", "format", "Choose csv or xlsx.")).into()
            );
        }
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok(([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

pub async fn edit(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
    ApiJson(listing): ApiJson<Listing>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.app.edit_listing(&p, &id, listing).await?)))
}

pub async fn regenerate(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(json!(state.app.regenerate_listing(&p, &id).await?))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    shop: String,
    access_token: String,
}

pub async fn shop(State(state): State<AppState>, Auth(p): Auth) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"shop": state.app.shop(&p).await?})))
}

pub async fn connect(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    ApiJson(c): ApiJson<Connect>,
) -> Result<Json<Value>, ApiError> {
    let name = state.app.connect_shop(&p, &c.shop, &c.access_token, &client).await?;
    Ok(Json(json!({"shop": state.app.shop(&p).await?, "name": name})))
}

pub async fn disconnect(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
) -> Result<StatusCode, ApiError> {
    state.app.disconnect_shop(&p, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn push(
    State(state): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": state.app.push_batch(&p, &id).await?}))))
}
