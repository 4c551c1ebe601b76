//! The login pages: parse the form, move the login's state machine, render, and hand a
//! finished login to the personality that started it (a redirect for OpenID Connect, a
//! form posted to the SP for NemLog-in). The pages are the same for both: a login ID is
//! looked up in each personality's logins, and the handlers are generic over its
//! [`LoginFront`].

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use qrcode::render::svg;
use qrcode::QrCode;

use super::i18n;
use super::pages::{self, LoginPage, TestCitizen};
use crate::authenticators::Method;
use crate::flow::{Failure, FlowError, Idp, Login, LoginLookupError, Outcome, Step};
use crate::protocols::front::{Answer, LoginFront};
use crate::protocols::{oidc, saml, Language};

/// The NEB personality, as the login handlers take it.
pub type Oidc = web::Data<oidc::Provider>;
/// The NemLog-in personality, as the login handlers take it.
pub type Saml = web::Data<saml::Provider>;

/// Runs `$body` with `$front` bound to the personality that started login `$id` (NEB's
/// when neither did, so an unknown login gets NEB's answer).
macro_rules! with_front {
    ($oidc:expr, $saml:expr, $id:expr, |$front:ident| $body:expr) => {
        if $saml.logins.contains($id) {
            let $front: &saml::Provider = &$saml;
            $body
        } else {
            let $front: &oidc::Provider = &$oidc;
            $body
        }
    };
}

pub fn cookie_name(login_id: &str) -> String {
    format!("mitid_sim_login_{login_id}")
}

/// The cookie that ties a login to the browser that started it.
pub fn binding_cookie(front: &impl LoginFront, login_id: &str, binding: &str) -> Cookie<'static> {
    Cookie::build(cookie_name(login_id), binding.to_string())
        .path("/login")
        .http_only(true)
        .secure(front.base_url().starts_with("https://"))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            front.broker().settings.login_lifetime.whole_seconds(),
        ))
        .finish()
}

fn binding(req: &HttpRequest, login_id: &str) -> Option<String> {
    req.cookie(&cookie_name(login_id))
        .map(|c| c.value().to_string())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A login that cannot be shown: its language is unknown then, so the page's `?lang=`
/// decides (Danish without one, as MitID).
fn lookup_failure(req: &HttpRequest, error: LoginLookupError) -> HttpResponse {
    let language = i18n::page_language(req, None);
    let (status, da, en) = match error {
        LoginLookupError::Unknown => (
            StatusCode::NOT_FOUND,
            "Dette login findes ikke eller er afsluttet.",
            "This login does not exist or has ended.",
        ),
        LoginLookupError::OtherBrowser => (
            StatusCode::FORBIDDEN,
            "Dette login blev startet i en anden browser.",
            "This login was started in another browser.",
        ),
        LoginLookupError::Expired => (
            StatusCode::GONE,
            "Dette login tog for lang tid og er udløbet.",
            "This login took too long and has expired.",
        ),
    };
    pages::message(
        status,
        language,
        i18n::pick(
            language,
            "Login kan ikke fortsætte",
            "Login cannot continue",
        ),
        i18n::pick(language, da, en),
        i18n::pick(
            language,
            "Gå tilbage til tjenesten og log på igen.",
            "Go back to the service and log on again.",
        ),
    )
}

/// The simulator's picker on the user-ID steps lists at most this many citizens (a
/// generated population can hold thousands; the front page lists them all).
const PICKER_LIMIT: usize = 200;

fn test_citizens(
    broker: &crate::broker::Broker,
    fits: impl Fn(&crate::identity::Identity) -> bool,
) -> Vec<TestCitizen> {
    broker
        .identities
        .all()
        .iter()
        .filter(|c| fits(c))
        .take(PICKER_LIMIT)
        .map(|c| TestCitizen {
            user_id: c.user_id.to_string(),
            name: c.name.clone(),
            purpose: c.purpose.clone(),
        })
        .collect()
}

enum View {
    Page(HttpResponse),
    /// The login is over: hand the result to the RP.
    Finished,
}

fn render<F: LoginFront>(front: &F, login: &Login<F::Request>) -> View {
    let broker = front.broker();
    let language = F::language(&login.request);
    let t = i18n::texts(language);
    let mut page = LoginPage::new(
        language,
        &login.requirements.client_name,
        &login.id,
        &login.csrf,
    );
    page.notice = login.notice.map(|n| i18n::notice(language, n));
    let idp = login.requirements.idp;
    let mitid = idp.uses_mitid();
    if mitid {
        page.header = login.requirements.texts.action.header(language);
    }
    page.brand = idp_label(language, idp);
    // MitID shows the service's reference text with the authenticator, not before.
    let at_authenticator = matches!(
        login.step,
        Step::App { .. } | Step::Code { .. } | Step::Password { .. } | Step::Chip { .. }
    );
    if mitid && at_authenticator {
        page.reference_text = login
            .requirements
            .texts
            .reference_text
            .as_ref()
            .map(|t| t.to_string());
    }
    let citizen = login
        .step
        .citizen()
        .and_then(|id| broker.identities.by_uuid(id));
    let usable = citizen
        .as_ref()
        .map(|c| login.usable_methods(broker, c))
        .unwrap_or_default();
    let device = |kind: &str| {
        citizen
            .as_ref()
            .map(|c| format!("/sim/{kind}/{}{}", c.user_id, i18n::lang_query(language)))
            .unwrap_or_default()
    };
    page.step = login.step.name();
    page.can_choose = usable.len() > 1;
    match &login.step {
        Step::ChooseIdp => {
            page.heading = t.choose_idp_title.to_string();
            page.brand = "MitID";
            page.idps = login
                .requirements
                .idp_choices
                .iter()
                .map(|idp| (idp.claim(), idp_label(language, *idp)))
                .collect();
        }
        Step::EnterUserId => {
            page.heading = t.user_id.to_string();
            page.test_citizens = test_citizens(front.broker(), |c| !c.methods().is_empty());
        }
        Step::NemIdCredentials => {
            page.heading = t.nemid_title.to_string();
            page.test_citizens = test_citizens(front.broker(), |c| c.nemid.is_some());
        }
        Step::ChooseMethod { .. } => {
            page.heading = t.choose_title.to_string();
            page.can_choose = false;
            page.methods = usable
                .iter()
                .map(|m| (m.slug(), i18n::method_label(language, *m)))
                .collect();
        }
        Step::App {
            request, method, ..
        } => {
            let key_app = *method == Method::KeyApp;
            let pick = |key_app_text, mitid_text| if key_app { key_app_text } else { mitid_text };
            page.heading = pick(t.key_app_title, t.app_title).to_string();
            page.app_phone_link = pick(t.key_app_phone_link, t.app_phone_link);
            page.app_waiting = pick(t.key_app_waiting, t.app_waiting);
            page.qr_label = pick(t.key_app_qr_label, t.qr_label);
            page.phone_url = format!("{}/sim/app/{request}", front.base_url());
            page.qr_svg = qr_svg(&page.phone_url);
        }
        Step::Code { method, .. } => {
            if *method == Method::AudioReader {
                page.heading = t.audio_title.to_string();
                page.device_url = device("audio-reader");
                page.device_label = t.audio_device_link;
            } else {
                page.heading = t.code_title.to_string();
                page.device_url = device("code-display");
                page.device_label = t.code_device_link;
            }
        }
        Step::Password { .. } => {
            page.heading = t.password_title.to_string();
            page.can_choose = false;
        }
        Step::Chip { .. } => {
            page.heading = t.chip_title.to_string();
            page.can_choose = false;
        }
        Step::CodeCard {
            citizen: id,
            key_number,
        } => {
            page.heading = t.card_title.to_string();
            page.key_number = format!("{key_number:04}");
            page.device_url = device("code-card");
            page.device_label = t.card_device_link;
            if let Some(nemid) = citizen.as_ref().and_then(|c| c.nemid.as_ref()) {
                let card = broker.code_cards.state(*id, nemid);
                page.can_activate_card = card.new_card_sent;
                page.can_activate_key_app = !card.key_app_active;
            }
        }
        Step::ActivateCard { key_number, .. } => {
            page.heading = t.activate_card_title.to_string();
            page.key_number = format!("{key_number:04}");
            page.device_url = format!("{}?card=next", device("code-card"));
            page.device_label = t.card_device_link;
            page.can_choose = false;
        }
        Step::Blocked { until, .. } => {
            page.heading = t.blocked_title.to_string();
            // Danish time, as the citizen reads a clock.
            page.blocked_until = super::danish_time::clock(*until);
        }
        Step::CprEntry { .. } => {
            page.heading = t.cpr_title.to_string();
            page.can_choose = false;
        }
        Step::ChooseProfessional {
            auth,
            choices,
            private_allowed,
        } => {
            return View::Page(super::login_professional::page(
                broker,
                login,
                language,
                auth.citizen,
                choices,
                *private_allowed,
            ))
        }
        Step::Finished(Outcome::Failed(failure)) if failure.explained_first() => {
            let (heading, text) = i18n::failure(language, *failure);
            page.step = "failed";
            page.heading = heading.to_string();
            page.failure_text = text;
            if *failure == Failure::ParameterRefused {
                page.failure_detail = login.requirements.mitid_refusal.clone().unwrap_or_default();
            }
            page.can_choose = false;
            page.can_activate_card = matches!(
                failure,
                Failure::CardExhausted {
                    new_card_sent: true
                }
            );
        }
        Step::Finished(_) => return View::Finished,
    }
    View::Page(pages::html(StatusCode::OK, &page))
}

/// The brand an identity provider's pages show, and its label in the chooser.
fn idp_label(language: Language, idp: Idp) -> &'static str {
    match idp {
        Idp::MitId => "MitID",
        Idp::MitIdErhverv => i18n::professional_texts(language).idp_label,
        Idp::NemId => "NemID",
    }
}

fn qr_svg(url: &str) -> String {
    match QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// Hands a finished login to the personality that started it, and sends the browser on:
/// redirected to the RP, or with a form to post to the SP.
async fn deliver<F: LoginFront>(front: &F, req: &HttpRequest, login_id: &str) -> HttpResponse {
    let Some(login) = front.logins().take(login_id) else {
        return lookup_failure(req, LoginLookupError::Unknown);
    };
    let finished = front
        .finish_login(login, super::oidc::sso_key(req).as_deref())
        .await;
    let mut response = answer(&finished.answer);
    if let Some(key) = &finished.sso {
        response
            .add_cookie(&super::oidc::sso_cookie(front, key))
            .ok();
    }
    let mut expired = Cookie::build(cookie_name(login_id), "")
        .path("/login")
        .finish();
    expired.make_removal();
    response.add_removal_cookie(&expired).ok();
    response
}

/// The browser's next step towards the relying party.
pub fn answer(answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Redirect(location) => see_other(location),
        Answer::Post(form) => pages::post_form(form),
        Answer::Failed(problem) => pages::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            Language::Da,
            "Svaret kunne ikke laves / The answer could not be made",
            problem,
            "Se brokerens log. / See the broker's log.",
        ),
    }
}

pub async fn show(
    oidc: Oidc,
    saml: Saml,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let login_id = path.into_inner();
    with_front!(oidc, saml, &login_id, |front| show_at(
        front, &req, &login_id
    )
    .await)
}

async fn show_at<F: LoginFront>(front: &F, req: &HttpRequest, login_id: &str) -> HttpResponse {
    let now = front.broker().clock.now();
    let view = front
        .logins()
        .with(login_id, binding(req, login_id).as_deref(), now, |login| {
            login.poll(front.broker());
            render(front, login)
        });
    match view {
        Ok(View::Page(response)) => response,
        Ok(View::Finished) => deliver(front, req, login_id).await,
        Err(error) => lookup_failure(req, error),
    }
}

/// For the waiting page's script: which step the login is at.
pub async fn status(
    oidc: Oidc,
    saml: Saml,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let login_id = path.into_inner();
    with_front!(oidc, saml, &login_id, |front| status_at(
        front, &req, &login_id
    ))
}

fn status_at<F: LoginFront>(front: &F, req: &HttpRequest, login_id: &str) -> HttpResponse {
    let now = front.broker().clock.now();
    let step = front
        .logins()
        .with(login_id, binding(req, login_id).as_deref(), now, |login| {
            login.poll(front.broker());
            login.step.name()
        });
    match step {
        Ok(step) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "step": step })),
        Err(error) => HttpResponse::build(StatusCode::NOT_FOUND)
            .json(serde_json::json!({ "error": error.to_string() })),
    }
}

pub type Form = web::Form<HashMap<String, String>>;

macro_rules! form_handler {
    ($name:ident, $action:expr) => {
        pub async fn $name(
            oidc: Oidc,
            saml: Saml,
            req: HttpRequest,
            path: web::Path<String>,
            form: Form,
        ) -> HttpResponse {
            let login_id = path.into_inner();
            with_front!(oidc, saml, &login_id, |front| {
                act(front, &req, &login_id, &form, $action).await
            })
        }
    };
}

form_handler!(user_id, Action::UserId);
form_handler!(code, Action::Code);
form_handler!(password, Action::Password);
form_handler!(choose, Action::Choose);
form_handler!(cancel, Action::Cancel);
form_handler!(return_to_service, Action::Return);
form_handler!(nemid, Action::NemId);
form_handler!(chip, Action::Chip);
form_handler!(card_key, Action::CardKey);
form_handler!(activate_card, Action::ActivateCard);
form_handler!(cpr, Action::Cpr);
form_handler!(idp, Action::Idp);
form_handler!(professional, Action::Professional);

#[derive(Clone, Copy)]
pub enum Action {
    Idp,
    UserId,
    NemId,
    Code,
    Password,
    Chip,
    CardKey,
    ActivateCard,
    Cpr,
    /// MitID Erhverv: the professional identity picked, or the private one.
    Professional,
    Choose,
    Cancel,
    Return,
}

/// Every form post: check the browser and the CSRF token, apply the action, then
/// redirect to the login page (post/redirect/get).
async fn act<F: LoginFront>(
    front: &F,
    req: &HttpRequest,
    login_id: &str,
    form: &Form,
    action: Action,
) -> HttpResponse {
    let now = front.broker().clock.now();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let outcome = front
        .logins()
        .with(login_id, binding(req, login_id).as_deref(), now, |login| {
            let token = field("csrf");
            let csrf_ok = token.len() == login.csrf.len()
                && openssl::memcmp::eq(token.as_bytes(), login.csrf.as_bytes());
            if !csrf_ok {
                return Err(Err(F::language(&login.request)));
            }
            let broker = front.broker();
            let result = match action {
                Action::Idp => match field("idp") {
                    "mitid" => login.choose_idp(Idp::MitId),
                    "mitid_erhverv" => login.choose_idp(Idp::MitIdErhverv),
                    "nemid" => login.choose_idp(Idp::NemId),
                    _ => Err(FlowError::WrongStep),
                },
                Action::UserId => login.submit_user_id(broker, field("user_id")),
                Action::NemId => {
                    login.submit_nemid_credentials(broker, field("user_id"), field("password"))
                }
                Action::Chip => login.present_chip(broker),
                Action::CardKey if !field("activate_key_app").is_empty() => {
                    login.activate_key_app(broker, field("key"))
                }
                Action::CardKey => login.submit_card_key(broker, field("key")),
                Action::ActivateCard => login.start_card_activation(broker),
                Action::Cpr => login.submit_cpr(broker, field("cpr")),
                Action::Professional => super::login_professional::choose(
                    login,
                    broker,
                    field("uuid"),
                    !field("private").is_empty(),
                ),
                Action::Code => login.submit_code(broker, field("code")),
                Action::Password => login.submit_password(broker, field("password")),
                Action::Choose => match Method::from_slug(field("method")) {
                    Some(method) => login.choose(broker, method),
                    None => login.show_choices(broker),
                },
                Action::Cancel => {
                    login.cancel(broker);
                    Ok(())
                }
                Action::Return => match login.step {
                    Step::Finished(_) => Ok(()),
                    _ => Err(FlowError::WrongStep),
                },
            };
            // Ok: the step refused the action; Err: a stale form, in the login's language.
            result.map_err(Ok)
        });
    if matches!(outcome, Ok(Ok(()))) {
        // Used code-card keys and activated key apps must survive a restart.
        if let Err(err) = front.persist().await {
            tracing::error!("cannot save the state: {err}");
        }
    }
    match outcome {
        // The citizen has read why the login failed: now the RP hears it.
        Ok(Ok(())) if matches!(action, Action::Return) => deliver(front, req, login_id).await,
        Ok(Ok(())) => see_other(&format!("/login/{login_id}")),
        Ok(Err(Err(language))) => pages::message(
            StatusCode::FORBIDDEN,
            language,
            i18n::pick(language, "Formularen er forældet", "The form is stale"),
            i18n::pick(
                language,
                "Formularen kom ikke fra denne login-side (CSRF).",
                "The form did not come from this login page (CSRF).",
            ),
            i18n::pick(language, "Genindlæs login-siden.", "Reload the login page."),
        ),
        // A stale tab posting to a step that is over: show the current step instead.
        Ok(Err(Ok(FlowError::WrongStep))) => see_other(&format!("/login/{login_id}")),
        Err(error) => lookup_failure(req, error),
    }
}
