//! `POST /api/v1/removebg`: remove.bg's request and answer, for clients moving over. The
//! photo comes as the multipart file `image_file` or the base64 field `image_file_b64`
//! (multipart, JSON or a urlencoded form, as remove.bg takes them); the
//! answer is the image with `X-Width`, `X-Height`, `X-Credits-Charged` (tokens) and
//! `X-Foreground-*`; errors take remove.bg's shape (`remove_bg_errors`).

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use app::removebg::Ask;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientInfo};
use crate::multipart::{File, Form, Part};

fn bad(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

pub async fn remove_background(
    State(state): State<AppState>,
    Auth(p): Auth,
    ClientInfo(client): ClientInfo,
    req: Request,
) -> Result<Response, ApiError> {
    // remove.bg takes the same fields as multipart, JSON or a urlencoded form.
    let kind = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let kind = kind.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    // A body read whole waits for an intake slot, as an uploaded file does (`multipart`).
    let _slot = match kind.as_str() {
        "application/json" | "application/x-www-form-urlencoded" => Some(state.app.upload_slot().await?),
        _ => None,
    };
    let (image, fields) = match kind.as_str() {
        "application/json" => json_fields(Bytes::from_request(req, &state).await.map_err(too_large)?)?,
        "application/x-www-form-urlencoded" => {
            let body = Bytes::from_request(req, &state).await.map_err(too_large)?;
            split_image(form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        }
        _ => multipart_fields(&state, req).await?,
    };
    let ask = Ask::parse(&fields)?;
    let Some(image) = image else {
        return Err(bad("missing_image", "Send the photo as image_file (a file) or image_file_b64."));
    };
    let bytes = match &image {
        Image::File(f) if f.field != "image_file_b64" => f.bytes.clone(),
        // The base64 field arrives through the file reader (it may be as large as a photo).
        Image::File(File { bytes: text, .. }) | Image::Base64(text) => {
            let text: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(&text)
                .map_err(|_| bad("invalid_image_file_b64", "image_file_b64 is not valid base64."))?
        }
    };
    let made = state.app.remove_background(&p, bytes, ask, &client).await?;
    drop(image);
    let mut response = made.bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(made.mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let s = made.subject;
    for (name, value) in [
        ("x-width", made.width.to_string()),
        ("x-height", made.height.to_string()),
        ("x-credits-charged", made.tokens.to_string()),
        ("x-type", "product".to_owned()),
        ("x-foreground-left", s.x0.to_string()),
        ("x-foreground-top", s.y0.to_string()),
        ("x-foreground-width", s.width().to_string()),
        ("x-foreground-height", s.height().to_string()),
        ("x-confidence", format!("{:.2}", made.confidence)),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(response)
}

/// The photo as it came: a multipart file (holding its intake slot), or base64 text.
enum Image {
    File(File),
    Base64(Vec<u8>),
}

type Fields = (Option<Image>, Vec<(String, String)>);

fn too_large(_: axum::extract::rejection::BytesRejection) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", "The request is larger than a photo may be.")
}

async fn multipart_fields(state: &AppState, req: Request) -> Result<Fields, ApiError> {
    let form = Multipart::from_request(req, state).await.map_err(|_: MultipartRejection| {
        bad("invalid_multipart", "Send a multipart/form-data body with image_file, or JSON with image_file_b64.")
    })?;
    let mut form = Form::new(form, state, &["image_file", "image_file_b64"]);
    let (mut image, mut fields) = (None, Vec::new());
    while let Some(part) = form.next().await? {
        match part {
            Part::File(_) if image.is_some() => {
                return Err(bad("invalid_multipart", "Send one image: image_file or image_file_b64."));
            }
            Part::File(f) => image = Some(Image::File(f)),
            Part::Text { name, value } => fields.push((name, value)),
        }
    }
    Ok((image, fields))
}

/// A JSON object of remove.bg's fields; numbers and booleans count as their text.
fn json_fields(body: Bytes) -> Result<Fields, ApiError> {
    let object: serde_json::Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|_| bad("invalid_json", "Send a JSON object of remove.bg's parameters, with image_file_b64."))?;
    let fields = object
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(_) | Value::Bool(_) => Ok((k, v.to_string())),
            _ => Err(bad("invalid_json", &format!("{k} must be a string, a number or true/false."))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(split_image(fields))
}

/// Takes `image_file_b64` out of text fields (the last one counts, like every field).
fn split_image(mut fields: Vec<(String, String)>) -> Fields {
    let image = fields.iter().rposition(|(k, _)| k == "image_file_b64").map(|i| fields.remove(i).1);
    fields.retain(|(k, _)| k != "image_file_b64");
    (image.map(|text| Image::Base64(text.into_bytes())), fields)
}

/// Errors on this route in remove.bg's shape, `{"errors": [{"title", "code", "detail"?}]}`,
/// with its 400 for a parameter it does not accept. It wraps the principal and CSRF layers
/// too, so a bad key is answered the way remove.bg clients expect.
pub async fn remove_bg_errors(req: Request, next: Next) -> Response {
    if req.uri().path() != "/api/v1/removebg" {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    if response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(ours) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let e = &ours["error"];
    let mut theirs = json!({"title": e["message"], "code": e["code"]});
    if let Some(field) = e["field"].as_str() {
        theirs["detail"] = json!(format!("Parameter: {field}"));
    }
    if parts.status == StatusCode::UNPROCESSABLE_ENTITY && e["code"] != "unsuitable_background" {
        parts.status = StatusCode::BAD_REQUEST;
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json!({"errors": [theirs]}).to_string()))
}
