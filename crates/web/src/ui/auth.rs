//! Sign up, sign in (password or phone code), sign out, email verification, password reset.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use app::accounts::Signup;
use app::sessions::Started;

use super::{FormError, Layout, MessagePage, render};
use crate::AppState;
use crate::cookies;
use crate::error::ApiError;
use crate::extract::{ClientInfo, MaybeAuth};

/// Sets the session cookie and sends the browser on.
fn signed_in(state: &AppState, started: &Started, to: &str) -> Response {
    let mut headers = HeaderMap::new();
    cookies::set_session(&mut headers, &state.app.settings, &started.token);
    (headers, Redirect::to(to)).into_response()
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    form: SignupForm,
    /// Extra tokens a newcomer through an invitation gets.
    newcomer_bonus: i64,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    company: String,
    marketing_opt_in: Option<String>,
    /// From the invitation link (`/signup?ref=`), carried in a hidden field.
    #[serde(default)]
    referral_code: String,
}

#[derive(Deserialize, Default)]
pub struct Invited {
    #[serde(default, rename = "ref")]
    code: String,
}

pub async fn signup_page(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Query(invited): Query<Invited>,
) -> Response {
    if p.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    // A link whose code names nobody signs up like any other.
    let code =
        if state.app.invitation_exists(&invited.code).await.unwrap_or(false) { invited.code } else { String::new() };
    let form = SignupForm { referral_code: code, ..SignupForm::default() };
    render(
        SignupPage {
            layout: Layout::new(&state, None, "Create your account").public(&state, "/signup", ""),
            form,
            newcomer_bonus: state.app.settings.referrals.newcomer,
            error: FormError::default(),
        },
        None,
    )
}

pub async fn signup(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<SignupForm>,
) -> Response {
    let input = Signup {
        email: form.email.clone(),
        password: form.password.clone(),
        name: form.name.clone(),
        phone: Some(form.phone.clone()),
        company: Some(form.company.clone()),
        marketing_opt_in: form.marketing_opt_in.is_some(),
        referral_code: Some(form.referral_code.clone()).filter(|c| !c.is_empty()),
    };
    match state.app.signup(input, &client).await {
        Ok(started) => signed_in(&state, &started, "/dashboard?welcome=1"),
        Err(e) => {
            let e = ApiError::from(e);
            let form = SignupForm { password: String::new(), ..form };
            render(
                SignupPage {
                    layout: Layout::new(&state, None, "Create your account"),
                    form,
                    newcomer_bonus: state.app.settings.referrals.newcomer,
                    error: FormError::from(&e),
                },
                Some(&e),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: FormError,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login_page(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    if p.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    render(
        LoginPage { layout: Layout::new(&state, None, "Sign in"), email: String::new(), error: FormError::default() },
        None,
    )
}

pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<LoginForm>,
) -> Response {
    match state.app.login(&form.email, &form.password, &client).await {
        Ok(started) => signed_in(&state, &started, "/dashboard"),
        Err(e) => {
            let e = ApiError::from(e);
            render(
                LoginPage {
                    layout: Layout::new(&state, None, "Sign in"),
                    email: form.email,
                    error: FormError::from(&e),
                },
                Some(&e),
            )
        }
    }
}

#[derive(Template)]
#[template(path = "login_phone.html")]
struct PhonePage {
    layout: Layout,
    phone: String,
    /// The invitation a new account would come through, carried from `/login/phone?ref=`.
    referral_code: String,
    code_sent: bool,
    dev_sms: bool,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    referral_code: String,
}

fn phone_page_with(state: &AppState, form: PhoneForm, code_sent: bool, err: Option<&ApiError>) -> Response {
    let page = PhonePage {
        layout: Layout::new(state, None, "Sign in with your phone"),
        phone: form.phone,
        referral_code: form.referral_code,
        code_sent,
        dev_sms: state.app.sms.is_dev(),
        error: err.map(FormError::from).unwrap_or_default(),
    };
    render(page, err)
}

pub async fn phone_page(State(state): State<AppState>, Query(invited): Query<Invited>) -> Response {
    let referral_code =
        if state.app.invitation_exists(&invited.code).await.unwrap_or(false) { invited.code } else { String::new() };
    phone_page_with(&state, PhoneForm { referral_code, ..PhoneForm::default() }, false, None)
}

pub async fn phone_send(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<PhoneForm>,
) -> Response {
    match state.app.send_code(&form.phone, &client).await {
        Ok(()) => phone_page_with(&state, form, true, None),
        Err(e) => phone_page_with(&state, form, false, Some(&e.into())),
    }
}

pub async fn phone_verify(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<PhoneForm>,
) -> Response {
    let invited = Some(form.referral_code.as_str()).filter(|c| !c.is_empty());
    match state.app.verify_code(&form.phone, &form.code, invited, &client).await {
        Ok((started, created)) => {
            signed_in(&state, &started, if created { "/settings?welcome=1" } else { "/dashboard" })
        }
        Err(e) => phone_page_with(&state, PhoneForm { code: String::new(), ..form }, true, Some(&e.into())),
    }
}

pub async fn logout(State(state): State<AppState>, MaybeAuth(p): MaybeAuth) -> Response {
    if let Some(p) = p
        && let Err(e) = state.app.logout(&p).await
    {
        return ApiError::from(e).into_response();
    }
    let mut headers = HeaderMap::new();
    cookies::clear_session(&mut headers, &state.app.settings);
    (headers, Redirect::to("/")).into_response()
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage {
    layout: Layout,
    token: String,
}

/// Shows a button rather than verifying on GET: mail scanners open links too.
pub async fn verify_email_page(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Query(q): Query<TokenQuery>,
) -> Response {
    render(VerifyPage { layout: Layout::new(&state, p.as_ref(), "Confirm your email"), token: q.token }, None)
}

pub async fn verify_email(
    State(state): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    ClientInfo(client): ClientInfo,
    Form(q): Form<TokenQuery>,
) -> Response {
    let layout = Layout::new(&state, p.as_ref(), "Confirm your email");
    let (heading, body, err) = match state.app.verify_email(&q.token, &client).await {
        Ok(user) => (
            "Email confirmed".to_owned(),
            format!("Thank you — {} is confirmed.", user.email.unwrap_or_default()),
            None,
        ),
        Err(e) => (
            "This link no longer works".to_owned(),
            "It may have been used already or expired. Sign in and ask for a new one from your settings.".to_owned(),
            Some(ApiError::from(e)),
        ),
    };
    let (link, link_text) = if p.is_some() { ("/dashboard", "Go to your studio") } else { ("/login", "Sign in") };
    render(MessagePage { layout, heading, body, link: link.into(), link_text: link_text.into() }, err.as_ref())
}

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    layout: Layout,
    sent: bool,
    error: FormError,
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_page(State(state): State<AppState>) -> Response {
    render(
        ForgotPage {
            layout: Layout::new(&state, None, "Reset your password"),
            sent: false,
            error: FormError::default(),
        },
        None,
    )
}

pub async fn forgot(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<ForgotForm>,
) -> Response {
    let result = state.app.forgot_password(&form.email, &client).await.map_err(ApiError::from);
    let page = ForgotPage {
        layout: Layout::new(&state, None, "Reset your password"),
        sent: result.is_ok(),
        error: result.as_ref().err().map(FormError::from).unwrap_or_default(),
    };
    render(page, result.as_ref().err())
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    error: FormError,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn reset_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    render(
        ResetPage {
            layout: Layout::new(&state, None, "Choose a new password"),
            token: q.token,
            error: FormError::default(),
        },
        None,
    )
}

pub async fn reset(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Form(form): Form<ResetForm>,
) -> Response {
    match state.app.reset_password(&form.token, &form.password, &client).await {
        Ok(()) => {
            let layout = Layout::new(&state, None, "Password changed");
            let mut headers = HeaderMap::new();
            cookies::clear_session(&mut headers, &state.app.settings);
            let page = MessagePage {
                layout,
                heading: "Password changed".into(),
                body: "Your new password is set and every device was signed out. Sign in again to continue.".into(),
                link: "/login".into(),
                link_text: "Sign in".into(),
            };
            (headers, render(page, None)).into_response()
        }
        Err(e) => {
            let e = ApiError::from(e);
            render(
                ResetPage {
                    layout: Layout::new(&state, None, "Choose a new password"),
                    token: form.token,
                    error: FormError::from(&e),
                },
                Some(&e),
            )
        }
    }
}
