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
    let layout = Layout::new(&state, p.as_ref(), "Studio-quality jewellery photos from your phone")
        .public(&state, "/", "")
        .structured(&super::marketplaces::organization(&state));
    render(Landing { layout }, None)
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct Privacy {
    layout: Layout,
    current: app::consents::PolicyVersion,
    versions: &'static [app::consents::PolicyVersion],
}

pub async fn privacy(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    render(
        Privacy {
            layout: Layout::new(&state, p.as_ref(), "Privacy").public(
                &state,
                "/privacy",
                "How SoraiPixel handles your photos and data: encrypted storage, no training without your consent, \
                 export and deletion any time.",
            ),
            current: app::consents::current_policy(),
            versions: app::consents::POLICY_VERSIONS,
        },
        None,
    )
}

/// "Got it" on the policy notice; back to where the user was (our pages only).
pub async fn acknowledge_policy(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    axum::Form(form): axum::Form<Back>,
) -> Response {
    use axum::response::IntoResponse;
    let Some(p) = p else { return super::to_login() };
    if let Err(e) = state.app.acknowledge_policy(&p).await {
        return crate::error::ApiError::from(e).into_response();
    }
    super::redirect_back(&form.back, "/dashboard")
}

#[derive(serde::Deserialize)]
pub struct Back {
    #[serde(default)]
    back: String,
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
            layout: Layout::new(&state, p.as_ref(), "Contact").public(&state, "/contact", ""),
            company: c.company.clone(),
            address: c.address.clone(),
        },
        None,
    )
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct Unsubscribe {
    layout: Layout,
    token: String,
    done: bool,
}

/// The link in marketing mail: a page with one button (so link scanners cannot unsubscribe
/// anyone by fetching it).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    render(Unsubscribe { layout: Layout::new(&state, p.as_ref(), "Unsubscribe"), token, done: false }, None)
}

/// The button, and mail apps' one-click `List-Unsubscribe-Post` (RFC 8058).
pub async fn unsubscribe(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    use axum::response::IntoResponse;
    match state.app.unsubscribe(&token).await {
        Ok(()) => {
            render(Unsubscribe { layout: Layout::new(&state, p.as_ref(), "Unsubscribed"), token, done: true }, None)
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
