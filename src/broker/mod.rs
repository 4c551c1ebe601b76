//! The broker's domain core: citizens, their devices, signing keys and the clock.
//! It knows nothing of HTTP or of any one protocol.

pub mod clock;
pub mod keys;
pub mod report;
pub mod scripts;
pub mod sessions;

use std::sync::Arc;

use time::Duration;

use crate::authenticators::{AppRegistry, CodeCards, CodeDisplayGuard};
use crate::identity::{Identity, IdentityStatus, IdentityStore, Population};

pub use clock::Clock;
pub use keys::{KeySet, SigningAlg};
pub use sessions::{LogoutListener, LogoutListeners, SessionSettings, Sessions};

/// Timings a QA tester may want to change.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long an app request waits for a swipe before it times out.
    pub app_timeout: Duration,
    /// How long three wrong code-display codes block the device.
    pub code_display_block: Duration,
    /// How long a started login may take in all.
    pub login_lifetime: Duration,
    /// The most logins in progress at once (started by authorization requests, so by
    /// anyone): beyond it the oldest one ends.
    pub max_pending_logins: usize,
    pub sessions: SessionSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            app_timeout: Duration::minutes(2),
            code_display_block: Duration::minutes(15),
            login_lifetime: Duration::minutes(30),
            max_pending_logins: crate::flow::DEFAULT_MAX_PENDING_LOGINS,
            sessions: SessionSettings::default(),
        }
    }
}

pub struct Broker {
    /// The citizens, organisations and professional identities the broker started with,
    /// for the admin API's reset.
    pub fixtures: Population,
    pub clock: Clock,
    pub settings: Settings,
    pub keys: KeySet,
    pub identities: IdentityStore,
    pub apps: AppRegistry,
    pub code_displays: CodeDisplayGuard,
    pub code_cards: CodeCards,
    pub sessions: Sessions,
    /// The personalities to tell when a session ends.
    pub logouts: LogoutListeners,
    pub scripts: scripts::LoginScripts,
}

impl Broker {
    pub fn new(settings: Settings, clock: Clock, keys: KeySet, fixtures: Population) -> Arc<Self> {
        let identities = IdentityStore::new(fixtures.citizens.clone());
        identities.replace_workforce(fixtures.workforce.clone());
        Arc::new(Self {
            identities,
            fixtures,
            code_displays: CodeDisplayGuard::new(settings.code_display_block),
            apps: AppRegistry::default(),
            code_cards: CodeCards::default(),
            sessions: Sessions::new(settings.sessions.clone()),
            logouts: LogoutListeners::default(),
            scripts: scripts::LoginScripts::default(),
            clock,
            settings,
            keys,
        })
    }

    /// Ends a temporary lock: device blocks and wrong-code counts, and a `locked` status.
    pub fn unlock(&self, user_id: &str) -> Option<Arc<Identity>> {
        let citizen = self.identities.by_user_id(user_id)?;
        self.code_displays.unlock(citizen.uuid);
        if citizen.status == IdentityStatus::Locked {
            let mut unlocked = (*citizen).clone();
            unlocked.status = IdentityStatus::Active;
            self.identities.insert(unlocked);
        }
        self.identities.by_user_id(user_id)
    }

    /// Drops ended device requests; called periodically by the server.
    pub fn sweep(&self) {
        self.apps.sweep(self.clock.now());
        // Retired keys verify logout hints for as long as a session can live.
        self.keys
            .prune(self.clock.unix(), self.settings.sessions.absolute);
    }
}
