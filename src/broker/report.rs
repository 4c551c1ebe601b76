//! Everything about one citizen, including the live state of their devices, as shown by
//! `mitid-sim users show` and the admin API.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::Broker;
use crate::authenticators::code_card;
use crate::authenticators::{AppRegistry, CodeCards, CodeDisplayGuard, Method};
use crate::identity::Identity;

/// The device registries a report reads; a running broker's, or fresh ones offline.
pub struct Devices<'a> {
    pub apps: &'a AppRegistry,
    pub code_displays: &'a CodeDisplayGuard,
    pub code_cards: &'a CodeCards,
}

impl Broker {
    pub fn devices(&self) -> Devices<'_> {
        Devices {
            apps: &self.apps,
            code_displays: &self.code_displays,
            code_cards: &self.code_cards,
        }
    }

    pub fn citizen_report(&self, citizen: &Identity) -> Value {
        citizen_report(citizen, &self.devices(), self.clock.now())
    }
}

pub fn citizen_report(citizen: &Identity, devices: &Devices<'_>, now: OffsetDateTime) -> Value {
    let totp = |method: Method| {
        citizen.totp_device(method).map(|device| {
            let (wrong_codes, blocked_until) =
                devices.code_displays.status((citizen.uuid, method), now);
            json!({
                "current_code": device.secret.code_at(now),
                "seconds_left": device.secret.seconds_left(now),
                "wrong_codes": wrong_codes,
                "blocked_until": blocked_until.map(|t| t.unix_timestamp()),
            })
        })
    };
    let app = citizen.app.map(|app| {
        let pending = devices.apps.pending_for(citizen.uuid, now).map(|r| {
            json!({ "id": r.id, "client": r.client_name, "expires": r.expires.unix_timestamp() })
        });
        json!({ "answer": app.answer, "level": app.level, "pending_request": pending })
    });
    let nemid = citizen.nemid.as_ref().map(|nemid| {
        let card = devices.code_cards.state(citizen.uuid, nemid);
        json!({
            "pid": nemid.pid.as_str(),
            "pid_status": nemid.pid_status,
            "card_serial": code_card::card_serial(&nemid.pid, card.card_index),
            "keys_left": card.keys_left(),
            "keys_used": card.used.len(),
            "new_card_sent": card.new_card_sent,
            "key_app_active": card.key_app_active,
        })
    });
    let relations: Vec<Value> = citizen
        .relations
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind,
                "name": r.name,
                "cpr": r.cpr.to_string(),
                "custody_in_cpr": r.custody_in_cpr(),
            })
        })
        .collect();
    json!({
        "user_id": citizen.user_id.as_str(),
        "purpose": citizen.purpose,
        "uuid": citizen.uuid,
        "name": citizen.name,
        "cpr_name": citizen.cpr_name.as_deref().unwrap_or(&citizen.name),
        "cpr": citizen.cpr.map(|c| c.to_string()),
        "date_of_birth": citizen.date_of_birth().map(|d| d.to_string()),
        "age": citizen.age_on(now.date()),
        "gender": citizen.cpr.map(|c| c.gender()),
        "status": citizen.status,
        "ial": citizen.ial,
        "name_address_protected": citizen.name_address_protected,
        "authenticators": citizen.all_methods(),
        "app": app,
        "code_display": totp(Method::CodeDisplay),
        "audio_reader": totp(Method::AudioReader),
        "chip": citizen.chip,
        "password_login": citizen.password_login,
        "nemid": nemid,
        "relations": relations,
    })
}
