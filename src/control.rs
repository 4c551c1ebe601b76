//! The control operations QA uses, shared by the admin API and the in-process
//! [`Simulator`](crate::Simulator): one implementation, two front doors. MitID Erhverv's
//! organisations and professional identities are in `workforce`.

mod workforce;

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use crate::broker::sessions::{EndReason, EndedSession};
use crate::identity::{Identity, IdentityStatus};
use crate::protocols::oidc::backchannel::InjectionError;
use crate::protocols::oidc::clients::Client;
use crate::protocols::oidc::Provider;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
}

/// A refused logout-token injection, as QA's front doors report it. Signing failures are
/// not the request's fault and are reported apart.
impl From<InjectionError> for ControlError {
    fn from(err: InjectionError) -> Self {
        match err {
            InjectionError::UnknownClient(message) => ControlError::NotFound(message),
            InjectionError::Conflict(message) => ControlError::Conflict(message),
            other => ControlError::Invalid(other.to_string()),
        }
    }
}

impl Provider {
    fn citizen_or_404(&self, user_id: &str) -> Result<Arc<Identity>, ControlError> {
        self.broker
            .identities
            .by_user_id(user_id)
            .ok_or_else(|| ControlError::NotFound(format!("no citizen has user ID `{user_id}`")))
    }

    /// Checks a citizen as the fixtures would, and that it clashes with nobody else.
    fn admissible(
        &self,
        identity: &Identity,
        replacing: Option<&Identity>,
    ) -> Result<(), ControlError> {
        if let Some(problem) = identity.problems().into_iter().next() {
            return Err(ControlError::Invalid(problem));
        }
        let store = &self.broker.identities;
        let is_self = |other: &Identity| replacing.is_some_and(|r| r.uuid == other.uuid);
        if let Some(other) = store
            .by_user_id(identity.user_id.as_str())
            .filter(|o| !is_self(o))
        {
            return Err(ControlError::Conflict(format!(
                "user ID `{}` is taken by citizen {}",
                identity.user_id, other.uuid
            )));
        }
        if let Some(other) = store.by_uuid(identity.uuid).filter(|o| !is_self(o)) {
            return Err(ControlError::Conflict(format!(
                "UUID {} belongs to `{}`",
                identity.uuid, other.user_id
            )));
        }
        if let Some(other) = identity
            .cpr
            .and_then(|cpr| store.by_cpr(&cpr))
            .filter(|o| !is_self(o))
        {
            return Err(ControlError::Conflict(format!(
                "CPR {} belongs to `{}`",
                identity.cpr.map(|c| c.to_string()).unwrap_or_default(),
                other.user_id
            )));
        }
        Ok(())
    }

    /// Changes the broker's clock. What was due before is settled first, so turning the
    /// clock back cannot revive a timed-out app request; what falls due after (session
    /// expiry, app time-outs) happens at once.
    pub fn change_clock<E>(
        &self,
        change: impl FnOnce(&crate::broker::Clock) -> Result<(), E>,
    ) -> Result<(), E> {
        self.broker.apps.settle(self.broker.clock.now());
        let result = change(&self.broker.clock);
        self.expire_sessions();
        result
    }

    pub fn create_citizen(&self, identity: Identity) -> Result<(), ControlError> {
        self.admissible(&identity, None)?;
        self.broker.identities.insert(identity);
        Ok(())
    }

    /// Replaces the citizen known as `user_id` (who may get a new user ID).
    pub fn replace_citizen(&self, user_id: &str, updated: Identity) -> Result<(), ControlError> {
        let current = self.citizen_or_404(user_id)?;
        self.admissible(&updated, Some(&current))?;
        let _change = self.citizens_change_keeps_the_workforce(Some(&current), Some(&updated))?;
        let store = &self.broker.identities;
        if updated.uuid != current.uuid
            || updated.user_id != current.user_id
            || updated.cpr != current.cpr
        {
            store.remove(current.uuid);
        }
        store.insert(updated);
        Ok(())
    }

    pub fn delete_citizen(&self, user_id: &str) -> Result<Arc<Identity>, ControlError> {
        let citizen = self.citizen_or_404(user_id)?;
        let _change = self.citizens_change_keeps_the_workforce(Some(&citizen), None)?;
        let broker = &self.broker;
        broker.identities.remove(citizen.uuid);
        broker.code_displays.unlock(citizen.uuid);
        broker.code_cards.reset(citizen.uuid);
        broker.scripts.clear(citizen.uuid);
        Ok(citizen)
    }

    pub fn lock_citizen(&self, user_id: &str) -> Result<Identity, ControlError> {
        let mut locked = (*self.citizen_or_404(user_id)?).clone();
        locked.status = IdentityStatus::Locked;
        self.broker.identities.insert(locked.clone());
        Ok(locked)
    }

    pub fn unlock_citizen(&self, user_id: &str) -> Result<Arc<Identity>, ControlError> {
        self.citizen_or_404(user_id)?;
        self.broker
            .unlock(user_id)
            .ok_or_else(|| ControlError::NotFound(format!("no citizen has user ID `{user_id}`")))
    }

    /// Back to the citizens, organisations and professional identities the broker started
    /// with, with fresh devices.
    pub fn reset_citizens(&self) {
        let broker = &self.broker;
        for citizen in broker.identities.all() {
            broker.code_displays.unlock(citizen.uuid);
            broker.code_cards.reset(citizen.uuid);
            broker.scripts.clear(citizen.uuid);
        }
        broker
            .identities
            .replace_all(broker.fixtures.citizens.clone());
        broker
            .identities
            .replace_workforce(broker.fixtures.workforce.clone());
    }

    /// Registers a client, or replaces one with the same client_id; true if it is new.
    pub fn register_client(&self, client: Client) -> Result<bool, ControlError> {
        if let Some(problem) = client.problems() {
            return Err(ControlError::Invalid(problem));
        }
        let new = self.clients.get(&client.client_id).is_none();
        // Keys fetched from the old registration's jwks_uri are not this one's.
        self.client_keys.forget(&client.client_id);
        self.clients.insert(client);
        Ok(new)
    }

    /// Puts a client in an SSO group (sessions shared with the group's clients), or with
    /// `None` gives it sessions of its own. Sessions already started keep their scope.
    pub fn set_sso_group(
        &self,
        client_id: &str,
        group: Option<String>,
    ) -> Result<Client, ControlError> {
        let mut client = (*self
            .clients
            .get(client_id)
            .ok_or_else(|| ControlError::NotFound(format!("no client `{client_id}`")))?)
        .clone();
        client.sso_group = group;
        if let Some(problem) = client.problems() {
            return Err(ControlError::Invalid(problem));
        }
        self.clients.insert(client.clone());
        Ok(client)
    }

    pub fn delete_client(&self, client_id: &str) -> Result<Arc<Client>, ControlError> {
        let client = self
            .clients
            .remove(client_id)
            .ok_or_else(|| ControlError::NotFound(format!("no client `{client_id}`")))?;
        self.faults.clear(client_id);
        self.client_keys.forget(client_id);
        Ok(client)
    }

    /// Ends a broker session now, with back-channel logout to its clients.
    pub fn end_session_now(
        &self,
        neb_sid: Uuid,
        reason: EndReason,
    ) -> Result<EndedSession, ControlError> {
        let ended = self
            .broker
            .sessions
            .end(neb_sid, reason, self.broker.clock.now())
            .ok_or_else(|| ControlError::NotFound(format!("no live session {neb_sid}")))?;
        self.announce_logout(ended.clone());
        Ok(ended)
    }

    pub fn citizen_report(&self, user_id: &str) -> Result<Value, ControlError> {
        let citizen = self.citizen_or_404(user_id)?;
        Ok(self.broker.citizen_report(&citizen))
    }
}
