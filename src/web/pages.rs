//! Askama page models and the helpers that turn them into responses.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use super::i18n::{self, Texts};
use crate::protocols::oidc::Language;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub t: &'static Texts,
    /// "MitID", "MitID Erhverv", or "NemID" for legacy logins.
    pub brand: &'static str,
    /// The chooser's identity providers: (`idp_values` name, label).
    pub idps: Vec<(&'static str, &'static str)>,
    pub heading: String,
    /// The MitID client's action header before the client's name ("Log på hos", …).
    pub header: &'static str,
    pub client_name: &'a str,
    /// The service's reference text, shown with the authenticator as MitID shows it.
    pub reference_text: Option<String>,
    pub login_id: &'a str,
    pub csrf: &'a str,
    pub step: &'static str,
    pub notice: Option<String>,
    pub methods: Vec<(&'static str, &'static str)>,
    pub qr_svg: String,
    /// The QR code's accessible name.
    pub qr_label: &'static str,
    /// The app step's link and waiting text: MitID's app, or NemID's key app.
    pub app_phone_link: &'static str,
    pub app_waiting: &'static str,
    pub phone_url: String,
    pub device_url: String,
    pub device_label: &'static str,
    pub blocked_until: String,
    pub failure_text: &'static str,
    /// What exactly went wrong, when the failure text alone does not say.
    pub failure_detail: String,
    pub can_choose: bool,
    pub key_number: String,
    pub can_activate_card: bool,
    pub can_activate_key_app: bool,
    /// The simulator's picker on the user-ID steps: test citizens who can log in here.
    pub test_citizens: Vec<TestCitizen>,
}

pub struct TestCitizen {
    pub user_id: String,
    pub name: String,
    pub purpose: String,
}

impl<'a> LoginPage<'a> {
    pub fn new(language: Language, client_name: &'a str, login_id: &'a str, csrf: &'a str) -> Self {
        let t = i18n::texts(language);
        Self {
            lang: t.lang,
            banner: t.simulator_banner,
            t,
            brand: "MitID",
            idps: Vec::new(),
            heading: String::new(),
            header: t.log_on_at,
            client_name,
            reference_text: None,
            login_id,
            csrf,
            step: "",
            notice: None,
            methods: Vec::new(),
            qr_svg: String::new(),
            qr_label: "",
            app_phone_link: "",
            app_waiting: "",
            phone_url: String::new(),
            device_url: String::new(),
            device_label: "",
            blocked_until: String::new(),
            failure_text: "",
            failure_detail: String::new(),
            can_choose: false,
            key_number: String::new(),
            can_activate_card: false,
            can_activate_key_app: false,
            test_citizens: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub heading: &'a str,
    pub message: &'a str,
    pub hint: &'a str,
}

pub struct PhoneRequest {
    pub id: String,
    pub client_name: String,
    /// The MitID client's action header ("Log på hos", "Godkend hos", …).
    pub header: &'static str,
    /// The service's reference text, shown as the app shows it.
    pub reference_text: Option<String>,
}

impl PhoneRequest {
    pub fn of(request: crate::authenticators::AppRequest, language: Language) -> Self {
        Self {
            header: request.texts.action.header(language),
            reference_text: request.texts.reference_text.map(|t| t.to_string()),
            id: request.id,
            client_name: request.client_name,
        }
    }
}

#[derive(Template)]
#[template(path = "phone.html")]
pub struct PhonePage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    /// "MitID", or "NemID" for the key app.
    pub brand: &'static str,
    pub key_app: bool,
    pub user_id: &'a str,
    pub request: Option<PhoneRequest>,
    /// Without a request: `idle`, or how the request shown last ended (`approved`, …).
    pub state: &'static str,
    pub heading: &'static str,
    pub status: &'static str,
    /// Where the phone's script asks for a waiting request; none once an answer is shown,
    /// which stays until the citizen closes it.
    pub poll_url: Option<String>,
    /// The request on screen (its URL), so the script sees when another one waits.
    pub current: String,
    /// After an answer: back to the phone's start page.
    pub close_url: Option<String>,
}

#[derive(Template)]
#[template(path = "code_display.html")]
pub struct CodeDisplayPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    pub user_id: &'a str,
    pub code: String,
    pub seconds_left: u64,
}

pub struct CitizenRow {
    pub user_id: String,
    pub name: String,
    pub methods: String,
    /// The MitID password, for the steps that ask it.
    pub password: Option<String>,
    /// NemID's password (with the code card or the key app).
    pub nemid_password: Option<String>,
    pub purpose: String,
    pub has_app: bool,
    pub has_code_display: bool,
    pub has_audio_reader: bool,
    pub has_code_card: bool,
}

/// A professional identity (MitID Erhverv) on the front page.
pub struct ProfessionalRow {
    pub uuid: String,
    pub name: String,
    pub organisation: String,
    pub cvr: String,
    pub role: &'static str,
    pub status: &'static str,
    /// The user IDs of the MitIDs that log in as it.
    pub user_ids: Vec<String>,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    pub issuer: &'a str,
    pub citizens: Vec<CitizenRow>,
    pub professionals: Vec<ProfessionalRow>,
    pub clients: Vec<ClientRow>,
    pub nemlogin_metadata: String,
    /// Entity ID, name, ACS locations.
    pub service_providers: Vec<(String, String, String)>,
}

pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// An authorization request to the client's first redirect URI; none without one.
    pub start_login: Option<String>,
}

/// A form the browser posts on by itself (a script presses the button; without scripts
/// the citizen does): SAML's HTTP-POST binding.
#[derive(Template)]
#[template(path = "post_form.html")]
pub struct PostFormPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub action: &'a str,
    pub fields: &'a [(String, String)],
}

pub fn post_form(form: &crate::protocols::front::PostForm) -> HttpResponse {
    html(
        StatusCode::OK,
        &PostFormPage {
            lang: "da",
            banner: i18n::DA.simulator_banner,
            action: &form.action,
            fields: &form.fields,
        },
    )
}

/// Renders a page; pages never cache, since each shows live login state.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            // The Content-Security-Policy and the other security headers come from
            // `security_headers`, for every page alike.
            .body(body),
        Err(err) => HttpResponse::InternalServerError()
            .content_type(ContentType::plaintext())
            .body(format!("page could not be rendered: {err}")),
    }
}

/// A readable error page in the given language.
pub fn message(
    status: StatusCode,
    language: Language,
    heading: &str,
    message: &str,
    hint: &str,
) -> HttpResponse {
    let t = i18n::texts(language);
    html(
        status,
        &MessagePage {
            lang: t.lang,
            banner: t.simulator_banner,
            heading,
            message,
            hint,
        },
    )
}

pub struct CardCell {
    pub number: String,
    pub key: String,
    pub used: bool,
}

#[derive(Template)]
#[template(path = "code_card.html")]
pub struct CodeCardPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    pub user_id: &'a str,
    pub owner: &'a str,
    pub pid: &'a str,
    pub serial: String,
    pub keys: Vec<CardCell>,
    pub status: String,
}

#[derive(Template)]
#[template(path = "audio_reader.html")]
pub struct AudioReaderPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    pub voice: &'static str,
    pub user_id: &'a str,
    pub code: String,
    pub seconds_left: u64,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage {
    pub lang: &'static str,
    pub banner: &'static str,
    pub da: bool,
    pub frontchannel: Vec<String>,
    pub redirect: Option<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub lang: &'static str,
    pub banner: &'static str,
    /// The broker's clock, in Danish time.
    pub now: String,
    pub app_requests: Vec<DashboardAppRequest>,
    pub sessions: Vec<DashboardSession>,
    pub deliveries: Vec<DashboardDelivery>,
    pub record: Vec<DashboardExchange>,
    pub record_rows: usize,
}

pub struct DashboardAppRequest {
    pub id: String,
    pub user_id: String,
    pub client: String,
    pub expires: String,
}

pub struct DashboardSession {
    pub id: String,
    pub user_id: String,
    pub clients: Vec<String>,
    pub created: String,
    pub expires: String,
}

pub struct DashboardDelivery {
    pub client_id: String,
    pub uri: String,
    pub reason: String,
    pub state: String,
    pub attempts: usize,
    pub created: String,
}

pub struct DashboardExchange {
    pub at: String,
    pub endpoint: &'static str,
    pub client_id: String,
    pub status: u16,
    pub error: String,
}

/// The dashboard asks for the admin token.
#[derive(Template)]
#[template(path = "dashboard_token.html")]
pub struct TokenPage {
    pub lang: &'static str,
    pub banner: &'static str,
    /// The token just given was not the right one.
    pub wrong: bool,
}
