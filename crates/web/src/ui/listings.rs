//! Listing pages: batches (history and a new batch from photos), one batch with inline
//! edit, regenerate, export and push to Shopify, the brand profile, the Shopify connection.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use app::listings::{BatchRequest, ListingView};
use app::sessions::Principal;
use db::listings::ListingBatch;
use db::uploads::Upload;
use domain::listing::{Attributes, BannedWord, BrandProfile, Lengths, Listing};
use prompts::Library;

use super::{FormError, Layout, field, fields, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};

/// Form fields in order, repeated keys kept.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[derive(Template)]
#[template(path = "listings.html")]
struct ListingsPage {
    layout: Layout,
    batches: Vec<ListingBatch>,
    uploads: Vec<Upload>,
    lib: &'static Library,
    price: i64,
    error: FormError,
}

async fn listings_page(state: &AppState, p: &Principal, err: Option<&ApiError>) -> Response {
    let (batches, uploads) = match (state.app.listing_batches(p).await, state.app.uploads(p, None, 200).await) {
        (Ok(b), Ok(u)) => (b, u),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
    let Ok(lib) = prompts::library() else {
        return ApiError::from(app::AppError::Internal("prompt library".into())).into_response();
    };
    let page = ListingsPage {
        layout: Layout::new(state, Some(p), "Listings"),
        batches,
        uploads,
        lib,
        price: state.app.settings.tokens.listing,
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

pub async fn listings(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    listings_page(&state, &p, None).await
}

/// `POST /listings`: ticked photos (`upload`), `jewellery`, `notes`, `name`.
pub async fn create(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    let req = BatchRequest {
        upload_ids: f.iter().filter(|(k, _)| k == "upload").map(|(_, v)| v.clone()).collect(),
        name: Some(field(&f, "name")),
        jewellery: field(&f, "jewellery"),
        // `type_<upload>`: a photo's own type; empty keeps the one for all.
        jewellery_of: f
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("type_")?.to_owned(), v.clone())).filter(|_| !v.is_empty()))
            .collect(),
        notes: field(&f, "notes"),
    };
    match state.app.create_listing_batch(&p, &req, &client).await {
        Ok(b) => Redirect::to(&format!("/listings/{}", b.id)).into_response(),
        Err(e) => listings_page(&state, &p, Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "listing_batch.html")]
struct BatchPage {
    layout: Layout,
    batch: ListingBatch,
    items: Vec<ListingView>,
    finished: bool,
    shop: Option<String>,
    pushed: usize,
    notice: Option<String>,
    error: FormError,
}

async fn batch_page(
    state: &AppState,
    p: &Principal,
    id: &str,
    notice: Option<String>,
    err: Option<&ApiError>,
) -> Response {
    let (batch, items) = match state.app.listing_batch(p, id).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let shop = match state.app.shop(p).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let finished = items.iter().all(|l| matches!(l.row.status.as_str(), "ready" | "failed"))
        && !items.iter().any(|l| l.row.shopify_status.as_deref() == Some("queued"));
    let pushed = items.iter().filter(|l| l.row.shopify_status.as_deref() == Some("pushed")).count();
    let layout = Layout::new(state, Some(p), &batch.name);
    render(
        BatchPage {
            layout,
            batch,
            items,
            finished,
            shop,
            pushed,
            notice,
            error: err.map(FormError::from).unwrap_or_default(),
        },
        err,
    )
}

#[derive(serde::Deserialize)]
pub struct BatchQuery {
    queued: Option<u64>,
}

pub async fn batch(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BatchQuery>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let notice =
        q.queued.map(|n| format!("{n} listing{} on their way to Shopify as drafts.", if n == 1 { "" } else { "s" }));
    batch_page(&state, &p, &id, notice, None).await
}

/// `POST /listings/{batch}/items/{id}`: the inline edit form.
pub async fn edit(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path((batch, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    let edited = Listing {
        title: field(&f, "title"),
        paragraphs: lines(&field(&f, "description")),
        bullets: lines(&field(&f, "bullets")),
        meta_description: field(&f, "meta_description"),
        alt_text: field(&f, "alt_text"),
        attributes: Attributes {
            material: field(&f, "material"),
            stone: field(&f, "stone"),
            closure: field(&f, "closure"),
            collection: field(&f, "collection"),
            occasion: field(&f, "occasion"),
        },
        tags: field(&f, "tags").split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
    };
    match state.app.edit_listing(&p, &id, edited).await {
        Ok(_) => Redirect::to(&format!("/listings/{batch}#l-{id}")).into_response(),
        Err(e) => batch_page(&state, &p, &batch, None, Some(&e.into())).await,
    }
}

pub async fn regenerate(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path((batch, id)): Path<(String, String)>,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.regenerate_listing(&p, &id).await {
        Ok(_) => Redirect::to(&format!("/listings/{batch}#l-{id}")).into_response(),
        Err(e) => batch_page(&state, &p, &batch, None, Some(&e.into())).await,
    }
}

pub async fn push(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(batch): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.push_batch(&p, &batch).await {
        // Redirected, so the page's own refresh never posts the push again.
        Ok(n) => Redirect::to(&format!("/listings/{batch}?queued={n}")).into_response(),
        Err(e) => batch_page(&state, &p, &batch, None, Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "brand.html")]
struct BrandPage {
    layout: Layout,
    version: Option<i64>,
    profile: BrandProfile,
    banned: String,
    versions: Vec<(i64, i64)>,
    saved: bool,
    error: FormError,
}

async fn brand_page(
    state: &AppState,
    p: &Principal,
    draft: Option<BrandProfile>,
    saved: bool,
    err: Option<&ApiError>,
) -> Response {
    let (version, current) = match state.app.brand_profile(p).await {
        Ok(x) => x,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let versions = match state.app.brand_profile_versions(p).await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let profile = draft.unwrap_or(current);
    let banned =
        profile.banned_words.iter().map(|b| format!("{} = {}", b.word, b.replacement)).collect::<Vec<_>>().join("\n");
    let layout = Layout::new(state, Some(p), "Brand profile");
    render(
        BrandPage {
            layout,
            version,
            profile,
            banned,
            versions,
            saved,
            error: err.map(FormError::from).unwrap_or_default(),
        },
        err,
    )
}

pub async fn brand(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    brand_page(&state, &p, None, false, None).await
}

pub async fn save_brand(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, body: Bytes) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    let number = |name: &str, fallback: usize| field(&f, name).parse().unwrap_or(fallback);
    let d = Lengths::default();
    let profile = BrandProfile {
        brand_name: field(&f, "brand_name"),
        website: field(&f, "website"),
        tagline: field(&f, "tagline"),
        voice_do: lines(&field(&f, "voice_do")),
        voice_dont: lines(&field(&f, "voice_dont")),
        banned_words: lines(&field(&f, "banned_words"))
            .into_iter()
            .map(|l| match l.split_once('=') {
                Some((w, r)) => BannedWord { word: w.trim().to_owned(), replacement: r.trim().to_owned() },
                None => BannedWord { word: l, replacement: String::new() },
            })
            .collect(),
        collections: lines(&field(&f, "collections")),
        occasions: lines(&field(&f, "occasions")),
        title_format: field(&f, "title_format"),
        lengths: Lengths {
            title_min: number("title_min", d.title_min),
            title_max: number("title_max", d.title_max),
            meta_min: number("meta_min", d.meta_min),
            meta_max: number("meta_max", d.meta_max),
            alt_max: number("alt_max", d.alt_max),
        },
    };
    match state.app.save_brand_profile(&p, &profile).await {
        Ok(_) => brand_page(&state, &p, None, true, None).await,
        Err(e) => brand_page(&state, &p, Some(profile), false, Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "shopify.html")]
struct ShopifyPage {
    layout: Layout,
    shop: Option<String>,
    dev_token: Option<String>,
    error: FormError,
}

async fn shopify_page(state: &AppState, p: &Principal, err: Option<&ApiError>) -> Response {
    let shop = match state.app.shop(p).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = ShopifyPage {
        layout: Layout::new(state, Some(p), "Shopify"),
        shop,
        dev_token: state.app.settings.shopify.dev_token.clone(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

pub async fn shopify(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    shopify_page(&state, &p, None).await
}

pub async fn connect(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    body: Bytes,
) -> Response {
    let Some(p) = p else { return to_login() };
    let f = fields(&body);
    match state.app.connect_shop(&p, &field(&f, "shop"), &field(&f, "access_token"), &client).await {
        Ok(_) => Redirect::to("/settings/shopify").into_response(),
        Err(e) => shopify_page(&state, &p, Some(&e.into())).await,
    }
}

pub async fn disconnect(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.disconnect_shop(&p, &client).await {
        Ok(()) => Redirect::to("/settings/shopify").into_response(),
        Err(e) => shopify_page(&state, &p, Some(&e.into())).await,
    }
}
