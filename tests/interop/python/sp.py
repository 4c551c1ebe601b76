"""A SAML service provider built on pysaml2, driven by mitid-sim's interop tests.

One JSON command per line on stdin, one JSON answer per line on stdout. Everything SAML
happens in pysaml2 (which signs, verifies, encrypts and decrypts through the xmlsec1
program): this file only wires its documented client API to the commands.
"""

import base64
import json
import sys
import traceback

import defusedxml.ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


class ServiceProvider:
    def __init__(self, cmd):
        self.entity_id = cmd["entity_id"]
        self.acs = cmd["acs"]
        self.slo = cmd["slo"]
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
                        "single_logout_service": [
                            (self.slo, BINDING_HTTP_REDIRECT),
                            (self.slo, BINDING_HTTP_POST),
                            (self.slo + "/soap", BINDING_SOAP),
                        ],
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
        self.outstanding = {}
        # pysaml2 leaves replay detection to the application ("Should check that I haven't
        # seen this before" in saml2/response.py): the SP remembers assertion IDs.
        self.seen_assertions = set()

    def metadata(self):
        return {"metadata": create_metadata_string(None, config=self.config, sign=False).decode()}

    def authn_request(self, cmd):
        refs = [AuthnContextClassRef(text=ref) for ref in cmd.get("class_refs", [])]
        kwargs = {}
        if refs:
            kwargs["requested_authn_context"] = RequestedAuthnContext(authn_context_class_ref=refs, comparison="minimum")
        if cmd.get("force_authn"):
            kwargs["force_authn"] = "true"
        if cmd.get("is_passive"):
            kwargs["is_passive"] = "true"
        binding = BINDING_HTTP_REDIRECT if cmd["binding"] == "redirect" else BINDING_HTTP_POST
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
                "session_index": assertion.authn_statement[0].session_index,
                "authn_context": assertion.authn_statement[0].authn_context.authn_context_class_ref.text,
                "response_signed": bool(response.response.signature),
                "assertion_signed": bool(assertion.signature),
                "encrypted": b"EncryptedAssertion" in base64.b64decode(cmd["saml_response"]),
            }
        except Exception as err:  # pysaml2 refuses by raising; the kind is reported
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def logout_request(self, cmd):
        binding = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST, "soap": BINDING_SOAP}[cmd["binding"]]
        destination = cmd["destination"]
        request_id, request = self.client.create_logout_request(
            destination,
            cmd["idp_entity_id"],
            name_id=name_id(cmd["name_id"]),
            session_indexes=[cmd["session_index"]],
            sign=binding != BINDING_HTTP_REDIRECT,
            sign_alg=RSA_SHA256,
            digest_alg=SHA256,
        )
        if binding == BINDING_SOAP:
            from saml2.pack import make_soap_enveloped_saml_thingy

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
        binding = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST, "soap": BINDING_SOAP}[cmd["binding"]]
        try:
            response = self.client.parse_logout_request_response(cmd["message"], binding)
            if response is None:
                return {"ok": False, "error": "pysaml2 returned no response (refused)"}
            return {"ok": True, "status": response.response.status.status_code.value}
        except Exception as err:
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}

    def idp_logout_request(self, cmd):
        """An IdP-initiated LogoutRequest arrives: verify it and answer with a signed response."""
        binding = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST, "soap": BINDING_SOAP}[cmd["binding"]]
        try:
            request = self.client.parse_logout_request(cmd["message"], binding)
            if request is None:
                return {"ok": False, "error": "pysaml2 returned no request (refused)"}
            message = request.message
            response = self.client.create_logout_response(message, [BINDING_HTTP_REDIRECT], sign=False)
            info = self.client.apply_binding(
                BINDING_HTTP_REDIRECT,
                str(response),
                cmd["destination"],
                relay_state=cmd.get("relay_state", ""),
                response=True,
                sign=True,
                sigalg=RSA_SHA256,
            )
            return {
                "ok": True,
                "request_id": message.id,
                "name_id": message.name_id.text,
                "session_indexes": [s.text for s in message.session_index],
                **http_info(info),
            }
        except Exception as err:
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}


def oiosaml_checks(saml_response):
    """What the OIOSAML 3 profile asks of an SP and pysaml2 has no switch for (OIOSAML.Java
    checks the same): the assertion arrives encrypted, exactly one of it."""
    root = defusedxml.ElementTree.fromstring(base64.b64decode(saml_response))
    plain = root.findall("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    encrypted = root.findall("{urn:oasis:names:tc:SAML:2.0:assertion}EncryptedAssertion")
    if plain or len(encrypted) != 1:
        return "OIOSAML 3: the response must carry exactly one EncryptedAssertion and no plain Assertion"
    return None


def name_id(text):
    from saml2.saml import NameID

    return NameID(format=NAMEID_FORMAT_PERSISTENT, text=text)


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
                fields[name] = html_unescape(data[start : data.index('"', start)])
        out["fields"] = fields
        action = 'action="'
        if action in data:
            start = data.index(action) + len(action)
            out["url"] = html_unescape(data[start : data.index('"', start)])
    return out


def html_unescape(text):
    import html

    return html.unescape(text)


def main():
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
