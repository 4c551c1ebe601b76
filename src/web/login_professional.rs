//! MitID Erhverv's page after MitID: the person picks one of their professional identities
//! (or, where the RP allows it, goes on as their private self), and the form that says so.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use uuid::Uuid;

use super::i18n::{self, ProfessionalTexts, Texts};
use super::pages;
use crate::broker::Broker;
use crate::flow::{FlowError, Login};
use crate::identity::ProfessionalRole;
use crate::protocols::Language;

/// One professional identity on offer.
pub struct Choice {
    pub uuid: String,
    pub organisation: String,
    pub cvr: String,
    pub role: &'static str,
    /// The identity's name, or "Pseudonym" when it is name protected.
    pub name: String,
    /// Shown for an identity that cannot log in now (picking it fails with its page).
    pub status: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "choose_professional.html")]
pub struct ChooseProfessionalPage<'a> {
    pub lang: &'static str,
    pub banner: &'static str,
    pub t: &'static Texts,
    pub p: &'static ProfessionalTexts,
    /// The MitID client's action header before the client's name.
    pub header: &'static str,
    pub client_name: &'a str,
    pub login_id: &'a str,
    pub csrf: &'a str,
    pub choices: Vec<Choice>,
    /// The private person's name, when the RP allows going on privately.
    pub private_name: Option<String>,
}

/// The page for `Step::ChooseProfessional`, in `language` (whichever personality asked).
pub fn page<R>(
    broker: &Broker,
    login: &Login<R>,
    language: Language,
    citizen: Uuid,
    choices: &[Uuid],
    private_allowed: bool,
) -> HttpResponse {
    let t = i18n::texts(language);
    let p = i18n::professional_texts(language);
    let identities = &broker.identities;
    let choices = choices
        .iter()
        .filter_map(|uuid| identities.professional(*uuid))
        .map(|identity| Choice {
            uuid: identity.uuid.to_string(),
            organisation: identities
                .organisation(identity.cvr)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            cvr: identity.cvr.to_string(),
            role: match identity.role {
                ProfessionalRole::Employee => p.role_employee,
                ProfessionalRole::CompanySignatory => p.role_company_signatory,
            },
            name: match identity.alias() {
                Some(alias) => alias.to_string(),
                None => identity.name(),
            },
            status: (!identity.can_log_in())
                .then(|| i18n::professional_status(language, identity.status)),
        })
        .collect();
    let private_name = private_allowed
        .then(|| identities.by_uuid(citizen).map(|c| c.name.clone()))
        .flatten();
    pages::html(
        StatusCode::OK,
        &ChooseProfessionalPage {
            lang: t.lang,
            banner: t.simulator_banner,
            t,
            p,
            header: login.requirements.texts.action.header(language),
            client_name: &login.requirements.client_name,
            login_id: &login.id,
            csrf: &login.csrf,
            choices,
            private_name,
        },
    )
}

/// The form's answer: `uuid=<persistent professional ID>`, or `private=1`.
pub fn choose<R>(
    login: &mut Login<R>,
    broker: &Broker,
    uuid: &str,
    private: bool,
) -> Result<(), FlowError> {
    if private {
        return login.continue_privately(broker);
    }
    let uuid = Uuid::parse_str(uuid.trim()).map_err(|_| FlowError::WrongStep)?;
    login.choose_professional(broker, uuid)
}
