//! Claim sets of the NEB personality (Signaturgruppen / Nets eID Broker).

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::flow::{Authentication, Idp};
use crate::identity::Identity;

/// Shown instead of the name of a citizen with name and address protection.
pub const PROTECTED_NAME: &str = "NAVNE & ADRESSEBESKYTTET";

/// Everything one login established, from which each token is cut.
#[derive(Clone, Debug)]
pub struct LoginRecord {
    pub authentication: Authentication,
    pub transaction_id: Uuid,
    /// The broker session (`neb_sid`) and the OIDC session id (`sid`).
    pub neb_sid: Uuid,
    pub sid: Uuid,
    pub session_expiry: OffsetDateTime,
}

/// The pairwise subject: stable for one citizen within one client organisation.
pub fn subject(organisation: &str, citizen: Uuid) -> String {
    const NAMESPACE: Uuid = Uuid::from_u128(0x8f1d_65c2_0b7a_4b0e_9e4d_2f6a_1c3b_5d7e);
    Uuid::new_v5(&NAMESPACE, format!("{organisation}:{citizen}").as_bytes()).to_string()
}

pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub nonce: Option<&'a str>,
    pub record: &'a LoginRecord,
    pub issued_at: OffsetDateTime,
    pub lifetime: time::Duration,
    pub at_hash: Option<String>,
}

pub fn id_token(input: IdTokenInput<'_>) -> Map<String, Value> {
    let record = input.record;
    let auth = &record.authentication;
    let iat = input.issued_at.unix_timestamp();
    let mut claims = json!({
        "iss": input.issuer,
        "aud": input.client_id,
        "sub": input.subject,
        "iat": iat,
        "nbf": iat,
        "exp": iat + input.lifetime.whole_seconds(),
        "auth_time": auth.auth_time.unix_timestamp(),
        "amr": [auth.proof.amr],
        "idp": auth.idp.claim(),
        "identity_type": "private",
        "neb_sid": record.neb_sid.to_string(),
        "sid": record.sid.to_string(),
        "transaction_id": record.transaction_id.to_string(),
        "session_expiry": record.session_expiry.unix_timestamp().to_string(),
        "loa": auth.loa.uri(),
        "ial": auth.ial.uri(),
        "aal": auth.proof.aal.uri(),
    });
    let map = claims.as_object_mut().expect("a JSON object literal");
    if let Some(nonce) = input.nonce {
        map.insert("nonce".into(), nonce.into());
    }
    if let Some(at_hash) = input.at_hash {
        map.insert("at_hash".into(), at_hash.into());
    }
    // NEB issues mitid.psd2 only for a PSD2-compliant authentication (idp_params require_psd2).
    if auth.psd2 {
        map.insert("mitid.psd2".into(), "true".into());
    }
    std::mem::take(map)
}

/// Userinfo claims for the granted scopes (`mitid`, `ssn`).
pub fn userinfo(
    subject: &str,
    citizen: &Identity,
    record: &LoginRecord,
    scopes: &[String],
    session_active: bool,
    now: OffsetDateTime,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), subject.into());
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let auth = &record.authentication;
    if has("mitid") && auth.idp == Idp::MitId {
        let name = if citizen.name_address_protected {
            PROTECTED_NAME
        } else {
            citizen.name.as_str()
        };
        claims.insert("mitid.uuid".into(), citizen.uuid.to_string().into());
        claims.insert("mitid.identity_name".into(), name.into());
        claims.insert(
            "mitid.transaction_id".into(),
            record.transaction_id.to_string().into(),
        );
        claims.insert(
            "mitid.has_cpr".into(),
            citizen.cpr.is_some().to_string().into(),
        );
        if let Some(born) = citizen.date_of_birth() {
            claims.insert("mitid.date_of_birth".into(), born.to_string().into());
        }
        if let Some(age) = citizen.age_on(now.date()) {
            claims.insert("mitid.age".into(), age.to_string().into());
        }
    }
    if has("ssn") && auth.cpr_verified {
        if let Some(cpr) = citizen.cpr {
            claims.insert("dk.cpr".into(), cpr.compact().into());
        }
    }
    if has("nemid.pid") && auth.idp == Idp::NemId {
        if let Some(nemid) = &citizen.nemid {
            claims.insert("nemid.pid".into(), nemid.pid.as_str().into());
            claims.insert("nemid.pid_status".into(), nemid.pid_status.clone().into());
        }
    }
    claims.insert(
        "session_expiry".into(),
        record.session_expiry.unix_timestamp().to_string().into(),
    );
    claims.insert(
        "session_is_active".into(),
        session_active.to_string().into(),
    );
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_pairwise_per_organisation_and_stable() {
        let citizen = Uuid::new_v4();
        assert_eq!(subject("org-a", citizen), subject("org-a", citizen));
        assert_ne!(subject("org-a", citizen), subject("org-b", citizen));
    }
}
