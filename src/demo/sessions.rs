//! Min Side's own sessions: server-side, behind an opaque random cookie value. The cookie
//! proves nothing by itself, so a copied, restored or tampered cookie is worth exactly
//! what the server still holds for it — nothing after logout or expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde_json::{Map, Value};

use super::register::Person;
use super::Settings;

/// Logins started but not finished are kept this long, and at most this many: a flood of
/// `/login` requests cannot grow memory without bound.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);
const MAX_PENDING: usize = 10_000;
/// How long an expired session stays to end the broker session at the next visit.
const KEPT_FOR_LOGOUT: Duration = Duration::from_secs(3600);
/// Logout-token ids are remembered until the tokens expire, and at most this many.
const MAX_SEEN_JTIS: usize = 10_000;

/// A login on its way through the broker.
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Started by the sensitive page: the broker was asked for a fresh login at this Unix time.
    pub fresh_since: Option<i64>,
    pub started: Instant,
}

/// What the service knows about the citizen, gathered at login.
pub struct Citizen {
    pub claims: Map<String, Value>,
    pub userinfo: Map<String, Value>,
    /// `None` for citizens without a CPR number.
    pub person: Option<Person>,
}

pub struct Session {
    pub id_token: String,
    pub access_token: String,
    pub sub: String,
    pub sid: String,
    /// The broker session's absolute end (its `session_expiry`, Unix time).
    pub broker_expiry: i64,
    pub created: Instant,
    pub last_seen: Instant,
    pub broker_checked: Instant,
    /// When the citizen last authenticated afresh for the sensitive page.
    pub fresh_at: Option<Instant>,
    pub csrf: String,
    pub citizen: Arc<Citizen>,
    /// The CPR number of the person the citizen acts for, if not themselves.
    pub acting_for: Option<String>,
}

/// What a request finds behind its cookie.
pub enum Lookup {
    /// No session (never was, logged out, or dropped).
    None,
    /// The service's own idle or absolute limit passed; the broker session may live on,
    /// so the caller ends it with this id_token as hint.
    Expired {
        id_token: String,
    },
    /// Alive by the service's rules, but the broker session is due a check.
    CheckBroker {
        access_token: String,
        sub: String,
    },
    Alive(Snapshot),
}

/// The parts of a session a page shows.
pub struct Snapshot {
    pub citizen: Arc<Citizen>,
    pub csrf: String,
    pub acting_for: Option<String>,
    pub fresh_at: Option<Instant>,
}

fn snapshot(session: &Session) -> Snapshot {
    Snapshot {
        citizen: session.citizen.clone(),
        csrf: session.csrf.clone(),
        acting_for: session.acting_for.clone(),
        fresh_at: session.fresh_at,
    }
}

pub struct Sessions {
    settings: Settings,
    pending: DashMap<String, Pending>,
    live: DashMap<String, Session>,
    seen_jtis: DashMap<String, i64>,
}

impl Sessions {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            pending: DashMap::new(),
            live: DashMap::new(),
            seen_jtis: DashMap::new(),
        }
    }

    /// Remembers a login in progress; `None` when too many are in flight.
    pub fn begin(&self, pending: Pending) -> Option<String> {
        if self.pending.len() >= MAX_PENDING {
            self.sweep();
            if self.pending.len() >= MAX_PENDING {
                return None;
            }
        }
        let id = super::oidc::random_token();
        self.pending.insert(id.clone(), pending);
        Some(id)
    }

    /// The login in progress, once: a callback cannot be replayed.
    pub fn take_pending(&self, id: &str) -> Option<Pending> {
        self.pending
            .remove(id)
            .map(|(_, pending)| pending)
            .filter(|p| p.started.elapsed() < PENDING_LIFETIME)
    }

    /// A new session with a new id (never one the browser had before: no fixation).
    pub fn create(&self, session: Session) -> String {
        let id = super::oidc::random_token();
        self.live.insert(id.clone(), session);
        id
    }

    /// Past the service's own idle or absolute limit.
    fn expired(&self, session: &Session, now: Instant) -> bool {
        now.duration_since(session.last_seen) >= self.settings.idle
            || now.duration_since(session.created) >= self.settings.absolute
    }

    pub fn lookup(&self, id: &str) -> Lookup {
        let Some(mut session) = self.live.get_mut(id) else {
            return Lookup::None;
        };
        let now = Instant::now();
        let settings = &self.settings;
        if self.expired(&session, now) {
            let id_token = session.id_token.clone();
            drop(session);
            self.live.remove(id);
            return Lookup::Expired { id_token };
        }
        // The broker's session_expiry: the broker session is over, nothing to end there.
        if super::unix_now() >= session.broker_expiry {
            drop(session);
            self.live.remove(id);
            return Lookup::None;
        }
        if now.duration_since(session.broker_checked) >= settings.broker_check_every {
            return Lookup::CheckBroker {
                access_token: session.access_token.clone(),
                sub: session.sub.clone(),
            };
        }
        session.last_seen = now;
        Lookup::Alive(snapshot(&session))
    }

    /// The broker said its session lives: this one does too, checked and used now.
    pub fn confirmed(&self, id: &str) -> Option<Snapshot> {
        let mut session = self.live.get_mut(id)?;
        let now = Instant::now();
        session.broker_checked = now;
        session.last_seen = now;
        Some(snapshot(&session))
    }

    /// The CSRF token of a session, expired or not (logout works in either case).
    pub fn csrf_of(&self, id: &str) -> Option<String> {
        self.live.get(id).map(|session| session.csrf.clone())
    }

    pub fn end(&self, id: &str) -> Option<Session> {
        self.live.remove(id).map(|(_, session)| session)
    }

    pub fn act_for(&self, id: &str, cpr: Option<String>) {
        if let Some(mut session) = self.live.get_mut(id) {
            session.acting_for = cpr;
        }
    }

    /// Back-channel logout: ends the sessions of a broker session (`sid`) or, without a
    /// `sid`, every session of the citizen (`sub`). Returns how many ended.
    pub fn end_matching(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let before = self.live.len();
        self.live.retain(|_, session| match (sid, sub) {
            (Some(sid), _) => session.sid != sid,
            (None, Some(sub)) => session.sub != sub,
            (None, None) => true,
        });
        before - self.live.len()
    }

    /// False when this logout-token id was seen before (a replay).
    pub fn first_use_of_jti(&self, jti: &str, expires: i64) -> bool {
        if self.seen_jtis.len() >= MAX_SEEN_JTIS {
            let now = super::unix_now();
            self.seen_jtis.retain(|_, exp| *exp > now);
        }
        if self.seen_jtis.len() >= MAX_SEEN_JTIS {
            return false;
        }
        self.seen_jtis.insert(jti.to_string(), expires).is_none()
    }

    /// Drops what has expired; runs every half minute. A session past the service's own
    /// limits is kept a while (never usable again) so that the citizen's next visit can
    /// still end the broker session with its id_token.
    pub fn sweep(&self) {
        let now = Instant::now();
        let unix = super::unix_now();
        self.pending
            .retain(|_, p| now.duration_since(p.started) < PENDING_LIFETIME);
        self.live.retain(|_, s| {
            let long_expired = now.duration_since(s.last_seen)
                >= self.settings.idle + KEPT_FOR_LOGOUT
                || now.duration_since(s.created) >= self.settings.absolute + KEPT_FOR_LOGOUT;
            unix < s.broker_expiry && !long_expired
        });
        self.seen_jtis.retain(|_, exp| *exp > unix);
    }
}
