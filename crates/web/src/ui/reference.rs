//! `/developers`: the public developer page, generated from the OpenAPI document the API
//! serves, with a quick start (upload → create → webhook → download) in curl and Python.

use std::sync::OnceLock;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::{Layout, render};
use crate::AppState;
use crate::extract::MaybeAuth;

/// One operation of the reference.
struct Operation {
    method: String,
    path: String,
    summary: String,
}

/// The operations under one tag, in the document's order.
struct Section {
    title: String,
    operations: Vec<Operation>,
}

#[derive(Template)]
#[template(path = "reference.html")]
struct Reference {
    layout: Layout,
    base: String,
    sections: &'static [Section],
}

/// The document's operations grouped by their first tag (read once).
fn sections() -> &'static [Section] {
    static SECTIONS: OnceLock<Vec<Section>> = OnceLock::new();
    SECTIONS.get_or_init(|| {
        let doc: Value = serde_json::from_str(crate::api::OPENAPI).unwrap_or_default();
        let mut sections: Vec<Section> = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let tag = op["tags"][0].as_str().unwrap_or("service");
                let operation = Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: op["summary"].as_str().unwrap_or_default().replace('`', ""),
                };
                let title = app::capitalise(tag);
                match sections.iter_mut().find(|s| s.title == title) {
                    Some(s) => s.operations.push(operation),
                    None => sections.push(Section { title, operations: vec![operation] }),
                }
            }
        }
        sections
    })
}

pub async fn developers(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let base = state.app.settings.server.public_url.trim_end_matches('/').to_owned();
    render(
        Reference {
            layout: Layout::new(&state, p.as_ref(), "API for developers").public(
                &state,
                "/developers",
                "SoraiPixel's API: jewellery cutouts and catalogue images by program, signed webhooks and a \
                 remove.bg-compatible endpoint.",
            ),
            base,
            sections: sections(),
        },
        None,
    )
}
