//! The simulated devices: the citizen's phone with the MitID app, and the code display.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::pages::{self, CodeDisplayPage, PhonePage, PhoneRequest};
use crate::authenticators::app::AppError;
use crate::authenticators::audio::{spoken_code, Voice};
use crate::authenticators::code_card;
use crate::authenticators::Method;
use crate::protocols::oidc::{Language, Provider};

fn not_found(what: &str) -> HttpResponse {
    pages::message(
        StatusCode::NOT_FOUND,
        Language::Da,
        "Ikke fundet / Not found",
        what,
        "Se listen over testpersoner på forsiden. / See the test citizens on the front page.",
    )
}

fn no_such_citizen(user_id: &str) -> HttpResponse {
    not_found(&format!("No citizen has user ID `{user_id}`."))
}

/// The phone of one citizen: shows the pending login request, if any.
pub async fn phone(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(&user_id);
    };
    let pending = broker.apps.pending_for(citizen.uuid, broker.clock.now());
    render_phone(
        &citizen.user_id.to_string(),
        pending.map(|r| PhoneRequest::of(r, true)),
        "Ingen anmodninger",
        String::from("Ingen login venter. / No login is waiting."),
    )
}

fn render_phone(
    user_id: &str,
    request: Option<PhoneRequest>,
    idle_heading: &str,
    status: String,
) -> HttpResponse {
    pages::html(
        StatusCode::OK,
        &PhonePage {
            lang: "da",
            banner: super::i18n::DA.simulator_banner,
            da: true,
            user_id,
            request,
            idle_heading,
            status,
        },
    )
}

/// The page the QR code leads to: one login request on the citizen's phone.
pub async fn app_request(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let broker = &provider.broker;
    let Some(request) = broker.apps.get(&id) else {
        return not_found("This app request does not exist (or ended long ago).");
    };
    let user_id = broker
        .identities
        .by_uuid(request.citizen)
        .map(|c| c.user_id.to_string())
        .unwrap_or_default();
    let state = request.state_at(broker.clock.now());
    if state == crate::authenticators::AppRequestState::Pending {
        render_phone(
            &user_id,
            Some(PhoneRequest::of(request, true)),
            "",
            String::new(),
        )
    } else {
        render_phone(
            &user_id,
            None,
            "Ingen anmodninger",
            format!("Anmodningen er afsluttet: {state:?}. / The request has ended: {state:?}."),
        )
    }
}

/// Swipe (approve) or reject on the phone.
pub async fn answer_app_request(
    provider: web::Data<Provider>,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let id = path.into_inner();
    let approve = match form.get("decision").map(String::as_str) {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                Language::Da,
                "Ugyldigt svar / Invalid answer",
                "decision must be approve or reject.",
                "",
            )
        }
    };
    let broker = &provider.broker;
    match broker.apps.answer(&id, approve, broker.clock.now()) {
        Ok(state) => render_phone(
            "",
            None,
            if approve { "Godkendt ✓" } else { "Afvist" },
            format!("Svar sendt: {state:?}. Du kan lukke telefonen. / Answer sent: {state:?}."),
        ),
        Err(AppError::Unknown) => not_found("This app request does not exist."),
        Err(err) => pages::message(
            StatusCode::CONFLICT,
            Language::Da,
            "Anmodningen venter ikke længere / The request is no longer waiting",
            &err.to_string(),
            "",
        ),
    }
}

pub async fn code_display(provider: web::Data<Provider>, path: web::Path<String>) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(&user_id);
    };
    let Some(device) = &citizen.code_display else {
        return not_found(&format!("`{user_id}` has no code display."));
    };
    let now = broker.clock.now();
    pages::html(
        StatusCode::OK,
        &CodeDisplayPage {
            lang: "da",
            banner: super::i18n::DA.simulator_banner,
            da: true,
            user_id: citizen.user_id.as_str(),
            code: device.secret.code_at(now),
            seconds_left: device.secret.seconds_left(now),
        },
    )
}

/// The citizen's NemID code card, drawn like the printed one; `?card=next` shows the card
/// that was sent when 20 keys remained.
pub async fn code_card(
    provider: web::Data<Provider>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(&user_id);
    };
    let Some(nemid) = &citizen.nemid else {
        return not_found(&format!("`{user_id}` has no NemID code card."));
    };
    let state = broker.code_cards.state(citizen.uuid, nemid);
    let next = query.get("card").is_some_and(|c| c == "next");
    if next && !state.new_card_sent {
        return not_found("No new card has been sent to this citizen.");
    }
    let index = state.card_index + u32::from(next);
    let keys = code_card::card_keys(&nemid.pid, index)
        .into_iter()
        .enumerate()
        .map(|(i, key)| pages::CardCell {
            number: key.number_text(),
            key: key.key_text(),
            used: !next && state.used.contains(&i),
        })
        .collect();
    let status = if next {
        "Nyt kort, endnu ikke aktiveret. / New card, not yet activated.".to_string()
    } else {
        format!(
            "{} af {} nøgler tilbage.{} / {} of {} keys left.",
            state.keys_left(),
            code_card::KEYS_PER_CARD,
            if state.new_card_sent {
                " Nyt kort er sendt."
            } else {
                ""
            },
            state.keys_left(),
            code_card::KEYS_PER_CARD,
        )
    };
    pages::html(
        StatusCode::OK,
        &pages::CodeCardPage {
            lang: "da",
            banner: super::i18n::DA.simulator_banner,
            user_id: citizen.user_id.as_str(),
            owner: &citizen.name,
            pid: nemid.pid.as_str(),
            serial: code_card::card_serial(&nemid.pid, index),
            keys,
            status,
        },
    )
}

fn voice(query: &HashMap<String, String>) -> Voice {
    query
        .get("lang")
        .and_then(|l| Voice::parse(l))
        .unwrap_or(Voice::Danish)
}

/// The audio code reader: the current code as speech, and as text on request.
pub async fn audio_reader(
    provider: web::Data<Provider>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(&user_id);
    };
    let Some(device) = citizen.totp_device(Method::AudioReader) else {
        return not_found(&format!("`{user_id}` has no audio code reader."));
    };
    let now = broker.clock.now();
    let voice = voice(&query);
    pages::html(
        StatusCode::OK,
        &pages::AudioReaderPage {
            lang: voice.code(),
            banner: super::i18n::DA.simulator_banner,
            da: voice == Voice::Danish,
            voice: voice.code(),
            user_id: citizen.user_id.as_str(),
            code: device.secret.code_at(now),
            seconds_left: device.secret.seconds_left(now),
        },
    )
}

pub async fn audio_reader_wav(
    provider: web::Data<Provider>,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let Some(device) = broker
        .identities
        .by_user_id(&user_id)
        .and_then(|c| c.totp_device(Method::AudioReader).cloned())
    else {
        return not_found(&format!("`{user_id}` has no audio code reader."));
    };
    let code = device.secret.code_at(broker.clock.now());
    match spoken_code(&code, voice(&query)) {
        Ok(wav) => HttpResponse::Ok()
            .content_type("audio/wav")
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .body(wav),
        Err(err) => pages::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            Language::Da,
            "Lyd kunne ikke laves / Audio failed",
            &err.to_string(),
            "",
        ),
    }
}
