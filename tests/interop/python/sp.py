"""A SAML service provider built on pysaml2, driven by mitid-sim's interop tests.

One JSON command per line on stdin, one JSON answer per line on stdout. Everything SAML
happens in pysaml2 (which signs, verifies, encrypts and decrypts through the xmlsec1
program): this file only wires its documented client API to the commands. With
`serve_soap`, the SP also answers the IdP's back-channel LogoutRequests on a SOAP endpoint
of its own (an HTTP server on a free loopback port).
"""

import base64
import html
import json
import logging
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import defusedxml.ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.pack import make_soap_enveloped_saml_thingy
from saml2.saml import NAMEID_FORMAT_PERSISTENT, AuthnContextClassRef, NameID
from saml2.samlp import RequestedAuthnContext
from saml2.sigver import verify_redirect_signature

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
BINDINGS = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST, "soap": BINDING_SOAP}


class SoapEndpoint:
    """The SP's SOAP SingleLogoutService: verifies the IdP's LogoutRequest with pysaml2 and
    answers with a signed LogoutResponse in a SOAP envelope."""

    def __init__(self, sp):
        handler = type("Handler", (SoapHandler,), {"sp": sp})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slo/soap"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class SoapHandler(BaseHTTPRequestHandler):
    sp = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        sp = self.sp
        with sp.lock:
            try:
                request = sp.client.parse_logout_request(body, BINDING_SOAP)
                if request is None:
                    raise ValueError("pysaml2 returned no request (refused)")
                message = request.message
                sp.received.append(
                    {
                        "ok": True,
                        "binding": "soap",
                        "id": message.id,
                        "name_id": message.name_id.text,
                        "session_indexes": [s.text for s in message.session_index],
                    }
                )
                response = sp.client.create_logout_response(
                    message, [BINDING_SOAP], sign=True, sign_alg=RSA_SHA256, digest_alg=SHA256
                )
                answer, status = make_soap_enveloped_saml_thingy(str(response)), 200
            except Exception as err:  # the refusal is what the test looks at
                sp.received.append({"ok": False, "binding": "soap", "error": f"{type(err).__name__}: {err}"})
                answer, status = f"refused: {err}", 500
        data = answer.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ServiceProvider:
    def __init__(self, cmd):
        self.entity_id = cmd["entity_id"]
        self.acs = cmd["acs"]
        self.slo = cmd["slo"]
        self.lock = threading.Lock()
        self.received = []
        self.soap = SoapEndpoint(self) if cmd.get("serve_soap") else None
        slo = []
        for name in cmd.get("slo_bindings", ["redirect", "post", "soap"]):
            if name == "soap":
                slo.append((self.soap.url if self.soap else self.slo + "/soap", BINDING_SOAP))
            else:
                slo.append((self.slo, BINDINGS[name]))
        config = {
            "entityid": self.entity_id,
            "key_file": cmd["key_file"],
            "cert_file": cmd["cert_file"],
            "encryption_keypairs": [{"key_file": cmd["key_file"], "cert_file": cmd["cert_file"]}],
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "accepted_time_diff": 300,
            # OIOSAML attributes are URIs that pysaml2 has no converter for.
            "allow_unknown_attributes": True,
            "signing_algorithm": RSA_SHA256,
            "digest_algorithm": SHA256,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(self.acs, BINDING_HTTP_POST)],
                        "single_logout_service": slo,
                    },
                    "authn_requests_signed": True,
                    "logout_requests_signed": True,
                    "logout_responses_signed": True,
                    "want_assertions_signed": True,
                    "want_response_signed": cmd.get("want_response_signed", False),
                    "want_assertions_or_response_signed": True,
                    "allow_unsolicited": False,
                    "name_id_format": NAMEID_FORMAT_PERSISTENT,
                }
            },
        }
        if cmd.get("idp_metadata"):
            config["metadata"] = {"inline": [cmd["idp_metadata"]]}
        self.config = SPConfig()
        self.config.load(config)
        self.client = Saml2Client(config=self.config) if cmd.get("idp_metadata") else None
        self.idp_certs = idp_signing_certificates(cmd.get("idp_metadata"))
        self.outstanding = {}
        # pysaml2 leaves replay detection to the application ("Should check that I haven't
        # seen this before" in saml2/response.py): the SP remembers assertion IDs.
        self.seen_assertions = set()

    def metadata(self):
        answer = {"metadata": create_metadata_string(None, config=self.config, sign=False).decode()}
        if self.soap:
            answer["soap_url"] = self.soap.url
        return answer

    def authn_request(self, cmd):
        refs = [AuthnContextClassRef(text=ref) for ref in cmd.get("class_refs", [])]
        kwargs = {}
        if refs:
            kwargs["requested_authn_context"] = RequestedAuthnContext(authn_context_class_ref=refs, comparison="minimum")
        if cmd.get("force_authn"):
            kwargs["force_authn"] = "true"
        if cmd.get("is_passive"):
            kwargs["is_passive"] = "true"
        binding = BINDINGS[cmd["binding"]]
        with self.lock:
            request_id, info = self.client.prepare_for_authenticate(
                binding=binding,
                relay_state=cmd.get("relay_state", ""),
                sign=True,
                sigalg=RSA_SHA256,
                digest_alg=SHA256,
                **kwargs,
            )
        self.outstanding[request_id] = "/"
        return {"request_id": request_id, **http_info(info)}

    def acs_post(self, cmd):
        try:
            with self.lock:
                response = self.client.parse_authn_request_response(
                    cmd["saml_response"],
                    BINDING_HTTP_POST,
                    outstanding=self.outstanding,
                    conv_info={"entity_id": self.entity_id},
                )
            if response is None:
                return {"ok": False, "error": "pysaml2 returned no response (refused)"}
            assertion = response.assertion
            refusal = oiosaml_checks(cmd["saml_response"])
            if refusal:
                return {"ok": False, "error": refusal}
            if assertion.id in self.seen_assertions:
                return {"ok": False, "error": f"assertion {assertion.id} was received before (replay)"}
            self.seen_assertions.add(assertion.id)
            self.outstanding.pop(response.in_response_to, None)
            return {
                "ok": True,
                "name_id": response.name_id.text,
                "name_id_format": response.name_id.format,
                "attributes": response.ava,
                "assertion_id": assertion.id,
                "in_response_to": response.in_response_to,
                "session_index": assertion.authn_statement[0].session_index,
                "authn_context": assertion.authn_statement[0].authn_context.authn_context_class_ref.text,
                "response_signed": bool(response.response.signature),
                "assertion_signed": bool(assertion.signature),
                "encrypted": b"EncryptedAssertion" in base64.b64decode(cmd["saml_response"]),
            }
        except Exception as err:  # pysaml2 refuses by raising; the kind is reported
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def status_of(self, cmd):
        """The status codes of a (status) Response, after pysaml2 verified its signature."""
        try:
            with self.lock:
                self.client.parse_authn_request_response(
                    cmd["saml_response"], BINDING_HTTP_POST, outstanding=self.outstanding
                )
            return {"ok": True, "error": "a Success response"}
        except Exception as err:
            root = defusedxml.ElementTree.fromstring(base64.b64decode(cmd["saml_response"]))
            ns = "{urn:oasis:names:tc:SAML:2.0:protocol}"
            codes = [c.get("Value") for c in root.iter(f"{ns}StatusCode")]
            message = root.find(f"{ns}Status/{ns}StatusMessage")
            return {
                "ok": False,
                "error": f"{type(err).__name__}: {err}",
                "status_codes": codes,
                "status_message": message.text if message is not None else None,
            }

    def logout_request(self, cmd):
        """An SP-initiated LogoutRequest for the IdP."""
        binding = BINDINGS[cmd["binding"]]
        destination = cmd["destination"]
        with self.lock:
            request_id, request = self.client.create_logout_request(
                destination,
                cmd["idp_entity_id"],
                name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=cmd["name_id"]),
                session_indexes=[cmd["session_index"]],
                sign=binding != BINDING_HTTP_REDIRECT,
                sign_alg=RSA_SHA256,
                digest_alg=SHA256,
            )
            if binding == BINDING_SOAP:
                return {"request_id": request_id, "soap": make_soap_enveloped_saml_thingy(str(request))}
            info = self.client.apply_binding(
                binding,
                str(request),
                destination,
                relay_state=cmd.get("relay_state", ""),
                sign=True,
                sigalg=RSA_SHA256,
            )
        return {"request_id": request_id, **http_info(info)}

    def logout_response(self, cmd):
        """The IdP's LogoutResponse to this SP's LogoutRequest: a redirect URL (its query
        signature checked against the IdP's certificate), a posted form value, or a SOAP
        body."""
        binding = BINDINGS[cmd["binding"]]
        try:
            message = cmd.get("message")
            if binding == BINDING_HTTP_REDIRECT:
                query = query_of(cmd["url"])
                if not self.redirect_signed_by_idp(query):
                    return {"ok": False, "error": "the query signature does not verify with the IdP's certificate"}
                message = query["SAMLResponse"]
            with self.lock:
                response = self.client.parse_logout_request_response(message, binding)
            if response is None:
                return {"ok": False, "error": "pysaml2 returned no response (refused)"}
            status = response.response.status.status_code
            sub = status.status_code.value if status.status_code is not None else None
            return {
                "ok": True,
                "status": status.value,
                "sub_status": sub,
                "in_response_to": response.response.in_response_to,
                "signed": bool(response.response.signature) or binding == BINDING_HTTP_REDIRECT,
            }
        except Exception as err:
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def idp_logout_request(self, cmd):
        """An IdP-initiated LogoutRequest arrives through the browser (a redirect URL or a
        posted form) or as a SOAP body: verify it and answer with a signed LogoutResponse
        by redirect to `destination` (the IdP's endpoint)."""
        binding = BINDINGS[cmd["binding"]]
        try:
            relay_state = cmd.get("relay_state")
            kwargs = {}
            message = cmd.get("message")
            if binding == BINDING_HTTP_REDIRECT:
                query = query_of(cmd["url"])
                message = query["SAMLRequest"]
                relay_state = query.get("RelayState")
                kwargs = {"relay_state": relay_state, "sigalg": query.get("SigAlg"), "signature": query.get("Signature")}
                if not self.redirect_signed_by_idp(query):
                    return {"ok": False, "error": "the query signature does not verify with the IdP's certificate"}
            with self.lock:
                request = self.client.parse_logout_request(message, binding, **kwargs)
                if request is None:
                    return {"ok": False, "error": "pysaml2 returned no request (refused)"}
                if binding == BINDING_HTTP_POST and not request.message.signature:
                    return {"ok": False, "error": "the posted LogoutRequest is not signed"}
                message = request.message
                response = self.client.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
                info = self.client.apply_binding(
                    BINDING_HTTP_REDIRECT,
                    str(response),
                    cmd["destination"],
                    relay_state=relay_state or "",
                    response=True,
                    sign=True,
                    sigalg=RSA_SHA256,
                )
            self.received.append({"ok": True, "binding": cmd["binding"], "id": message.id})
            return {
                "ok": True,
                "request_id": message.id,
                "name_id": message.name_id.text,
                "session_indexes": [s.text for s in message.session_index],
                **http_info(info),
            }
        except Exception as err:
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def received_logouts(self, cmd):
        """The IdP's LogoutRequests this SP received on its SOAP endpoint (and by browser)."""
        with self.lock:
            return {"received": list(self.received)}

    def redirect_signed_by_idp(self, query):
        message = {k: v for k, v in query.items() if k in ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")}
        if "Signature" not in message:
            return False
        for cert in self.idp_certs:
            try:
                if verify_redirect_signature(message, self.client.sec.sec_backend, cert=cert):
                    return True
            except Exception:
                continue
        return False


def idp_signing_certificates(metadata):
    """The signing certificates the IdP's metadata publishes (base64 DER)."""
    if not metadata:
        return []
    root = defusedxml.ElementTree.fromstring(metadata)
    md = "{urn:oasis:names:tc:SAML:2.0:metadata}"
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    certs = []
    for descriptor in root.iter(f"{md}KeyDescriptor"):
        if descriptor.get("use") in (None, "signing"):
            for cert in descriptor.iter(f"{ds}X509Certificate"):
                certs.append("".join(cert.text.split()))
    return certs


def query_of(url):
    """The (percent-decoded) query parameters of a URL, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def oiosaml_checks(saml_response):
    """What the OIOSAML 3 profile asks of an SP and pysaml2 has no switch for (OIOSAML.Java
    checks the same): the assertion arrives encrypted, exactly one of it."""
    root = defusedxml.ElementTree.fromstring(base64.b64decode(saml_response))
    plain = root.findall("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    encrypted = root.findall("{urn:oasis:names:tc:SAML:2.0:assertion}EncryptedAssertion")
    if plain or len(encrypted) != 1:
        return "OIOSAML 3: the response must carry exactly one EncryptedAssertion and no plain Assertion"
    return None


def http_info(info):
    """pysaml2's binding output as a URL (redirect) or form fields (post)."""
    out = {"method": info.get("method")}
    headers = dict(info.get("headers", []))
    if info.get("url"):
        out["url"] = info["url"]
    if "Location" in headers:
        out["url"] = headers["Location"]
    data = info.get("data")
    if isinstance(data, str) and "<form" in data:
        fields = {}
        for name in ("SAMLRequest", "SAMLResponse", "RelayState"):
            marker = f'name="{name}" value="'
            if marker in data:
                start = data.index(marker) + len(marker)
                fields[name] = html.unescape(data[start : data.index('"', start)])
        out["fields"] = fields
        action = 'action="'
        if action in data:
            start = data.index(action) + len(action)
            out["url"] = html.unescape(data[start : data.index('"', start)])
    return out


def main():
    # pysaml2 logs every refusal at ERROR; the answers carry them, so stderr stays quiet.
    logging.getLogger().setLevel(logging.CRITICAL)
    # pysaml2 re-serialises a SOAP body with ElementTree, which keeps a signed message's
    # prefixes only if they are registered; pysaml2 registers them when it first writes a
    # message, so register the conventional ones up front.
    from xml.etree import ElementTree

    for prefix, uri in {
        "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
        "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
        "ds": "http://www.w3.org/2000/09/xmldsig#",
    }.items():
        ElementTree.register_namespace(prefix, uri)
    sp = None
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            op = cmd["op"]
            if op == "configure":
                sp = ServiceProvider(cmd)
                answer = sp.metadata()
            else:
                answer = getattr(sp, op)(cmd)
        except Exception as err:
            answer = {"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
