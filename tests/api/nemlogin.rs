//! The NemLog-in personality over HTTP (phase A: the IdP metadata document).

use mitid_sim::protocols::saml::credential::Certificate;
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
