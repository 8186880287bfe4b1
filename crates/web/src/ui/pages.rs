//! Public pages: landing, privacy, contact.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{Layout, render};
use crate::AppState;
use crate::extract::MaybeAuth;

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    layout: Layout,
}

pub async fn landing(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    render(Landing { layout: Layout::new(&state, p.as_ref(), "Studio-quality jewellery photos from your phone") }, None)
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct Privacy {
    layout: Layout,
}

pub async fn privacy(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    render(Privacy { layout: Layout::new(&state, p.as_ref(), "Privacy") }, None)
}

#[derive(Template)]
#[template(path = "contact.html")]
struct Contact {
    layout: Layout,
    company: String,
    address: String,
}

pub async fn contact(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let c = &state.app.settings.contact;
    render(
        Contact {
            layout: Layout::new(&state, p.as_ref(), "Contact"),
            company: c.company.clone(),
            address: c.address.clone(),
        },
        None,
    )
}
