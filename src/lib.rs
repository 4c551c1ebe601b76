//! mitid-sim: a self-hostable simulator of the Danish MitID/NemID login broker.
//!
//! The domain (`identity`, `authenticators`, `flow`, `broker`) knows nothing of HTTP or of
//! any protocol; `protocols` are the personalities on top of it (NEB's OpenID Connect,
//! NemLog-in's OIOSAML 3.0), both fronts of the same MitID login pages; `web` wires them to
//! actix.

pub mod authenticators;
pub mod broker;
pub mod conformance;
pub mod control;
pub mod demo;
pub mod files;
pub mod fixtures;
pub mod flow;
pub mod identity;
pub mod persistence;
pub mod protocols;
pub mod random;
pub mod simulator;
pub mod tls;
pub mod web;
pub use simulator::{Simulator, SimulatorBuilder};

#[cfg(test)]
mod architecture {
    use std::path::Path;

    /// Modules the domain and the protocols must not import: they sit above them.
    const ABOVE: [&str; 6] = [
        "crate::persistence",
        "crate::control",
        "crate::web",
        "crate::cli",
        "crate::conformance",
        "crate::simulator",
    ];

    fn sources(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// The domain is protocol-agnostic: each personality is an adapter over it, so no
    /// layer below the protocols names one of them.
    #[test]
    fn the_domain_names_no_protocol() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for layer in ["identity", "authenticators", "flow", "broker"] {
            sources(&root.join(layer), &mut files);
        }
        let named: Vec<String> = files
            .iter()
            .flat_map(|file| {
                let text = std::fs::read_to_string(file).unwrap();
                ["crate::protocols", "protocols::saml", "protocols::oidc"]
                    .iter()
                    .filter(|module| text.contains(*module))
                    .map(|module| format!("{} uses {module}", file.display()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(named.is_empty(), "{named:#?}");
    }

    #[test]
    fn the_domain_and_the_protocols_import_nothing_above_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for layer in ["identity", "authenticators", "flow", "broker", "protocols"] {
            sources(&root.join(layer), &mut files);
        }
        let upward: Vec<String> = files
            .iter()
            .flat_map(|file| {
                let text = std::fs::read_to_string(file).unwrap();
                ABOVE
                    .iter()
                    .filter(|module| text.contains(*module))
                    .map(|module| format!("{} uses {module}", file.display()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(upward.is_empty(), "{upward:#?}");
    }
}
