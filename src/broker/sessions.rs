//! Broker sessions. As at NEB, a session belongs to one client unless clients share an
//! SSO group: a browser holds one session per [`SsoScope`], and only the clients of that
//! scope log in through it without credentials. A session ends by logout or by idle or
//! absolute expiry; whoever ends it gets the ended session back and announces it
//! ([`LogoutListeners`]), so every personality tells the parties that took part: OpenID
//! Connect clients and SAML service providers alike.

use std::fmt;
use std::sync::{RwLock, Weak};

use dashmap::DashMap;
use serde::{Serialize, Serializer};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::flow::Authentication;

/// The clients that share sessions: one client on its own (NEB's default), or a named SSO
/// group of clients.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SsoScope {
    Client(String),
    Group(String),
}

impl fmt::Display for SsoScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsoScope::Client(client_id) => write!(f, "client:{client_id}"),
            SsoScope::Group(group) => write!(f, "group:{group}"),
        }
    }
}

impl Serialize for SsoScope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// Ends a session nobody used for this long.
    pub idle: Duration,
    /// Ends a session this long after it began, whatever the activity.
    pub absolute: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle: Duration::hours(1),
            absolute: Duration::hours(8),
        }
    }
}

/// A client (or service provider) that took part in a session, with the `sid` and `sub`
/// it was given: for a SAML service provider, the `SessionIndex` and the `NameID`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub sid: Uuid,
    pub subject: String,
}

/// The clients (or service providers) of a session by client ID (entity ID), in ID order.
/// A session has a handful at most,
/// so a sorted vector: a `BTreeMap` would allocate a node for eleven on the first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Participants(Vec<(String, Participant)>);

impl Participants {
    pub fn get(&self, client_id: &str) -> Option<&Participant> {
        self.position(client_id).ok().map(|at| &self.0[at].1)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(client_id, _)| client_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Participant)> {
        self.0.iter().map(|(client_id, p)| (client_id, p))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's participation, made by `new` if it has none yet.
    fn get_or_insert_with(
        &mut self,
        client_id: &str,
        new: impl FnOnce() -> Participant,
    ) -> &Participant {
        let at = match self.position(client_id) {
            Ok(at) => at,
            Err(at) => {
                self.0.insert(at, (client_id.to_string(), new()));
                at
            }
        };
        &self.0[at].1
    }

    fn position(&self, client_id: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|(id, _)| id.as_str().cmp(client_id))
    }
}

impl std::ops::Index<&str> for Participants {
    type Output = Participant;

    /// As a map's: panics when the client took no part (use [`Participants::get`]).
    fn index(&self, client_id: &str) -> &Participant {
        self.get(client_id)
            .unwrap_or_else(|| panic!("client `{client_id}` took no part in the session"))
    }
}

impl<'a> IntoIterator for &'a Participants {
    type Item = (&'a String, &'a Participant);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Participant)>,
        fn(&'a (String, Participant)) -> (&'a String, &'a Participant),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(client_id, p)| (client_id, p))
    }
}

impl IntoIterator for Participants {
    type Item = (String, Participant);
    type IntoIter = std::vec::IntoIter<(String, Participant)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Participants {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The relying party asked: RP-initiated logout at `connect/endsession`, or a SAML
    /// service provider's `LogoutRequest`.
    RpLogout,
    /// NEB's back-end logout API.
    BackendLogout,
    IdleExpiry,
    AbsoluteExpiry,
    /// Another citizen logged in in the same browser.
    Replaced,
    /// The admin API ended it.
    Admin,
}

#[derive(Clone, Debug, Serialize)]
pub struct SsoSession {
    /// `neb_sid` in tokens.
    pub id: Uuid,
    /// The clients this session serves.
    pub scope: SsoScope,
    /// The value of the browser's SSO cookie: not the `neb_sid`, which RPs see.
    #[serde(skip)]
    pub browser_key: String,
    pub citizen: Uuid,
    /// The latest active authentication (its `auth_time`, level and method).
    #[serde(skip)]
    pub authentication: Authentication,
    pub created: i64,
    pub last_active: i64,
    pub expires: i64,
    /// OpenID Connect clients, by client ID.
    pub participants: Participants,
    /// SAML service providers (NemLog-in), by entity ID.
    pub service_providers: Participants,
}

impl SsoSession {
    pub fn absolute_expiry(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn expiry_reason(&self, now: OffsetDateTime, settings: &SessionSettings) -> Option<EndReason> {
        let now = now.unix_timestamp();
        if now >= self.expires {
            Some(EndReason::AbsoluteExpiry)
        } else if now - self.last_active >= settings.idle.whole_seconds() {
            Some(EndReason::IdleExpiry)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EndedSession {
    pub session: SsoSession,
    pub reason: EndReason,
    pub ended: i64,
}

/// The sessions behind one browser's cookie, one per scope. A browser holds one or a few,
/// so a vector: a `BTreeMap` would allocate a node for eleven per browser.
#[derive(Debug, Default)]
struct BrowserSessions(Vec<(SsoScope, Uuid)>);

impl BrowserSessions {
    fn get(&self, scope: &SsoScope) -> Option<&Uuid> {
        self.0.iter().find(|(s, _)| s == scope).map(|(_, id)| id)
    }

    fn insert(&mut self, scope: SsoScope, id: Uuid) {
        match self.0.iter_mut().find(|(s, _)| *s == scope) {
            Some(held) => held.1 = id,
            None => self.0.push((scope, id)),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&SsoScope, &mut Uuid) -> bool) {
        self.0.retain_mut(|(scope, id)| keep(scope, id));
    }

    fn values(&self) -> impl Iterator<Item = &Uuid> {
        self.0.iter().map(|(_, id)| id)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug)]
pub struct Sessions {
    sessions: DashMap<Uuid, SsoSession>,
    /// The sessions behind each browser's cookie, one per scope.
    browsers: DashMap<String, BrowserSessions>,
    pub settings: SessionSettings,
}

impl Sessions {
    pub fn new(settings: SessionSettings) -> Self {
        Self {
            sessions: DashMap::new(),
            browsers: DashMap::new(),
            settings,
        }
    }

    /// Starts a session in `scope` after an active authentication. The browser gets a new
    /// cookie value, which its other sessions move to: a value known before the login (a
    /// planted cookie) never reaches a session (session fixation).
    pub fn start(
        &self,
        authentication: Authentication,
        scope: SsoScope,
        browser_key: Option<&str>,
        now: OffsetDateTime,
    ) -> SsoSession {
        let new_key = crate::random::secret_token();
        let mut held = browser_key
            .and_then(|key| self.browsers.remove(key))
            .map(|(_, held)| held)
            .unwrap_or_default();
        held.retain(|_, id| match self.sessions.get_mut(id) {
            Some(mut session) => {
                session.browser_key = new_key.clone();
                true
            }
            None => false,
        });
        let session = SsoSession {
            id: Uuid::new_v4(),
            scope: scope.clone(),
            browser_key: new_key.clone(),
            citizen: authentication.citizen,
            authentication,
            created: now.unix_timestamp(),
            last_active: now.unix_timestamp(),
            expires: (now + self.settings.absolute).unix_timestamp(),
            participants: Participants::default(),
            service_providers: Participants::default(),
        };
        self.sessions.insert(session.id, session.clone());
        held.insert(scope, session.id);
        self.browsers.insert(new_key, held);
        session
    }

    /// The browser's live session in `scope`. An expired one is not returned; the
    /// housekeeping ends it and tells its clients.
    pub fn for_browser(
        &self,
        browser_key: &str,
        scope: &SsoScope,
        now: OffsetDateTime,
    ) -> Option<SsoSession> {
        let id = *self.browsers.get(browser_key)?.get(scope)?;
        self.live(id, now)
    }

    /// Whether any live session, in any scope, is behind the browser's cookie.
    pub fn browser_has_sessions(&self, browser_key: &str, now: OffsetDateTime) -> bool {
        let ids: Vec<Uuid> = match self.browsers.get(browser_key) {
            Some(held) => held.values().copied().collect(),
            None => return false,
        };
        ids.into_iter().any(|id| self.is_active(id, now))
    }

    pub fn live(&self, id: Uuid, now: OffsetDateTime) -> Option<SsoSession> {
        self.sessions
            .get(&id)
            .filter(|s| s.expiry_reason(now, &self.settings).is_none())
            .map(|s| s.clone())
    }

    pub fn is_active(&self, id: Uuid, now: OffsetDateTime) -> bool {
        self.live(id, now).is_some()
    }

    /// A newer active authentication in an existing session (re-authentication, step-up).
    pub fn reauthenticate(&self, id: Uuid, authentication: Authentication, now: OffsetDateTime) {
        if let Some(mut session) = self.sessions.get_mut(&id) {
            session.authentication = authentication;
            session.last_active = now.unix_timestamp();
        }
    }

    /// Activity that keeps the session from idling out (an SSO login, a refresh).
    pub fn touch(&self, id: Uuid, now: OffsetDateTime) {
        if let Some(mut session) = self.sessions.get_mut(&id) {
            if session.expiry_reason(now, &self.settings).is_none() {
                session.last_active = now.unix_timestamp();
            }
        }
    }

    /// Registers `client_id` as taking part; returns its `sid`, which is the session's id
    /// (`neb_sid`), as the real broker sets it.
    pub fn join(&self, id: Uuid, client_id: &str, subject: &str) -> Option<Participant> {
        let mut session = self.sessions.get_mut(&id)?;
        let participant = session
            .participants
            .get_or_insert_with(client_id, || Participant {
                sid: id,
                subject: subject.to_string(),
            })
            .clone();
        Some(participant)
    }

    /// Registers SAML service provider `entity_id` as taking part, with the `NameID` it was
    /// given; its `SessionIndex` (the `sid`) is the session's id.
    pub fn join_service_provider(
        &self,
        id: Uuid,
        entity_id: &str,
        name_id: &str,
    ) -> Option<Participant> {
        let mut session = self.sessions.get_mut(&id)?;
        let participant = session
            .service_providers
            .get_or_insert_with(entity_id, || Participant {
                sid: id,
                subject: name_id.to_string(),
            })
            .clone();
        Some(participant)
    }

    /// Brings the absolute expiry forward to `expiry` (never later than it was); returns
    /// the expiry now in force, or `None` for an unknown session.
    pub fn shorten(&self, id: Uuid, expiry: OffsetDateTime) -> Option<OffsetDateTime> {
        let mut session = self.sessions.get_mut(&id)?;
        session.expires = session.expires.min(expiry.unix_timestamp());
        Some(session.absolute_expiry())
    }

    /// Ends a session; only the first caller gets it back, so logout fans out once.
    pub fn end(&self, id: Uuid, reason: EndReason, now: OffsetDateTime) -> Option<EndedSession> {
        let (_, session) = self.sessions.remove(&id)?;
        self.browsers
            .remove_if_mut(&session.browser_key, |_, held| {
                held.retain(|_, held_id| *held_id != id);
                held.is_empty()
            });
        Some(EndedSession {
            session,
            reason,
            ended: now.unix_timestamp(),
        })
    }

    /// Ends every session whose idle or absolute lifetime has passed.
    pub fn end_expired(&self, now: OffsetDateTime) -> Vec<EndedSession> {
        let due: Vec<(Uuid, EndReason)> = self
            .sessions
            .iter()
            .filter_map(|s| s.expiry_reason(now, &self.settings).map(|r| (s.id, r)))
            .collect();
        due.into_iter()
            .filter_map(|(id, reason)| self.end(id, reason, now))
            .collect()
    }

    /// `client_id`'s part in the newest live session it takes part in.
    pub fn newest_participant(&self, client_id: &str, now: OffsetDateTime) -> Option<Participant> {
        self.sessions
            .iter()
            .filter(|s| s.expiry_reason(now, &self.settings).is_none())
            .filter_map(|s| {
                let participant = s.participants.get(client_id)?;
                Some(((s.created, s.last_active), participant.clone()))
            })
            .max_by_key(|(age, _)| *age)
            .map(|(_, participant)| participant)
    }

    pub fn all(&self) -> Vec<SsoSession> {
        self.sessions.iter().map(|s| s.clone()).collect()
    }

    pub fn get(&self, id: Uuid) -> Option<SsoSession> {
        self.sessions.get(&id).map(|s| s.clone())
    }
}

/// Hears that a session ended, however it ended: each personality tells the parties of
/// its protocol (back-channel logout tokens, SAML `LogoutRequest`s).
pub trait LogoutListener: Send + Sync {
    fn session_ended(&self, ended: &EndedSession);
}

/// The personalities that hear of ended sessions. Held weakly: a stopped server's
/// providers go away with it.
#[derive(Default)]
pub struct LogoutListeners {
    listeners: RwLock<Vec<Weak<dyn LogoutListener>>>,
}

impl fmt::Debug for LogoutListeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.listeners.read().map(|l| l.len()).unwrap_or_default();
        write!(f, "LogoutListeners({count})")
    }
}

impl LogoutListeners {
    pub fn subscribe(&self, listener: Weak<dyn LogoutListener>) {
        let mut listeners = self.listeners.write().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(listener);
    }

    /// Tells every listener; call once per ended session (only the one who ended it gets
    /// it back from [`Sessions::end`]).
    pub fn announce(&self, ended: &EndedSession) {
        let listeners: Vec<_> = self
            .listeners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for listener in listeners {
            listener.session_ended(ended);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authenticators::{Method, Proof};
    use crate::flow::Idp;
    use crate::identity::Loa;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00:00 UTC);

    fn auth() -> Authentication {
        Authentication {
            citizen: Uuid::new_v4(),
            idp: Idp::MitId,
            proof: Proof::of(Method::App, Loa::Substantial),
            loa: Loa::Substantial,
            ial: Loa::Substantial,
            auth_time: NOW,
            cpr_verified: false,
            psd2: false,
            idp_transaction_id: Uuid::new_v4(),
            professional: None,
        }
    }

    fn scope(client_id: &str) -> SsoScope {
        SsoScope::Client(client_id.into())
    }

    fn sessions() -> Sessions {
        Sessions::new(SessionSettings {
            idle: Duration::minutes(30),
            absolute: Duration::hours(8),
        })
    }

    #[test]
    fn a_session_idles_out_unless_used() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        assert!(sessions
            .for_browser(
                &session.browser_key,
                &scope("rp-a"),
                NOW + Duration::minutes(29)
            )
            .is_some());
        sessions.touch(session.id, NOW + Duration::minutes(29));
        assert!(sessions.is_active(session.id, NOW + Duration::minutes(58)));
        assert!(!sessions.is_active(session.id, NOW + Duration::minutes(60)));
        let ended = sessions.end_expired(NOW + Duration::minutes(60));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].reason, EndReason::IdleExpiry);
        assert!(
            sessions.end_expired(NOW + Duration::minutes(61)).is_empty(),
            "ended once"
        );
    }

    #[test]
    fn activity_does_not_extend_the_absolute_lifetime() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        for minutes in (20..480).step_by(20) {
            sessions.touch(session.id, NOW + Duration::minutes(minutes));
        }
        let ended = sessions.end_expired(NOW + Duration::hours(8));
        assert_eq!(ended[0].reason, EndReason::AbsoluteExpiry);
    }

    #[test]
    fn shortening_only_ever_brings_the_end_forward() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        let soon = NOW + Duration::seconds(65);
        assert_eq!(sessions.shorten(session.id, soon), Some(soon));
        assert_eq!(
            sessions.shorten(session.id, NOW + Duration::hours(2)),
            Some(soon),
            "not lengthened"
        );
        assert!(sessions.is_active(session.id, soon - Duration::seconds(1)));
        let ended = sessions.end_expired(soon);
        assert_eq!(ended[0].reason, EndReason::AbsoluteExpiry);
        assert_eq!(sessions.shorten(Uuid::new_v4(), soon), None);
    }

    #[test]
    fn participants_are_kept_and_shown_in_client_order() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        for client in ["rp-c", "rp-a", "rp-b", "rp-a"] {
            sessions.join(session.id, client, "sub");
        }
        let participants = sessions.get(session.id).unwrap().participants;
        assert_eq!(participants.len(), 3);
        assert_eq!(
            participants.keys().collect::<Vec<_>>(),
            ["rp-a", "rp-b", "rp-c"]
        );
        let json = serde_json::to_string(&participants).unwrap();
        assert!(json.starts_with("{\"rp-a\":{\"sid\":"), "{json}");
        assert!(participants.get("rp-d").is_none());
    }

    #[test]
    fn every_client_gets_the_sessions_id_as_sid_and_a_session_ends_once() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        let a = sessions.join(session.id, "rp-a", "sub-a").unwrap();
        assert_eq!(sessions.join(session.id, "rp-a", "sub-a").unwrap(), a);
        let b = sessions.join(session.id, "rp-b", "sub-b").unwrap();
        assert_eq!(
            (a.sid, b.sid),
            (session.id, session.id),
            "sid is the neb_sid"
        );
        let sp = sessions
            .join_service_provider(session.id, "https://sp.example.dk", "name-id")
            .unwrap();
        assert_eq!(
            sp.sid, session.id,
            "the SAML SessionIndex is the session's id"
        );
        let ended = sessions.end(session.id, EndReason::RpLogout, NOW).unwrap();
        assert_eq!(ended.session.participants.len(), 2);
        assert_eq!(
            ended.session.service_providers["https://sp.example.dk"].subject,
            "name-id"
        );
        assert!(sessions.end(session.id, EndReason::RpLogout, NOW).is_none());
        assert!(sessions
            .for_browser(&session.browser_key, &scope("rp-a"), NOW)
            .is_none());
        assert!(!sessions.browser_has_sessions(&session.browser_key, NOW));
    }

    #[test]
    fn a_browser_holds_one_session_per_scope_and_other_scopes_see_none() {
        let sessions = sessions();
        let a = sessions.start(auth(), scope("rp-a"), None, NOW);
        assert!(sessions
            .for_browser(&a.browser_key, &scope("rp-b"), NOW)
            .is_none());
        let group = SsoScope::Group("kommune".into());
        let b = sessions.start(auth(), group.clone(), Some(&a.browser_key), NOW);
        assert_ne!(a.id, b.id);
        assert_ne!(
            a.browser_key, b.browser_key,
            "a new cookie value at each login"
        );
        for (scope, id) in [(scope("rp-a"), a.id), (group, b.id)] {
            let found = sessions.for_browser(&b.browser_key, &scope, NOW).unwrap();
            assert_eq!(
                found.id, id,
                "the browser's sessions moved to the new value"
            );
        }
        assert!(
            !sessions.browser_has_sessions(&a.browser_key, NOW),
            "the old value reaches nothing"
        );
        sessions.end(b.id, EndReason::RpLogout, NOW);
        assert!(sessions.browser_has_sessions(&b.browser_key, NOW));
        assert_eq!(
            sessions
                .for_browser(&b.browser_key, &scope("rp-a"), NOW)
                .map(|s| s.id),
            Some(a.id),
            "ending one scope's session leaves the other"
        );
    }

    struct Counter(std::sync::atomic::AtomicUsize);

    impl LogoutListener for Counter {
        fn session_ended(&self, _: &EndedSession) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn every_live_listener_hears_of_an_ended_session() {
        let sessions = sessions();
        let listeners = LogoutListeners::default();
        let first = std::sync::Arc::new(Counter(Default::default()));
        let second = std::sync::Arc::new(Counter(Default::default()));
        listeners.subscribe(std::sync::Arc::downgrade(&first) as Weak<dyn LogoutListener>);
        listeners.subscribe(std::sync::Arc::downgrade(&second) as Weak<dyn LogoutListener>);
        drop(second);
        let session = sessions.start(auth(), scope("rp-a"), None, NOW);
        let ended = sessions.end(session.id, EndReason::Admin, NOW).unwrap();
        listeners.announce(&ended);
        assert_eq!(first.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn a_planted_cookie_value_never_reaches_a_new_session() {
        let sessions = sessions();
        let session = sessions.start(auth(), scope("rp-a"), Some("planted-by-attacker"), NOW);
        assert_ne!(session.browser_key, "planted-by-attacker");
        assert!(!sessions.browser_has_sessions("planted-by-attacker", NOW));
    }
}
