//! Service providers registered with the IdP: read from SAML metadata (as NemLog-in's
//! administration portal takes it) or from a TOML fixture, and kept in a registry keyed by
//! entity ID. Strict: anything NemLog-in would refuse is an error with file and line.

use std::sync::Arc;

use dashmap::DashMap;

use super::credential::Certificate;
use super::vocabulary::{Binding, METADATA_NS};
use super::xmlsec::{DataEncryption, DSIG_NS};

/// Where something was read from, for error messages: `file:line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub source: String,
    pub line: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpError {
    #[error("{0}: {1}")]
    Invalid(Location, String),
    #[error("{source_name}: not well-formed XML: {message}")]
    Xml {
        source_name: String,
        message: String,
    },
    #[error("{0}")]
    Toml(String),
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("a service provider with entity ID {0} is already registered")]
    Duplicate(String),
}

/// An endpoint of the SP: an assertion consumer service or a single logout service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub binding: Binding,
    pub location: String,
    /// Where LogoutResponses go, when not to `location`.
    pub response_location: Option<String>,
    pub index: Option<u16>,
    pub is_default: bool,
}

mod record;

pub use record::{built_in_service_providers, from_toml, from_toml_file, EndpointRecord, SpRecord};

/// A registered SP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceProvider {
    pub entity_id: String,
    /// What the MitID pages call the service ("Log på hos …"): the metadata's
    /// `OrganizationDisplayName`, or the name given at registration.
    pub name: Option<String>,
    pub assertion_consumer_services: Vec<Endpoint>,
    pub single_logout_services: Vec<Endpoint>,
    /// Request signatures verify with any of these (two during a key rollover).
    pub signing_certificates: Vec<Certificate>,
    /// Assertions are encrypted to this certificate.
    pub encryption_certificate: Certificate,
    /// The SP's preferred content ciphers, from its metadata's `EncryptionMethod`s.
    pub encryption_methods: Vec<DataEncryption>,
    pub authn_requests_signed: bool,
    pub want_assertions_signed: bool,
    /// Sign the Response element too, for SPs that insist (OIOSAML 3.0: successful
    /// responses SHOULD NOT be signed; the assertion is).
    pub sign_response: bool,
    /// The SSO endpoint honours mitid-sim's `simulation` parameter for this SP (a
    /// simulator extension: NemLog-in has no simulation mode).
    pub allow_simulation: bool,
}

impl ServiceProvider {
    /// The name the login pages show.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.entity_id)
    }

    /// The ACS a request names by URL or index, else the default one. Only HTTP-POST ACSs
    /// qualify: NemLog-in answers with the POST binding.
    pub fn assertion_consumer_service(
        &self,
        url: Option<&str>,
        index: Option<u16>,
    ) -> Option<&Endpoint> {
        let post = || {
            self.assertion_consumer_services
                .iter()
                .filter(|acs| acs.binding == Binding::HttpPost)
        };
        match (url, index) {
            (Some(url), _) => post().find(|acs| acs.location == url),
            (None, Some(index)) => post().find(|acs| acs.index == Some(index)),
            (None, None) => post()
                .find(|acs| acs.is_default)
                .or_else(|| post().min_by_key(|acs| acs.index.unwrap_or(u16::MAX))),
        }
    }

    pub fn single_logout_service(&self, binding: Binding) -> Option<&Endpoint> {
        self.single_logout_services
            .iter()
            .find(|slo| slo.binding == binding)
    }

    /// The content cipher for this SP's assertions: its first supported preference, else
    /// AES-256-CBC (what the OIOSAML reference implementations default to and decrypt).
    pub fn data_encryption(&self) -> DataEncryption {
        self.encryption_methods
            .first()
            .copied()
            .unwrap_or(DataEncryption::Aes256Cbc)
    }

    /// Reads an SP's metadata document (an `md:EntityDescriptor` with an `SPSSODescriptor`).
    pub fn from_metadata(xml: &str, source_name: &str) -> Result<ServiceProvider, SpError> {
        let doc = roxmltree::Document::parse(xml).map_err(|err| SpError::Xml {
            source_name: source_name.into(),
            message: err.to_string(),
        })?;
        let at = |node: roxmltree::Node| Location {
            source: source_name.to_string(),
            line: doc.text_pos_at(node.range().start).row,
        };
        let invalid = |node: roxmltree::Node, message: String| SpError::Invalid(at(node), message);
        let root = doc.root_element();
        if !is(root, "EntityDescriptor", METADATA_NS) {
            return Err(invalid(
                root,
                format!(
                    "expected an md:EntityDescriptor ({METADATA_NS}), found {}",
                    root.tag_name().name()
                ),
            ));
        }
        let entity_id = root
            .attribute("entityID")
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| invalid(root, "EntityDescriptor has no entityID".into()))?;
        let sso = root
            .children()
            .find(|n| is(*n, "SPSSODescriptor", METADATA_NS))
            .ok_or_else(|| {
                invalid(
                    root,
                    "no SPSSODescriptor: this is not an SP's metadata".into(),
                )
            })?;
        let flag = |name: &str| -> Result<bool, SpError> {
            match sso.attribute(name) {
                None | Some("false") | Some("0") => Ok(false),
                Some("true") | Some("1") => Ok(true),
                Some(other) => Err(invalid(sso, format!("{name}=\"{other}\" is not a boolean"))),
            }
        };
        let authn_requests_signed = flag("AuthnRequestsSigned")?;
        let want_assertions_signed = flag("WantAssertionsSigned")?;

        let mut signing = Vec::new();
        let mut encryption = Vec::new();
        let mut encryption_methods = Vec::new();
        for descriptor in sso
            .children()
            .filter(|n| is(*n, "KeyDescriptor", METADATA_NS))
        {
            let certificate_node = descriptor
                .descendants()
                .find(|n| is(*n, "X509Certificate", DSIG_NS))
                .ok_or_else(|| {
                    invalid(
                        descriptor,
                        "KeyDescriptor without a ds:X509Certificate".into(),
                    )
                })?;
            let certificate = Certificate::from_base64(certificate_node.text().unwrap_or_default())
                .map_err(|err| invalid(certificate_node, format!("bad certificate: {err}")))?;
            let usage = descriptor.attribute("use");
            if usage != Some("encryption") {
                signing.push(certificate.clone());
            }
            if usage != Some("signing") {
                encryption.push(certificate);
                for method in descriptor
                    .children()
                    .filter(|n| is(*n, "EncryptionMethod", METADATA_NS))
                {
                    if let Some(alg) = method
                        .attribute("Algorithm")
                        .and_then(DataEncryption::from_uri)
                    {
                        encryption_methods.push(alg);
                    }
                }
            }
        }
        if signing.is_empty() {
            return Err(invalid(
                sso,
                "no signing certificate: NemLog-in requires signed requests".into(),
            ));
        }
        let encryption_certificate = encryption.into_iter().next().ok_or_else(|| {
            invalid(
                sso,
                "no encryption certificate: NemLog-in always encrypts assertions".into(),
            )
        })?;

        let endpoints = |name: &str| -> Result<Vec<Endpoint>, SpError> {
            sso.children()
                .filter(|n| is(*n, name, METADATA_NS))
                .map(|node| {
                    let binding_text = node.attribute("Binding").unwrap_or_default();
                    let binding = Binding::parse(binding_text).ok_or_else(|| {
                        invalid(node, format!("unknown binding {binding_text:?}"))
                    })?;
                    let location = node
                        .attribute("Location")
                        .ok_or_else(|| invalid(node, format!("{name} without Location")))?;
                    check_url(location).map_err(|message| invalid(node, message))?;
                    let index = node
                        .attribute("index")
                        .map(|text| {
                            text.parse::<u16>().map_err(|_| {
                                invalid(node, format!("index {text:?} is not a number"))
                            })
                        })
                        .transpose()?;
                    Ok(Endpoint {
                        binding,
                        location: location.to_string(),
                        response_location: node.attribute("ResponseLocation").map(str::to_string),
                        index,
                        is_default: node.attribute("isDefault") == Some("true"),
                    })
                })
                .collect()
        };
        let assertion_consumer_services = endpoints("AssertionConsumerService")?;
        let single_logout_services = endpoints("SingleLogoutService")?;
        let name = root
            .children()
            .find(|n| is(*n, "Organization", METADATA_NS))
            .and_then(|org| {
                org.children()
                    .find(|n| is(*n, "OrganizationDisplayName", METADATA_NS))
            })
            .and_then(|n| n.text())
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string);
        let sp = ServiceProvider {
            entity_id: entity_id.to_string(),
            name,
            assertion_consumer_services,
            single_logout_services,
            signing_certificates: signing,
            encryption_certificate,
            encryption_methods,
            authn_requests_signed,
            want_assertions_signed,
            sign_response: false,
            allow_simulation: true,
        };
        sp.check().map_err(|message| invalid(sso, message))?;
        Ok(sp)
    }

    /// Rules that hold whichever form the SP came in.
    pub(crate) fn check(&self) -> Result<(), String> {
        if !self
            .assertion_consumer_services
            .iter()
            .any(|acs| acs.binding == Binding::HttpPost)
        {
            return Err(
                "no AssertionConsumerService with the HTTP-POST binding: NemLog-in answers by POST"
                    .into(),
            );
        }
        let mut indexes = std::collections::HashSet::new();
        for acs in &self.assertion_consumer_services {
            if let Some(index) = acs.index {
                if !indexes.insert(index) {
                    return Err(format!(
                        "AssertionConsumerService index {index} is used twice"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn is(node: roxmltree::Node, name: &str, ns: &str) -> bool {
    node.is_element() && node.tag_name().name() == name && node.tag_name().namespace() == Some(ns)
}

pub(crate) fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|err| format!("{text:?} is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} is not an http(s) URL"));
    }
    if url.fragment().is_some() {
        return Err(format!("{text:?} has a fragment"));
    }
    Ok(())
}

/// The registered SPs, by entity ID.
#[derive(Default)]
pub struct SpRegistry {
    by_entity_id: DashMap<String, Arc<ServiceProvider>>,
}

impl SpRegistry {
    pub fn new() -> SpRegistry {
        SpRegistry::default()
    }

    /// Adds a new SP; an entity ID registered already is refused.
    pub fn register(&self, sp: ServiceProvider) -> Result<Arc<ServiceProvider>, SpError> {
        use dashmap::mapref::entry::Entry;
        match self.by_entity_id.entry(sp.entity_id.clone()) {
            Entry::Occupied(_) => Err(SpError::Duplicate(sp.entity_id)),
            Entry::Vacant(slot) => Ok(slot.insert(Arc::new(sp)).clone()),
        }
    }

    /// Adds or replaces (new metadata for a known SP).
    pub fn upsert(&self, sp: ServiceProvider) -> Arc<ServiceProvider> {
        let sp = Arc::new(sp);
        self.by_entity_id.insert(sp.entity_id.clone(), sp.clone());
        sp
    }

    pub fn get(&self, entity_id: &str) -> Option<Arc<ServiceProvider>> {
        self.by_entity_id.get(entity_id).map(|sp| sp.clone())
    }

    pub fn remove(&self, entity_id: &str) -> Option<Arc<ServiceProvider>> {
        self.by_entity_id.remove(entity_id).map(|(_, sp)| sp)
    }

    pub fn all(&self) -> Vec<Arc<ServiceProvider>> {
        let mut all: Vec<_> = self
            .by_entity_id
            .iter()
            .map(|e| e.value().clone())
            .collect();
        all.sort_by(|a, b| a.entity_id.cmp(&b.entity_id));
        all
    }
}

#[cfg(test)]
mod tests;
