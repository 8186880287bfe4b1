//! The signed-in area: dashboard and settings (profile, email verification, devices).

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::accounts::ProfilePatch;
use app::sessions::Principal;
use db::audit::AuditEntry;
use db::sessions::Session;
use db::users::User;

use super::{FormError, Layout, render, to_login};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};

#[derive(Deserialize, Default)]
pub struct Notice {
    welcome: Option<String>,
    saved: Option<String>,
    sent: Option<String>,
    exporting: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    layout: Layout,
    user: User,
    welcome: bool,
    /// The AI engine is on here.
    ai: bool,
}

pub async fn dashboard(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Query(n): Query<Notice>) -> Response {
    let Some(p) = p else { return to_login() };
    render(
        Dashboard {
            layout: Layout::new(&state, Some(&p), "Your studio"),
            user: p.user.clone(),
            welcome: n.welcome.is_some(),
            ai: state.app.cloud.is_some(),
        },
        None,
    )
}

#[derive(Template)]
#[template(path = "settings.html")]
struct Settings {
    layout: Layout,
    user: User,
    form: ProfileForm,
    sessions: Vec<Session>,
    current_session: String,
    log: Vec<AuditEntry>,
    notice: String,
    error: FormError,
    categories: &'static [&'static str],
    exports: Vec<db::exports::Export>,
    now: i64,
    consent_history: Vec<db::consents::ConsentChange>,
    /// A number waiting for its code (shows the box to enter it).
    pending_phone: String,
}

#[derive(Deserialize, Default)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    category: String,
    /// Needed with a new email or phone (accounts with a password).
    #[serde(default)]
    current_password: String,
    /// Needed with a new email or phone (accounts without a password).
    #[serde(default)]
    code: String,
}

impl ProfileForm {
    fn of(u: &User) -> Self {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            name: u.name.clone(),
            email: s(&u.email),
            phone: s(&u.phone),
            company: s(&u.company),
            address: s(&u.address),
            website: s(&u.website),
            category: s(&u.category),
            current_password: String::new(),
            code: String::new(),
        }
    }
}

/// What the settings page shows besides the profile: a notice, an error, and a number
/// waiting for its code.
#[derive(Default)]
struct Shown<'a> {
    notice: &'a str,
    error: Option<&'a ApiError>,
    pending_phone: Option<String>,
}

async fn settings_page(state: &AppState, p: &Principal, form: Option<ProfileForm>, shown: Shown<'_>) -> Response {
    let Shown { notice, error: err, pending_phone } = shown;
    let loaded = async {
        Ok::<_, app::AppError>((
            state.app.sessions(p).await?,
            state.app.security_log(p).await?,
            state.app.exports(p).await?,
            state.app.consents(p).await?,
        ))
    };
    let (sessions, log, exports, consents) = match loaded.await {
        Ok(all) => all,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page = Settings {
        layout: Layout::new(state, Some(p), "Account settings"),
        form: form.unwrap_or_else(|| ProfileForm::of(&p.user)),
        user: p.user.clone(),
        sessions,
        current_session: p.session.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        log,
        notice: notice.to_owned(),
        error: err.map(FormError::from).unwrap_or_default(),
        categories: domain::profile::CATEGORIES,
        exports,
        now: app::now_ms(),
        consent_history: consents.history,
        pending_phone: pending_phone.unwrap_or_default(),
    };
    render(page, err)
}

pub async fn settings(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Query(n): Query<Notice>) -> Response {
    let Some(p) = p else { return to_login() };
    let notice = if n.welcome.is_some() {
        "Welcome! Add your name and business details so your images and invoices carry them."
    } else if n.saved.is_some() {
        "Saved."
    } else if n.sent.is_some() {
        "We sent a new confirmation link to your email."
    } else if n.exporting.is_some() {
        "We are preparing your data. It appears below (and we email you) when ready."
    } else {
        ""
    };
    settings_page(&state, &p, None, Shown { notice, ..Shown::default() }).await
}

pub async fn save_profile(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Form(form): Form<ProfileForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    // An empty email field on a phone-only account means "no email yet", not a change.
    let email = (!form.email.trim().is_empty() || p.user.email.is_some()).then(|| form.email.clone());
    let patch = ProfilePatch {
        name: Some(form.name.clone()),
        email,
        phone: Some(form.phone.clone()),
        company: Some(form.company.clone()),
        address: Some(form.address.clone()),
        website: Some(form.website.clone()),
        category: Some(form.category.clone()),
        current_password: Some(form.current_password.clone()),
        code: Some(form.code.clone()),
    };
    match state.app.update_profile(&p, patch, &client).await {
        Ok(update) if update.pending_email.is_none() && update.pending_phone.is_none() => {
            Redirect::to("/settings?saved=1").into_response()
        }
        Ok(update) => {
            let notice = match (&update.pending_email, &update.pending_phone) {
                (Some(e), Some(_)) => format!(
                    "Saved. We sent a link to {e} and a code to your new number: your email changes when you open the link, your number when you enter the code."
                ),
                (Some(e), None) => {
                    format!("Saved. We sent a link to {e}: your email changes when you open it.")
                }
                _ => "Saved. We sent a code to your new number: enter it below to confirm it.".into(),
            };
            let p = Principal { user: update.user, ..p };
            let shown = Shown { notice: &notice, error: None, pending_phone: update.pending_phone };
            settings_page(&state, &p, None, shown).await
        }
        Err(e) => {
            let form = ProfileForm { current_password: String::new(), code: String::new(), ..form };
            settings_page(&state, &p, Some(form), Shown { error: Some(&e.into()), ..Shown::default() }).await
        }
    }
}

#[derive(Deserialize)]
pub struct PhoneForm {
    phone: String,
    #[serde(default)]
    code: String,
}

/// Sends a code to confirm the account's own number.
pub async fn send_phone_proof(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.send_phone_proof(&p, &client).await {
        Ok(phone) => {
            let notice = "We sent a code to your phone: enter it below to confirm the number.";
            let shown = Shown { notice, error: None, pending_phone: Some(phone.to_string()) };
            settings_page(&state, &p, None, shown).await
        }
        Err(e) => settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    }
}

/// The code for a number: it becomes the account's, confirmed.
pub async fn confirm_phone(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Form(form): Form<PhoneForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.confirm_phone(&p, &form.phone, &form.code, &client).await {
        Ok(_) => Redirect::to("/settings?saved=1").into_response(),
        Err(e) => {
            let shown = Shown { notice: "", error: Some(&e.into()), pending_phone: Some(form.phone) };
            settings_page(&state, &p, None, shown).await
        }
    }
}

pub async fn resend_verification(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.resend_verification(&p).await {
        Ok(()) => Redirect::to("/settings?sent=1").into_response(),
        Err(e) => settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    }
}

pub async fn end_session(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Path(id): Path<String>) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.end_session(&p, &id).await {
        Ok(()) => Redirect::to("/settings#devices").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Deletes the account; the goodbye page is the last thing this session sees.
pub async fn delete_account(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Form(form): Form<DeleteForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    let confirm = app::erasure::Confirmation { password: form.password, code: form.code };
    match state.app.delete_account(&p, &confirm, &client).await {
        Ok(()) => {
            let mut headers = axum::http::HeaderMap::new();
            crate::cookies::clear_session(&mut headers, &state.app.settings);
            let page = super::MessagePage {
                layout: Layout::new(&state, None, "Account deleted"),
                heading: "Your account is deleted".into(),
                body: "Everything about you is gone, and the key that encrypted your files has been destroyed. Thank you for trying SoraiPixel.".into(),
                link: "/".into(),
                link_text: "Back to the home page".into(),
            };
            (headers, render(page, None)).into_response()
        }
        Err(e) => settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    }
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    marketing: Option<String>,
    #[serde(default)]
    model_training: Option<String>,
}

pub async fn save_consents(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Form(form): Form<ConsentForm>,
) -> Response {
    let Some(p) = p else { return to_login() };
    // Unchecked boxes are not sent: absent means no.
    let update = app::consents::ConsentUpdate {
        marketing: Some(form.marketing.is_some()),
        model_training: Some(form.model_training.is_some()),
    };
    match state.app.update_consents(&p, &update, "settings", &client).await {
        Ok(_) => Redirect::to("/settings?saved=1#consents").into_response(),
        Err(e) => settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    }
}

pub async fn request_export(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.request_export(&p, &client).await {
        Ok(_) => Redirect::to("/settings?exporting=1#export").into_response(),
        Err(e) => settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    }
}

/// Accounts without a password confirm a change or a deletion with a code: this sends one
/// to the account's own phone.
pub async fn confirmation_code(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    let shown = match state.app.send_confirmation_code(&p, &client).await {
        Ok(()) => Shown { notice: "We sent a code to your phone. Enter it where asked below.", ..Shown::default() },
        Err(e) => return settings_page(&state, &p, None, Shown { error: Some(&e.into()), ..Shown::default() }).await,
    };
    settings_page(&state, &p, None, shown).await
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.logout_others(&p, &client).await {
        Ok(_) => Redirect::to("/settings#devices").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    layout: Layout,
    sessions: Vec<Session>,
    current_session: String,
    events: Vec<db::activity::Event>,
    retention_days: u32,
}

pub async fn activity(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    let (sessions, events) = match (state.app.sessions(&p).await, state.app.activity(&p).await) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
    let page = ActivityPage {
        layout: Layout::new(&state, Some(&p), "Activity and devices"),
        sessions,
        current_session: p.session.as_ref().map(|s| s.id.clone()).unwrap_or_default(),
        events,
        retention_days: state.app.settings.privacy.activity_retention_days,
    };
    render(page, None)
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct Tokens {
    layout: Layout,
    balance: db::ledger::Balance,
    lines: Vec<domain::ledger::Line>,
    /// The oldest entry's time, when there may be older ones.
    older: Option<i64>,
    daily_reward: i64,
    /// The low-balance alert, if set.
    alert: Option<i64>,
    notice: String,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct TokensQuery {
    claimed: Option<String>,
    alert: Option<String>,
    before: Option<i64>,
}

async fn tokens_page(
    state: &AppState,
    p: &Principal,
    before: Option<i64>,
    notice: &str,
    err: Option<&ApiError>,
) -> Response {
    let loaded = async {
        Ok::<_, app::AppError>((
            state.app.balance(p).await?,
            state.app.statement(p, before).await?,
            state.app.balance_alert(p).await?,
        ))
    };
    let (balance, (lines, older), alert) = match loaded.await {
        Ok(v) => v,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let layout = Layout { tokens: Some(balance.balance), ..Layout::new(state, Some(p), "Tokens") };
    let page = Tokens {
        layout,
        balance,
        lines,
        older,
        daily_reward: state.app.settings.tokens.daily_reward,
        alert,
        notice: notice.to_owned(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

pub async fn tokens(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, Query(q): Query<TokensQuery>) -> Response {
    let Some(p) = p else { return to_login() };
    let notice = match (q.claimed.is_some(), q.alert.is_some()) {
        (true, _) => "Today's reward is in your balance.",
        (_, true) => "Your low-balance alert is saved.",
        _ => "",
    };
    tokens_page(&state, &p, q.before, notice, None).await
}

/// The low-balance alert form: a number of tokens, or empty for none.
pub async fn set_alert(State(state): State<AppState>, MaybeAuth(p): MaybeAuth, body: Bytes) -> Response {
    let Some(p) = p else { return to_login() };
    let f = super::fields(&body);
    let text = super::field(&f, "threshold");
    let threshold = match text.parse::<i64>() {
        Ok(t) => Some(t),
        Err(_) if text.is_empty() => None,
        Err(_) => Some(0),
    };
    match state.app.set_balance_alert(&p, threshold).await {
        Ok(()) => Redirect::to("/tokens?alert=1").into_response(),
        Err(e) => tokens_page(&state, &p, None, "", Some(&e.into())).await,
    }
}

pub async fn claim_reward(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.claim_daily_reward(&p, &client).await {
        Ok(_) => Redirect::to("/tokens?claimed=1").into_response(),
        Err(e) => tokens_page(&state, &p, None, "", Some(&e.into())).await,
    }
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ReferralsPage {
    layout: Layout,
    r: app::referrals::Referrals,
}

impl ReferralsPage {
    fn whatsapp(&self) -> String {
        let text = format!("I make my jewellery photos with SoraiPixel. Join with my link: {}", self.r.link);
        format!("https://wa.me/?text={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>())
    }

    /// What became of one reward, in words.
    fn reward(&self, w: &app::referrals::RewardView) -> String {
        let what = if w.kind == "first_payment" { "their first payment" } else { "confirming their email" };
        let amount = crate::ui::tokens(w.amount);
        match w.status.as_str() {
            "held" => format!("{amount} for {what}, yours on {}", crate::ui::day(w.due_at)),
            "given" => format!("{amount} for {what}, given"),
            "reversed" => format!("{amount} for {what}, cancelled"),
            _ => format!("No reward for {what}: over {} rewards in 30 days", self.r.max_rewards_per_month),
        }
    }
}

/// The seller's invitation link, what it earns, and each person who came through it.
pub async fn referrals(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    let Some(p) = p else { return to_login() };
    match state.app.referrals(&p).await {
        Ok(r) => render(ReferralsPage { layout: Layout::new(&state, Some(&p), "Invite friends"), r }, None),
        Err(e) => ApiError::from(e).into_response(),
    }
}
