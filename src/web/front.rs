//! The front page: what a tester needs to start — the issuer, every test citizen with
//! their user ID, passwords and devices, and a "start a test login" link per client.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use super::i18n::{self, page_language};
use super::pages::{self, CitizenRow, ClientRow, ProfessionalRow};
use crate::identity::Identity;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::{paths, Provider};
use crate::protocols::saml;

pub async fn index(
    provider: web::Data<Provider>,
    nemlogin: web::Data<saml::Provider>,
    req: HttpRequest,
) -> HttpResponse {
    let language = page_language(&req, None);
    let t = i18n::texts(language);
    let issuer = &provider.issuer;
    let citizens = provider
        .broker
        .identities
        .all()
        .iter()
        .map(|c| citizen_row(c))
        .collect();
    let professionals = professional_rows(&provider);
    let clients = provider
        .clients
        .all()
        .iter()
        .map(|c| ClientRow {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            redirect_uris: c
                .redirect_uris
                .iter()
                .map(|u| u.as_str().to_string())
                .collect(),
            start_login: start_login_url(&provider.endpoint(paths::AUTHORIZE), c),
        })
        .collect();
    pages::html(
        StatusCode::OK,
        &pages::IndexPage {
            lang: t.lang,
            banner: t.simulator_banner,
            da: language.is_danish(),
            issuer,
            citizens,
            professionals,
            clients,
            nemlogin_metadata: format!("{}{}", nemlogin.base_url, saml::idp::METADATA_PATH),
            service_providers: service_provider_rows(&nemlogin),
        },
    )
}

fn citizen_row(c: &Identity) -> CitizenRow {
    CitizenRow {
        user_id: c.user_id.to_string(),
        name: c.name.clone(),
        methods: c
            .all_methods()
            .iter()
            .map(|m| m.slug())
            .collect::<Vec<_>>()
            .join(", "),
        password: c.password.as_ref().map(|p| p.expose().to_string()),
        nemid_password: c.nemid.as_ref().map(|n| n.password.expose().to_string()),
        purpose: c.purpose.clone(),
        has_app: c.app.is_some(),
        has_code_display: c.code_display.is_some(),
        has_audio_reader: c.audio_reader.is_some(),
        has_code_card: c.nemid.is_some(),
    }
}

/// MitID Erhverv's professional identities, with the MitID user IDs they log in with.
fn professional_rows(provider: &Provider) -> Vec<ProfessionalRow> {
    let identities = &provider.broker.identities;
    identities
        .professionals()
        .iter()
        .map(|p| ProfessionalRow {
            uuid: p.uuid.to_string(),
            name: p.name(),
            organisation: identities
                .organisation(p.cvr)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            cvr: p.cvr.to_string(),
            role: p.role.name(),
            status: p.status.name(),
            user_ids: p
                .person
                .cpr()
                .filter(|_| p.person.uses_private_mitid())
                .and_then(|cpr| identities.by_cpr(&cpr))
                .map(|eid| eid.user_id.to_string())
                .into_iter()
                .chain(p.person.dedicated_user_id().map(|id| id.to_string()))
                .collect(),
        })
        .collect()
}

/// NemLog-in's service providers: entity ID, name, assertion consumer services.
fn service_provider_rows(nemlogin: &saml::Provider) -> Vec<(String, String, String)> {
    nemlogin
        .service_providers
        .all()
        .iter()
        .map(|sp| {
            let acs: Vec<&str> = sp
                .assertion_consumer_services
                .iter()
                .map(|acs| acs.location.as_str())
                .collect();
            (
                sp.entity_id.clone(),
                sp.display_name().to_string(),
                acs.join(" "),
            )
        })
        .collect()
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An authorization request as the client's RP would send it, to its first redirect URI.
/// The RP did not start it, so its callback sees a state it does not know; the point is
/// the login pages and the code the callback receives. Clients that must use PKCE get
/// the challenge of a verifier nobody keeps.
fn start_login_url(authorize: &str, client: &Client) -> Option<String> {
    let redirect_uri = client.redirect_uris.first()?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", redirect_uri.as_str())
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &random_token())
        .append_pair("nonce", &random_token());
    if client.pkce_required() {
        let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(random_token().as_bytes()));
        query
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
    }
    Some(format!("{authorize}?{}", query.finish()))
}
