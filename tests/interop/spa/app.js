// The single-page reference RP: one page, routed by its path. oidc-client-ts runs the code
// flow (PKCE, public client) and keeps the tokens; what oidc-client-ts leaves to the app
// (it reads the id_token without verifying its signature, issuer, audience, times or level
// of assurance, and ignores the response's `iss`) the app checks itself with jose, as OIDC
// Core §3.1.3.7 requires. The session is the tokens in web storage, so every load of a
// protected page asks the broker (userinfo `session_is_active`) whether it still lives:
// storage restored after a logout proves nothing.
//
// The broker has no CORS (as NEB: oidc-integration.md, "Implicit flow and CORS"), so the
// calls a page makes itself (discovery, JWKS, token, userinfo) go through the same-origin
// proxy the app's own server offers under /broker/; the browser's navigations (authorize,
// end_session) go to the broker itself.
//
// Each `config.faults` switch seeds one mistake single-page apps make, for the kit to catch.

import config from "/config.js";
import * as jose from "/lib/jose/index.js";

const { UserManager, WebStorageStateStore } = window.oidc;
const faults = config.faults;

/// Where the tokens and the session's clock live.
const store = faults.tokensInLocalStorage ? window.localStorage : window.sessionStorage;
const SESSION = "spa.session";
const RETURN = "spa.return";
const LEVELS = ["low", "substantial", "high"];

const view = document.getElementById("view");

function render(state, ...nodes) {
  document.body.dataset.spa = state;
  view.replaceChildren(...nodes);
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function loggedOut(message) {
  render("logged-out", element("p", message), element("a", "Log ind med MitID", { href: "/login", id: "login" }));
}

function failed(message) {
  render("error", element("h1", "Login mislykkedes"), element("p", message), element("a", "Prøv igen", { href: "/login" }));
}

/// A broker URL as this origin's proxy serves it.
function proxied(url) {
  const broker = config.brokerBase.replace(/\/$/, "");
  if (!url || !url.startsWith(`${broker}/`)) {
    throw new Error(`discovery names an endpoint outside the broker: ${url}`);
  }
  return `${location.origin}/broker${url.slice(broker.length)}`;
}

/// The broker's discovery document, with the endpoints this page calls itself proxied.
/// OIDC Discovery §4.3: it must name the issuer the app was configured with.
async function discover() {
  const response = await fetch(proxied(`${config.issuer}/.well-known/openid-configuration`), {
    cache: "no-cache",
  });
  if (!response.ok) throw new Error(`the broker's discovery answered ${response.status}`);
  const document = await response.json();
  if (document.issuer !== config.issuer && !faults.discoveryIssuerIgnored) {
    throw new Error(`the broker's discovery names issuer ${document.issuer}, not ${config.issuer}`);
  }
  return {
    ...document,
    token_endpoint: proxied(document.token_endpoint),
    userinfo_endpoint: proxied(document.userinfo_endpoint),
    jwks_uri: proxied(document.jwks_uri),
  };
}

function users(metadata) {
  return new UserManager({
    authority: config.issuer,
    // Pages that only read or drop the stored session need no discovery.
    metadata: metadata ?? { issuer: config.issuer },
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    post_logout_redirect_uri: config.postLogoutRedirectUri,
    response_type: "code",
    scope: config.scope,
    // The app validates the id_token before it sends the access token anywhere.
    loadUserInfo: false,
    automaticSilentRenew: false,
    monitorSession: false,
    userStore: new WebStorageStateStore({ store }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

function randomString() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return jose.base64url.encode(bytes);
}

function readSession() {
  try {
    return JSON.parse(store.getItem(SESSION) ?? "null");
  } catch {
    return null;
  }
}

async function endSession(manager) {
  store.removeItem(SESSION);
  await manager.removeUser();
}

/// OIDC Core §3.1.3.7 (signature, alg, iss, aud, exp, iat; the nonce oidc-client-ts
/// compared) and the level of assurance the app requires. Returns the claims, or throws.
async function validateIdToken(idToken, metadata) {
  let claims;
  if (faults.signatureNotVerified) {
    claims = jose.decodeJwt(idToken);
  } else {
    // The browser caches the broker's JWKS (max-age); a rotated key must be fetched anew.
    const keys = jose.createRemoteJWKSet(new URL(metadata.jwks_uri), {
      [jose.customFetch]: (url, options) => fetch(url, { ...options, cache: "no-cache" }),
    });
    const verified = await jose.compactVerify(idToken, keys, { algorithms: ["RS256", "ES256"] });
    claims = JSON.parse(new TextDecoder().decode(verified.payload));
  }
  const now = Date.now() / 1000;
  if (!faults.idTokenIssNotChecked && claims.iss !== config.issuer) {
    throw new Error(`the id_token comes from issuer ${claims.iss}`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  // No other audience is trusted (item 3), so it must be this client alone.
  if (audiences.length !== 1 || audiences[0] !== config.clientId) {
    throw new Error("the id_token is not meant for this client alone");
  }
  if (!faults.expiredAccepted && !(typeof claims.exp === "number" && claims.exp > now)) {
    throw new Error("the id_token has expired");
  }
  if (!(typeof claims.iat === "number" && claims.iat <= now + 60)) {
    throw new Error("the id_token has no iat, or one in the future");
  }
  if (!faults.noLoaCheck) {
    const level = String(claims.loa ?? "").split(/[/:]/).pop().toLowerCase();
    if (LEVELS.indexOf(level) < LEVELS.indexOf(config.requiredLoa)) {
      throw new Error(`the login is at level ${level || "(none)"}; ${config.requiredLoa} is required`);
    }
  }
  return claims;
}

/// Userinfo for the access token: the claims while the broker session lives, else null.
/// After the broker session ended the broker still answers 200 (as NEB), with only `sub`
/// and `session_is_active: "false"`, until the access token expires.
async function userinfo(metadata, accessToken) {
  const response = await fetch(metadata.userinfo_endpoint, {
    headers: { Authorization: `Bearer ${accessToken}` },
    cache: "no-store",
  });
  if (!response.ok) return null;
  return response.json();
}

/// To the broker's login; `fresh` for the sensitive action: a new authentication, not the
/// broker's SSO session (OIDC Core §3.1.2.1 `prompt=login` and `max_age`).
async function login(fresh = false) {
  render("redirecting", element("p", "Sender dig til MitID …"));
  const metadata = await discover();
  const reauthentication = fresh ? { prompt: "login", max_age: config.maxLoginAgeSeconds, state: { reauth: true } } : {};
  await users(metadata).signinRedirect({
    nonce: randomString(),
    extraQueryParams: { idp_params: JSON.stringify({ mitid: { loa_value: config.requiredLoa } }) },
    ...reauthentication,
  });
}

async function callback() {
  const params = new URLSearchParams(location.search);
  const metadata = await discover();
  const manager = users(metadata);
  // RFC 9207 §2.4: the response must name the issuer the request went to.
  const iss = params.get("iss");
  const issRequired = metadata.authorization_response_iss_parameter_supported === true;
  if (!faults.responseIssIgnored && (iss !== null || issRequired) && iss !== config.issuer) {
    throw new Error(`the authorization response comes from issuer ${iss ?? "(none)"}`);
  }
  // State, the code exchange with PKCE, the nonce and sub: oidc-client-ts.
  const user = await manager.signinRedirectCallback();
  const reauth = user.state?.reauth === true;
  let claims;
  try {
    claims = await validateIdToken(user.id_token, metadata);
    // OIDC Core §3.1.3.7 item 13: the fresh login asked for must be fresh.
    const oldest = Date.now() / 1000 - config.maxLoginAgeSeconds - 1;
    if (reauth && !faults.authTimeNotChecked && !(typeof claims.auth_time === "number" && claims.auth_time >= oldest)) {
      throw new Error("the new authentication is older than the sensitive action accepts");
    }
    const info = await userinfo(metadata, user.access_token);
    // OIDC Core §5.3.2: userinfo must be about the id_token's subject.
    if (!info || info.sub !== claims.sub) throw new Error("userinfo is not about this citizen");
    const now = Date.now();
    // As RPs with this fault have it, the login counts as having just happened.
    const authenticatedAt = faults.authTimeNotChecked ? now : claims.auth_time * 1000;
    store.setItem(
      SESSION,
      JSON.stringify({ loggedInAt: now, lastActivity: now, authenticatedAt, name: info["mitid.identity_name"] ?? claims.sub }),
    );
  } catch (error) {
    await endSession(manager);
    throw error;
  }
  // The code must not stay in the history.
  location.replace(reauth ? "/transfer" : "/me");
}

/// The stored session, if it passes every check, the broker's included; else null, with
/// the page showing why.
async function liveSession() {
  const manager = users();
  const user = await manager.getUser();
  const session = readSession();
  if (!user || user.expired || !session) {
    loggedOut("Du er ikke logget ind.");
    return null;
  }
  const now = Date.now();
  const idle = config.idleSeconds !== null && now - session.lastActivity >= config.idleSeconds * 1000;
  const expiry = Number(jose.decodeJwt(user.id_token).session_expiry);
  const brokerExpired = Number.isFinite(expiry) && now >= expiry * 1000;
  // No absolute limit of its own: the broker's session_expiry bounds the session.
  if (idle || brokerExpired) {
    await endSession(manager);
    loggedOut("Din session er udløbet. Log ind igen.");
    return null;
  }
  if (!faults.trustsStoredSession) {
    const info = await userinfo(await discover(), user.access_token);
    if (!info || info.session_is_active !== "true" || info.sub !== user.profile.sub) {
      await endSession(manager);
      loggedOut("Du er blevet logget af.");
      return null;
    }
  }
  store.setItem(SESSION, JSON.stringify({ ...session, lastActivity: now }));
  return { manager, session };
}

/// The protected page.
async function me() {
  const live = await liveSession();
  if (!live) return;
  const { manager, session } = live;
  const button = element("button", "Log af", { id: "logout", type: "button" });
  button.addEventListener("click", () => logout(manager).catch((error) => failed(error.message)));
  render("logged-in", element("p", `Logget ind som ${session.name}`, { id: "who" }), button);
}

/// The sensitive action: only within the max login age of the last authentication.
async function transfer() {
  const live = await liveSession();
  if (!live) return;
  const age = Date.now() - live.session.authenticatedAt;
  if (age <= config.maxLoginAgeSeconds * 1000 || faults.noReauthentication) {
    render("granted", element("p", "Overførsel godkendt", { id: "granted" }));
    return;
  }
  await login(true);
}

async function logout(manager) {
  if (faults.openReturnUrl) {
    const params = new URLSearchParams(location.search);
    const target = params.get("returnUrl") ?? params.get("return_to");
    if (target) window.sessionStorage.setItem(RETURN, target);
  }
  if (faults.localOnlyLogout) {
    await endSession(manager);
    location.assign("/signed-out");
    return;
  }
  const user = await manager.getUser();
  store.removeItem(SESSION);
  // RP-Initiated Logout: the broker ends its session and returns to the registered URI.
  await users(await discover()).signoutRedirect({ id_token_hint: user?.id_token });
}

async function signedOut() {
  if (new URLSearchParams(location.search).has("state")) {
    await users(await discover()).signoutRedirectCallback().catch(() => {});
  }
  const target = window.sessionStorage.getItem(RETURN);
  window.sessionStorage.removeItem(RETURN);
  if (target) {
    location.assign(target);
    return;
  }
  loggedOut("Du er logget af.");
}

/// OIDC Front-Channel Logout 1.0 §3: loaded by the broker's logout page in an iframe with
/// its `iss` and the session's `sid`; the session of that sid ends.
async function frontchannelLogout() {
  const params = new URLSearchParams(location.search);
  const manager = users();
  const user = await manager.getUser();
  const sid = user ? jose.decodeJwt(user.id_token).sid : undefined;
  if (!faults.frontchannelIgnored && params.get("iss") === config.issuer && sid && params.get("sid") === sid) {
    await endSession(manager);
  }
  render("logged-out", element("p", "Logget af."));
}

const routes = {
  "/": async () => render("home", element("h1", "Borgerservice"), element("a", "Log ind med MitID", { href: "/login", id: "login" })),
  "/login": login,
  "/callback": callback,
  "/me": me,
  "/transfer": transfer,
  "/signed-out": signedOut,
  "/frontchannel-logout": frontchannelLogout,
};

const route = routes[location.pathname] ?? (async () => render("not-found", element("p", "Siden findes ikke.")));
route().catch((error) => failed(error?.message ?? String(error)));
