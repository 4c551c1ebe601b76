"""A relying party built on authlib's Flask client, configured as its documentation asks
for a careful RP, for the conformance kit to judge (tests/api/library_rps.rs). What the
library does not do for a NEB broker, this file does in a few lines, each marked "RP:".

Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, IDLE, ABSOLUTE, BROKER_CHECK, MAX_LOGIN_AGE
(seconds). Prints `listening on <base URL>` once it answers.
"""

import logging
import os
import secrets
import sys
import threading
import time
import urllib.parse

import requests
from authlib.integrations.flask_client import OAuth
from joserfc import jwt
from joserfc.jwk import KeySet
from flask import Flask, redirect, request, session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict
from werkzeug.serving import make_server

ISSUER = os.environ["ISSUER"]
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
IDLE = int(os.environ["IDLE"])
ABSOLUTE = int(os.environ["ABSOLUTE"])
BROKER_CHECK = int(os.environ["BROKER_CHECK"])
MAX_LOGIN_AGE = int(os.environ["MAX_LOGIN_AGE"])
LOW = "https://data.gov.dk/concept/core/nsis/Low"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid=None):
        super().__init__(initial)
        self.sid = sid


class ServerSessions(SessionInterface):
    """RP: sessions live on the server (Flask's default lives in a signed cookie, which
    logout cannot end); a new id at login (no fixation)."""

    def __init__(self):
        self.store = {}
        self.lock = threading.Lock()

    def open_session(self, app, request):
        sid = request.cookies.get("rp_session")
        with self.lock:
            data = self.store.get(sid) if sid else None
        if data is None:
            return ServerSession(sid=secrets.token_urlsafe(24))
        return ServerSession(dict(data), sid=sid)

    def save_session(self, app, session, response):
        with self.lock:
            if not session:
                self.store.pop(session.sid, None)
                response.delete_cookie("rp_session")
                return
            self.store[session.sid] = dict(session)
        response.set_cookie("rp_session", session.sid, httponly=True, samesite="Lax")

    def regenerate(self, session):
        with self.lock:
            self.store.pop(session.sid, None)
        session.sid = secrets.token_urlsafe(24)

    def end_where(self, match):
        with self.lock:
            for sid in [sid for sid, data in self.store.items() if match(data)]:
                del self.store[sid]

    def clear(self):
        with self.lock:
            self.store.clear()


app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
sessions = ServerSessions()
app.session_interface = sessions
oauth = None
seen_jtis = set()


def register():
    """Reads discovery anew (authlib caches server metadata per registered client)."""
    global oauth
    oauth = OAuth(app)
    oauth.register(
        "neb",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid mitid", "code_challenge_method": "S256"},
    )


register()


def claims_of_session():
    return session.get("claims") or {}


def logged_in():
    claims = claims_of_session()
    if not claims:
        return False
    now = time.time()
    expired = (
        now - session["last_seen"] >= IDLE
        or now - session["created"] >= ABSOLUTE
        # RP: NEB's session_expiry (a string of Unix seconds).
        or now >= float(claims.get("session_expiry", "inf"))
    )
    if expired or not broker_session_active():
        session.clear()
        return False
    session["last_seen"] = now
    return True


def broker_session_active():
    """RP: ask the broker every BROKER_CHECK seconds whether its session is active."""
    if time.time() - session["checked_broker_at"] < BROKER_CHECK:
        return True
    try:
        info = oauth.neb.userinfo(token=session["token"])
    except Exception:
        return False
    session["checked_broker_at"] = time.time()
    return info.get("sub") == claims_of_session()["sub"] and str(
        info.get("session_is_active")
    ) != "false"


@app.get("/")
def home():
    return "Home"


@app.get("/login")
def login():
    return oauth.neb.authorize_redirect(
        f"{BASE}/callback",
        # RP: NEB's way of asking for a level of assurance.
        idp_params='{"mitid":{"loa_value":"substantial"}}',
    )


@app.get("/callback")
def callback():
    reauth = session.pop("reauth", False)
    try:
        token = oauth.neb.authorize_access_token()
        claims = token["userinfo"]
        # RP: the level NEB reached, and userinfo about the same subject (OIDC Core 5.3.2).
        if claims.get("loa") == LOW:
            raise ValueError("the login is below the required level")
        if reauth and time.time() - claims["auth_time"] > MAX_LOGIN_AGE:
            raise ValueError("the re-authentication is not fresh")
        info = oauth.neb.userinfo(token=token)
        if info.get("sub") != claims["sub"]:
            raise ValueError("userinfo is about another subject")
    except Exception as err:
        session.clear()
        return f"Login failed: {err}", 400
    session.clear()
    sessions.regenerate(session)
    now = time.time()
    session.update(
        claims=dict(claims),
        token={k: v for k, v in token.items() if k != "userinfo"},
        created=now,
        last_seen=now,
        checked_broker_at=now,
    )
    return redirect("/transfer" if reauth else "/me")


@app.get("/me")
def me():
    if not logged_in():
        return "Not logged in", 401
    return f"Logged in as {claims_of_session()['sub']}", 200, {"Cache-Control": "no-store"}


@app.get("/transfer")
def transfer():
    if not logged_in():
        return "Not logged in", 401
    if time.time() - claims_of_session()["auth_time"] > MAX_LOGIN_AGE:
        session["reauth"] = True
        return oauth.neb.authorize_redirect(
            f"{BASE}/callback",
            idp_params='{"mitid":{"loa_value":"substantial"}}',
            max_age=MAX_LOGIN_AGE,
        )
    return "Transfer approved", 200, {"Cache-Control": "no-store"}


@app.get("/logout")
def logout():
    token = session.get("token") or {}
    session.clear()
    metadata = oauth.neb.load_server_metadata()
    if not token:
        return redirect("/")
    query = urllib.parse.urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": f"{BASE}/"}
    )
    return redirect(f"{metadata['end_session_endpoint']}?{query}")


@app.post("/backchannel-logout")
def backchannel_logout():
    """RP: authlib has no back-channel logout; the token is checked with authlib.jose."""
    try:
        metadata = oauth.neb.load_server_metadata()
        keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
        token = jwt.decode(request.form["logout_token"], keys, algorithms=["ES256", "RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": CLIENT_ID},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(token.claims)
        claims = token.claims
        if token.header.get("typ") != "logout+jwt":
            raise ValueError("not a logout token")
        if LOGOUT_EVENT not in (claims.get("events") or {}) or "nonce" in claims:
            raise ValueError("not a logout token")
        sid, sub = claims.get("sid"), claims.get("sub")
        if not sid and not sub:
            raise ValueError("neither sid nor sub")
        if claims["jti"] in seen_jtis:
            raise ValueError("replayed")
        seen_jtis.add(claims["jti"])
    except Exception:
        return "", 400

    def ended(data):
        session_claims = data.get("claims") or {}
        if sid:
            return session_claims.get("sid") == sid
        return session_claims.get("sub") == sub

    sessions.end_where(ended)
    return "", 200, {"Cache-Control": "no-store"}


@app.post("/__restart")
def restart():
    """What the conformance profile's restart_command calls: discovery is read anew and
    sessions held in memory are gone, as after a process restart."""
    sessions.clear()
    register()
    return "restarted"


# One line per request on stderr would drown the test output.
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = make_server("127.0.0.1", 0, app, threaded=True)
BASE = f"http://127.0.0.1:{server.server_port}"
print(f"listening on {BASE}", flush=True)
sys.stdout.flush()
server.serve_forever()
