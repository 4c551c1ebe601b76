//! What an RP does with keys in these tests: its own key pairs, client assertions
//! (private_key_jwt), DPoP proofs, and decrypting what the broker encrypted to it. Built
//! with josekit and openssl, as an RP library would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner};
use josekit::jwt::{self, JwtPayload};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// A fresh RSA key pair (2048 bits) with a `kid`.
pub fn rsa_key(kid: &str) -> Jwk {
    let mut key = Jwk::generate_rsa_key(2048).unwrap();
    key.set_key_id(kid);
    key
}

/// A fresh P-256 key pair with a `kid`.
pub fn ec_key(kid: &str) -> Jwk {
    let mut key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    key.set_key_id(kid);
    key
}

/// The public half, as a JWKS member, optionally marked with a `use`.
pub fn public(key: &Jwk, key_use: Option<&str>) -> Value {
    let mut public = key.to_public_key().unwrap();
    if let Some(kid) = key.key_id() {
        public.set_key_id(kid);
    }
    if let Some(key_use) = key_use {
        public.set_key_use(key_use);
    }
    Value::Object(public.as_ref().clone())
}

pub fn jwks(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

fn signer(alg: &str, key: &Jwk) -> Box<dyn JwsSigner> {
    use josekit::jws::*;
    match alg {
        "RS256" => Box::new(RS256.signer_from_jwk(key).unwrap()),
        "RS512" => Box::new(RS512.signer_from_jwk(key).unwrap()),
        "PS256" => Box::new(PS256.signer_from_jwk(key).unwrap()),
        "ES256" => Box::new(ES256.signer_from_jwk(key).unwrap()),
        "HS256" => Box::new(HS256.signer_from_jwk(key).unwrap()),
        other => panic!("no signer for {other} in the tests"),
    }
}

/// A compact JWS of `claims` with the given header members (`kid` from the key unless
/// the header names one or says `"kid": null`).
pub fn sign(alg: &str, key: &Jwk, header_members: Value, claims: Value) -> String {
    let mut header = JwsHeader::new();
    if let Some(kid) = key.key_id() {
        header.set_key_id(kid);
    }
    for (name, value) in header_members.as_object().unwrap() {
        let value = (!value.is_null()).then(|| value.clone());
        header.set_claim(name, value).unwrap();
    }
    let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
    jwt::encode_with_signer(&payload, &header, &*signer(alg, key)).unwrap()
}

pub fn random_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl TestApp {
    pub fn now(&self) -> i64 {
        self.sim.clock().unix()
    }

    /// Userinfo for a bearer token.
    pub async fn userinfo_with(&self, access_token: &str) -> reqwest::Response {
        self.browser
            .get(self.url("/op/connect/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// RFC 7523 claims for `client_id`, addressed to `aud`, valid for a minute.
    pub fn assertion_claims(&self, client_id: &str, aud: &str) -> Value {
        let now = self.now();
        json!({
            "iss": client_id,
            "sub": client_id,
            "aud": aud,
            "jti": random_jti(),
            "iat": now,
            "exp": now + 60,
        })
    }

    /// A valid private_key_jwt assertion, as openid-client sends it (`aud` = issuer).
    pub fn assertion(&self, client_id: &str, key: &Jwk, alg: &str) -> String {
        let claims = self.assertion_claims(client_id, self.sim.issuer());
        sign(alg, key, json!({}), claims)
    }

    /// A client-authenticated POST with a client assertion.
    pub async fn post_with_assertion(
        &self,
        path: &str,
        assertion: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = vec![
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ];
        fields.extend_from_slice(form);
        self.browser
            .post(self.url(path))
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// A DPoP proof (RFC 9449 §4.2) for `method` at `url`, with `ath` when a token is given.
    pub fn dpop_proof(&self, key: &Jwk, method: &str, url: &str, token: Option<&str>) -> String {
        let mut claims = json!({
            "jti": random_jti(),
            "htm": method,
            "htu": url,
            "iat": self.now(),
        });
        if let Some(token) = token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(openssl::sha::sha256(token.as_bytes()))
                .into();
        }
        let alg = if key.key_type() == "EC" {
            "ES256"
        } else {
            "PS256"
        };
        dpop_proof_with(alg, key, claims)
    }
}

/// A DPoP proof with the given claims, its public key in the header.
pub fn dpop_proof_with(alg: &str, key: &Jwk, claims: Value) -> String {
    sign(
        alg,
        key,
        json!({ "typ": "dpop+jwt", "kid": null, "jwk": public(key, None) }),
        claims,
    )
}

/// The RFC 7638 thumbprint of a public key, computed as an RP library does.
pub fn thumbprint(key: &Jwk) -> String {
    let public = public(key, None);
    let canonical = match key.key_type() {
        "EC" => json!({ "crv": public["crv"], "kty": "EC", "x": public["x"], "y": public["y"] }),
        _ => json!({ "e": public["e"], "kty": "RSA", "n": public["n"] }),
    };
    // serde_json keeps insertion order, and these are inserted sorted.
    URL_SAFE_NO_PAD.encode(openssl::sha::sha256(canonical.to_string().as_bytes()))
}

/// Decrypts a compact JWE the broker encrypted to `key`; returns the plaintext and header.
pub fn decrypt(token: &str, key: &Jwk) -> (Vec<u8>, Value) {
    use josekit::jwe::*;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    let decrypter: Box<dyn JweDecrypter> = match header["alg"].as_str().unwrap() {
        "RSA-OAEP" => Box::new(RSA_OAEP.decrypter_from_jwk(key).unwrap()),
        "RSA-OAEP-256" => Box::new(RSA_OAEP_256.decrypter_from_jwk(key).unwrap()),
        "RSA-OAEP-512" => Box::new(RSA_OAEP_512.decrypter_from_jwk(key).unwrap()),
        "ECDH-ES" => Box::new(ECDH_ES.decrypter_from_jwk(key).unwrap()),
        "ECDH-ES+A128KW" => Box::new(ECDH_ES_A128KW.decrypter_from_jwk(key).unwrap()),
        other => panic!("no decrypter for {other} in the tests"),
    };
    let (plain, _) = deserialize_compact(token, &*decrypter).expect("the JWE decrypts");
    (plain, header)
}

/// Verifies a JWS the broker signed against its published JWKS; returns the claims.
pub async fn verify_with_broker_jwks(app: &TestApp, token: &str) -> Value {
    let jwks: Value = app
        .get(&app.url("/op/.well-known/openid-configuration/jwks"))
        .await
        .json()
        .await
        .unwrap();
    let header = crate::helpers::decode_header(token);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is published");
    let jwk = Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
    let verifier: Box<dyn josekit::jws::JwsVerifier> = match header["alg"].as_str().unwrap() {
        "RS256" => Box::new(josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap()),
        "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk).unwrap()),
        "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
        other => panic!("unexpected alg {other}"),
    };
    let (payload, _) =
        jwt::decode_with_verifier(token, &*verifier).expect("the signature verifies");
    Value::Object(payload.claims_set().clone())
}
