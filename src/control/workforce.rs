//! QA's control of MitID Erhverv: organisations and professional identities, checked as
//! strictly as the fixtures (`Workforce::check_links`) before anything changes, and the
//! guard that keeps citizen changes from stranding a professional identity.

use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use super::ControlError;
use crate::identity::{
    Cvr, Identity, Organisation, ProfessionalIdentity, ProfessionalStatus, Workforce,
};
use crate::protocols::oidc::Provider;

/// Changes to the workforce (and the citizen changes that could break it) are checked
/// against the whole and applied one at a time, so two admin requests cannot both pass a
/// check that only one of them may pass. Admin changes are rare; logins never take it.
static CHANGES: Mutex<()> = Mutex::new(());

fn one_change_at_a_time() -> MutexGuard<'static, ()> {
    CHANGES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Provider {
    fn organisation_or_404(&self, cvr: &str) -> Result<Arc<Organisation>, ControlError> {
        let parsed = Cvr::parse(cvr).map_err(ControlError::Invalid)?;
        self.broker
            .identities
            .organisation(parsed)
            .ok_or_else(|| ControlError::NotFound(format!("no organisation has CVR {parsed}")))
    }

    fn professional_or_404(&self, uuid: &str) -> Result<Arc<ProfessionalIdentity>, ControlError> {
        let parsed = Uuid::parse_str(uuid.trim()).map_err(|err| {
            ControlError::Invalid(format!(
                "`{uuid}` is not a persistent professional ID (a UUID): {err}"
            ))
        })?;
        self.broker.identities.professional(parsed).ok_or_else(|| {
            ControlError::NotFound(format!("no professional identity has ID {parsed}"))
        })
    }

    /// The workforce as it would be after a change, checked against the citizens.
    fn admissible_workforce(
        &self,
        change: impl FnOnce(&mut Workforce),
    ) -> Result<(), ControlError> {
        let identities = &self.broker.identities;
        let mut workforce = identities.workforce();
        change(&mut workforce);
        let citizens: Vec<Identity> = identities.all().iter().map(|c| (**c).clone()).collect();
        workforce
            .check_links(&citizens)
            .map_err(|problem| ControlError::Invalid(problem.message))
    }

    pub fn organisation(&self, cvr: &str) -> Result<Arc<Organisation>, ControlError> {
        self.organisation_or_404(cvr)
    }

    pub fn create_organisation(&self, organisation: Organisation) -> Result<(), ControlError> {
        let _change = one_change_at_a_time();
        if self
            .broker
            .identities
            .organisation(organisation.cvr)
            .is_some()
        {
            return Err(ControlError::Conflict(format!(
                "organisation {} exists; replace it with PUT",
                organisation.cvr
            )));
        }
        self.admissible_workforce(|w| w.organisations.push(organisation.clone()))?;
        self.broker.identities.insert_organisation(organisation);
        Ok(())
    }

    /// Replaces the organisation with CVR `cvr`; its CVR number cannot change.
    pub fn replace_organisation(
        &self,
        cvr: &str,
        organisation: Organisation,
    ) -> Result<(), ControlError> {
        let _change = one_change_at_a_time();
        let current = self.organisation_or_404(cvr)?;
        if organisation.cvr != current.cvr {
            return Err(ControlError::Invalid(format!(
                "the CVR number of organisation {} cannot change (the body says {}); \
                 create the other organisation instead",
                current.cvr, organisation.cvr
            )));
        }
        self.admissible_workforce(|w| {
            for entry in w.organisations.iter_mut().filter(|o| o.cvr == current.cvr) {
                *entry = organisation.clone();
            }
        })?;
        self.broker.identities.insert_organisation(organisation);
        Ok(())
    }

    /// Deletes an organisation nobody works for.
    pub fn delete_organisation(&self, cvr: &str) -> Result<Arc<Organisation>, ControlError> {
        let _change = one_change_at_a_time();
        let organisation = self.organisation_or_404(cvr)?;
        let staff: Vec<String> = self
            .broker
            .identities
            .professionals()
            .iter()
            .filter(|p| p.cvr == organisation.cvr)
            .map(|p| p.uuid.to_string())
            .collect();
        if !staff.is_empty() {
            return Err(ControlError::Conflict(format!(
                "organisation {} has professional identities ({}); delete them first",
                organisation.cvr,
                staff.join(", ")
            )));
        }
        self.broker.identities.delete_organisation(organisation.cvr);
        Ok(organisation)
    }

    pub fn professional(&self, uuid: &str) -> Result<Arc<ProfessionalIdentity>, ControlError> {
        self.professional_or_404(uuid)
    }

    pub fn create_professional(
        &self,
        professional: ProfessionalIdentity,
    ) -> Result<(), ControlError> {
        let _change = one_change_at_a_time();
        let identities = &self.broker.identities;
        if identities.professional(professional.uuid).is_some() {
            return Err(ControlError::Conflict(format!(
                "professional identity {} exists; replace it with PUT",
                professional.uuid
            )));
        }
        if let Some(other) = identities.professional_by_rid(professional.cvr, &professional.rid) {
            return Err(ControlError::Conflict(format!(
                "RID {} is taken in organisation {} by professional identity {}",
                professional.rid, professional.cvr, other.uuid
            )));
        }
        self.admissible_workforce(|w| w.professionals.push(professional.clone()))?;
        identities.insert_professional(professional);
        Ok(())
    }

    /// Replaces the professional identity `uuid`; its persistent ID cannot change.
    pub fn replace_professional(
        &self,
        uuid: &str,
        professional: ProfessionalIdentity,
    ) -> Result<(), ControlError> {
        let _change = one_change_at_a_time();
        let current = self.professional_or_404(uuid)?;
        self.replace_checked(&current, professional)
    }

    fn replace_checked(
        &self,
        current: &ProfessionalIdentity,
        professional: ProfessionalIdentity,
    ) -> Result<(), ControlError> {
        if professional.uuid != current.uuid {
            return Err(ControlError::Invalid(format!(
                "the persistent professional ID {} cannot change (the body says {}); RPs keep it",
                current.uuid, professional.uuid
            )));
        }
        if let Some(other) = self
            .broker
            .identities
            .professional_by_rid(professional.cvr, &professional.rid)
            .filter(|other| other.uuid != current.uuid)
        {
            return Err(ControlError::Conflict(format!(
                "RID {} is taken in organisation {} by professional identity {}",
                professional.rid, professional.cvr, other.uuid
            )));
        }
        self.admissible_workforce(|w| {
            for entry in w
                .professionals
                .iter_mut()
                .filter(|p| p.uuid == current.uuid)
            {
                *entry = professional.clone();
            }
        })?;
        self.broker.identities.insert_professional(professional);
        Ok(())
    }

    /// Deletes a professional identity. Its dedicated eID, if it has one, stays: delete it
    /// as a citizen once no identity uses it.
    pub fn delete_professional(
        &self,
        uuid: &str,
    ) -> Result<Arc<ProfessionalIdentity>, ControlError> {
        let _change = one_change_at_a_time();
        let professional = self.professional_or_404(uuid)?;
        self.broker
            .identities
            .delete_professional(professional.uuid);
        Ok(professional)
    }

    pub fn lock_professional(&self, uuid: &str) -> Result<ProfessionalIdentity, ControlError> {
        self.set_professional_status(uuid, |_| ProfessionalStatus::Locked)
    }

    /// Lifts a `locked` status (other statuses stay: revoked is for good, and pending and
    /// suspended are changed with PATCH).
    pub fn unlock_professional(&self, uuid: &str) -> Result<ProfessionalIdentity, ControlError> {
        self.set_professional_status(uuid, |status| match status {
            ProfessionalStatus::Locked => ProfessionalStatus::Active,
            other => other,
        })
    }

    fn set_professional_status(
        &self,
        uuid: &str,
        status: impl FnOnce(ProfessionalStatus) -> ProfessionalStatus,
    ) -> Result<ProfessionalIdentity, ControlError> {
        let _change = one_change_at_a_time();
        let mut changed = (*self.professional_or_404(uuid)?).clone();
        changed.status = status(changed.status);
        self.broker.identities.insert_professional(changed.clone());
        Ok(changed)
    }

    /// Refuses a change to the citizens that would leave a professional identity without
    /// the MitID it logs in with (a deleted citizen, a changed CPR number, user ID or kind).
    /// Holds the lock for the change that follows.
    pub(super) fn citizens_change_keeps_the_workforce(
        &self,
        removed: Option<&Identity>,
        added: Option<&Identity>,
    ) -> Result<MutexGuard<'static, ()>, ControlError> {
        let guard = one_change_at_a_time();
        let identities = &self.broker.identities;
        let mut citizens: Vec<Identity> = identities
            .all()
            .iter()
            .filter(|c| removed.is_none_or(|r| r.uuid != c.uuid))
            .map(|c| (**c).clone())
            .collect();
        citizens.extend(added.cloned());
        if let Err(problem) = identities.workforce().check_links(&citizens) {
            let who = removed.or(added).map(|c| c.user_id.to_string());
            let using: Vec<String> = removed
                .map(|eid| {
                    identities
                        .professionals_for(eid)
                        .iter()
                        .map(|p| p.uuid.to_string())
                        .collect()
                })
                .unwrap_or_default();
            let message = if using.is_empty() {
                problem.message
            } else {
                format!(
                    "citizen `{}` is the MitID of professional identities {}: delete or change \
                     them first ({})",
                    who.unwrap_or_default(),
                    using.join(", "),
                    problem.message
                )
            };
            return Err(ControlError::Conflict(message));
        }
        Ok(guard)
    }
}
