//! Generates the Rust declarations of libxmlsec1 (XML signature and encryption over
//! libxml2 and OpenSSL) for the NemLog-in personality. The layouts come from the headers
//! installed on this machine (`libxmlsec1-dev`), so they always match the library we link.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/protocols/saml/xmlsec/xmlsec.h");
    let xmlsec = pkg_config::Config::new()
        .atleast_version("1.2.30")
        .probe("xmlsec1-openssl")
        .unwrap_or_else(|err| {
            panic!(
                "libxmlsec1 with its OpenSSL engine is needed to build mitid-sim (the NemLog-in \
                 personality signs and encrypts SAML with it): apt-get install libxmlsec1-dev \
                 libxml2-dev pkg-config libclang-dev ({err})"
            )
        });
    let mut builder = bindgen::Builder::default()
        .header("src/protocols/saml/xmlsec/xmlsec.h")
        .allowlist_function("xmlSec.*")
        .allowlist_function("xml(ReadMemory|FreeDoc|DocGetRootElement|NodeDump|BufferCreate|BufferFree|BufferContent|BufferLength|AddID|HasProp|NewProp|AddNextSibling|AddPrevSibling|AddChild|UnlinkNode|FreeNode|InitParser|GetLastError|ResetLastError|DocCopyNode|NewDocNode|SearchNsByHref)")
        .allowlist_var("xmlSec.*")
        .allowlist_var("XMLSEC_.*")
        .allowlist_type("xmlSec.*")
        .allowlist_type("xmlParserOption")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false);
    for path in &xmlsec.include_paths {
        builder = builder.clang_arg(format!("-I{}", path.display()));
    }
    for (name, value) in &xmlsec.defines {
        builder = builder.clang_arg(match value {
            Some(value) => format!("-D{name}={value}"),
            None => format!("-D{name}"),
        });
    }
    let bindings = builder
        .generate()
        .expect("bindgen could not read the libxmlsec1 headers (is libclang-dev installed?)");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("xmlsec_bindings.rs"))
        .expect("cannot write the libxmlsec1 bindings");
}
