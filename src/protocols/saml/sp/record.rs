//! An SP registration in the forms besides its metadata document: TOML fixtures
//! (`[[service_provider]]`), the admin API's JSON and the state file. One record; either
//! `metadata` (a file in TOML, the document itself in JSON) or the fields inline, with
//! certificates as PEM text (or, in a fixture, a PEM file next to it).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{check_url, Endpoint, Location, ServiceProvider, SpError};
use crate::protocols::saml::credential::Certificate;
use crate::protocols::saml::vocabulary::Binding;
use crate::protocols::saml::xmlsec::DataEncryption;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpRecord {
    /// The SP's metadata: a file (relative to the TOML fixture) or, in JSON, the
    /// `md:EntityDescriptor` document itself. Only `name`, `sign_response` and
    /// `allow_simulation` may come beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// What the MitID pages call the service; default: the metadata's
    /// `OrganizationDisplayName`, else the entity ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_consumer_service: Vec<EndpointRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub single_logout_service: Vec<EndpointRecord>,
    /// PEM text (or, in TOML, a PEM file); several during a key rollover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_certificate: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_certificate: Option<String>,
    /// Content ciphers the SP prefers, as XML Encryption URIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encryption_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_response: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_simulation: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecord {
    /// `redirect`, `post`, `soap`, or the binding's URN.
    pub binding: String,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u16>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// A metadata document as read: its text and the name errors give it.
pub type MetadataText = (String, String);

/// Where the parts a record names come from.
pub struct Sources<'a> {
    /// The metadata document named by `metadata`.
    pub metadata: &'a dyn Fn(&str) -> Result<MetadataText, String>,
    /// The PEM text of a certificate value that is not PEM itself.
    pub certificate: &'a dyn Fn(&str) -> Result<String, String>,
}

impl SpRecord {
    /// The SP this record registers; `at` names the record in messages.
    pub fn into_sp(self, at: &Location, sources: &Sources) -> Result<ServiceProvider, SpError> {
        let invalid = |message: String| SpError::Invalid(at.clone(), message);
        if let Some(metadata) = &self.metadata {
            let inline = self.entity_id.is_some()
                || !self.assertion_consumer_service.is_empty()
                || !self.single_logout_service.is_empty()
                || !self.signing_certificate.is_empty()
                || self.encryption_certificate.is_some()
                || !self.encryption_methods.is_empty();
            if inline {
                return Err(invalid(
                    "give either metadata or the fields inline, not both (only name, \
                     sign_response and allow_simulation go beside metadata)"
                        .into(),
                ));
            }
            let (xml, source_name) = (sources.metadata)(metadata).map_err(&invalid)?;
            let mut sp = ServiceProvider::from_metadata(&xml, &source_name)?;
            self.apply_options(&mut sp);
            return Ok(sp);
        }
        let certificate = |text: &str| -> Result<Certificate, SpError> {
            let pem = if text.contains("-----BEGIN") {
                text.to_string()
            } else {
                (sources.certificate)(text).map_err(&invalid)?
            };
            Certificate::from_pem(pem.as_bytes())
                .map_err(|err| invalid(format!("bad certificate: {err}")))
        };
        let endpoints = |list: &[EndpointRecord]| -> Result<Vec<Endpoint>, SpError> {
            list.iter()
                .map(|e| {
                    check_url(&e.location).map_err(&invalid)?;
                    if let Some(response_location) = &e.response_location {
                        check_url(response_location).map_err(&invalid)?;
                    }
                    Ok(Endpoint {
                        binding: Binding::parse(&e.binding).ok_or_else(|| {
                            invalid(format!(
                                "unknown binding {:?}: use redirect, post or soap",
                                e.binding
                            ))
                        })?,
                        location: e.location.clone(),
                        response_location: e.response_location.clone(),
                        index: e.index,
                        is_default: e.default,
                    })
                })
                .collect()
        };
        let entity_id = self
            .entity_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| invalid("entity_id is missing (or give metadata)".into()))?;
        let signing_certificates = self
            .signing_certificate
            .iter()
            .map(|c| certificate(c))
            .collect::<Result<Vec<_>, _>>()?;
        if signing_certificates.is_empty() {
            return Err(invalid(
                "signing_certificate is missing: NemLog-in requires signed requests".into(),
            ));
        }
        let encryption_certificate =
            certificate(self.encryption_certificate.as_deref().ok_or_else(|| {
                invalid("encryption_certificate is missing: assertions are always encrypted".into())
            })?)?;
        let encryption_methods = self
            .encryption_methods
            .iter()
            .map(|uri| {
                DataEncryption::from_uri(uri)
                    .ok_or_else(|| invalid(format!("unsupported encryption method {uri}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut sp = ServiceProvider {
            entity_id,
            name: None,
            assertion_consumer_services: endpoints(&self.assertion_consumer_service)?,
            single_logout_services: endpoints(&self.single_logout_service)?,
            signing_certificates,
            encryption_certificate,
            encryption_methods,
            authn_requests_signed: true,
            want_assertions_signed: true,
            sign_response: false,
            allow_simulation: true,
        };
        self.apply_options(&mut sp);
        sp.check().map_err(&invalid)?;
        Ok(sp)
    }

    fn apply_options(&self, sp: &mut ServiceProvider) {
        if let Some(name) = self.name.as_ref().filter(|n| !n.trim().is_empty()) {
            sp.name = Some(name.trim().to_string());
        }
        if let Some(sign_response) = self.sign_response {
            sp.sign_response = sign_response;
        }
        if let Some(allow_simulation) = self.allow_simulation {
            sp.allow_simulation = allow_simulation;
        }
    }

    /// The record of a JSON registration (admin API, state file): `metadata` is the
    /// document itself and certificates are PEM text.
    pub fn into_sp_from_json(self) -> Result<ServiceProvider, SpError> {
        let at = Location {
            source: "the registration".into(),
            line: 1,
        };
        self.into_sp(
            &at,
            &Sources {
                metadata: &|xml| Ok((xml.to_string(), "metadata".into())),
                certificate: &|_| {
                    Err("a certificate must be PEM text (-----BEGIN CERTIFICATE-----)".into())
                },
            },
        )
    }
}

impl ServiceProvider {
    /// The inline record of this SP: what the admin API shows and the state file keeps.
    pub fn record(&self) -> SpRecord {
        let pem = |c: &Certificate| String::from_utf8_lossy(c.pem()).into_owned();
        let endpoints = |list: &[Endpoint]| {
            list.iter()
                .map(|e| EndpointRecord {
                    binding: e.binding.uri().to_string(),
                    location: e.location.clone(),
                    response_location: e.response_location.clone(),
                    index: e.index,
                    default: e.is_default,
                })
                .collect()
        };
        SpRecord {
            metadata: None,
            entity_id: Some(self.entity_id.clone()),
            name: self.name.clone(),
            assertion_consumer_service: endpoints(&self.assertion_consumer_services),
            single_logout_service: endpoints(&self.single_logout_services),
            signing_certificate: self.signing_certificates.iter().map(pem).collect(),
            encryption_certificate: Some(pem(&self.encryption_certificate)),
            encryption_methods: self
                .encryption_methods
                .iter()
                .map(|m| m.uri().to_string())
                .collect(),
            sign_response: Some(self.sign_response),
            allow_simulation: Some(self.allow_simulation),
        }
    }
}

/// The TOML fixture: `[[service_provider]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    service_provider: Vec<toml::Spanned<SpRecord>>,
}

/// Reads the SPs of a TOML fixture file.
pub fn from_toml_file(path: &Path) -> Result<Vec<ServiceProvider>, SpError> {
    let text = std::fs::read_to_string(path).map_err(|err| SpError::Read {
        path: path.display().to_string(),
        message: err.to_string(),
    })?;
    from_toml(&text, &path.display().to_string(), path.parent())
}

/// Reads the SPs of a TOML fixture; `dir` resolves relative file names.
pub fn from_toml(
    text: &str,
    source_name: &str,
    dir: Option<&Path>,
) -> Result<Vec<ServiceProvider>, SpError> {
    let file: FixtureFile =
        toml::from_str(text).map_err(|err| SpError::Toml(format!("{source_name}: {err}")))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u32 + 1;
    let read = |name: &str| -> Result<String, String> {
        let path = dir.map(|d| d.join(name)).unwrap_or_else(|| name.into());
        std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))
    };
    let mut seen = std::collections::HashSet::new();
    file.service_provider
        .into_iter()
        .map(|spanned| {
            let at = Location {
                source: source_name.to_string(),
                line: line_of(spanned.span().start),
            };
            let sp = spanned.into_inner().into_sp(
                &at,
                &Sources {
                    metadata: &|name| Ok((read(name)?, name.to_string())),
                    certificate: &read,
                },
            )?;
            if !seen.insert(sp.entity_id.clone()) {
                return Err(SpError::Invalid(
                    at,
                    format!("entity ID {} is registered twice", sp.entity_id),
                ));
            }
            Ok(sp)
        })
        .collect()
}

const BUILT_IN: &str = include_str!("../../../../fixtures/saml-sps.toml");

/// The SPs of the built-in `fixtures/saml-sps.toml` (the demo SP).
pub fn built_in_service_providers() -> Result<Vec<ServiceProvider>, SpError> {
    from_toml(BUILT_IN, "fixtures/saml-sps.toml (built in)", None)
}
