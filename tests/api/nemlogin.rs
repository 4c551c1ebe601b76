//! The NemLog-in personality over HTTP, without an SP library: the IdP metadata, SP
//! registration through the admin API and across restarts, and requests that cannot be
//! trusted. (pysaml2 drives the full flows in `saml_flows`.)

use mitid_sim::protocols::saml::credential::{Certificate, Credential};
use mitid_sim::protocols::saml::idp::METADATA_PATH;
use mitid_sim::protocols::saml::xmlsec::verify_root;
use mitid_sim::Simulator;

use crate::helpers::spawn_with;

fn signing_certificate(metadata: &str) -> Certificate {
    let doc = roxmltree::Document::parse(metadata).unwrap();
    let text = doc
        .descendants()
        .find(|n| n.tag_name().name() == "KeyDescriptor" && n.attribute("use") == Some("signing"))
        .and_then(|n| {
            n.descendants()
                .find(|d| d.tag_name().name() == "X509Certificate")
        })
        .and_then(|n| n.text())
        .expect("a signing certificate");
    Certificate::from_base64(text).unwrap()
}

#[tokio::test]
async fn the_idp_metadata_is_served_signed_and_its_keys_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("mitid-sim-nemlogin-{}", uuid::Uuid::new_v4()));
    let app = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let response = app.get(&app.url(METADATA_PATH)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let metadata = response.text().await.unwrap();
    let base = app.sim.base_url().to_string();
    assert!(metadata.contains(&format!("entityID=\"{base}/nemlogin\"")));
    assert!(metadata.contains(&format!("Location=\"{base}/nemlogin/idp/saml/3.0/\"")));
    let certificate = signing_certificate(&metadata);
    assert!(verify_root(&metadata, certificate.der()).unwrap());
    assert!(dir.join("nemlogin/signing.key.pem").exists());
    app.sim.stop().await;

    let again = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let metadata = again
        .get(&again.url(METADATA_PATH))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        signing_certificate(&metadata),
        certificate,
        "SPs keep their pinned certificate"
    );
    again.sim.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

/// An SP's metadata as an SP library publishes it, for `certificate`.
fn sp_metadata(entity_id: &str, certificate: &Certificate) -> String {
    let cert = certificate.base64();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{entity_id}/slo"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{entity_id}/acs" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
  <md:Organization><md:OrganizationName xml:lang="da">Testkommune</md:OrganizationName><md:OrganizationDisplayName xml:lang="da">Testkommune Selvbetjening</md:OrganizationDisplayName><md:OrganizationURL xml:lang="da">{entity_id}</md:OrganizationURL></md:Organization>
</md:EntityDescriptor>
"#
    )
}

fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn service_providers_are_registered_shown_faulted_and_removed_through_the_admin_api() {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let app = spawn_with(Simulator::builder()).await;
    let (status, sps) = app
        .admin(Method::GET, "/nemlogin/service-providers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sps[0]["entity_id"], "http://localhost:8080/saml/metadata",
        "the built-in demo SP"
    );

    let key = Credential::generate("admin test SP").unwrap();
    let entity = "https://kommune.example.dk/saml";
    let metadata = sp_metadata(entity, key.certificate());
    let (status, sp) = app
        .admin(
            Method::POST,
            "/nemlogin/service-providers",
            Some(json!({ "metadata": metadata })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    assert_eq!(sp["name"], "Testkommune Selvbetjening", "from the metadata");
    assert_eq!(
        sp["assertion_consumer_service"][0]["location"],
        format!("{entity}/acs")
    );
    assert_eq!(sp["allow_simulation"], true);
    assert_eq!(sp["pending_faults"], json!([]));
    // The same entity again replaces it; its inline form registers it as well.
    let mut inline = sp.clone();
    inline.as_object_mut().unwrap().remove("pending_faults");
    inline["name"] = json!("Omdøbt");
    let (status, replaced) = app
        .admin(Method::POST, "/nemlogin/service-providers", Some(inline))
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["name"], "Omdøbt");

    let path = format!("/nemlogin/service-providers/{}", segment(entity));
    let (status, shown) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        shown["entity_id"], entity,
        "the entity ID travels as one path segment"
    );

    // Registration errors say where.
    let broken = metadata.replace("use=\"encryption\"", "use=\"signing\"");
    let (status, error) = app
        .admin(
            Method::POST,
            "/nemlogin/service-providers",
            Some(json!({ "metadata": broken })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error["message"],
        "metadata:3: no encryption certificate: NemLog-in always encrypts assertions"
    );
    let (status, error) = app
        .admin(
            Method::POST,
            "/nemlogin/service-providers",
            Some(json!({ "entity_id": "x", "signing_certificate": ["sp.crt"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("must be PEM text"),
        "{error}"
    );

    // Faults: named, counted, shown, cleared.
    let faults = format!("{path}/faults");
    let (status, pending) = app
        .admin(
            Method::POST,
            &faults,
            Some(json!({ "fault": "wrong_audience", "count": 2 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        pending["pending_faults"],
        json!(["wrong_audience", "wrong_audience"])
    );
    let (status, error) = app
        .admin(Method::POST, &faults, Some(json!({ "fault": "nonsense" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("signature_wrapping"),
        "the refusal lists the faults: {error}"
    );
    let (status, _) = app
        .admin(
            Method::POST,
            &faults,
            Some(json!({ "fault": "wrong_audience", "count": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, cleared) = app.admin(Method::DELETE, &faults, None).await;
    assert_eq!(cleared["pending_faults"], json!([]));

    let (status, deleted) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["deleted"], entity);
    for (method, path) in [(Method::GET, path.clone()), (Method::POST, faults.clone())] {
        let (status, error) = app
            .admin(method, &path, Some(json!({ "fault": "wrong_audience" })))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    }
    app.sim.stop().await;
}

#[tokio::test]
async fn registered_service_providers_survive_a_restart_with_the_state_dir() {
    use reqwest::{Method, StatusCode};
    use serde_json::json;
    let dir = std::env::temp_dir().join(format!("mitid-sim-nemlogin-{}", uuid::Uuid::new_v4()));
    let app = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let key = Credential::generate("kept SP").unwrap();
    let entity = "https://kept.example.dk/saml";
    let (status, _) = app
        .admin(
            Method::POST,
            "/nemlogin/service-providers",
            Some(json!({ "metadata": sp_metadata(entity, key.certificate()), "sign_response": true })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/nemlogin/service-providers/http%3A%2F%2Flocalhost%3A8080%2Fsaml%2Fmetadata",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the demo SP goes");
    app.sim.stop().await;

    let again = spawn_with(Simulator::builder().state_dir(&dir)).await;
    let (_, sps) = again
        .admin(Method::GET, "/nemlogin/service-providers", None)
        .await;
    let entities: Vec<&str> = sps
        .as_array()
        .unwrap()
        .iter()
        .map(|sp| sp["entity_id"].as_str().unwrap())
        .collect();
    assert_eq!(entities, [entity], "the saved registry, not the fixtures");
    assert_eq!(sps[0]["sign_response"], true);
    assert_eq!(sps[0]["name"], "Testkommune Selvbetjening");
    again.sim.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_authn_request_that_cannot_be_trusted_gets_an_error_page_and_never_a_redirect() {
    use mitid_sim::protocols::saml::binding::{redirect_url, Field};
    let app = spawn_with(Simulator::builder()).await;
    // The built-in demo SP, whose test-only key is certs/demo-sp.pem.
    let pem = include_bytes!("../../certs/demo-sp.pem");
    let demo = Credential::from_pem(pem, pem).unwrap();
    let endpoint = app.url("/nemlogin/idp/saml/3.0/");
    let request = |destination: &str| {
        let now = app
            .sim
            .clock()
            .now()
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{}" Version="2.0" IssueInstant="{now}" Destination="{destination}"><saml:Issuer>http://localhost:8080/saml/metadata</saml:Issuer></samlp:AuthnRequest>"#,
            uuid::Uuid::new_v4().simple(),
        )
    };
    let cases = [
        (request(&endpoint), None, "not signed"),
        (
            request("https://elsewhere.example/idp"),
            Some(&demo),
            "is not this IdP",
        ),
        (
            request(&endpoint),
            Some(&Credential::generate("someone else").unwrap()),
            "does not verify",
        ),
    ];
    for (xml, signer, says) in &cases {
        let url = redirect_url(&endpoint, Field::SamlRequest, xml, Some("rs"), *signer).unwrap();
        let response = app.get(&url).await;
        assert_eq!(response.status(), 400, "{says}");
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{says}: {html}");
    }
    // Signed by the demo SP: the MitID pages, which name the service.
    let url = redirect_url(
        &endpoint,
        Field::SamlRequest,
        &request(&endpoint),
        None,
        Some(&demo),
    )
    .unwrap();
    let response = app.get(&url).await;
    let login = crate::helpers::assert_is_redirect_to(&response, "/login/");
    let page = app.page(&login).await;
    assert!(page.html.contains("Demo-tjeneste (SAML)"), "{}", page.html);
    app.sim.stop().await;
}
