//! The simulated CPR register, a **simulator-only** API (`/sim/cpr/v1/...`): what a public
//! service such as borger.dk's Min Side looks up about the citizen who logged in, beyond
//! the token — the name in CPR, name and address protection, children with custody, and
//! whom the citizen may act for. The real broker has no such endpoint; real services ask
//! CPR (Datafordeleren / Serviceplatformen) with their own agreements.
//!
//! Access takes a bearer access token that this broker issued, while its session lives,
//! and answers only about the citizen the token is for.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::identity::{Identity, RelationKind};
use crate::protocols::oidc::Provider;

/// The path prefix of the simulator-only register API.
pub const PREFIX: &str = "/sim/cpr/v1";

/// The OpenAPI 3 description of this API, served at `<PREFIX>/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/register-openapi.json");

#[derive(Debug, Serialize, PartialEq)]
pub struct Person {
    pub cpr: String,
    /// The name in the CPR register.
    pub name: String,
    /// The name in MitID (the eID), which may differ from the CPR name.
    pub eid_name: String,
    pub date_of_birth: String,
    pub name_address_protected: bool,
    pub children: Vec<Child>,
    /// People the citizen may act on behalf of.
    pub may_act_for: Vec<Principal>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Child {
    pub name: String,
    pub cpr: String,
    pub date_of_birth: String,
    /// CPR records custody only for children born on or after 1 May 2004.
    pub custody_registered: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Principal {
    /// `guardian`: the citizen is this person's guardian (værge); `power_of_attorney`: the
    /// citizen holds a power of attorney (fuldmagt) from them.
    pub basis: &'static str,
    pub name: String,
    pub cpr: String,
    pub date_of_birth: String,
}

impl Person {
    /// The register's view of a citizen; `None` for citizens without a CPR number.
    pub fn of(identity: &Identity) -> Option<Self> {
        let cpr = identity.cpr?;
        let mut children = Vec::new();
        let mut may_act_for = Vec::new();
        for relation in &identity.relations {
            let (name, cpr) = (relation.name.clone(), relation.cpr.to_string());
            let date_of_birth = relation.cpr.birth_date().to_string();
            match relation.kind {
                RelationKind::Child => children.push(Child {
                    custody_registered: relation.custody_in_cpr(),
                    name,
                    cpr,
                    date_of_birth,
                }),
                RelationKind::Ward => may_act_for.push(Principal {
                    basis: "guardian",
                    name,
                    cpr,
                    date_of_birth,
                }),
                RelationKind::PowerOfAttorney => may_act_for.push(Principal {
                    basis: "power_of_attorney",
                    name,
                    cpr,
                    date_of_birth,
                }),
            }
        }
        Some(Self {
            cpr: cpr.to_string(),
            name: identity
                .cpr_name
                .clone()
                .unwrap_or_else(|| identity.name.clone()),
            eid_name: identity.name.clone(),
            date_of_birth: cpr.birth_date().to_string(),
            name_address_protected: identity.name_address_protected,
            children,
            may_act_for,
        })
    }
}

fn refused(status: actix_web::http::StatusCode, error: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"mitid-sim CPR register\", error=\"{error}\""),
        ));
    }
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": error, "message": message }))
}

/// `GET /sim/cpr/v1/person`: the register's record of the access token's citizen.
pub async fn person(provider: web::Data<Provider>, req: HttpRequest) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(token) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "send an access token of this broker: Authorization: Bearer <access_token>",
        );
    };
    let now = provider.broker.clock.now();
    let Some(grant) = provider.grants.access_token(token, now) else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is unknown, expired or revoked",
        );
    };
    // RFC 9449 §7.2: a DPoP-bound token is worthless as a bearer token, and this API
    // takes no proofs.
    if grant.jkt.is_some() {
        return refused(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is bound to a DPoP key (RFC 9449); this register takes bearer tokens only",
        );
    }
    // As userinfo: personal data only while the login's broker session lives.
    if !provider
        .broker
        .sessions
        .is_active(grant.record.neb_sid, now)
    {
        return refused(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the broker session of this access token has ended",
        );
    }
    let Some(citizen) = provider.broker.identities.by_uuid(grant.citizen) else {
        return refused(
            StatusCode::NOT_FOUND,
            "not_in_register",
            "the citizen no longer exists",
        );
    };
    match Person::of(&citizen) {
        Some(person) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(person),
        None => refused(
            StatusCode::NOT_FOUND,
            "not_in_register",
            "the citizen has no CPR number, so the CPR register holds nothing about them",
        ),
    }
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::built_in_users;

    fn citizen(user_id: &str) -> Identity {
        built_in_users()
            .unwrap()
            .into_iter()
            .find(|c| c.user_id.as_str() == user_id)
            .unwrap()
    }

    #[test]
    fn custody_is_registered_only_for_children_born_from_may_2004() {
        let person = Person::of(&citizen("foraelder")).unwrap();
        let custody: Vec<_> = person
            .children
            .iter()
            .map(|c| (c.date_of_birth.as_str(), c.custody_registered))
            .collect();
        assert_eq!(custody, [("2003-09-01", false), ("2006-06-12", true)]);
        assert!(person.may_act_for.is_empty());
    }

    #[test]
    fn guardians_and_attorneys_may_act_for_their_principals() {
        let guardian = Person::of(&citizen("vaerge")).unwrap();
        assert_eq!(guardian.may_act_for[0].basis, "guardian");
        assert_eq!(guardian.may_act_for[0].name, "Ærtebjerg Myndling");
        let attorney = Person::of(&citizen("fuldmagt")).unwrap();
        assert_eq!(attorney.may_act_for[0].basis, "power_of_attorney");
        assert_eq!(attorney.may_act_for[0].cpr, "090938-1246");
    }

    #[test]
    fn names_protection_and_citizens_without_cpr() {
        let different = Person::of(&citizen("navne.forskel")).unwrap();
        assert_eq!(different.name, "Jens-Peter Sørensen Kragh");
        assert_eq!(different.eid_name, "Jens Peter Sørensen");
        let protected = Person::of(&citizen("beskyttet")).unwrap();
        assert!(protected.name_address_protected);
        assert_eq!(
            protected.name, "Gitte Skjult",
            "the register has the real name"
        );
        assert!(Person::of(&citizen("uden.cpr")).is_none());
    }
}
