//! XML signature and encryption through libxmlsec1 (over libxml2 and OpenSSL), the
//! library most SAML stacks rest on. Nothing here canonicalises, digests or encrypts by
//! itself: it builds libxmlsec1 templates, hands them to the library and reads the outcome.
//!
//! Every call parses its own document and frees it before returning, so no libxml2 pointer
//! crosses a thread or outlives the call.

mod document;
mod ffi;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::ptr;
use std::sync::OnceLock;

use document::{Document, NodePtr};

/// What went wrong, with the library's own last complaint where it gave one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlSecError {
    #[error("libxmlsec1 could not start: {0}")]
    Init(String),
    #[error("not well-formed XML: {0}")]
    Parse(String),
    #[error("unusable key or certificate: {0}")]
    Key(String),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("the signature does not verify: {0}")]
    Verify(String),
    #[error("encryption failed: {0}")]
    Encrypt(String),
    #[error("decryption failed: {0}")]
    Decrypt(String),
    #[error("{0}")]
    Shape(String),
}

/// Block ciphers for the assertion content (XML Encryption 1.0 and 1.1 identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DataEncryption {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

impl DataEncryption {
    pub const ALL: [DataEncryption; 4] = [
        DataEncryption::Aes256Cbc,
        DataEncryption::Aes128Cbc,
        DataEncryption::Aes256Gcm,
        DataEncryption::Aes128Gcm,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            DataEncryption::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            DataEncryption::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            DataEncryption::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            DataEncryption::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.uri() == uri)
    }

    fn bits(self) -> u32 {
        match self {
            DataEncryption::Aes128Cbc | DataEncryption::Aes128Gcm => 128,
            DataEncryption::Aes256Cbc | DataEncryption::Aes256Gcm => 256,
        }
    }

    fn transform(self) -> ffi::xmlSecTransformId {
        // SAFETY: the klass getters return pointers to static tables of the library.
        unsafe {
            match self {
                DataEncryption::Aes128Cbc => ffi::xmlSecOpenSSLTransformAes128CbcGetKlass(),
                DataEncryption::Aes256Cbc => ffi::xmlSecOpenSSLTransformAes256CbcGetKlass(),
                DataEncryption::Aes128Gcm => ffi::xmlSecOpenSSLTransformAes128GcmGetKlass(),
                DataEncryption::Aes256Gcm => ffi::xmlSecOpenSSLTransformAes256GcmGetKlass(),
            }
        }
    }
}

/// RSA-OAEP key transport with MGF1/SHA-1 (`xmlenc#rsa-oaep-mgf1p`), the one the OIOSAML
/// reference implementations advertise and every SAML SP library decrypts.
pub const KEY_TRANSPORT_RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
pub const EXCLUSIVE_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";

/// Signature algorithms accepted on messages from SPs: RSA with SHA-2 only; SHA-1 is refused
/// as NemLog-in refuses it.
const ACCEPTED_SIGNATURE_METHODS: [&str; 3] = [
    RSA_SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
];
const ACCEPTED_DIGESTS: [&str; 3] = [
    SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];

thread_local! {
    static LAST_ERROR: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn remember_error(
    _file: *const c_char,
    _line: c_int,
    func: *const c_char,
    error_object: *const c_char,
    error_subject: *const c_char,
    _reason: c_int,
    msg: *const c_char,
) {
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: libxmlsec1 passes NUL-terminated strings valid for the call.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let line = format!(
        "{} {} {}: {}",
        text(func),
        text(error_object),
        text(error_subject),
        text(msg)
    );
    LAST_ERROR.with(|errors| {
        let mut errors = errors.borrow_mut();
        if errors.len() < 16 {
            errors.push(line);
        }
    });
}

fn take_errors() -> String {
    LAST_ERROR.with(|errors| {
        let errors = std::mem::take(&mut *errors.borrow_mut());
        errors
            .iter()
            .rev()
            .find(|line| !line.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| "no detail from libxmlsec1".into())
    })
}

fn clear_errors() {
    LAST_ERROR.with(|errors| errors.borrow_mut().clear());
}

/// Starts libxml2 and libxmlsec1 once per process.
fn init() -> Result<(), XmlSecError> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            // SAFETY: called once, before any other libxml2/libxmlsec1 use, as the library asks.
            unsafe {
                ffi::xmlInitParser();
                if ffi::xmlSecInit() < 0 {
                    return Err("xmlSecInit".into());
                }
                if ffi::xmlSecCheckVersionExt(
                    ffi::XMLSEC_VERSION_MAJOR as c_int,
                    ffi::XMLSEC_VERSION_MINOR as c_int,
                    ffi::XMLSEC_VERSION_SUBMINOR as c_int,
                    ffi::xmlSecCheckVersionMode_xmlSecCheckVersionABICompatible,
                ) != 1
                {
                    return Err(
                        "the loaded libxmlsec1 is not the one mitid-sim was built with".into(),
                    );
                }
                if ffi::xmlSecOpenSSLAppInit(ptr::null()) < 0 {
                    return Err("xmlSecOpenSSLAppInit".into());
                }
                if ffi::xmlSecOpenSSLInit() < 0 {
                    return Err("xmlSecOpenSSLInit".into());
                }
                // After xmlSecInit, which installs the default (stderr) reporter.
                ffi::xmlSecErrorsSetCallback(Some(remember_error));
            }
            Ok(())
        })
        .clone()
        .map_err(XmlSecError::Init)
}

/// An xmlSecKey owned by Rust until handed to a context.
struct Key(*mut ffi::xmlSecKey);

impl Key {
    fn load(bytes: &[u8], format: ffi::xmlSecKeyDataFormat) -> Result<Key, XmlSecError> {
        init()?;
        clear_errors();
        // SAFETY: the buffer outlives the call; a null result is checked.
        let key = unsafe {
            ffi::xmlSecOpenSSLAppKeyLoadMemory(
                bytes.as_ptr(),
                bytes.len() as _,
                format,
                ptr::null(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if key.is_null() {
            return Err(XmlSecError::Key(take_errors()));
        }
        Ok(Key(key))
    }

    /// A private key (PEM), with its certificate (PEM) for the signature's `KeyInfo`.
    fn private_pem(key_pem: &[u8], cert_pem: Option<&[u8]>) -> Result<Key, XmlSecError> {
        let key = Key::load(key_pem, ffi::xmlSecKeyDataFormat_xmlSecKeyDataFormatPem)?;
        if let Some(cert) = cert_pem {
            // SAFETY: key is a live xmlSecKey; the buffer outlives the call.
            let rc = unsafe {
                ffi::xmlSecOpenSSLAppKeyCertLoadMemory(
                    key.0,
                    cert.as_ptr(),
                    cert.len() as _,
                    ffi::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem,
                )
            };
            if rc < 0 {
                return Err(XmlSecError::Key(take_errors()));
            }
        }
        Ok(key)
    }

    /// The public key of a certificate (DER).
    fn certificate(cert_der: &[u8]) -> Result<Key, XmlSecError> {
        Key::load(
            cert_der,
            ffi::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertDer,
        )
    }

    fn into_raw(self) -> *mut ffi::xmlSecKey {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: we still own the key.
        unsafe { ffi::xmlSecKeyDestroy(self.0) }
    }
}

/// The IdP's private key and certificate (both PEM), as used to sign.
pub struct SigningCredentials<'a> {
    pub private_key_pem: &'a [u8],
    pub certificate_pem: &'a [u8],
}

/// Signs the root element of `xml` (which must carry an `ID`) with an enveloped signature:
/// exclusive c14n, RSA-SHA256, SHA-256 digest, the certificate in `KeyInfo`. The signature is
/// placed right after the root's `Issuer` child, where SAML's schema wants it.
pub fn sign_root(xml: &str, credentials: &SigningCredentials<'_>) -> Result<String, XmlSecError> {
    init()?;
    let doc = Document::parse(xml)?;
    let root = doc.root()?;
    let id = root
        .attribute("ID")
        .ok_or_else(|| XmlSecError::Shape("the element to sign has no ID".into()))?;
    doc.register_ids()?;
    let key = Key::private_pem(
        credentials.private_key_pem,
        Some(credentials.certificate_pem),
    )?;
    clear_errors();
    // SAFETY: every pointer comes from the live document; the template node is linked into
    // it (so freed with it) before anything can fail after its creation.
    unsafe {
        let signature = ffi::xmlSecTmplSignatureCreateNsPref(
            doc.raw(),
            ffi::xmlSecTransformExclC14NGetKlass(),
            ffi::xmlSecOpenSSLTransformRsaSha256GetKlass(),
            ptr::null(),
            c"ds".as_ptr().cast(),
        );
        if signature.is_null() {
            return Err(XmlSecError::Sign(take_errors()));
        }
        match root.child_element("Issuer") {
            Some(issuer) => ffi::xmlAddNextSibling(issuer.raw(), signature),
            None => match root.first_element_child() {
                Some(first) => ffi::xmlAddPrevSibling(first.raw(), signature),
                None => ffi::xmlAddChild(root.raw(), signature),
            },
        };
        let uri = std::ffi::CString::new(format!("#{id}"))
            .map_err(|_| XmlSecError::Shape("ID holds a NUL".into()))?;
        let reference = ffi::xmlSecTmplSignatureAddReference(
            signature,
            ffi::xmlSecOpenSSLTransformSha256GetKlass(),
            ptr::null(),
            uri.as_ptr().cast(),
            ptr::null(),
        );
        if reference.is_null()
            || ffi::xmlSecTmplReferenceAddTransform(
                reference,
                ffi::xmlSecTransformEnvelopedGetKlass(),
            )
            .is_null()
            || ffi::xmlSecTmplReferenceAddTransform(
                reference,
                ffi::xmlSecTransformExclC14NGetKlass(),
            )
            .is_null()
        {
            return Err(XmlSecError::Sign(take_errors()));
        }
        let key_info = ffi::xmlSecTmplSignatureEnsureKeyInfo(signature, ptr::null());
        if key_info.is_null() || ffi::xmlSecTmplKeyInfoAddX509Data(key_info).is_null() {
            return Err(XmlSecError::Sign(take_errors()));
        }
        let ctx = ffi::xmlSecDSigCtxCreate(ptr::null_mut());
        if ctx.is_null() {
            return Err(XmlSecError::Sign(take_errors()));
        }
        (*ctx).signKey = key.into_raw();
        let rc = ffi::xmlSecDSigCtxSign(ctx, signature);
        ffi::xmlSecDSigCtxDestroy(ctx);
        if rc < 0 {
            return Err(XmlSecError::Sign(take_errors()));
        }
    }
    doc.serialize_root()
}

/// Verifies the enveloped signature on the root element of `xml` against a certificate
/// (DER), and that it is the root that is signed: exactly one `Signature` child of the root,
/// one `Reference` whose URI names the root's ID, only the enveloped and exclusive c14n
/// transforms, RSA with SHA-2, and no ID used twice in the document (signature wrapping).
/// Returns `Ok(false)` when the root carries no signature at all.
pub fn verify_root(xml: &str, certificate_der: &[u8]) -> Result<bool, XmlSecError> {
    let Some(_) = inspect_root_signature(xml)? else {
        return Ok(false);
    };
    init()?;
    let doc = Document::parse(xml)?;
    doc.register_ids()?;
    let root = doc.root()?;
    let signature = root
        .child_element_ns("Signature", DSIG_NS)
        .ok_or_else(|| XmlSecError::Verify("no Signature under the root".into()))?;
    let key = Key::certificate(certificate_der)?;
    clear_errors();
    // SAFETY: the context is created, used on a node of the live document, and destroyed.
    unsafe {
        let ctx = ffi::xmlSecDSigCtxCreate(ptr::null_mut());
        if ctx.is_null() {
            return Err(XmlSecError::Verify(take_errors()));
        }
        (*ctx).signKey = key.into_raw();
        (*ctx).enabledReferenceUris = ffi::xmlSecTransformUriTypeSameDocument as _;
        let rc = ffi::xmlSecDSigCtxVerify(ctx, signature.raw());
        let status = (*ctx).status;
        ffi::xmlSecDSigCtxDestroy(ctx);
        if rc < 0 {
            return Err(XmlSecError::Verify(take_errors()));
        }
        if status != ffi::xmlSecDSigStatus_xmlSecDSigStatusSucceeded {
            return Err(XmlSecError::Verify(
                "the signature value or a digest does not match the document".into(),
            ));
        }
    }
    Ok(true)
}

/// Checks the shape of the root's signature before the library sees it. `None` when the
/// root has no `Signature` child.
fn inspect_root_signature(xml: &str) -> Result<Option<()>, XmlSecError> {
    let doc = roxmltree::Document::parse(xml).map_err(|err| XmlSecError::Parse(err.to_string()))?;
    let root = doc.root_element();
    let mut ids = std::collections::HashSet::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = node.attribute("ID") {
            if !ids.insert(id) {
                return Err(XmlSecError::Verify(format!(
                    "the ID {id} is used twice in the document"
                )));
            }
        }
    }
    let signatures: Vec<_> = root
        .children()
        .filter(|n| n.tag_name().name() == "Signature" && n.tag_name().namespace() == Some(DSIG_NS))
        .collect();
    let signature = match signatures.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        _ => {
            return Err(XmlSecError::Verify(
                "the root has more than one Signature".into(),
            ))
        }
    };
    let root_id = root
        .attribute("ID")
        .ok_or_else(|| XmlSecError::Verify("the signed element has no ID".into()))?;
    let signed_info = child_ns(signature, "SignedInfo", DSIG_NS)
        .ok_or_else(|| XmlSecError::Verify("Signature without SignedInfo".into()))?;
    let method = child_ns(signed_info, "SignatureMethod", DSIG_NS)
        .and_then(|n| n.attribute("Algorithm"))
        .unwrap_or_default();
    if !ACCEPTED_SIGNATURE_METHODS.contains(&method) {
        return Err(XmlSecError::Verify(format!(
            "signature algorithm {method} is not accepted (use {RSA_SHA256})"
        )));
    }
    let references: Vec<_> = signed_info
        .children()
        .filter(|n| n.tag_name().name() == "Reference" && n.tag_name().namespace() == Some(DSIG_NS))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(XmlSecError::Verify(
            "the signature must have exactly one Reference".into(),
        ));
    };
    let expected = format!("#{root_id}");
    if reference.attribute("URI") != Some(expected.as_str()) {
        return Err(XmlSecError::Verify(format!(
            "the signature references {}, not the message itself ({expected})",
            reference.attribute("URI").unwrap_or("nothing")
        )));
    }
    let digest = child_ns(*reference, "DigestMethod", DSIG_NS)
        .and_then(|n| n.attribute("Algorithm"))
        .unwrap_or_default();
    if !ACCEPTED_DIGESTS.contains(&digest) {
        return Err(XmlSecError::Verify(format!(
            "digest algorithm {digest} is not accepted (use {SHA256})"
        )));
    }
    if let Some(transforms) = child_ns(*reference, "Transforms", DSIG_NS) {
        for transform in transforms.children().filter(|n| n.is_element()) {
            let alg = transform.attribute("Algorithm").unwrap_or_default();
            if alg != ENVELOPED_SIGNATURE && alg != EXCLUSIVE_C14N {
                return Err(XmlSecError::Verify(format!(
                    "transform {alg} is not allowed in a SAML signature"
                )));
            }
        }
    }
    Ok(Some(()))
}

fn child_ns<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &str,
    ns: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|n| n.tag_name().name() == name && n.tag_name().namespace() == Some(ns))
}

/// Encrypts the root element of `xml` to the holder of `recipient_certificate_der`: a fresh
/// session key of `data` encrypts the element, RSA-OAEP wraps the session key. Returns the
/// `xenc:EncryptedData` element.
pub fn encrypt_root(
    xml: &str,
    recipient_certificate_der: &[u8],
    data: DataEncryption,
) -> Result<String, XmlSecError> {
    init()?;
    let doc = Document::parse(xml)?;
    let root = doc.root()?;
    let recipient = Key::certificate(recipient_certificate_der)?;
    clear_errors();
    // SAFETY: the keys manager owns the adopted key; the context owns the session key; both
    // are destroyed on every path. The template is a free node until the library puts it in
    // place of the root, after which the document owns it.
    unsafe {
        let manager = KeysManager::new()?;
        if ffi::xmlSecOpenSSLAppDefaultKeysMngrAdoptKey(manager.0, recipient.0) < 0 {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        std::mem::forget(recipient);
        let template = ffi::xmlSecTmplEncDataCreate(
            doc.raw(),
            data.transform(),
            ptr::null(),
            ffi::xmlSecTypeEncElement.as_ptr(),
            ptr::null(),
            ptr::null(),
        );
        if template.is_null() {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        let template = FreeNode(template);
        if ffi::xmlSecTmplEncDataEnsureCipherValue(template.0).is_null() {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        let key_info = ffi::xmlSecTmplEncDataEnsureKeyInfo(template.0, ptr::null());
        if key_info.is_null() {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        let encrypted_key = ffi::xmlSecTmplKeyInfoAddEncryptedKey(
            key_info,
            ffi::xmlSecOpenSSLTransformRsaOaepGetKlass(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
        );
        if encrypted_key.is_null()
            || ffi::xmlSecTmplEncDataEnsureCipherValue(encrypted_key).is_null()
        {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        let ctx = ffi::xmlSecEncCtxCreate(manager.0);
        if ctx.is_null() {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        let session = ffi::xmlSecKeyGenerate(
            ffi::xmlSecOpenSSLKeyDataAesGetKlass(),
            data.bits(),
            ffi::xmlSecKeyDataTypeSession,
        );
        if session.is_null() {
            ffi::xmlSecEncCtxDestroy(ctx);
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        (*ctx).encKey = session;
        let rc = ffi::xmlSecEncCtxXmlEncrypt(ctx, template.0, root.raw());
        ffi::xmlSecEncCtxDestroy(ctx);
        if rc < 0 {
            return Err(XmlSecError::Encrypt(take_errors()));
        }
        // The template now stands where the root was: the document owns it.
        std::mem::forget(template);
    }
    doc.serialize_root()
}

/// Decrypts an `xenc:EncryptedData` root with the recipient's private key (PEM); returns the
/// decrypted element. The SP's side: used by tests and the snapshot of an assertion.
pub fn decrypt_root(
    encrypted_data_xml: &str,
    private_key_pem: &[u8],
) -> Result<String, XmlSecError> {
    init()?;
    let doc = Document::parse(encrypted_data_xml)?;
    let root = doc.root()?;
    let key = Key::private_pem(private_key_pem, None)?;
    clear_errors();
    // SAFETY: as in encrypt_root.
    unsafe {
        let manager = KeysManager::new()?;
        if ffi::xmlSecOpenSSLAppDefaultKeysMngrAdoptKey(manager.0, key.0) < 0 {
            return Err(XmlSecError::Decrypt(take_errors()));
        }
        std::mem::forget(key);
        let ctx = ffi::xmlSecEncCtxCreate(manager.0);
        if ctx.is_null() {
            return Err(XmlSecError::Decrypt(take_errors()));
        }
        let rc = ffi::xmlSecEncCtxDecrypt(ctx, root.raw());
        let replaced = (*ctx).resultReplaced;
        ffi::xmlSecEncCtxDestroy(ctx);
        if rc < 0 || replaced == 0 {
            return Err(XmlSecError::Decrypt(take_errors()));
        }
    }
    doc.serialize_root()
}

struct KeysManager(*mut ffi::xmlSecKeysMngr);

impl KeysManager {
    unsafe fn new() -> Result<Self, XmlSecError> {
        // SAFETY: a fresh manager, initialised with the default simple keys store.
        unsafe {
            let manager = ffi::xmlSecKeysMngrCreate();
            if manager.is_null() {
                return Err(XmlSecError::Key(take_errors()));
            }
            let manager = KeysManager(manager);
            if ffi::xmlSecOpenSSLAppDefaultKeysMngrInit(manager.0) < 0 {
                return Err(XmlSecError::Key(take_errors()));
            }
            Ok(manager)
        }
    }
}

impl Drop for KeysManager {
    fn drop(&mut self) {
        // SAFETY: we own the manager.
        unsafe { ffi::xmlSecKeysMngrDestroy(self.0) }
    }
}

/// A node not (yet) linked into a document.
struct FreeNode(NodePtr);

impl Drop for FreeNode {
    fn drop(&mut self) {
        // SAFETY: the node is unlinked and ours.
        unsafe { ffi::xmlFreeNode(self.0) }
    }
}

#[cfg(test)]
mod tests;
