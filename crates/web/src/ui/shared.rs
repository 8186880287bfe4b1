//! What a buyer sees when a seller shares an image: the image and who made it, no account
//! needed. The page carries Open Graph tags so WhatsApp shows a preview.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::{Layout, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ClientInfo;

/// Longest side of a shared image.
const SHARED_SIDE: u32 = 1600;

#[derive(Template)]
#[template(path = "shared.html")]
struct SharedPage {
    layout: Layout,
    image: String,
    image_url: String,
}

pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    // Checking the link here too means a dead link is a plain 404 page, not a broken image.
    if let Err(e) = state.app.shared_output(&token).await {
        return ApiError::from(e).into_response();
    }
    let image = format!("/s/{token}/image");
    let image_url = format!("{}{image}", state.app.settings.server.public_url.trim_end_matches('/'));
    render(SharedPage { layout: Layout::new(&state, None, "Shared image"), image, image_url }, None)
}

pub async fn image(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Path(token): Path<String>,
) -> Response {
    match state.app.shared_image(&token, SHARED_SIDE, &client).await {
        Ok(jpeg) => crate::api::image_response(jpeg, "image/jpeg", None),
        Err(e) => ApiError::from(e).into_response(),
    }
}
