//! Page texts in Danish (default) and English.

use crate::flow::{Failure, Notice};
use crate::identity::IdentityStatus;
use crate::protocols::oidc::Language;

pub struct Texts {
    pub lang: &'static str,
    pub simulator_banner: &'static str,
    pub log_on_at: &'static str,
    pub user_id: &'static str,
    pub continue_: &'static str,
    pub cancel: &'static str,
    pub choose_other: &'static str,
    pub choose_title: &'static str,
    pub app_title: &'static str,
    pub app_instructions: &'static str,
    pub app_phone_link: &'static str,
    pub app_waiting: &'static str,
    pub code_title: &'static str,
    pub code_label: &'static str,
    pub code_device_link: &'static str,
    pub password_title: &'static str,
    pub password_label: &'static str,
    pub log_in: &'static str,
    pub blocked_title: &'static str,
    pub blocked_text: &'static str,
    pub back_to_service: &'static str,
    pub method_app: &'static str,
    pub method_code_display: &'static str,
    pub no_js: &'static str,
}

pub const DA: Texts = Texts {
    lang: "da",
    simulator_banner: "SIMULATOR – ikke det rigtige MitID. Brug kun testpersoner.",
    log_on_at: "Log på hos",
    user_id: "Bruger-ID",
    continue_: "Fortsæt",
    cancel: "Afbryd",
    choose_other: "Vælg en anden metode",
    choose_title: "Vælg hvordan du vil godkende",
    app_title: "Åbn MitID app og godkend",
    app_instructions: "Scan QR-koden med den simulerede telefon, eller åbn telefonen her:",
    app_phone_link: "Åbn simuleret MitID app",
    app_waiting: "Venter på godkendelse i MitID app …",
    code_title: "Indtast kode fra din kodeviser",
    code_label: "6-cifret kode",
    code_device_link: "Se koden på den simulerede kodeviser",
    password_title: "Indtast din adgangskode",
    password_label: "Adgangskode",
    log_in: "Log på",
    blocked_title: "Din kodeviser er midlertidigt spærret",
    blocked_text: "Du har indtastet forkert kode for mange gange. Prøv igen efter",
    back_to_service: "Tilbage til tjenesten",
    method_app: "MitID app",
    method_code_display: "Kodeviser",
    no_js: "Tryk Fortsæt, når du har godkendt i appen.",
};

pub const EN: Texts = Texts {
    lang: "en",
    simulator_banner: "SIMULATOR – not the real MitID. Use test citizens only.",
    log_on_at: "Log on at",
    user_id: "User ID",
    continue_: "Continue",
    cancel: "Cancel",
    choose_other: "Choose another method",
    choose_title: "Choose how to approve",
    app_title: "Open the MitID app and approve",
    app_instructions: "Scan the QR code with the simulated phone, or open the phone here:",
    app_phone_link: "Open the simulated MitID app",
    app_waiting: "Waiting for approval in the MitID app …",
    code_title: "Enter the code from your code display",
    code_label: "6-digit code",
    code_device_link: "See the code on the simulated code display",
    password_title: "Enter your password",
    password_label: "Password",
    log_in: "Log on",
    blocked_title: "Your code display is temporarily blocked",
    blocked_text: "You entered a wrong code too many times. Try again after",
    back_to_service: "Back to the service",
    method_app: "MitID app",
    method_code_display: "Code display",
    no_js: "Press Continue once you have approved in the app.",
};

pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::Da => &DA,
        Language::En => &EN,
    }
}

pub fn notice(language: Language, notice: Notice) -> String {
    let da = language == Language::Da;
    match notice {
        Notice::UnknownUserId if da => "Vi kan ikke finde et MitID med det bruger-ID.".into(),
        Notice::UnknownUserId => "We cannot find a MitID with that user ID.".into(),
        Notice::WrongCode { attempts_left } if da => {
            format!("Forkert kode. Du har {attempts_left} forsøg tilbage.")
        }
        Notice::WrongCode { attempts_left } => {
            format!("Wrong code. You have {attempts_left} attempts left.")
        }
        Notice::CodeAlreadyUsed if da => "Koden er allerede brugt. Vent på en ny kode.".into(),
        Notice::CodeAlreadyUsed => "That code was already used. Wait for a new code.".into(),
        Notice::WrongPassword if da => "Forkert adgangskode.".into(),
        Notice::WrongPassword => "Wrong password.".into(),
        Notice::AppBusy if da => {
            "Din MitID app er optaget af et andet login (parallel_sessions_detected). Afslut det først.".into()
        }
        Notice::AppBusy => {
            "Your MitID app is busy with another login (parallel_sessions_detected). Finish that first.".into()
        }
        Notice::MethodUnavailable if da => "Den metode kan ikke bruges til dette login.".into(),
        Notice::MethodUnavailable => "That method cannot be used for this login.".into(),
    }
}

/// Title and explanation of a login that ended without a citizen.
pub fn failure(language: Language, failure: Failure) -> (&'static str, &'static str) {
    let da = language == Language::Da;
    match failure {
        Failure::InsufficientAssurance if da => (
            "Dit MitID kan ikke bruges her",
            "Tjenesten kræver et højere sikringsniveau, end dine MitID-metoder giver.",
        ),
        Failure::InsufficientAssurance => (
            "Your MitID cannot be used here",
            "The service requires a higher level of assurance than your MitID methods give.",
        ),
        Failure::IdentityNotUsable(status) => status_text(da, status),
        _ if da => ("Login afbrudt", "Login blev ikke gennemført."),
        _ => ("Login cancelled", "The login was not completed."),
    }
}

fn status_text(da: bool, status: IdentityStatus) -> (&'static str, &'static str) {
    match (status, da) {
        (IdentityStatus::Locked, true) => (
            "Dit MitID er midlertidigt spærret",
            "Dit MitID er spærret. Prøv igen senere, eller kontakt MitID-support.",
        ),
        (IdentityStatus::Locked, false) => (
            "Your MitID is temporarily locked",
            "Your MitID is locked. Try again later or contact MitID support.",
        ),
        (IdentityStatus::Revoked, true) => {
            ("Dit MitID er spærret", "Dit MitID er spærret permanent.")
        }
        (IdentityStatus::Revoked, false) => {
            ("Your MitID is revoked", "Your MitID has been revoked.")
        }
        (IdentityStatus::Suspended, true) => (
            "Dit MitID er suspenderet",
            "Dit MitID er midlertidigt suspenderet.",
        ),
        (IdentityStatus::Suspended, false) => (
            "Your MitID is suspended",
            "Your MitID is suspended for now.",
        ),
        (_, true) => (
            "Du har ikke et MitID",
            "Der er ikke udstedt et MitID til dig.",
        ),
        (_, false) => (
            "You do not have a MitID",
            "No MitID has been issued to you.",
        ),
    }
}
