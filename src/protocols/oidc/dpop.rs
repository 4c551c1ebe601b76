//! DPoP (RFC 9449): proofs of possession of a client's key. At the token endpoint a proof
//! binds the access token to the key (`cnf.jkt`, `token_type: DPoP`); at userinfo a bound
//! token is accepted only with a fresh proof by the same key that also names the token
//! (`ath`). The real broker's discovery lists the algorithms
//! (`dpop_signing_alg_values_supported`); mitid-sim checks every proof as §4.3 says.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jwt;
use serde_json::{Map, Value};

use super::algorithms::JwsAlg;
use super::replay::{Refusal, ReplayCache};

/// The asymmetric algorithms the real broker lists, in its order: a proof is signed with
/// a private key whose public half travels in it, so shared keys make no sense (§4.2).
pub const ALGORITHMS: [JwsAlg; 9] = [
    JwsAlg::RS256,
    JwsAlg::RS384,
    JwsAlg::RS512,
    JwsAlg::PS256,
    JwsAlg::PS384,
    JwsAlg::PS512,
    JwsAlg::ES256,
    JwsAlg::ES384,
    JwsAlg::ES512,
];

/// How old a proof's `iat` may be (§11.1: a short window, as proofs are single use).
pub const MAX_AGE: i64 = 300;
/// How far ahead of the broker's clock a proof's `iat` may be.
pub const CLOCK_SKEW: i64 = 60;

/// The request a proof must be for.
pub struct Expected<'a> {
    /// `htm`: the HTTP method.
    pub method: &'a str,
    /// `htu`: the URI of the endpoint, compared without query and fragment.
    pub url: &'a str,
    /// At a resource (userinfo): the access token, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
}

/// The JWK SHA-256 thumbprint (RFC 7638) of the key a valid proof was signed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jkt(pub String);

/// Checks one proof (§4.3) and remembers its `jti` so it cannot be used again.
pub fn verify(
    proof: &str,
    expected: &Expected<'_>,
    now: i64,
    replays: &ReplayCache,
) -> Result<Jkt, String> {
    let header = jwt::decode_header(proof).map_err(|_| "the DPoP proof is not a JWT")?;
    let member = |name: &str| header.claim(name);
    if member("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("the proof's typ must be dpop+jwt".into());
    }
    let alg: JwsAlg = member("alg")
        .and_then(Value::as_str)
        .unwrap_or("none")
        .parse()?;
    if !ALGORITHMS.contains(&alg) {
        return Err(format!("{alg} is not an asymmetric DPoP algorithm"));
    }
    let jwk = member("jwk")
        .and_then(Value::as_object)
        .ok_or("the proof has no jwk header")?;
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err("the proof's jwk holds a private key".into());
    }
    let key = Jwk::from_map(jwk.clone()).map_err(|err| format!("the proof's jwk: {err}"))?;
    let verifier = alg
        .verifier(&key)
        .map_err(|err| format!("the proof's jwk does not fit {alg}: {err}"))?;
    let (payload, _) = jwt::decode_with_verifier(proof, &*verifier)
        .map_err(|_| "the proof's signature does not verify with its jwk")?;
    let claims = payload.claims_set();
    check_claims(claims, expected, now)?;
    let jkt = thumbprint(jwk)?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    replays
        .accept_once(
            format!("{}\u{0}{jti}", jkt.0),
            now + MAX_AGE + CLOCK_SKEW,
            now,
        )
        .map_err(|refusal| match refusal {
            Refusal::Replayed => format!("the proof's jti `{jti}` was used before"),
            Refusal::Full => "too many DPoP proofs in flight; try again shortly".into(),
        })?;
    Ok(jkt)
}

fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
    now: i64,
) -> Result<(), String> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("jti").is_none_or(str::is_empty) {
        return Err("the proof has no jti".into());
    }
    if text("htm") != Some(expected.method) {
        return Err(format!(
            "the proof's htm is {:?}, not {}",
            text("htm"),
            expected.method
        ));
    }
    let htu = text("htu").ok_or("the proof has no htu")?;
    if !same_uri(htu, expected.url) {
        return Err(format!("the proof's htu {htu} is not {}", expected.url));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("the proof has no iat")?;
    if iat < now - MAX_AGE {
        return Err(format!("the proof is too old (iat {iat}, now {now})"));
    }
    if iat > now + CLOCK_SKEW {
        return Err(format!(
            "the proof is from the future (iat {iat}, now {now})"
        ));
    }
    if let Some(token) = expected.access_token {
        let hash = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(token.as_bytes()));
        match text("ath") {
            Some(ath) if ath == hash => {}
            Some(_) => return Err("the proof's ath is not the hash of this access token".into()),
            None => return Err("the proof has no ath (the access token's hash)".into()),
        }
    }
    Ok(())
}

/// §4.3 item 9: `htu` matches without query and fragment, after RFC 3986 normalisation
/// (scheme and host case, default port), which the URL parser does.
fn same_uri(presented: &str, expected: &str) -> bool {
    let strip = |text: &str| {
        url::Url::parse(text).ok().map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        })
    };
    matches!((strip(presented), strip(expected)), (Some(a), Some(b)) if a == b)
}

/// RFC 7638: SHA-256 of the key's required members, in lexicographic order, as JSON
/// without whitespace; base64url.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<Jkt, String> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let required: &[&str] = match kty {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(format!("no thumbprint for kty `{other}`")),
    };
    let mut members = Vec::with_capacity(required.len());
    for name in required {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the jwk has no `{name}`"))?;
        members.push(format!("{}:{}", Value::from(*name), Value::from(value)));
    }
    let canonical = format!("{{{}}}", members.join(","));
    Ok(Jkt(
        URL_SAFE_NO_PAD.encode(openssl::sha::sha256(canonical.as_bytes()))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::alg::ec::EcCurve;
    use josekit::jws::{JwsHeader, ES256, RS256};
    use josekit::jwt::JwtPayload;
    use serde_json::json;

    #[test]
    fn the_thumbprint_is_rfc_7638s_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap().0,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    fn proof(key: &Jwk, alg: &str, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header
            .set_claim(
                "jwk",
                Some(Value::Object(key.to_public_key().unwrap().as_ref().clone())),
            )
            .unwrap();
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        let signer: Box<dyn josekit::jws::JwsSigner> = match alg {
            "ES256" => Box::new(ES256.signer_from_jwk(key).unwrap()),
            _ => Box::new(RS256.signer_from_jwk(key).unwrap()),
        };
        jwt::encode_with_signer(&payload, &header, &*signer).unwrap()
    }

    const URL: &str = "https://broker.example/op/connect/token";

    fn expected() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    #[test]
    fn a_valid_proof_gives_its_keys_thumbprint_once() {
        let key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let replays = ReplayCache::new(10);
        let token = proof(
            &key,
            "ES256",
            json!({ "jti": "a", "htm": "POST", "htu": format!("{URL}?x=1"), "iat": 1000 }),
        );
        let jkt = verify(&token, &expected(), 1000, &replays).unwrap();
        let public = key.to_public_key().unwrap();
        assert_eq!(jkt, thumbprint(public.as_ref()).unwrap());
        let again = verify(&token, &expected(), 1001, &replays).unwrap_err();
        assert!(again.contains("used before"), "{again}");
    }

    #[test]
    fn proofs_for_another_request_or_time_are_refused() {
        let key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
        let replays = ReplayCache::new(100);
        let check =
            |claims: Value| verify(&proof(&key, "ES256", claims), &expected(), 1000, &replays);
        assert!(check(json!({ "jti": "1", "htm": "GET", "htu": URL, "iat": 1000 })).is_err());
        assert!(check(
            json!({ "jti": "2", "htm": "POST", "htu": "https://other.example/token", "iat": 1000 })
        )
        .is_err());
        assert!(
            check(json!({ "jti": "3", "htm": "POST", "htu": URL, "iat": 1000 - MAX_AGE - 1 }))
                .is_err()
        );
        assert!(check(
            json!({ "jti": "4", "htm": "POST", "htu": URL, "iat": 1000 + CLOCK_SKEW + 1 })
        )
        .is_err());
        assert!(check(json!({ "htm": "POST", "htu": URL, "iat": 1000 })).is_err());
        let at_resource = Expected {
            method: "GET",
            url: URL,
            access_token: Some("token"),
        };
        let no_ath = proof(
            &key,
            "ES256",
            json!({ "jti": "5", "htm": "GET", "htu": URL, "iat": 1000 }),
        );
        assert!(verify(&no_ath, &at_resource, 1000, &replays).is_err());
        let ath = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(b"token"));
        let with_ath = proof(
            &key,
            "ES256",
            json!({ "jti": "6", "htm": "GET", "htu": URL, "iat": 1000, "ath": ath }),
        );
        assert!(verify(&with_ath, &at_resource, 1000, &replays).is_ok());
    }

    #[test]
    fn a_proof_with_a_wrong_typ_or_a_symmetric_alg_is_refused() {
        let key = Jwk::generate_rsa_key(2048).unwrap();
        let replays = ReplayCache::new(10);
        let good = proof(
            &key,
            "RS256",
            json!({ "jti": "x", "htm": "POST", "htu": URL, "iat": 1000 }),
        );
        let (head, rest) = good.split_once('.').unwrap();
        let mut header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
        header["typ"] = "JWT".into();
        let retyped = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert!(verify(&retyped, &expected(), 1000, &replays)
            .unwrap_err()
            .contains("typ"));
        header["typ"] = "dpop+jwt".into();
        header["alg"] = "HS256".into();
        let symmetric = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert!(verify(&symmetric, &expected(), 1000, &replays).is_err());
    }
}
