//! FAKE Shopify Admin API: `POST /shops/{shop}/admin/api/{version}/graphql.json` with the
//! `X-Shopify-Access-Token` header, answering the operations our client sends — `shop`,
//! `stagedUploadsCreate` (targets that accept a PUT of the file here) and `productCreate`
//! (with `userErrors` for bad input) — and keeping the products for tests to inspect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde_json::{Value, json};

/// A product the fake holds.
#[derive(Debug, Clone)]
pub struct Product {
    pub shop: String,
    pub id: String,
    pub handle: String,
    pub title: String,
    pub status: String,
    pub description_html: String,
    pub seo_description: String,
    pub tags: Vec<String>,
    pub metafields: Vec<(String, String)>,
    /// (alt text, image bytes) per media item.
    pub media: Vec<(String, Vec<u8>)>,
}

#[derive(Default)]
struct Store {
    staged: HashMap<String, Vec<u8>>,
    products: Vec<Product>,
}

struct Shared {
    token: String,
    base: String,
    store: Mutex<Store>,
}

/// A running FAKE Shopify that accepts one access token for any `*.myshopify.com` shop.
#[derive(Clone)]
pub struct FakeShopify {
    pub base_url: String,
    shared: Arc<Shared>,
}

fn lock(s: &Shared) -> MutexGuard<'_, Store> {
    s.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeShopify {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let token = format!("shpat_fake{:032x}", rand::random::<u128>());
        let shared = Arc::new(Shared { token, base: base_url.clone(), store: Mutex::default() });
        let router = axum::Router::new()
            .route("/shops/{shop}/admin/api/{version}/graphql.json", post(graphql))
            .route("/_fake/staged/{id}", put(staged_put))
            .layer(axum::extract::DefaultBodyLimit::max(32 << 20))
            .with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("FAKE Shopify stopped: {e}");
            }
        });
        Ok(Self { base_url, shared })
    }

    /// The Admin API access token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// `base_url` for `shopify.base_url`: stores live under `/shops/{shop}` here.
    pub fn store_url_template(&self) -> String {
        format!("{}/shops/{{shop}}", self.base_url)
    }

    pub fn products(&self) -> Vec<Product> {
        lock(&self.shared).products.clone()
    }
}

async fn staged_put(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut store = lock(&shared);
    match store.staged.get_mut(&id) {
        Some(slot) => {
            *slot = body.to_vec();
            StatusCode::OK.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn user_error(op: &str, field: &str, message: &str) -> Value {
    json!({ "data": { op: { "userErrors": [{ "field": [field], "message": message }] } } })
}

async fn graphql(
    State(shared): State<Arc<Shared>>,
    Path((shop, _version)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let token = headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if token != shared.token || !shop.ends_with(".myshopify.com") {
        let msg = "[API] Invalid API key or access token (unrecognized login or wrong password)";
        return (StatusCode::UNAUTHORIZED, Json(json!({ "errors": msg }))).into_response();
    }
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    let reply = if query.contains("productByIdentifier") {
        let handle = vars["identifier"]["handle"].as_str().unwrap_or_default();
        let found = lock(&shared).products.iter().find(|p| p.shop == shop && p.handle == handle).map(|p| p.id.clone());
        json!({ "data": { "productByIdentifier": found.map(|id| json!({ "id": id })) } })
    } else if query.contains("stagedUploadsCreate") {
        let id = format!("{:032x}", rand::random::<u128>());
        lock(&shared).staged.insert(id.clone(), Vec::new());
        json!({ "data": { "stagedUploadsCreate": {
            "stagedTargets": [{
                "url": format!("{}/_fake/staged/{id}", shared.base),
                "resourceUrl": format!("https://shopify-staged-uploads.storage.googleapis.com/tmp/{id}"),
                "parameters": [{ "name": "content_type", "value": vars["input"][0]["mimeType"] }, { "name": "acl", "value": "private" }]
            }],
            "userErrors": []
        } } })
    } else if query.contains("productCreate") {
        let p = &vars["product"];
        let title = p["title"].as_str().unwrap_or_default().to_owned();
        if title.trim().is_empty() {
            return Json(user_error("productCreate", "title", "Title can't be blank")).into_response();
        }
        let mut media = Vec::new();
        for m in vars["media"].as_array().into_iter().flatten() {
            let source = m["originalSource"].as_str().unwrap_or_default();
            let id = source.rsplit('/').next().unwrap_or_default();
            let bytes = lock(&shared).staged.get(id).cloned().unwrap_or_default();
            if bytes.is_empty() {
                return Json(user_error(
                    "productCreate",
                    "media",
                    "Media could not be processed: the file was not uploaded",
                ))
                .into_response();
            }
            media.push((m["alt"].as_str().unwrap_or_default().to_owned(), bytes));
        }
        let strings =
            |v: &Value| v.as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();
        let mut store = lock(&shared);
        let id = format!("gid://shopify/Product/{}", 7_000_000_000u64 + store.products.len() as u64);
        let product = Product {
            shop,
            id: id.clone(),
            handle: p["handle"].as_str().unwrap_or_default().to_owned(),
            title,
            status: p["status"].as_str().unwrap_or("ACTIVE").to_owned(),
            description_html: p["descriptionHtml"].as_str().unwrap_or_default().to_owned(),
            seo_description: p["seo"]["description"].as_str().unwrap_or_default().to_owned(),
            tags: strings(&p["tags"]),
            metafields: p["metafields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    (
                        m["key"].as_str().unwrap_or_default().to_owned(),
                        m["value"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            media,
        };
        let status = product.status.clone();
        store.products.push(product);
        json!({ "data": { "productCreate": { "product": { "id": id, "status": status }, "userErrors": [] } } })
    } else if query.contains("shop") {
        json!({ "data": { "shop": { "name": "Fake Jewellery Store", "myshopifyDomain": shop } } })
    } else {
        json!({ "errors": [{ "message": "FAKE Shopify does not know this operation" }] })
    };
    Json(reply).into_response()
}
