//! The names SAML 2.0 and OIOSAML 3.0 give things on the wire.

use time::Duration;

use crate::identity::Loa;

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// NemLog-in's public SAML extensions (the AppSwitch element).
pub const NEMLOGIN_EXTENSIONS_NS: &str = "https://data.gov.dk/eid/saml/extensions";

pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub const ATTRNAME_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

/// NemLog-in's clock skew: OIOSAML's reference implementations allow 5 minutes either way.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// How long a request stays acceptable after its IssueInstant (plus the skew).
pub const MESSAGE_LIFETIME: Duration = Duration::minutes(3);
/// `SubjectConfirmationData/@NotOnOrAfter`: the SP must use the assertion within this.
pub const BEARER_LIFETIME: Duration = Duration::minutes(5);
/// `Conditions/@NotOnOrAfter`.
pub const ASSERTION_LIFETIME: Duration = Duration::hours(1);

/// A SAML protocol binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    HttpRedirect,
    HttpPost,
    Soap,
    Artifact,
}

impl Binding {
    pub fn uri(self) -> &'static str {
        match self {
            Binding::HttpRedirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            Binding::HttpPost => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            Binding::Soap => "urn:oasis:names:tc:SAML:2.0:bindings:SOAP",
            Binding::Artifact => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact",
        }
    }

    /// The URN, or the short names the TOML fixtures use (`redirect`, `post`, `soap`).
    pub fn parse(text: &str) -> Option<Binding> {
        [
            Binding::HttpRedirect,
            Binding::HttpPost,
            Binding::Soap,
            Binding::Artifact,
        ]
        .into_iter()
        .find(|b| b.uri() == text)
        .or(match text {
            "redirect" | "http-redirect" => Some(Binding::HttpRedirect),
            "post" | "http-post" => Some(Binding::HttpPost),
            "soap" => Some(Binding::Soap),
            "artifact" | "http-artifact" => Some(Binding::Artifact),
            _ => None,
        })
    }
}

/// NSIS level of assurance as an `AuthnContextClassRef`
/// (`https://data.gov.dk/concept/core/nsis/loa/Substantial`).
pub const LOA_CLASS_PREFIX: &str = "https://data.gov.dk/concept/core/nsis/loa/";

pub fn loa_class_ref(loa: Loa) -> String {
    format!("{LOA_CLASS_PREFIX}{}", loa_value(loa))
}

pub fn loa_from_class_ref(text: &str) -> Option<Loa> {
    match text.strip_prefix(LOA_CLASS_PREFIX)? {
        "Low" => Some(Loa::Low),
        "Substantial" => Some(Loa::Substantial),
        "High" => Some(Loa::High),
        _ => None,
    }
}

/// The value of the loa, ial and aal attributes: the bare level name.
pub fn loa_value(loa: Loa) -> &'static str {
    match loa {
        Loa::Low => "Low",
        Loa::Substantial => "Substantial",
        Loa::High => "High",
    }
}

/// The attribute profile an SP asks for with an `AuthnContextClassRef`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Profile {
    /// A citizen (`https://data.gov.dk/eid/Person`).
    Person,
    /// An employee of an organisation, MitID Erhverv (`https://data.gov.dk/eid/Professional`).
    Professional,
}

impl Profile {
    pub fn class_ref(self) -> &'static str {
        match self {
            Profile::Person => "https://data.gov.dk/eid/Person",
            Profile::Professional => "https://data.gov.dk/eid/Professional",
        }
    }

    pub fn from_class_ref(text: &str) -> Option<Profile> {
        [Profile::Person, Profile::Professional]
            .into_iter()
            .find(|p| p.class_ref() == text)
    }
}

/// OIOSAML 3.0 attribute names (all `attrname-format:uri`).
pub mod attribute {
    pub const SPEC_VERSION: &str = "https://data.gov.dk/model/core/specVersion";
    pub const SPEC_VERSION_VALUE: &str = "OIO-SAML-3.0";
    pub const LOA: &str = "https://data.gov.dk/concept/core/nsis/loa";
    pub const IAL: &str = "https://data.gov.dk/concept/core/nsis/ial";
    pub const AAL: &str = "https://data.gov.dk/concept/core/nsis/aal";
    pub const FULL_NAME: &str = "https://data.gov.dk/model/core/eid/fullName";
    pub const FIRST_NAME: &str = "https://data.gov.dk/model/core/eid/firstName";
    pub const LAST_NAME: &str = "https://data.gov.dk/model/core/eid/lastName";
    pub const ALIAS: &str = "https://data.gov.dk/model/core/eid/alias";
    pub const EMAIL: &str = "https://data.gov.dk/model/core/eid/email";
    pub const CPR_NUMBER: &str = "https://data.gov.dk/model/core/eid/cprNumber";
    pub const CPR_UUID: &str = "https://data.gov.dk/model/core/eid/cprUuid";
    pub const AGE: &str = "https://data.gov.dk/model/core/eid/age";
    pub const DATE_OF_BIRTH: &str = "https://data.gov.dk/model/core/eid/dateOfBirth";
    pub const PID: &str = "https://data.gov.dk/model/core/eid/person/pid";
    pub const PROFESSIONAL_UUID: &str =
        "https://data.gov.dk/model/core/eid/professional/uuid/persistent";
    pub const RID: &str = "https://data.gov.dk/model/core/eid/professional/rid";
    pub const CVR: &str = "https://data.gov.dk/model/core/eid/professional/cvr";
    pub const ORG_NAME: &str = "https://data.gov.dk/model/core/eid/professional/orgName";
    pub const PRODUCTION_UNIT: &str =
        "https://data.gov.dk/model/core/eid/professional/productionUnit";
    pub const SE_NUMBER: &str = "https://data.gov.dk/model/core/eid/professional/seNumber";
    pub const AUTHORIZED_TO_REPRESENT: &str =
        "https://data.gov.dk/model/core/eid/professional/authorizedToRepresent";
    pub const PRIVILEGES: &str = "https://data.gov.dk/model/core/eid/privilegesIntermediate";
}

/// SAML status codes (SAML core §3.2.2.2).
pub mod status {
    pub const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
    pub const REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
    pub const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    pub const VERSION_MISMATCH: &str = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch";
    pub const AUTHN_FAILED: &str = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
    pub const NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
    pub const NO_PASSIVE: &str = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
    pub const REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
    pub const REQUEST_UNSUPPORTED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported";
    pub const INVALID_NAMEID_POLICY: &str =
        "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy";
    pub const UNKNOWN_PRINCIPAL: &str = "urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal";
    pub const UNSUPPORTED_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding";
    pub const PARTIAL_LOGOUT: &str = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout";
}

/// A SAML status: a top-level code, an optional second-level code and a message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub code: &'static str,
    pub sub_code: Option<&'static str>,
    pub message: Option<String>,
}

impl Status {
    pub fn success() -> Status {
        Status {
            code: status::SUCCESS,
            sub_code: None,
            message: None,
        }
    }

    pub fn requester(sub_code: &'static str, message: impl Into<String>) -> Status {
        Status {
            code: status::REQUESTER,
            sub_code: Some(sub_code),
            message: Some(message.into()),
        }
    }

    pub fn responder(sub_code: &'static str, message: impl Into<String>) -> Status {
        Status {
            code: status::RESPONDER,
            sub_code: Some(sub_code),
            message: Some(message.into()),
        }
    }

    pub fn is_success(&self) -> bool {
        self.code == status::SUCCESS
    }
}
