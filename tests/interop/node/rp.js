// A relying party built on express-openid-connect, configured as its documentation asks
// for a careful RP, for the conformance kit to judge (tests/api/library_rps.rs). What the
// library does not do for a NEB broker, this file does in a few lines, each marked "RP:".
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, IDLE, ABSOLUTE, BROKER_CHECK, MAX_LOGIN_AGE
// (seconds). Prints `listening on <base URL>` once it answers.
'use strict';

const express = require('express');
const { auth } = require('express-openid-connect');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const seconds = (name) => Number(env(name));
const LOW = 'https://data.gov.dk/concept/core/nsis/Low';

// An express-session compatible store: sessions live on the server, so logout, expiry and
// back-channel logout end them there (the library's default keeps them in the cookie).
class MemoryStore {
  constructor() {
    this.entries = new Map();
  }
  get(id, cb) {
    const entry = this.entries.get(id);
    if (entry && entry.cookie && entry.cookie.expires && entry.cookie.expires < Date.now()) {
      this.entries.delete(id);
      return cb(null, undefined);
    }
    cb(null, entry && JSON.parse(JSON.stringify(entry)));
  }
  set(id, data, cb) {
    this.entries.set(id, JSON.parse(JSON.stringify(data)));
    cb(null);
  }
  destroy(id, cb) {
    this.entries.delete(id);
    cb(null);
  }
  clear() {
    this.entries.clear();
  }
}

const app = express();
const store = new MemoryStore();
let base = '';
let middleware;

function configure() {
  return auth({
    issuerBaseURL: env('ISSUER'),
    baseURL: base,
    clientID: env('CLIENT_ID'),
    clientSecret: env('CLIENT_SECRET'),
    secret: 'a-long-enough-cookie-secret-for-tests',
    idTokenSigningAlg: 'RS256',
    authRequired: false,
    idpLogout: true,
    enableTelemetry: false,
    routes: { postLogoutRedirect: '/' },
    authorizationParams: {
      response_type: 'code',
      scope: 'openid mitid',
      // RP: NEB's way of asking for a level of assurance.
      idp_params: JSON.stringify({ mitid: { loa_value: 'substantial' } }),
    },
    session: {
      store,
      rolling: true,
      rollingDuration: seconds('IDLE'),
      absoluteDuration: seconds('ABSOLUTE'),
    },
    backchannelLogout: { store },
    afterCallback: (req, res, session) => {
      // RP: the level NEB reached is in `loa`; the library does not know NEB's claims.
      const claims = JSON.parse(Buffer.from(session.id_token.split('.')[1], 'base64url'));
      if (claims.loa === LOW) {
        throw Object.assign(new Error('the login is below the required level'), { status: 400 });
      }
      return { ...session, checkedBrokerAt: Date.now() };
    },
  });
}

app.use((req, res, next) => middleware(req, res, next));

// RP: NEB's session_expiry is a string of Unix seconds; the library reads only numbers.
function sessionExpired(req) {
  const expiry = Number(req.oidc.idTokenClaims.session_expiry);
  return Number.isFinite(expiry) && Date.now() / 1000 >= expiry;
}

// RP: ask the broker every BROKER_CHECK seconds whether its session is still active
// (userinfo; the library checks that its `sub` is the id_token's).
async function brokerSessionActive(req) {
  const session = req.appSession;
  if (Date.now() - (session.checkedBrokerAt || 0) < seconds('BROKER_CHECK') * 1000) return true;
  try {
    const info = await req.oidc.fetchUserInfo();
    session.checkedBrokerAt = Date.now();
    return info.session_is_active !== 'false' && info.session_is_active !== false;
  } catch (err) {
    return false;
  }
}

async function loggedIn(req) {
  if (!req.oidc.isAuthenticated()) return false;
  if (sessionExpired(req) || !(await brokerSessionActive(req))) {
    req.appSession = undefined;
    return false;
  }
  return true;
}

app.get('/', (req, res) => res.send('Home'));

app.get('/me', async (req, res) => {
  if (!(await loggedIn(req))) return res.status(401).send('Not logged in');
  res.set('Cache-Control', 'no-store').send(`Logged in as ${req.oidc.user.sub}`);
});

// The sensitive action: only within MAX_LOGIN_AGE of the last authentication.
app.get('/transfer', async (req, res) => {
  if (!(await loggedIn(req))) return res.status(401).send('Not logged in');
  const age = Date.now() / 1000 - req.oidc.idTokenClaims.auth_time;
  if (age > seconds('MAX_LOGIN_AGE')) {
    return res.oidc.login({
      returnTo: '/transfer',
      authorizationParams: { max_age: seconds('MAX_LOGIN_AGE') },
    });
  }
  res.set('Cache-Control', 'no-store').send('Transfer approved');
});

// What the conformance profile's restart_command calls: the library reads discovery
// anew, and sessions held in memory are gone, as after a process restart.
app.post('/__restart', (req, res) => {
  store.clear();
  middleware = configure();
  res.send('restarted');
});

app.use((err, req, res, next) => {
  res.status(err.status || 500).send(`Login failed: ${err.message}`);
});

const server = app.listen(0, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  middleware = configure();
  console.log(`listening on ${base}`);
});
