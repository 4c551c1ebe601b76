//! What Min Side shows a logged-in citizen: their details, children, whom they may act
//! for, and the sensitive page behind a fresh login.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::register::Person;
use super::sessions::{Citizen, Snapshot};
use super::texts::{self, Lang, Texts};
use super::unix_now;
use super::web::{
    access, csrf_ok, frame, language, message, no_session, page, redirect, with_language, Access,
    Frame, State, OVERVIEW_PATH, SENSITIVE_PATH,
};

#[derive(Template)]
#[template(path = "demo/front.html")]
struct FrontPage {
    frame: Frame,
    broker: String,
}

#[derive(Template)]
#[template(path = "demo/overview.html")]
struct OverviewPage {
    frame: Frame,
    csrf: String,
    view: View,
}

#[derive(Template)]
#[template(path = "demo/sensitive.html")]
struct SensitivePage {
    frame: Frame,
    confirmed_at: String,
    principals: Vec<PrincipalRow>,
}

pub async fn front(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let citizen = match access(&state, &req).await {
        Access::Alive(_, snapshot) => Some((display_name(&snapshot.citizen), snapshot.csrf)),
        _ => None,
    };
    let broker = url::Url::parse(&state.rp.issuer)
        .and_then(|u| u.join("/"))
        .map(|u| u.to_string())
        .unwrap_or_default();
    let body = FrontPage {
        frame: frame(lang, citizen, "/"),
        broker,
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

/// The name at the top of the page: the CPR name for citizens in the register, else the
/// name MitID gave.
fn display_name(citizen: &Citizen) -> String {
    match &citizen.person {
        Some(person) => person.name.clone(),
        None => citizen
            .userinfo
            .get("mitid.identity_name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
    }
}

pub struct ChildRow {
    pub name: String,
    pub cpr: String,
    pub born: String,
    pub custody_registered: bool,
}

pub struct PrincipalRow {
    pub name: String,
    pub cpr: String,
    pub born: String,
    pub basis: &'static str,
    pub chosen: bool,
}

/// What the overview shows, prepared for the template.
pub struct View {
    pub name: String,
    pub in_register: bool,
    pub eid_name: Option<String>,
    pub cpr: String,
    pub born: String,
    pub protected: bool,
    pub children: Vec<ChildRow>,
    pub principals: Vec<PrincipalRow>,
    pub acting_for: Option<PrincipalRow>,
    pub developer: Vec<(&'static str, String)>,
}

fn principals(person: Option<&Person>, t: &Texts, chosen: Option<&str>) -> Vec<PrincipalRow> {
    person
        .map(|p| p.may_act_for.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|p| PrincipalRow {
            name: p.name.clone(),
            cpr: p.cpr.clone(),
            born: texts::date(&p.date_of_birth, t),
            basis: if p.basis == "guardian" {
                t.basis_guardian
            } else {
                t.basis_power_of_attorney
            },
            chosen: chosen == Some(p.cpr.as_str()),
        })
        .collect()
}

fn view(snapshot: &Snapshot, lang: Lang) -> View {
    let t = texts::of(lang);
    let citizen = &snapshot.citizen;
    let person = citizen.person.as_ref();
    let info = |name: &str| {
        citizen
            .userinfo
            .get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let principals = principals(person, t, snapshot.acting_for.as_deref());
    let acting_for = principals.iter().find(|p| p.chosen).map(|p| PrincipalRow {
        name: p.name.clone(),
        cpr: p.cpr.clone(),
        born: p.born.clone(),
        basis: p.basis,
        chosen: true,
    });
    View {
        name: display_name(citizen),
        in_register: person.is_some(),
        eid_name: person
            .filter(|p| p.eid_name != p.name)
            .map(|p| p.eid_name.clone()),
        cpr: person.map(|p| p.cpr.clone()).unwrap_or_default(),
        born: texts::date(
            &person
                .map(|p| p.date_of_birth.clone())
                .unwrap_or_else(|| info("mitid.date_of_birth")),
            t,
        ),
        protected: person.is_some_and(|p| p.name_address_protected),
        children: person
            .map(|p| p.children.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|c| ChildRow {
                name: c.name.clone(),
                cpr: c.cpr.clone(),
                born: texts::date(&c.date_of_birth, t),
                custody_registered: c.custody_registered,
            })
            .collect(),
        principals,
        acting_for,
        developer: vec![
            ("id_token", pretty(&citizen.claims)),
            ("userinfo", pretty(&citizen.userinfo)),
            ("/sim/cpr/v1/person", pretty(&citizen.person)),
        ],
    }
}

/// What the developer section shows: the claims and the register record, never tokens.
fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

pub async fn overview(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let (_, snapshot) = match access(&state, &req).await {
        Access::Alive(id, snapshot) => (id, snapshot),
        other => return no_session(&state, other, "/login"),
    };
    let view = view(&snapshot, lang);
    let body = OverviewPage {
        frame: frame(
            lang,
            Some((view.name.clone(), snapshot.csrf.clone())),
            OVERVIEW_PATH,
        ),
        csrf: snapshot.csrf.clone(),
        view,
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}

#[derive(Deserialize)]
pub struct ActFor {
    csrf: String,
    /// Empty: the citizen acts for themselves.
    #[serde(default)]
    cpr: String,
}

/// Chooses whom the citizen acts for: themselves, or someone who gave them a power of
/// attorney or whose guardian they are.
pub async fn act_for(
    state: web::Data<State>,
    req: HttpRequest,
    form: web::Form<ActFor>,
) -> HttpResponse {
    let (lang, _) = language(&state, &req);
    let t = texts::of(lang);
    let (id, snapshot) = match access(&state, &req).await {
        Access::Alive(id, snapshot) => (id, snapshot),
        other => return no_session(&state, other, "/login"),
    };
    if !csrf_ok(&snapshot.csrf, &form.csrf) {
        return message(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            t.refused,
            t.stale_form,
            "",
        );
    }
    let allowed = snapshot
        .citizen
        .person
        .as_ref()
        .is_some_and(|p| p.may_act_for.iter().any(|m| m.cpr == form.cpr));
    let choice = match form.cpr.as_str() {
        "" => None,
        cpr if allowed => Some(cpr.to_string()),
        _ => {
            return message(
                &state,
                lang,
                StatusCode::FORBIDDEN,
                t.refused,
                t.not_allowed_to_act,
                "",
            )
        }
    };
    state.sessions.act_for(&id, choice);
    redirect(OVERVIEW_PATH).finish()
}

/// The sensitive page: only within a few minutes of a fresh authentication.
pub async fn sensitive(state: web::Data<State>, req: HttpRequest) -> HttpResponse {
    let (lang, lang_cookie) = language(&state, &req);
    let t = texts::of(lang);
    let snapshot = match access(&state, &req).await {
        Access::Alive(_, snapshot) => snapshot,
        other => return no_session(&state, other, "/login?fresh=1"),
    };
    let fresh = snapshot
        .fresh_at
        .is_some_and(|at| at.elapsed() < state.settings.fresh_login_valid);
    if !fresh {
        return redirect("/login?fresh=1").finish();
    }
    let confirmed = snapshot
        .fresh_at
        .map(|at| {
            let ago = at.elapsed().as_secs() as i64;
            texts::clock_time(unix_now() - ago)
        })
        .unwrap_or_default();
    let body = SensitivePage {
        frame: frame(
            lang,
            Some((display_name(&snapshot.citizen), snapshot.csrf.clone())),
            SENSITIVE_PATH,
        ),
        confirmed_at: confirmed,
        principals: principals(snapshot.citizen.person.as_ref(), t, None),
    }
    .render();
    with_language(page(&state, StatusCode::OK, body), lang_cookie)
}
