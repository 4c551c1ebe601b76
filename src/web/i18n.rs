//! Page texts in Danish (default) and English.

use crate::authenticators::Method;
use crate::flow::{Failure, Notice};
use crate::identity::{IdentityStatus, ProfessionalStatus};
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
    pub method_audio_reader: &'static str,
    pub method_chip: &'static str,
    pub method_password: &'static str,
    pub method_code_card: &'static str,
    pub method_key_app: &'static str,
    pub no_js: &'static str,
    pub audio_title: &'static str,
    pub audio_device_link: &'static str,
    pub chip_title: &'static str,
    pub chip_button: &'static str,
    pub nemid_title: &'static str,
    pub nemid_password: &'static str,
    pub card_title: &'static str,
    pub card_key_number: &'static str,
    pub card_key_label: &'static str,
    pub card_device_link: &'static str,
    pub activate_card: &'static str,
    pub activate_card_title: &'static str,
    pub activate_key_app: &'static str,
    pub key_app_title: &'static str,
    pub cpr_title: &'static str,
    pub choose_professional_title: &'static str,
    pub cpr_text: &'static str,
    pub cpr_label: &'static str,
    pub choose_idp_title: &'static str,
    pub picker_title: &'static str,
    pub picker_hint: &'static str,
    pub key_app_phone_link: &'static str,
    pub key_app_waiting: &'static str,
    pub qr_label: &'static str,
    pub key_app_qr_label: &'static str,
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
    blocked_title: "Midlertidigt spærret",
    blocked_text: "Du har indtastet forkert for mange gange. Prøv igen efter",
    back_to_service: "Tilbage til tjenesten",
    method_app: "MitID app",
    method_code_display: "Kodeviser",
    method_audio_reader: "Kodeoplæser",
    method_chip: "MitID chip",
    method_password: "Kun adgangskode",
    method_code_card: "Nøglekort",
    method_key_app: "Nøgleapp",
    no_js: "Tryk Fortsæt, når du har godkendt i appen.",
    audio_title: "Indtast kode fra din kodeoplæser",
    audio_device_link: "Lyt til koden på den simulerede kodeoplæser",
    chip_title: "Brug din MitID chip",
    chip_button: "Tryk på chippen",
    nemid_title: "Log på med NemID",
    nemid_password: "Adgangskode",
    card_title: "Indtast nøgle fra dit nøglekort",
    card_key_number: "Nøgle nr.",
    card_key_label: "Nøgle (6 cifre)",
    card_device_link: "Se dit simulerede nøglekort",
    activate_card: "Aktivér dit nye nøglekort",
    activate_card_title: "Aktivér dit nye nøglekort: indtast nøgle fra det NYE kort",
    activate_key_app: "Aktivér nøgleapp med denne nøgle",
    key_app_title: "Godkend i din NemID nøgleapp",
    cpr_title: "Bekræft dit CPR-nummer",
    choose_professional_title: "Vælg hvilken identitet du vil logge på med",
    cpr_text: "Tjenesten har brug for dit CPR-nummer. Indtast det for at bekræfte, at det er dit.",
    cpr_label: "CPR-nummer (DDMMÅÅ-XXXX)",
    choose_idp_title: "Vælg hvordan du vil logge på",
    picker_title: "Testpersoner (kun i simulatoren)",
    picker_hint: "Vælg en for at udfylde bruger-ID. Adgangskoder og enheder står på forsiden.",
    key_app_phone_link: "Åbn simuleret NemID nøgleapp",
    key_app_waiting: "Venter på godkendelse i NemID nøgleapp …",
    qr_label: "QR-kode: åbner anmodningen i den simulerede MitID app",
    key_app_qr_label: "QR-kode: åbner anmodningen i den simulerede NemID nøgleapp",
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
    blocked_title: "Temporarily blocked",
    blocked_text: "You entered something wrong too many times. Try again after",
    back_to_service: "Back to the service",
    method_app: "MitID app",
    method_code_display: "Code display",
    method_audio_reader: "Audio code reader",
    method_chip: "MitID chip",
    method_password: "Password only",
    method_code_card: "Code card",
    method_key_app: "Key app",
    no_js: "Press Continue once you have approved in the app.",
    audio_title: "Enter the code from your audio code reader",
    audio_device_link: "Listen to the code on the simulated audio code reader",
    chip_title: "Use your MitID chip",
    chip_button: "Touch the chip",
    nemid_title: "Log on with NemID",
    nemid_password: "Password",
    card_title: "Enter the key from your code card",
    card_key_number: "Key no.",
    card_key_label: "Key (6 digits)",
    card_device_link: "See your simulated code card",
    activate_card: "Activate your new code card",
    activate_card_title: "Activate your new code card: enter a key from the NEW card",
    activate_key_app: "Activate the key app with this key",
    key_app_title: "Approve in your NemID key app",
    cpr_title: "Confirm your CPR number",
    choose_professional_title: "Choose the identity to log in with",
    cpr_text: "The service needs your CPR number. Type it to confirm it is yours.",
    cpr_label: "CPR number (DDMMYY-XXXX)",
    choose_idp_title: "Choose how to log on",
    picker_title: "Test citizens (simulator only)",
    picker_hint: "Choose one to fill in the user ID. Passwords and devices are on the front page.",
    key_app_phone_link: "Open the simulated NemID key app",
    key_app_waiting: "Waiting for approval in the NemID key app …",
    qr_label: "QR code: opens the request in the simulated MitID app",
    key_app_qr_label: "QR code: opens the request in the simulated NemID key app",
};

/// One text in the page's language.
pub fn pick(language: Language, danish: &'static str, english: &'static str) -> &'static str {
    if language.is_danish() {
        danish
    } else {
        english
    }
}

/// The language a page shows: the `?lang=` of its URL first, then what the page belongs to
/// says (the login's language), else Danish, as MitID.
pub fn page_language(req: &actix_web::HttpRequest, context: Option<Language>) -> Language {
    query_language(req.query_string())
        .or(context)
        .unwrap_or_default()
}

/// The `lang` parameter of a query string, when it names a language spoken here.
pub fn query_language(query: &str) -> Option<Language> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "lang")
        .and_then(|(_, value)| Language::from_tag(&value))
}

/// `?lang=en` for links that must keep the page's language (Danish needs none).
pub fn lang_query(language: Language) -> &'static str {
    match language {
        Language::Da => "",
        Language::En => "?lang=en",
    }
}

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
        Notice::WrongNemIdCredentials if da => "Forkert bruger-id eller adgangskode.".into(),
        Notice::WrongNemIdCredentials => "Wrong user ID or password.".into(),
        Notice::WrongKey if da => "Nøglen er forkert. Prøv igen.".into(),
        Notice::WrongKey => "The key is wrong. Try again.".into(),
        Notice::KeyAppNeedsKeys if da => {
            "Nøgleappen kan kun aktiveres, når dit nøglekort har mindst 2 ubrugte nøgler.".into()
        }
        Notice::KeyAppNeedsKeys => "The key app can be activated only while your card has at least 2 unused keys.".into(),
        Notice::KeyAppActivated if da => "Din nøgleapp er aktiveret.".into(),
        Notice::KeyAppActivated => "Your key app is activated.".into(),
        Notice::WrongCpr { attempts_left } if da => {
            format!("CPR-nummeret passer ikke. Du har {attempts_left} forsøg tilbage.")
        }
        Notice::WrongCpr { attempts_left } => {
            format!("The CPR number does not match. You have {attempts_left} attempts left.")
        }
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
        Failure::NoNemId if da => ("Du har ikke NemID", "Der er ikke udstedt NemID til dig. Brug MitID."),
        Failure::NoNemId => ("You do not have NemID", "No NemID has been issued to you. Use MitID."),
        Failure::CardExhausted { .. } if da => (
            "Dit nøglekort er opbrugt",
            "Du har brugt alle nøgler på dit nøglekort. Aktivér det nye nøglekort, vi har sendt til dig, \
             eller bestil et nyt.",
        ),
        Failure::CardExhausted { .. } => (
            "Your code card is used up",
            "You have used every key on your code card. Activate the new card we sent you, or order one.",
        ),
        Failure::CprNotMatched if da => (
            "CPR-nummeret kunne ikke bekræftes",
            "Det indtastede CPR-nummer passer ikke til dit MitID.",
        ),
        Failure::CprNotMatched => (
            "The CPR number could not be confirmed",
            "The CPR number you typed does not match your MitID.",
        ),
        Failure::ParameterRefused if da => (
            "MitID kan ikke starte",
            "Tjenesten har sendt MitID en parameter, som ikke kan bruges. Kontakt tjenesten.",
        ),
        Failure::ParameterRefused => (
            "MitID cannot start",
            "The service sent MitID a parameter it cannot use. Contact the service.",
        ),
        Failure::CprTimedOut if da => ("Tiden er gået", "Du skal indtaste dit CPR-nummer inden 15 minutter."),
        Failure::CprTimedOut => ("Time is up", "You must type your CPR number within 15 minutes."),
        Failure::Erhverv(failure) => erhverv_text(da, failure),
        _ if da => ("Login afbrudt", "Login blev ikke gennemført."),
        _ => ("Login cancelled", "The login was not completed."),
    }
}

fn erhverv_text(da: bool, failure: crate::flow::ErhvervFailure) -> (&'static str, &'static str) {
    use crate::flow::ErhvervFailure;
    use crate::identity::ProfessionalStatus;
    match (failure, da) {
        (ErhvervFailure::NoProfessionalIdentity, true) => (
            "Du har ingen erhvervsidentitet",
            "Dit MitID er ikke knyttet til en MitID Erhverv-identitet i nogen virksomhed.",
        ),
        (ErhvervFailure::NoProfessionalIdentity, false) => (
            "You have no professional identity",
            "Your MitID is not linked to a MitID Erhverv identity in any organisation.",
        ),
        (ErhvervFailure::IdentityNotUsable(status), true) => match status {
            ProfessionalStatus::Locked => (
                "Din erhvervsidentitet er spærret",
                "Din MitID Erhverv-identitet er midlertidigt spærret. Kontakt din virksomheds administrator.",
            ),
            ProfessionalStatus::Revoked => (
                "Din erhvervsidentitet er tilbagekaldt",
                "Din MitID Erhverv-identitet er tilbagekaldt og kan ikke længere bruges.",
            ),
            ProfessionalStatus::Suspended => (
                "Din erhvervsidentitet er suspenderet",
                "Din MitID Erhverv-identitet er suspenderet. Kontakt din virksomheds administrator.",
            ),
            ProfessionalStatus::Pending | ProfessionalStatus::Active => (
                "Din erhvervsidentitet er ikke aktiveret",
                "Din MitID Erhverv-identitet er ikke aktiveret endnu.",
            ),
        },
        (ErhvervFailure::IdentityNotUsable(status), false) => match status {
            ProfessionalStatus::Locked => (
                "Your professional identity is locked",
                "Your MitID Erhverv identity is temporarily locked. Contact your organisation's administrator.",
            ),
            ProfessionalStatus::Revoked => (
                "Your professional identity is revoked",
                "Your MitID Erhverv identity has been revoked and can no longer be used.",
            ),
            ProfessionalStatus::Suspended => (
                "Your professional identity is suspended",
                "Your MitID Erhverv identity is suspended. Contact your organisation's administrator.",
            ),
            ProfessionalStatus::Pending | ProfessionalStatus::Active => (
                "Your professional identity is not activated",
                "Your MitID Erhverv identity has not been activated yet.",
            ),
        },
        (ErhvervFailure::NotAPrivateIdentity, true) => (
            "Brug dit private MitID",
            "Dette MitID er et MitID Erhverv og kan kun bruges til erhvervslogin.",
        ),
        (ErhvervFailure::NotAPrivateIdentity, false) => (
            "Use your private MitID",
            "This MitID is a MitID Erhverv eID and serves business logins only.",
        ),
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

pub fn method_label(language: Language, method: Method) -> &'static str {
    let t = texts(language);
    match method {
        Method::App => t.method_app,
        Method::CodeDisplay => t.method_code_display,
        Method::AudioReader => t.method_audio_reader,
        Method::Chip => t.method_chip,
        Method::Password => t.method_password,
        Method::CodeCard => t.method_code_card,
        Method::KeyApp => t.method_key_app,
    }
}

/// The texts of MitID Erhverv's choice of professional identity.
pub struct ProfessionalTexts {
    pub intro: &'static str,
    pub cvr: &'static str,
    pub role_employee: &'static str,
    pub role_company_signatory: &'static str,
    pub continue_privately: &'static str,
    /// The chooser's label for MitID Erhverv.
    pub idp_label: &'static str,
}

pub const PROFESSIONAL_DA: ProfessionalTexts = ProfessionalTexts {
    intro: "Dit MitID giver adgang til flere identiteter. Vælg den, du vil bruge.",
    cvr: "CVR",
    role_employee: "Medarbejder",
    role_company_signatory: "Ledelsesrepræsentant (tegningsberettiget)",
    continue_privately: "Fortsæt som privatperson",
    idp_label: "MitID Erhverv",
};

pub const PROFESSIONAL_EN: ProfessionalTexts = ProfessionalTexts {
    intro: "Your MitID gives access to several identities. Choose the one to use.",
    cvr: "CVR",
    role_employee: "Employee",
    role_company_signatory: "Company signatory (authorised to represent)",
    continue_privately: "Continue as a private person",
    idp_label: "MitID Erhverv",
};

pub fn professional_texts(language: Language) -> &'static ProfessionalTexts {
    match language {
        Language::Da => &PROFESSIONAL_DA,
        Language::En => &PROFESSIONAL_EN,
    }
}

/// A professional identity that cannot log in, as the choice shows it.
pub fn professional_status(language: Language, status: ProfessionalStatus) -> &'static str {
    match (status, language == Language::Da) {
        (ProfessionalStatus::Active, true) => "Aktiv",
        (ProfessionalStatus::Active, false) => "Active",
        (ProfessionalStatus::Pending, true) => "Ikke aktiveret",
        (ProfessionalStatus::Pending, false) => "Not activated",
        (ProfessionalStatus::Locked, true) => "Spærret",
        (ProfessionalStatus::Locked, false) => "Locked",
        (ProfessionalStatus::Suspended, true) => "Suspenderet",
        (ProfessionalStatus::Suspended, false) => "Suspended",
        (ProfessionalStatus::Revoked, true) => "Tilbagekaldt",
        (ProfessionalStatus::Revoked, false) => "Revoked",
    }
}
