//! The discovery document (OpenID Connect Discovery 1.0 §3) as the real broker publishes
//! it (recorded in tests/fixtures/neb-recorded/discovery.json): its members, with the
//! simulator's URLs, and of what it advertises only what mitid-sim emulates. Members
//! that the real document has and mitid-sim leaves out, or gives another value, are
//! listed with their reason in the fidelity ledger (docs/fidelity.toml), which a test
//! holds against this document. To advertise a new feature, add its member here in the
//! recorded order and update the ledger row that named it.

use serde_json::{json, Map, Value};

use super::algorithms::{ContentAlg, JwsAlg, KeyAlg};
use super::{dpop, paths, Provider};
use crate::broker::keys::{KeyType, SigningAlg};

/// Client authentication at the token, revocation and introspection endpoints. Public
/// clients (`none`, with PKCE) work too but are not advertised, as at the real broker.
const CLIENT_AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

fn names<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> Value {
    json!(items.iter().map(|item| name(*item)).collect::<Vec<_>>())
}

impl Provider {
    pub fn discovery(&self) -> Value {
        Value::Object(self.discovery_members().into_iter().collect::<Map<_, _>>())
    }

    /// The members, in the real document's order.
    fn discovery_members(&self) -> Vec<(String, Value)> {
        // T09 of the conformance catalogue: a discovery document naming another issuer.
        let issuer = self.acting_issuer();
        let members = [
            ("issuer", json!(issuer)),
            ("jwks_uri", json!(self.endpoint(paths::JWKS))),
            (
                "authorization_endpoint",
                json!(self.endpoint(paths::AUTHORIZE)),
            ),
            ("token_endpoint", json!(self.endpoint(paths::TOKEN))),
            ("userinfo_endpoint", json!(self.endpoint(paths::USERINFO))),
            (
                "end_session_endpoint",
                json!(self.endpoint(paths::END_SESSION)),
            ),
            // backchannel_authentication_endpoint (CIBA): not emulated.
            // pushed_authorization_request_endpoint, require_pushed_authorization_requests:
            // PAR is not emulated yet.
            ("frontchannel_logout_supported", json!(true)),
            ("frontchannel_logout_session_supported", json!(true)),
            ("backchannel_logout_supported", json!(true)),
            ("backchannel_logout_session_supported", json!(true)),
            (
                "grant_types_supported",
                json!(["authorization_code", "client_credentials", "refresh_token"]),
            ),
            ("response_types_supported", json!(["code"])),
            ("response_modes_supported", json!(["query"])),
            (
                "token_endpoint_auth_methods_supported",
                json!(CLIENT_AUTH_METHODS),
            ),
            (
                "token_endpoint_auth_signing_alg_values_supported",
                names(&JwsAlg::ALL, JwsAlg::name),
            ),
            (
                "revocation_endpoint_auth_methods_supported",
                json!(CLIENT_AUTH_METHODS),
            ),
            (
                "revocation_endpoint_auth_signing_alg_values_supported",
                names(&JwsAlg::ALL, JwsAlg::name),
            ),
            (
                "introspection_endpoint_auth_methods_supported",
                json!(CLIENT_AUTH_METHODS),
            ),
            (
                "introspection_endpoint_auth_signing_alg_values_supported",
                names(&JwsAlg::ALL, JwsAlg::name),
            ),
            (
                "id_token_signing_alg_values_supported",
                json!(self.id_token_algs()),
            ),
            (
                "userinfo_signing_alg_values_supported",
                json!(self.userinfo_algs()),
            ),
            ("subject_types_supported", json!(["public"])),
            ("code_challenge_methods_supported", json!(["S256"])),
            ("request_parameter_supported", json!(false)),
            ("request_uri_parameter_supported", json!(false)),
            ("prompt_values_supported", json!(["login", "none"])),
            (
                "authorization_response_iss_parameter_supported",
                json!(true),
            ),
            // backchannel_* (CIBA): not emulated.
            (
                "dpop_signing_alg_values_supported",
                names(&dpop::ALGORITHMS, JwsAlg::name),
            ),
            // request_object_*: not emulated.
        ];
        let mut members: Vec<(String, Value)> = members
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        self.add_encryption_members(&mut members);
        members
    }

    /// Response encryption, which the real broker's document does not list: advertised
    /// (after the signing algorithms, as OIDC Discovery orders them) while a registered
    /// client uses it, like the ES256 key.
    fn add_encryption_members(&self, members: &mut Vec<(String, Value)>) {
        let clients = self.clients.all();
        for (what, used) in [
            (
                "id_token",
                clients
                    .iter()
                    .any(|c| c.id_token_encrypted_response_alg.is_some()),
            ),
            (
                "userinfo",
                clients
                    .iter()
                    .any(|c| c.userinfo_encrypted_response_alg.is_some()),
            ),
        ] {
            let after = format!("{what}_signing_alg_values_supported");
            let Some(at) = members.iter().position(|(name, _)| *name == after) else {
                continue;
            };
            if used {
                members.splice(
                    at + 1..at + 1,
                    [
                        (
                            format!("{what}_encryption_alg_values_supported"),
                            names(&KeyAlg::ALL, KeyAlg::name),
                        ),
                        (
                            format!("{what}_encryption_enc_values_supported"),
                            names(&ContentAlg::ALL, ContentAlg::name),
                        ),
                    ],
                );
            }
        }
    }

    /// RS256, as the real broker says, and any other algorithm a registered client uses.
    fn id_token_algs(&self) -> Vec<&'static str> {
        let clients = self.clients.all();
        SigningAlg::ALL
            .into_iter()
            .filter(|alg| {
                *alg == SigningAlg::RS256
                    || clients
                        .iter()
                        .any(|c| c.id_token_signed_response_alg == *alg)
            })
            .map(SigningAlg::name)
            .collect()
    }

    /// RS256, as the real broker says, and any other algorithm a client's signed userinfo
    /// uses.
    fn userinfo_algs(&self) -> Vec<&'static str> {
        let clients = self.clients.all();
        SigningAlg::ALL
            .into_iter()
            .filter(|alg| {
                *alg == SigningAlg::RS256
                    || clients
                        .iter()
                        .any(|c| c.userinfo_signed_response_alg == Some(*alg))
            })
            .map(SigningAlg::name)
            .collect()
    }

    /// The JWKS: the RSA keys, and the EC keys while a client signs with ES256.
    pub async fn jwks(&self) -> Result<Value, crate::broker::keys::KeyError> {
        let with_ec = self.clients.all().iter().any(|c| {
            c.id_token_signed_response_alg.key_type() == KeyType::Ec
                || c.userinfo_signed_response_alg
                    .is_some_and(|alg| alg.key_type() == KeyType::Ec)
        });
        self.broker.keys.jwks(with_ec).await
    }
}
