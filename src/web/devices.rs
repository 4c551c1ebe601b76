//! The simulated devices: the citizen's phone with the MitID app (or NemID's key app), the
//! code display, the audio code reader and the NemID code card. Each page speaks the
//! language of the login it serves (an app request remembers it) or of its `?lang=`.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::i18n::{lang_query, page_language, pick};
use super::pages::{self, CodeDisplayPage, PhonePage, PhoneRequest};
use crate::authenticators::app::AppError;
use crate::authenticators::audio::{spoken_code, Voice};
use crate::authenticators::code_card;
use crate::authenticators::{AppKind, AppRequest, AppRequestState, Method};
use crate::protocols::oidc::{Language, Provider};

fn not_found(language: Language, what: &str) -> HttpResponse {
    pages::message(
        StatusCode::NOT_FOUND,
        language,
        pick(language, "Ikke fundet", "Not found"),
        what,
        pick(
            language,
            "Se listen over testpersoner på forsiden.",
            "See the test citizens on the front page.",
        ),
    )
}

fn no_such_citizen(language: Language, user_id: &str) -> HttpResponse {
    let what = match language {
        Language::Da => format!("Ingen testperson har bruger-ID `{user_id}`."),
        Language::En => format!("No citizen has user ID `{user_id}`."),
    };
    not_found(language, &what)
}

/// Where the phone's script asks whether a request waits for `user_id`.
fn poll_url(user_id: &str, explicit: Option<Language>) -> String {
    format!(
        "/sim/phone/{user_id}/pending{}",
        explicit.map(lang_query).unwrap_or_default()
    )
}

fn phone_page(
    language: Language,
    app: AppKind,
    user_id: &str,
    request: Option<PhoneRequest>,
) -> PhonePage<'_> {
    let t = super::i18n::texts(language);
    PhonePage {
        lang: t.lang,
        banner: t.simulator_banner,
        da: language.is_danish(),
        brand: app.brand(),
        key_app: app == AppKind::NemIdKeyApp,
        user_id,
        request,
        state: "",
        heading: "",
        status: "",
        poll_url: None,
        current: String::new(),
        close_url: None,
    }
}

/// The phone of one citizen: the request waiting for them, else an idle phone that looks
/// for one every 2 seconds.
pub async fn phone(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let broker = &provider.broker;
    let explicit = super::i18n::query_language(req.query_string());
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(explicit.unwrap_or_default(), &user_id);
    };
    let pending = broker.apps.pending_for(citizen.uuid, broker.clock.now());
    let user_id = citizen.user_id.to_string();
    let language = explicit
        .or(pending.as_ref().map(|r| r.texts.language))
        .unwrap_or_default();
    let app = pending.as_ref().map(|r| r.app).unwrap_or_default();
    let current = pending
        .as_ref()
        .map(|r| request_url(&r.id, explicit))
        .unwrap_or_default();
    let mut page = phone_page(
        language,
        app,
        &user_id,
        pending.map(|r| PhoneRequest::of(r, language)),
    );
    if page.request.is_none() {
        page.state = "idle";
        page.heading = pick(language, "Ingen anmodninger", "No requests");
        page.status = pick(
            language,
            "Ingen login venter. Telefonen viser det næste, så snart det kommer.",
            "No login is waiting. The phone shows the next one as soon as it arrives.",
        );
    }
    page.poll_url = Some(poll_url(&user_id, explicit));
    page.current = current;
    pages::html(StatusCode::OK, &page)
}

fn request_url(id: &str, explicit: Option<Language>) -> String {
    format!(
        "/sim/app/{id}{}",
        explicit.map(lang_query).unwrap_or_default()
    )
}

/// For the phone's script: the request waiting for the citizen, if any.
pub async fn pending(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let broker = &provider.broker;
    let explicit = super::i18n::query_language(req.query_string());
    let Some(citizen) = broker.identities.by_user_id(&path) else {
        return HttpResponse::NotFound().json(serde_json::json!({ "error": "no such citizen" }));
    };
    let request = broker
        .apps
        .pending_for(citizen.uuid, broker.clock.now())
        .map(|r| request_url(&r.id, explicit));
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "request": request }))
}

/// What the phone shows once a request is over, until the citizen closes it.
fn ended(language: Language, state: AppRequestState) -> (&'static str, &'static str, &'static str) {
    let (name, da, en) = match state {
        AppRequestState::Approved => (
            "approved",
            (
                "Godkendt ✓",
                "Du har godkendt. Login fortsætter på computeren; du kan lukke telefonen.",
            ),
            (
                "Approved ✓",
                "You approved. The login goes on on the computer; you can close the phone.",
            ),
        ),
        AppRequestState::Rejected => (
            "rejected",
            (
                "Afvist",
                "Du har afvist anmodningen. Tjenesten får besked om, at login blev afbrudt.",
            ),
            (
                "Rejected",
                "You rejected the request. The service is told the login was cancelled.",
            ),
        ),
        AppRequestState::TimedOut => (
            "timed_out",
            ("Tiden er gået", "Anmodningen udløb, før den blev besvaret."),
            ("Time is up", "The request expired before it was answered."),
        ),
        AppRequestState::Cancelled => (
            "cancelled",
            ("Annulleret", "Login blev afbrudt på computeren."),
            ("Cancelled", "The login was cancelled on the computer."),
        ),
        AppRequestState::Pending => (
            "pending",
            ("Venter", "Anmodningen venter på dit svar."),
            ("Waiting", "The request waits for your answer."),
        ),
    };
    let (heading, text) = if language.is_danish() { da } else { en };
    (name, heading, text)
}

fn user_id_of(provider: &Provider, request: &AppRequest) -> String {
    provider
        .broker
        .identities
        .by_uuid(request.citizen)
        .map(|c| c.user_id.to_string())
        .unwrap_or_default()
}

/// The page the QR code leads to: one login request on the citizen's phone, or, once it
/// is over, how it ended (shown until the citizen closes it; it never reloads itself).
pub async fn app_request(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let broker = &provider.broker;
    let explicit = super::i18n::query_language(req.query_string());
    let Some(request) = broker.apps.get(&id) else {
        let language = explicit.unwrap_or_default();
        return not_found(
            language,
            pick(
                language,
                "Denne app-anmodning findes ikke (eller sluttede for længe siden).",
                "This app request does not exist (or ended long ago).",
            ),
        );
    };
    let language = explicit.unwrap_or(request.texts.language);
    let user_id = user_id_of(&provider, &request);
    let state = request.state_at(broker.clock.now());
    let app = request.app;
    if state == AppRequestState::Pending {
        let current = request_url(&id, explicit);
        let mut page = phone_page(
            language,
            app,
            &user_id,
            Some(PhoneRequest::of(request, language)),
        );
        // A request that ends elsewhere (time-out, cancelled on the computer) shows how.
        page.poll_url = Some(poll_url(&user_id, explicit));
        page.current = current;
        pages::html(StatusCode::OK, &page)
    } else {
        let (name, heading, status) = ended(language, state);
        let mut page = phone_page(language, app, &user_id, None);
        page.state = name;
        page.heading = heading;
        page.status = status;
        page.close_url = Some(format!("/sim/phone/{user_id}{}", lang_query(language)));
        pages::html(StatusCode::OK, &page)
    }
}

/// Swipe (approve) or reject on the phone; then the phone shows the answer (post, redirect,
/// get: a reload shows the answer again and never answers twice).
pub async fn answer_app_request(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let id = path.into_inner();
    let broker = &provider.broker;
    let explicit = super::i18n::query_language(req.query_string());
    let language = explicit
        .or(broker.apps.get(&id).map(|r| r.texts.language))
        .unwrap_or_default();
    let approve = match form.get("decision").map(String::as_str) {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return pages::message(
                StatusCode::BAD_REQUEST,
                language,
                pick(language, "Ugyldigt svar", "Invalid answer"),
                pick(
                    language,
                    "Svaret skal være approve eller reject.",
                    "decision must be approve or reject.",
                ),
                "",
            )
        }
    };
    let show = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, request_url(&id, explicit)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    match broker.apps.answer(&id, approve, broker.clock.now()) {
        Ok(_) => show,
        Err(AppError::Unknown) => not_found(
            language,
            pick(
                language,
                "Denne app-anmodning findes ikke.",
                "This app request does not exist.",
            ),
        ),
        Err(AppError::NotPending(state)) => {
            let (_, heading, status) = ended(language, state);
            pages::message(
                StatusCode::CONFLICT,
                language,
                pick(
                    language,
                    "Anmodningen venter ikke længere",
                    "The request is no longer waiting",
                ),
                &format!("{heading}: {status}"),
                "",
            )
        }
        Err(err @ AppError::ParallelRequest) => pages::message(
            StatusCode::CONFLICT,
            language,
            pick(
                language,
                "Anmodningen venter ikke længere",
                "The request is no longer waiting",
            ),
            &err.to_string(),
            "",
        ),
    }
}

pub async fn code_display(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let language = page_language(&req, None);
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(language, &user_id);
    };
    let Some(device) = &citizen.code_display else {
        let what = match language {
            Language::Da => format!("`{user_id}` har ingen kodeviser."),
            Language::En => format!("`{user_id}` has no code display."),
        };
        return not_found(language, &what);
    };
    let now = broker.clock.now();
    let t = super::i18n::texts(language);
    pages::html(
        StatusCode::OK,
        &CodeDisplayPage {
            lang: t.lang,
            banner: t.simulator_banner,
            da: language.is_danish(),
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
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let language = page_language(&req, None);
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(language, &user_id);
    };
    let Some(nemid) = &citizen.nemid else {
        let what = match language {
            Language::Da => format!("`{user_id}` har intet NemID-nøglekort."),
            Language::En => format!("`{user_id}` has no NemID code card."),
        };
        return not_found(language, &what);
    };
    let state = broker.code_cards.state(citizen.uuid, nemid);
    let next = query.get("card").is_some_and(|c| c == "next");
    if next && !state.new_card_sent {
        return not_found(
            language,
            pick(
                language,
                "Der er ikke sendt et nyt kort til denne person.",
                "No new card has been sent to this citizen.",
            ),
        );
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
    let left = state.keys_left();
    let total = code_card::KEYS_PER_CARD;
    let status = match (next, language) {
        (true, Language::Da) => "Nyt kort, endnu ikke aktiveret.".to_string(),
        (true, Language::En) => "New card, not yet activated.".to_string(),
        (false, Language::Da) => format!(
            "{left} af {total} nøgler tilbage.{}",
            if state.new_card_sent {
                " Nyt kort er sendt."
            } else {
                ""
            }
        ),
        (false, Language::En) => format!(
            "{left} of {total} keys left.{}",
            if state.new_card_sent {
                " A new card has been sent."
            } else {
                ""
            }
        ),
    };
    let t = super::i18n::texts(language);
    pages::html(
        StatusCode::OK,
        &pages::CodeCardPage {
            lang: t.lang,
            banner: t.simulator_banner,
            da: language.is_danish(),
            user_id: citizen.user_id.as_str(),
            owner: &citizen.name,
            pid: nemid.pid.as_str(),
            serial: code_card::card_serial(&nemid.pid, index),
            keys,
            status,
        },
    )
}

fn voice(language: Language) -> Voice {
    match language {
        Language::Da => Voice::Danish,
        Language::En => Voice::English,
    }
}

/// The audio code reader: the current code as speech (in the page's language), and as
/// text on request.
pub async fn audio_reader(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let language = page_language(&req, None);
    let broker = &provider.broker;
    let Some(citizen) = broker.identities.by_user_id(&user_id) else {
        return no_such_citizen(language, &user_id);
    };
    let Some(device) = citizen.totp_device(Method::AudioReader) else {
        let what = match language {
            Language::Da => format!("`{user_id}` har ingen kodeoplæser."),
            Language::En => format!("`{user_id}` has no audio code reader."),
        };
        return not_found(language, &what);
    };
    let now = broker.clock.now();
    let t = super::i18n::texts(language);
    pages::html(
        StatusCode::OK,
        &pages::AudioReaderPage {
            lang: t.lang,
            banner: t.simulator_banner,
            da: language.is_danish(),
            voice: voice(language).code(),
            user_id: citizen.user_id.as_str(),
            code: device.secret.code_at(now),
            seconds_left: device.secret.seconds_left(now),
        },
    )
}

pub async fn audio_reader_wav(
    provider: web::Data<Provider>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let user_id = path.into_inner();
    let language = page_language(&req, None);
    let broker = &provider.broker;
    let Some(device) = broker
        .identities
        .by_user_id(&user_id)
        .and_then(|c| c.totp_device(Method::AudioReader).cloned())
    else {
        let what = match language {
            Language::Da => format!("`{user_id}` har ingen kodeoplæser."),
            Language::En => format!("`{user_id}` has no audio code reader."),
        };
        return not_found(language, &what);
    };
    let code = device.secret.code_at(broker.clock.now());
    match spoken_code(&code, voice(language)) {
        Ok(wav) => HttpResponse::Ok()
            .content_type("audio/wav")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(wav),
        Err(err) => pages::message(
            StatusCode::INTERNAL_SERVER_ERROR,
            language,
            pick(language, "Lyden kunne ikke laves", "Audio failed"),
            &err.to_string(),
            "",
        ),
    }
}
