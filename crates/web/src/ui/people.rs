//! Admin pages for people: search, one account's file, and the staff actions on it (each
//! with a reason). Support staff see the same pages without the action forms; the use
//! cases refuse them if they post one anyway.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::people::{CONTENT_WINDOW_MS, Person, PersonFile, StaffAction};
use app::sessions::Principal;
use domain::Role;

use super::admin::StaffPage;
use super::{FormError, Layout, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ClientInfo;

#[derive(Template)]
#[template(path = "admin_people.html")]
struct Search {
    layout: Layout,
    q: String,
    people: Vec<Person>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(State(state): State<AppState>, StaffPage(p): StaffPage, Query(q): Query<SearchQuery>) -> Response {
    let layout = Layout::new(&state, Some(&p), "People");
    if q.q.trim().is_empty() {
        return render(Search { layout, q: q.q, people: Vec::new(), error: FormError::default() }, None);
    }
    match state.app.find_people(&p, &q.q).await {
        Ok(people) => render(Search { layout, q: q.q, people, error: FormError::default() }, None),
        Err(e) => {
            let e = ApiError::from(e);
            render(Search { layout, q: q.q, people: Vec::new(), error: FormError::from(&e) }, Some(&e))
        }
    }
}

#[derive(Template)]
#[template(path = "admin_person.html")]
struct PersonPage {
    layout: Layout,
    file: PersonFile,
    roles: [Role; 3],
    /// Minutes a "view content" keeps pictures visible.
    window_minutes: i64,
    notice: &'static str,
    error: FormError,
}

impl PersonPage {
    fn role_is(&self, role: &Role) -> bool {
        role.as_str() == self.file.person.role
    }

    fn money(&self, minor: &i64, currency: &str) -> String {
        super::admin::money(*minor, currency)
    }
}

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
}

async fn person_page(
    state: &AppState,
    p: &Principal,
    id: &str,
    notice: &'static str,
    err: Option<&ApiError>,
) -> Response {
    match state.app.person_file(p, id).await {
        Ok(file) => {
            let title = file.person.called().to_owned();
            let page = PersonPage {
                layout: Layout::new(state, Some(p), &title),
                file,
                roles: Role::ALL,
                window_minutes: CONTENT_WINDOW_MS / 60_000,
                notice,
                error: err.map(FormError::from).unwrap_or_default(),
            };
            render(page, err)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn person(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("suspend") => "Suspended. Their sessions ended; sign-in and API keys are refused until you reactivate.",
        Some("reactivate") => "Reactivated. They can sign in and use their API keys again.",
        Some("tokens") => "Tokens adjusted. The entry is in their statement, and your reason in their security log.",
        Some("sessions") => "Their sessions ended: every device must sign in again.",
        Some("verification") => "A new link to prove their email address is on its way.",
        Some("role") => "Role changed.",
        Some("content") => {
            "Their newest images are shown below. This look, with your reason, is in their security log."
        }
        _ => "",
    };
    person_page(&state, &p, &id, notice, None).await
}

#[derive(Deserialize)]
pub struct ActForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/people/{id}/{action}`: one form per action, each with a reason.
pub async fn act(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    ClientInfo(client): ClientInfo,
    Path((id, slug)): Path<(String, String)>,
    Form(form): Form<ActForm>,
) -> Response {
    let invalid = |code, field, why| Err(ApiError::from(app::AppError::from(domain::Invalid::new(code, field, why))));
    let action = match slug.as_str() {
        "suspend" => Ok(StaffAction::Suspend),
        "reactivate" => Ok(StaffAction::Reactivate),
        "sessions" => Ok(StaffAction::EndSessions),
        "verification" => Ok(StaffAction::ResendVerification),
        "content" => Ok(StaffAction::ViewContent),
        "tokens" => match form.amount.trim().trim_start_matches('+').parse::<i64>() {
            Ok(n) => Ok(StaffAction::AdjustTokens(n)),
            Err(_) => invalid("invalid_adjustment", "amount", "Write a whole number of tokens, like 5 or -5."),
        },
        "role" => match Role::parse(&form.role) {
            Some(role) => Ok(StaffAction::SetRole(role)),
            None => invalid("invalid_role", "role", "Choose a role."),
        },
        _ => return ApiError::from(app::AppError::NotFound).into_response(),
    };
    let done = match action {
        Ok(action) => state.app.act_on_person(&p, &id, action, &form.reason, &client).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(_) if slug == "content" => Redirect::to(&format!("/admin/people/{id}?done=content#content")).into_response(),
        Ok(_) => Redirect::to(&format!("/admin/people/{id}?done={slug}")).into_response(),
        Err(e) => person_page(&state, &p, &id, "", Some(&e)).await,
    }
}

/// One of the account's images, small, while this staff member's "view content" is open.
pub async fn thumbnail(
    State(state): State<AppState>,
    StaffPage(p): StaffPage,
    Path((id, output)): Path<(String, String)>,
) -> Response {
    match state.app.staff_thumbnail(&p, &id, &output).await {
        Ok(bytes) => crate::api::image_response(bytes, imaging::Format::Jpeg.mime(), None),
        Err(e) => ApiError::from(e).into_response(),
    }
}
