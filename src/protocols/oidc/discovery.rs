//! The discovery document (OpenID Connect Discovery 1.0 §3): only what is implemented.

use serde_json::{json, Value};

use super::clients::SUPPORTED_SCOPES;
use super::{paths, Provider};

pub const CLAIMS_SUPPORTED: [&str; 29] = [
    "iss",
    "aud",
    "sub",
    "iat",
    "nbf",
    "exp",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "idp",
    "identity_type",
    "neb_sid",
    "sid",
    "transaction_id",
    "session_expiry",
    "session_is_active",
    "loa",
    "ial",
    "aal",
    "mitid.uuid",
    "mitid.age",
    "mitid.date_of_birth",
    "mitid.identity_name",
    "mitid.transaction_id",
    "mitid.has_cpr",
    "dk.cpr",
    "nemid.pid",
    "nemid.pid_status",
];

impl Provider {
    pub fn discovery(&self) -> Value {
        // T09 of the conformance catalogue: a discovery document naming another issuer.
        let issuer = self.acting_issuer();
        json!({
            "issuer": issuer,
            "authorization_endpoint": self.endpoint(paths::AUTHORIZE),
            "token_endpoint": self.endpoint(paths::TOKEN),
            "userinfo_endpoint": self.endpoint(paths::USERINFO),
            "jwks_uri": self.endpoint(paths::JWKS),
            "end_session_endpoint": self.endpoint(paths::END_SESSION),
            "revocation_endpoint": self.endpoint(paths::REVOCATION),
            "introspection_endpoint": self.endpoint(paths::INTROSPECTION),
            "scopes_supported": SUPPORTED_SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": CLAIMS_SUPPORTED,
            "claim_types_supported": ["normal"],
            "prompt_values_supported": ["none", "login"],
            "ui_locales_supported": ["da", "en"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": true,
            "frontchannel_logout_session_supported": true,
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })
    }

    pub async fn jwks(&self) -> Result<Value, crate::broker::keys::KeyError> {
        self.broker.keys.jwks().await
    }
}
