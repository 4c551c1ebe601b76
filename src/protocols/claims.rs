//! Claim sets of the NEB personality (Signaturgruppen / Nets eID Broker), with the names
//! and JSON types of the real broker's recorded tokens and userinfo answers
//! (tests/fixtures/neb-recorded/): numbers where it sends numbers (`iat`, `auth_time` in
//! tokens), strings where it sends strings (`session_expiry`, `mitid.age`, every userinfo
//! value).
//!
//! MitID Erhverv's professional logins add their own (`nemlogin`).

mod nemlogin;

pub use nemlogin::Professional;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authenticators::code_card::PidStatus;
use crate::flow::{Authentication, Idp};
use crate::identity::{Cvr, Identity, Loip};

/// Shown instead of the name of a citizen with name and address protection.
pub const PROTECTED_NAME: &str = "NAVNE & ADRESSEBESKYTTET";

/// `idtoken_type`, as the real broker sends it.
pub const IDTOKEN_TYPE: &str = "strict";
/// `subject_type`: the subject is mapped per client organisation.
pub const SUBJECT_TYPE: &str = "org_mapped";
/// `mitid.geo_ip_distance_km`: the simulated app and browser are in one place.
pub const GEO_IP_DISTANCE_KM: &str = "0";

/// What the authorization request that authenticated the citizen carried into MitID's
/// transaction. The real broker returns its claims (`mitid.psd2`, `mitid.reference_text`,
/// `mitid.geo_ip_distance_km`) only to that client: another client answered from the SSO
/// session later gets none of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdpTransaction {
    /// `idp_params.mitid.reference_text`, passed through (base64).
    pub reference_text: Option<String>,
}

/// Everything one login established, from which each token is cut.
#[derive(Clone, Debug)]
pub struct LoginRecord {
    pub authentication: Authentication,
    /// The broker's transaction: one per authorization response.
    pub transaction_id: Uuid,
    /// The broker session (`neb_sid`), which is also the OIDC `sid`, as at the real broker.
    pub neb_sid: Uuid,
    pub session_expiry: OffsetDateTime,
    /// `Some` when this client's request authenticated the citizen; `None` when the SSO
    /// session answered it.
    pub idp_transaction: Option<IdpTransaction>,
}

/// The pairwise subject: stable for one identity (a citizen's eID, or a professional
/// identity: `Authentication::subject_identity`) within one client organisation.
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
    /// The level of identity proofing of the professional identity a MitID Erhverv login
    /// acts as (`loip`).
    pub loip: Option<Loip>,
}

/// The id_token's claims, in the recorded order (serde_json keeps insertion order here).
/// No `jti`: recorded id_tokens carry none (the access token does).
pub fn id_token(input: IdTokenInput<'_>) -> Map<String, Value> {
    let record = input.record;
    let auth = &record.authentication;
    let iat = input.issued_at.unix_timestamp();
    let mut claims = Map::new();
    let mut put = |name: &str, value: Value| {
        claims.insert(name.to_string(), value);
    };
    put("iss", input.issuer.into());
    put("nbf", iat.into());
    put("iat", iat.into());
    put("exp", (iat + input.lifetime.whole_seconds()).into());
    put("aud", input.client_id.into());
    put("amr", json!([nemlogin::amr(auth)]));
    if let Some(nonce) = input.nonce {
        put("nonce", nonce.into());
    }
    if let Some(at_hash) = input.at_hash {
        put("at_hash", at_hash.into());
    }
    put("sid", record.neb_sid.to_string().into());
    put("sub", input.subject.into());
    put("auth_time", auth.auth_time.unix_timestamp().into());
    put("idp", auth.idp.claim().into());
    put("acr", auth.loa.uri().into());
    put("neb_sid", record.neb_sid.to_string().into());
    put("loa", auth.loa.uri().into());
    put("aal", auth.proof.aal.uri().into());
    put("ial", auth.ial.uri().into());
    if let Some(loip) = input.loip {
        put("loip", loip.name().into());
    }
    put("identity_type", nemlogin::identity_type(auth).into());
    put("transaction_id", record.transaction_id.to_string().into());
    put(
        "idp_transaction_id",
        auth.idp_transaction_id.to_string().into(),
    );
    put(
        "session_expiry",
        record.session_expiry.unix_timestamp().to_string().into(),
    );
    put("idtoken_type", IDTOKEN_TYPE.into());
    put("subject_type", SUBJECT_TYPE.into());
    // Documented as issued in the id_token only when the authentication was PSD2-compliant.
    if auth.psd2 {
        put("mitid.psd2", "true".into());
    }
    claims
}

pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub scopes: &'a [String],
    pub record: &'a LoginRecord,
    pub issued_at: OffsetDateTime,
    pub expires: OffsetDateTime,
}

/// The access token's claims, as recorded (members and order): no `aud`, `scope` as a JSON array, the
/// session and transaction ids, and a `jti` of 32 upper-case hex digits.
pub fn access_token(input: AccessTokenInput<'_>) -> Map<String, Value> {
    let record = input.record;
    let auth = &record.authentication;
    let iat = input.issued_at.unix_timestamp();
    let claims = json!({
        "iss": input.issuer,
        "nbf": iat,
        "iat": iat,
        "exp": input.expires.unix_timestamp(),
        "scope": input.scopes,
        "amr": [nemlogin::amr(auth)],
        "client_id": input.client_id,
        "sub": input.subject,
        "auth_time": auth.auth_time.unix_timestamp(),
        "idp": auth.idp.claim(),
        "acr": auth.loa.uri(),
        "neb_sid": record.neb_sid.to_string(),
        "idp_transaction_id": auth.idp_transaction_id.to_string(),
        "transaction_id": record.transaction_id.to_string(),
        "sid": record.neb_sid.to_string(),
        "jti": Uuid::new_v4().simple().to_string().to_uppercase(),
    });
    match claims {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// What userinfo is cut from.
pub struct UserinfoInput<'a> {
    pub subject: &'a str,
    /// The eID that authenticated.
    pub citizen: &'a Identity,
    /// The professional identity a MitID Erhverv login acts as.
    pub professional: Option<Professional<'a>>,
    /// Public service providers get `nemlogin.cpr`, private ones `nemlogin.cpr_uuid`.
    pub public_service_provider: bool,
    pub record: &'a LoginRecord,
    pub scopes: &'a [String],
    pub session_active: bool,
    pub now: OffsetDateTime,
}

/// Userinfo claims for the granted scopes. While the broker session is active: the
/// session's claims, the identity provider's, and those of the scopes (`mitid`, `ssn`,
/// `nemid.pid`, `nemlogin`), every value a string. Once it has ended, only `sub` and
/// `session_is_active: "false"`: the real broker returns the user's claims "if the
/// end-user session is active", and `session_expiry` "only if session is active".
pub fn userinfo(input: UserinfoInput<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut put = |name: &str, value: String| {
        claims.insert(name.to_string(), Value::String(value));
    };
    put("session_is_active", input.session_active.to_string());
    if input.session_active {
        active_claims(&mut put, &input);
    }
    put("sub", input.subject.to_string());
    claims
}

/// The claims userinfo adds while the session is active, in the real broker's order.
fn active_claims(put: &mut impl FnMut(&str, String), input: &UserinfoInput<'_>) {
    let (citizen, record, now) = (input.citizen, input.record, input.now);
    let has = |scope: &str| input.scopes.iter().any(|s| s == scope);
    let auth = &record.authentication;
    put(
        "session_expiry",
        record.session_expiry.unix_timestamp().to_string(),
    );
    put("idp", auth.idp.claim().to_string());
    put("subject_type", SUBJECT_TYPE.to_string());
    if let Some(id) = idp_identity_id(citizen, auth) {
        put("idp_identity_id", id);
    }
    put("loa", auth.loa.uri().to_string());
    put("aal", auth.proof.aal.uri().to_string());
    put("ial", auth.ial.uri().to_string());
    if has("mitid") && auth.idp == Idp::MitId {
        let name = if citizen.name_address_protected {
            PROTECTED_NAME
        } else {
            citizen.name.as_str()
        };
        put("mitid.transaction_id", auth.idp_transaction_id.to_string());
        put("mitid.uuid", citizen.uuid.to_string());
        if let Some(age) = citizen.age_on(now.date()) {
            put("mitid.age", age.to_string());
        }
        if let Some(born) = citizen.date_of_birth() {
            put("mitid.date_of_birth", born.to_string());
        }
        put("mitid.has_cpr", citizen.cpr.is_some().to_string());
        put("mitid.identity_name", name.to_string());
    }
    if let Some(professional) = input.professional.filter(|_| has("nemlogin")) {
        nemlogin::scope_claims(put, professional, input.public_service_provider);
    }
    if has("ssn") && auth.cpr_verified {
        if let Some(cpr) = citizen.cpr {
            put("dk.cpr", cpr.compact());
        }
    }
    if has("nemid.pid") {
        let (pid, status) = nemid_pid(citizen, auth);
        if let Some(pid) = pid {
            put("nemid.pid", pid);
        }
        put("nemid.pid_status", status.as_str().to_string());
    }
    // MitID's transaction: only for the client whose request authenticated the citizen.
    let transaction = record.idp_transaction.as_ref();
    if let Some(transaction) = transaction.filter(|_| has("mitid") && auth.idp == Idp::MitId) {
        put("mitid.psd2", auth.psd2.to_string());
        if let Some(text) = &transaction.reference_text {
            put("mitid.reference_text", text.clone());
        }
        put("mitid.geo_ip_distance_km", GEO_IP_DISTANCE_KM.to_string());
    }
}

/// The identity provider's own identifier of the citizen: the MitID UUID, the persistent
/// ID of the professional identity a MitID Erhverv login acts as, or the NemID PID.
fn idp_identity_id(citizen: &Identity, auth: &Authentication) -> Option<String> {
    match auth.idp {
        Idp::MitId => Some(citizen.uuid.to_string()),
        Idp::MitIdErhverv => Some(auth.professional.unwrap_or(citizen.uuid).to_string()),
        Idp::NemId => citizen.nemid.as_ref().map(|n| n.pid.number().to_string()),
    }
}

/// The NemID PID and the lookup's outcome. A NemID login knows the PID; a MitID login
/// finds it from the CPR number the citizen confirmed, which needs a NemID to find.
fn nemid_pid(citizen: &Identity, auth: &Authentication) -> (Option<String>, PidStatus) {
    let looked_up = auth.idp == Idp::NemId || (auth.cpr_verified && citizen.cpr.is_some());
    match citizen.nemid.as_ref().filter(|_| looked_up) {
        Some(nemid) if nemid.pid_status == PidStatus::Success => {
            (Some(nemid.pid.number().to_string()), PidStatus::Success)
        }
        _ => (None, PidStatus::UnableToLookup),
    }
}

/// `client_at_type` of a service token (client_credentials), as NEB's documentation shows.
pub const SERVICE_TOKEN: &str = "service_token";

pub struct ServiceTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub organisation: &'a str,
    pub cvr: Option<&'a Cvr>,
    pub scopes: &'a [String],
    pub issued_at: OffsetDateTime,
    pub expires: OffsetDateTime,
}

/// A service token's claims, in the order of the one NEB's documentation shows
/// (enterprise/controlled-transfer.md): the client, its organisation, service provider and
/// service (stable identifiers derived from the client's registration), the organisation's
/// CVR as `DK<cvr>`, and no user.
pub fn service_token(input: ServiceTokenInput<'_>) -> Map<String, Value> {
    let iat = input.issued_at.unix_timestamp();
    let stable = |kind: &str, name: &str| {
        const NAMESPACE: Uuid = Uuid::from_u128(0x5d0c_7a1e_93b4_4f2a_8c61_0e9f_b2d4_7a38);
        Uuid::new_v5(&NAMESPACE, format!("{kind}:{name}").as_bytes()).to_string()
    };
    let cvr = input
        .cvr
        .map_or_else(|| test_cvr_of(input.organisation), ToString::to_string);
    let claims = json!({
        "iss": input.issuer,
        "nbf": iat,
        "iat": iat,
        "exp": input.expires.unix_timestamp(),
        "scope": input.scopes,
        "client_id": input.client_id,
        "client_org_id": stable("organisation", input.organisation),
        "client_service_provider_id": stable("service-provider", input.organisation),
        "client_service_id": stable("service", input.client_id),
        "client_org_taxation_number": format!("DK{cvr}"),
        "client_at_type": SERVICE_TOKEN,
        "jti": Uuid::new_v4().simple().to_string().to_uppercase(),
    });
    match claims {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A fictitious test CVR number (starting with 9, as test CVRs do) for an organisation
/// that registered none: stable for the organisation's name.
fn test_cvr_of(organisation: &str) -> String {
    let digest = openssl::sha::sha256(organisation.as_bytes());
    let number = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 10_000_000;
    format!("9{number:07}")
}

/// Claims of the userinfo endpoint a userinfo token leaves out: the session's state
/// (a token outlives it) and MitID's transaction details, which the recording lacks.
const NOT_IN_USERINFO_TOKEN: [&str; 6] = [
    "session_is_active",
    "session_expiry",
    "subject_type",
    "mitid.psd2",
    "mitid.geo_ip_distance_km",
    "mitid.reference_text",
];

/// The userinfo token (scope `userinfo_token`): the id_token's identification and the
/// userinfo claims in one JWT, in the recorded order (benne/stubid CAP-021): `iss`, `nbf`,
/// `iat`, `exp`, `amr`, the `mitid.*` claims, `loa`, `ial`, `aal`, `identity_type`,
/// `idp_identity_id`, `idp`, the other scopes' claims, `acr`, the `ssn.details` claims,
/// `auth_time` (a string here), `sub`, `transaction_id`, `aud`.
pub fn userinfo_token(
    id_token: &Map<String, Value>,
    userinfo: &Map<String, Value>,
) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut copy = |from: &Map<String, Value>, name: &str| {
        if let Some(value) = from.get(name) {
            claims.insert(name.to_string(), value.clone());
        }
    };
    for name in ["iss", "nbf", "iat", "exp", "amr"] {
        copy(id_token, name);
    }
    let kept = |name: &&String| !NOT_IN_USERINFO_TOKEN.contains(&name.as_str());
    let idp_block = [
        "loa",
        "ial",
        "aal",
        "identity_type",
        "idp_identity_id",
        "idp",
    ];
    let last = ["acr", "auth_time", "sub", "transaction_id", "aud"];
    let mitid: Vec<&String> = userinfo
        .keys()
        .filter(kept)
        .filter(|n| n.starts_with("mitid."))
        .collect();
    for name in mitid {
        copy(userinfo, name);
    }
    for name in idp_block {
        copy(
            if name == "identity_type" {
                id_token
            } else {
                userinfo
            },
            name,
        );
    }
    let details = |n: &&String| n.starts_with("ssn.details");
    let others: Vec<&String> = userinfo
        .keys()
        .filter(kept)
        .filter(|n| !n.starts_with("mitid.") && !details(n))
        .filter(|n| !idp_block.contains(&n.as_str()) && !last.contains(&n.as_str()))
        .collect();
    for name in others {
        copy(userinfo, name);
    }
    copy(id_token, "acr");
    for name in userinfo.keys().filter(kept).filter(details) {
        copy(userinfo, name);
    }
    let mut as_text = Map::new();
    if let Some(auth_time) = id_token.get("auth_time") {
        as_text.insert("auth_time".into(), auth_time.to_string().into());
    }
    copy(&as_text, "auth_time");
    for name in ["sub", "transaction_id", "aud"] {
        copy(id_token, name);
    }
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
