//! HTTPS for `serve --tls` and `demo --tls`: a local certificate authority (CA) that
//! mitid-sim creates once and keeps, and the server certificate it issues for the names
//! the broker answers to; or a certificate and key the user brings.
//!
//! Many RP libraries refuse an `http://` issuer or need HTTPS for `Secure` cookies. Trusting
//! one local CA (instead of turning verification off) keeps their TLS checks honest.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslMethod};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

/// The folder under the state folder that holds the local CA and server certificate.
pub const TLS_FOLDER: &str = "tls";
pub const CA_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const SERVER_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";

const CA_DAYS: u32 = 3650;
/// Under the 398 days that Apple and browsers accept for a server certificate.
const SERVER_DAYS: u32 = 397;
/// A server certificate this close to its end is replaced at start.
const RENEW_DAYS: u32 = 30;

/// Names every local server certificate covers, whatever the broker binds.
pub const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot make a certificate: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error(
        "there is no per-user folder for the local CA: give --state-dir DIR, or set MITID_SIM_HOME"
    )]
    NoFolder,
}

/// What an HTTPS listener serves: the certificate chain (leaf first) and its key, and the
/// CA file clients should trust when mitid-sim made the certificate itself.
#[derive(Clone)]
pub struct ServerTls {
    pub chain: Vec<X509>,
    pub key: PKey<Private>,
    /// The local CA's certificate file; `None` for a certificate the user brought.
    pub ca_file: Option<PathBuf>,
    /// The local CA's certificate, for in-process clients that trust only it.
    pub ca: Option<X509>,
}

impl ServerTls {
    /// An OpenSSL acceptor with Mozilla's intermediate settings (TLS 1.2 and 1.3).
    pub fn acceptor(&self) -> Result<SslAcceptorBuilder, TlsError> {
        let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
        let (leaf, intermediates) = self.chain.split_first().ok_or_else(|| TlsError::Invalid {
            path: "certificate".into(),
            message: "no certificate".into(),
        })?;
        builder.set_certificate(leaf)?;
        for intermediate in intermediates {
            builder.add_extra_chain_cert(intermediate.clone())?;
        }
        builder.set_private_key(&self.key)?;
        builder.check_private_key()?;
        Ok(builder)
    }

    /// The local CA's certificate as PEM, if mitid-sim made the certificate.
    pub fn ca_pem(&self) -> Option<Vec<u8>> {
        self.ca.as_ref().and_then(|ca| ca.to_pem().ok())
    }

    /// A certificate and key the user brings (`--tls-cert`, `--tls-key`): PEM, the chain
    /// leaf first.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let chain = X509::stack_from_pem(&read(cert)?).map_err(|err| invalid(cert, err))?;
        let Some(leaf) = chain.first() else {
            return Err(invalid(cert, "holds no PEM certificate"));
        };
        let key_pem = read(key)?;
        let key_pair = PKey::private_key_from_pem(&key_pem).map_err(|err| invalid(key, err))?;
        let leaf_key = leaf.public_key()?;
        if !leaf_key.public_eq(&key_pair) {
            return Err(invalid(
                key,
                format!("is not the key of the certificate in {}", cert.display()),
            ));
        }
        Ok(Self {
            chain,
            key: key_pair,
            ca_file: None,
            ca: None,
        })
    }

    /// The local CA in `<state>/tls/` (created on first use) and a server certificate it
    /// issued for `names` and the loopback names. The certificate is reissued when it does
    /// not cover a name, is near its end, or is not the CA's.
    pub fn local(state: &Path, names: &[String]) -> Result<Self, TlsError> {
        let dir = state.join(TLS_FOLDER);
        std::fs::create_dir_all(&dir).map_err(|source| TlsError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        let (ca, ca_key) = match load_pair(&dir, CA_FILE, CA_KEY_FILE) {
            Some((ca, key)) if ca.public_key()?.public_eq(&key) => (ca, key),
            _ => {
                let (ca, key) = new_ca()?;
                save_pair(&dir, CA_FILE, CA_KEY_FILE, &ca, &key)?;
                (ca, key)
            }
        };
        let mut wanted: Vec<String> = LOOPBACK_NAMES.iter().map(|n| n.to_string()).collect();
        for name in names {
            let name = name.trim_matches(|c| c == '[' || c == ']').to_lowercase();
            if !name.is_empty() && !is_wildcard_address(&name) && !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        let current = load_pair(&dir, SERVER_FILE, SERVER_KEY_FILE)
            .filter(|(cert, key)| server_cert_fits(cert, key, &ca, &wanted));
        let (cert, key) = match current {
            Some(pair) => pair,
            None => {
                let (cert, key) = new_server_cert(&ca, &ca_key, &wanted)?;
                save_pair(&dir, SERVER_FILE, SERVER_KEY_FILE, &cert, &key)?;
                (cert, key)
            }
        };
        Ok(Self {
            chain: vec![cert],
            key,
            ca_file: Some(dir.join(CA_FILE)),
            ca: Some(ca),
        })
    }
}

/// 0.0.0.0 and :: are addresses to bind, never names a client connects to.
fn is_wildcard_address(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> TlsError {
    TlsError::Invalid {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

fn load_pair(dir: &Path, cert: &str, key: &str) -> Option<(X509, PKey<Private>)> {
    let cert = X509::from_pem(&std::fs::read(dir.join(cert)).ok()?).ok()?;
    let key = PKey::private_key_from_pem(&std::fs::read(dir.join(key)).ok()?).ok()?;
    Some((cert, key))
}

fn save_pair(
    dir: &Path,
    cert_name: &str,
    key_name: &str,
    cert: &X509,
    key: &PKey<Private>,
) -> Result<(), TlsError> {
    let write = |name: &str, bytes: &[u8]| {
        crate::persistence::write_atomically(dir, name, bytes).map_err(|err| TlsError::Write {
            path: dir.join(name).display().to_string(),
            source: std::io::Error::other(err.to_string()),
        })
    };
    // The key first: a certificate on disk always has its key beside it.
    write(key_name, &key.private_key_to_pem_pkcs8()?)?;
    write(cert_name, &cert.to_pem()?)?;
    // Certificates are public: other users (a container, a CI service) may read them.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(cert_name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).map_err(
            |source| TlsError::Write {
                path: path.display().to_string(),
                source,
            },
        )?;
    }
    Ok(())
}

fn p256_key() -> Result<PKey<Private>, TlsError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn serial() -> Result<openssl::asn1::Asn1Integer, TlsError> {
    let mut serial = BigNum::new()?;
    serial.rand(159, MsbOption::MAYBE_ZERO, false)?;
    Ok(serial.to_asn1_integer()?)
}

fn new_ca() -> Result<(X509, PKey<Private>), TlsError> {
    let key = p256_key()?;
    let mut name = X509NameBuilder::new()?;
    // A distinct name per CA, so a trust store with several is readable.
    let tag = crate::random::short_id();
    name.append_entry_by_nid(Nid::COMMONNAME, &format!("mitid-sim local CA {tag}"))?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "mitid-sim (test use only)")?;
    let name = name.build();
    let mut cert = X509Builder::new()?;
    cert.set_version(2)?;
    cert.set_serial_number(&*serial()?)?;
    cert.set_subject_name(&name)?;
    cert.set_issuer_name(&name)?;
    cert.set_pubkey(&key)?;
    cert.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    cert.set_not_after(&*Asn1Time::days_from_now(CA_DAYS)?)?;
    cert.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    cert.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&cert.x509v3_context(None, None))?;
    cert.append_extension(ski)?;
    cert.sign(&key, MessageDigest::sha256())?;
    Ok((cert.build(), key))
}

fn new_server_cert(
    ca: &X509,
    ca_key: &PKey<Private>,
    names: &[String],
) -> Result<(X509, PKey<Private>), TlsError> {
    let key = p256_key()?;
    let mut subject = X509NameBuilder::new()?;
    subject.append_entry_by_nid(Nid::COMMONNAME, &names[0])?;
    subject.append_entry_by_nid(Nid::ORGANIZATIONNAME, "mitid-sim (test use only)")?;
    let subject = subject.build();
    let mut cert = X509Builder::new()?;
    cert.set_version(2)?;
    cert.set_serial_number(&*serial()?)?;
    cert.set_subject_name(&subject)?;
    cert.set_issuer_name(ca.subject_name())?;
    cert.set_pubkey(&key)?;
    // An hour back, so a client whose clock runs a little behind still accepts it.
    let not_before = Asn1Time::from_unix(unix_now() - 3600)?;
    cert.set_not_before(&not_before)?;
    cert.set_not_after(&*Asn1Time::days_from_now(SERVER_DAYS)?)?;
    cert.append_extension(BasicConstraints::new().build()?)?;
    cert.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
    cert.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut alt = SubjectAlternativeName::new();
    for name in names {
        if name.parse::<IpAddr>().is_ok() {
            alt.ip(name);
        } else {
            alt.dns(name);
        }
    }
    let context = cert.x509v3_context(Some(ca), None);
    let alt = alt.build(&context)?;
    let ski = SubjectKeyIdentifier::new().build(&context)?;
    let aki = AuthorityKeyIdentifier::new().keyid(true).build(&context)?;
    cert.append_extension(alt)?;
    cert.append_extension(ski)?;
    cert.append_extension(aki)?;
    cert.sign(ca_key, MessageDigest::sha256())?;
    Ok((cert.build(), key))
}

#[allow(clippy::disallowed_methods)] // certificates live in real time, not the broker's clock
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The saved server certificate still serves: issued by this CA, with its key, covering
/// every wanted name, and not near its end.
fn server_cert_fits(cert: &X509, key: &PKey<Private>, ca: &X509, wanted: &[String]) -> bool {
    let issued_by_ca = ca
        .public_key()
        .and_then(|ca_key| cert.verify(&ca_key))
        .unwrap_or(false);
    let own_key = cert
        .public_key()
        .map(|public| public.public_eq(key))
        .unwrap_or(false);
    let fresh = Asn1Time::days_from_now(RENEW_DAYS)
        .map(|soon| cert.not_after() > soon)
        .unwrap_or(false);
    issued_by_ca && own_key && fresh && wanted.iter().all(|name| covers(cert, name))
}

fn covers(cert: &X509, name: &str) -> bool {
    let ip = name.parse::<IpAddr>().ok();
    cert.subject_alt_names().is_some_and(|names| {
        names.iter().any(|general| match (ip, general.ipaddress()) {
            (Some(ip), Some(bytes)) => match ip {
                IpAddr::V4(v4) => bytes == v4.octets(),
                IpAddr::V6(v6) => bytes == v6.octets(),
            },
            (None, _) => general
                .dnsname()
                .is_some_and(|dns| dns.eq_ignore_ascii_case(name)),
            _ => false,
        })
    })
}

/// The certificates of the PEM bundle named by `SSL_CERT_FILE`, as OpenSSL-based tools
/// trust it: mitid-sim's own HTTP clients add them to the bundled web roots, so
/// `SSL_CERT_FILE=ca.pem` lets them reach a broker that serves the local CA's certificate.
pub fn roots_from_environment() -> Result<Vec<reqwest::Certificate>, String> {
    let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) else {
        return Ok(Vec::new());
    };
    let path = Path::new(&file);
    let pem = std::fs::read(path)
        .map_err(|e| format!("SSL_CERT_FILE: cannot read {}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "SSL_CERT_FILE: {} holds no PEM certificates: {e}",
            path.display()
        )
    })
}

/// How to make common HTTP stacks trust the local CA, for the banner and the README.
pub fn trust_instructions(ca_file: &Path, issuer: &str) -> String {
    let ca = ca_file.display();
    format!(
        "Trust the local CA {ca} (and nothing else) in your RP:\n\
         \x20 Node     NODE_EXTRA_CA_CERTS={ca} node app.js\n\
         \x20 Python   SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} python app.py\n\
         \x20 Java     keytool -importcert -noprompt -alias mitid-sim -file {ca} -keystore mitid-sim.p12 -storepass changeit\n\
         \x20          java -Djavax.net.ssl.trustStore=mitid-sim.p12 -Djavax.net.ssl.trustStorePassword=changeit ...\n\
         \x20 .NET     Linux: SSL_CERT_FILE={ca} dotnet run; Windows: certutil -user -addstore Root {ca}\n\
         \x20 curl     curl --cacert {ca} {issuer}/.well-known/openid-configuration\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509StoreContext;

    fn temp() -> PathBuf {
        std::env::temp_dir().join(format!("mitid-sim-tls-{}", uuid::Uuid::new_v4()))
    }

    fn verifies(ca: &X509, leaf: &X509) -> bool {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(ca.clone()).unwrap();
        let store = store.build();
        let mut context = X509StoreContext::new().unwrap();
        context
            .init(&store, leaf, &Stack::new().unwrap(), |c| c.verify_cert())
            .unwrap()
    }

    #[test]
    fn the_local_ca_is_made_once_and_its_certificate_covers_the_names() {
        let dir = temp();
        let first = ServerTls::local(&dir, &["mitid-sim.test".into()]).unwrap();
        let ca = first.ca.clone().unwrap();
        assert!(verifies(&ca, &first.chain[0]));
        for name in ["localhost", "127.0.0.1", "::1", "mitid-sim.test"] {
            assert!(covers(&first.chain[0], name), "{name}");
        }
        assert!(!covers(&first.chain[0], "example.com"));

        // The same names: the same CA and the same certificate from disk.
        let again = ServerTls::local(&dir, &["mitid-sim.test".into()]).unwrap();
        assert_eq!(again.ca.unwrap().to_der().unwrap(), ca.to_der().unwrap());
        assert_eq!(
            again.chain[0].to_der().unwrap(),
            first.chain[0].to_der().unwrap()
        );

        // A new name: the same CA issues a new certificate that covers it.
        let wider = ServerTls::local(&dir, &["other.test".into(), "0.0.0.0".into()]).unwrap();
        assert_eq!(
            wider.ca.clone().unwrap().to_der().unwrap(),
            ca.to_der().unwrap()
        );
        assert!(covers(&wider.chain[0], "other.test"));
        assert!(!covers(&wider.chain[0], "0.0.0.0"));
        assert!(verifies(&ca, &wider.chain[0]));
        wider.acceptor().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |name: &str| {
                std::fs::metadata(dir.join(TLS_FOLDER).join(name))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode(CA_KEY_FILE), 0o600, "the CA key is the owner's only");
            assert_eq!(mode(CA_FILE), 0o644);
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_brought_certificate_must_come_with_its_own_key() {
        let dir = temp();
        let local = ServerTls::local(&dir, &[]).unwrap();
        let tls = dir.join(TLS_FOLDER);
        let brought =
            ServerTls::from_files(&tls.join(SERVER_FILE), &tls.join(SERVER_KEY_FILE)).unwrap();
        assert_eq!(brought.chain.len(), 1);
        assert!(brought.ca_file.is_none());
        assert_eq!(
            brought.chain[0].to_der().unwrap(),
            local.chain[0].to_der().unwrap()
        );
        let err = ServerTls::from_files(&tls.join(SERVER_FILE), &tls.join(CA_KEY_FILE))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("is not the key of the certificate"),
            "{err}"
        );
        let err = ServerTls::from_files(&tls.join(CA_KEY_FILE), &tls.join(CA_KEY_FILE))
            .err()
            .unwrap();
        assert!(err.to_string().contains(CA_KEY_FILE), "{err}");
        let err = ServerTls::from_files(&dir.join("missing.pem"), &tls.join(CA_KEY_FILE))
            .err()
            .unwrap();
        assert!(err.to_string().contains("cannot read"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_mismatched_ca_key_makes_a_new_ca() {
        let dir = temp();
        let first = ServerTls::local(&dir, &[]).unwrap();
        let tls = dir.join(TLS_FOLDER);
        let stranger = p256_key().unwrap();
        std::fs::write(
            tls.join(CA_KEY_FILE),
            stranger.private_key_to_pem_pkcs8().unwrap(),
        )
        .unwrap();
        let second = ServerTls::local(&dir, &[]).unwrap();
        let ca = second.ca.unwrap();
        assert_ne!(ca.to_der().unwrap(), first.ca.unwrap().to_der().unwrap());
        assert!(verifies(&ca, &second.chain[0]));
        std::fs::remove_dir_all(dir).ok();
    }
}
