//! MitID Erhverv: after the person authenticates with MitID (their private MitID or a
//! dedicated MitID Erhverv eID), the login goes on as one of their professional identities.
//!
//! NEB (idps/mitid-erhverv-testing.md): "he will be prompted to select between identities
//! assigned to the used authenticator if more than one is available"; with `allow_private`
//! the person may go on as their private self instead, and does so at once when they have
//! no professional identity (idps/mitid-erhverv.md). NEB is an NSIS Substantial broker and
//! "cannot issue higher than Substantial" for MitID Erhverv.

use std::sync::Arc;

use uuid::Uuid;

use super::{Authentication, Failure, FlowError, Idp, Login, Outcome, Step};
use crate::broker::Broker;
use crate::identity::{EidKind, Identity, Loa, ProfessionalIdentity, ProfessionalStatus};

/// The highest level a MitID Erhverv login reaches at NEB (`loa`; `ial` and `aal` are
/// reported as they are).
pub const ERHVERV_MAX_LOA: Loa = Loa::Substantial;

/// What the RP asked of a MitID Erhverv login (`idp_params` → `mitid_erhverv`), and what
/// the broker allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErhvervOptions {
    /// `allow_private`: the person may go on with their private MitID identity; with no
    /// professional identity they do so at once.
    pub allow_private: bool,
    /// The broker issues MitID Erhverv logins at every level (NemLog-in does); NEB, an
    /// NSIS Substantial broker, caps them at [`ERHVERV_MAX_LOA`].
    pub uncapped: bool,
    /// The professional identity named in advance (`simulation=ui mitid_erhverv_uuid:`):
    /// once the person has authenticated, it is chosen for them if it is one of theirs.
    pub selected: Option<Uuid>,
}

impl ErhvervOptions {
    /// The highest `loa` a MitID Erhverv login reaches at this broker.
    fn max_loa(self) -> Loa {
        if self.uncapped {
            Loa::High
        } else {
            ERHVERV_MAX_LOA
        }
    }
}

/// Why a MitID Erhverv login ended without a professional identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErhvervFailure {
    /// The MitID that authenticated reaches no professional identity, and the RP did not
    /// allow the private identity.
    NoProfessionalIdentity,
    /// The professional identity picked is not active.
    IdentityNotUsable(ProfessionalStatus),
    /// A dedicated MitID Erhverv eID was used where only a private MitID serves.
    NotAPrivateIdentity,
}

/// Why `simulation=no-ui mitid_erhverv_uuid:<uuid>` cannot log in (a request error, not an
/// outcome of the login).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProfessionalHintError {
    #[error("this login is not a MitID Erhverv login (idp_values=mitid_erhverv)")]
    NotAnErhvervLogin,
    #[error("no professional identity has this persistent professional ID")]
    UnknownProfessional,
    #[error("the MitID named does not log in as this professional identity")]
    EidMismatch,
    #[error("no MitID of the broker logs in as this professional identity")]
    NoEid,
}

impl<P> Login<P> {
    pub(super) fn admissible_for_erhverv(&self) -> Result<(), Failure> {
        if self.requirements.level.min_aal() > self.requirements.erhverv.max_loa() {
            return Err(Failure::InsufficientAssurance);
        }
        Ok(())
    }

    /// The person authenticated with MitID: one professional identity goes straight on,
    /// several (or the private option) are offered, none fails unless private is allowed.
    pub(super) fn after_erhverv_mitid(
        &mut self,
        broker: &Broker,
        eid: &Identity,
        auth: Authentication,
    ) {
        let choices: Vec<_> = broker
            .identities
            .professionals_for(eid)
            .iter()
            .map(|p| p.uuid)
            .collect();
        let private_allowed =
            self.requirements.erhverv.allow_private && eid.kind == EidKind::Private;
        if let Some(selected) = self
            .requirements
            .erhverv
            .selected
            .filter(|s| choices.contains(s))
        {
            self.act_as(broker, auth, selected);
            return;
        }
        match (choices.as_slice(), private_allowed) {
            ([], true) => self.go_on_privately(eid, auth),
            ([], false) => self.fail(Failure::Erhverv(ErhvervFailure::NoProfessionalIdentity)),
            ([only], false) => {
                let only = *only;
                self.act_as(broker, auth, only);
            }
            _ => {
                self.notice = None;
                self.step = Step::ChooseProfessional {
                    auth,
                    choices,
                    private_allowed,
                };
            }
        }
    }

    /// The person picks one of the professional identities offered.
    pub fn choose_professional(&mut self, broker: &Broker, uuid: Uuid) -> Result<(), FlowError> {
        let Step::ChooseProfessional { auth, choices, .. } = &self.step else {
            return Err(FlowError::WrongStep);
        };
        if !choices.contains(&uuid) {
            return Err(FlowError::WrongStep);
        }
        let auth = auth.clone();
        self.act_as(broker, auth, uuid);
        Ok(())
    }

    /// The person goes on as their private self (offered with `allow_private`).
    pub fn continue_privately(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let Step::ChooseProfessional {
            auth,
            private_allowed: true,
            ..
        } = &self.step
        else {
            return Err(FlowError::WrongStep);
        };
        let auth = auth.clone();
        let eid = broker
            .identities
            .by_uuid(auth.citizen)
            .ok_or(FlowError::WrongStep)?;
        self.go_on_privately(&eid, auth);
        Ok(())
    }

    /// `simulation=no-ui mitid_erhverv_uuid:<uuid>` (with `eid` when `uuid:` also named the
    /// MitID): the person authenticates without pages and acts as that identity. Without
    /// `eid`, the person's private MitID is used if the identity allows it, else the
    /// dedicated eID.
    pub fn authenticate_professional_directly(
        &mut self,
        broker: &Broker,
        professional: Uuid,
        eid: Option<&Identity>,
    ) -> Result<&Step, ProfessionalHintError> {
        let eid = self.eid_for(broker, professional, eid)?;
        self.last_citizen = Some(eid.uuid);
        if self.requirements.mitid_refusal.is_some() {
            self.fail(Failure::ParameterRefused);
            return Ok(&self.step);
        }
        match self.direct_authentication(broker, &eid) {
            Ok(auth) => self.act_as(broker, auth, professional),
            Err(failure) => self.fail(failure),
        }
        Ok(&self.step)
    }

    /// `simulation=ui mitid_erhverv_uuid:<uuid>`: the pages start at the authenticators of
    /// the MitID that logs in as that identity (`eid` as for
    /// [`Self::authenticate_professional_directly`]), and the identity is chosen for the
    /// person once they have authenticated.
    pub fn start_as_professional(
        &mut self,
        broker: &Broker,
        professional: Uuid,
        eid: Option<&Identity>,
    ) -> Result<(), ProfessionalHintError> {
        let eid = self.eid_for(broker, professional, eid)?;
        self.requirements.erhverv.selected = Some(professional);
        if !matches!(self.step, Step::Finished(_)) {
            self.begin(broker, &eid);
        }
        Ok(())
    }

    /// The MitID that logs in as `professional` in a login without the user ID page.
    fn eid_for(
        &self,
        broker: &Broker,
        professional: Uuid,
        eid: Option<&Identity>,
    ) -> Result<Arc<Identity>, ProfessionalHintError> {
        if self.requirements.idp != Idp::MitIdErhverv {
            return Err(ProfessionalHintError::NotAnErhvervLogin);
        }
        let identity = broker
            .identities
            .professional(professional)
            .ok_or(ProfessionalHintError::UnknownProfessional)?;
        match eid {
            Some(eid) if identity.logs_in_with(eid) => broker.identities.by_uuid(eid.uuid),
            Some(_) => return Err(ProfessionalHintError::EidMismatch),
            None => eid_of(broker, &identity),
        }
        .ok_or(ProfessionalHintError::NoEid)
    }

    /// Ends the login as professional identity `uuid`, if it is usable at the level asked.
    fn act_as(&mut self, broker: &Broker, auth: Authentication, uuid: Uuid) {
        let Some(professional) = broker.identities.professional(uuid) else {
            self.fail(Failure::Erhverv(ErhvervFailure::NoProfessionalIdentity));
            return;
        };
        if !professional.can_log_in() {
            self.fail(Failure::Erhverv(ErhvervFailure::IdentityNotUsable(
                professional.status,
            )));
            return;
        }
        let ial = auth.ial.min(professional.ial);
        let auth = Authentication {
            idp: Idp::MitIdErhverv,
            ial,
            loa: ial
                .min(auth.proof.aal)
                .min(self.requirements.erhverv.max_loa()),
            cpr_verified: false,
            professional: Some(professional.uuid),
            ..auth
        };
        if !self.requirements.level.met_by(auth.ial, auth.proof.aal) {
            self.fail(Failure::InsufficientAssurance);
            return;
        }
        self.notice = None;
        self.step = Step::Finished(Outcome::Authenticated(auth));
    }

    /// The private identity: a private MitID login from here on (`idp` `mitid`).
    fn go_on_privately(&mut self, eid: &Identity, auth: Authentication) {
        self.notice = None;
        let auth = Authentication {
            idp: Idp::MitId,
            professional: None,
            ..auth
        };
        self.finish_private(eid, auth);
    }
}

/// The MitID a page-less login uses for `professional`: the private one if allowed.
fn eid_of(broker: &Broker, professional: &ProfessionalIdentity) -> Option<Arc<Identity>> {
    let private = professional
        .person
        .cpr()
        .filter(|_| professional.person.uses_private_mitid())
        .and_then(|cpr| broker.identities.by_cpr(&cpr))
        .filter(|eid| professional.logs_in_with(eid));
    private.or_else(|| {
        professional
            .person
            .dedicated_user_id()
            .and_then(|id| broker.identities.by_user_id(id.as_str()))
            .filter(|eid| professional.logs_in_with(eid))
    })
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::broker::{Clock, KeySet, Settings};
    use crate::flow::{CprEntry, Requirements};
    use crate::identity::{built_in_population, parse_population, Population};

    fn broker_of(population: Population) -> Arc<Broker> {
        Broker::new(
            Settings::default(),
            Clock::default(),
            KeySet::generate().unwrap(),
            population,
        )
    }

    fn broker() -> Arc<Broker> {
        broker_of(built_in_population().unwrap())
    }

    fn requirements(idp: Idp, min_loa: Loa, allow_private: bool) -> Requirements {
        Requirements {
            client_name: "Erhvervsportalen".into(),
            level: crate::identity::RequiredLevel::Loa(min_loa),
            idp,
            idp_choices: vec![idp],
            cpr_entry: CprEntry::Never,
            texts: Default::default(),
            require_psd2: false,
            mitid_refusal: None,
            erhverv: ErhvervOptions {
                allow_private,
                uncapped: false,
                selected: None,
            },
        }
    }

    fn erhverv_login(broker: &Broker) -> Login<()> {
        Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::Substantial, false),
            broker,
        )
    }

    /// Types the user ID and lets the scripted app (approves after 300 ms) answer.
    fn authenticate(broker: &Broker, login: &mut Login<()>, user_id: &str) {
        login.submit_user_id(broker, user_id).unwrap();
        assert_eq!(login.notice, None, "{user_id} is known");
        assert!(matches!(login.step, Step::App { .. }), "{:?}", login.step);
        broker.clock.advance(Duration::seconds(1));
        login.poll(broker);
    }

    fn professional_uuid(broker: &Broker, given: &str, cvr: &str) -> Uuid {
        broker
            .identities
            .professionals()
            .iter()
            .find(|p| p.given_name == given && p.cvr.as_str() == cvr)
            .map(|p| p.uuid)
            .unwrap_or_else(|| panic!("{given} @ {cvr}"))
    }

    fn authenticated(login: &Login<()>) -> &Authentication {
        match &login.step {
            Step::Finished(Outcome::Authenticated(auth)) => auth,
            other => panic!("not authenticated: {other:?}"),
        }
    }

    fn failed(login: &Login<()>) -> Failure {
        match &login.step {
            Step::Finished(Outcome::Failed(failure)) => *failure,
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn one_professional_identity_goes_straight_on() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "app.approve");
        let auth = authenticated(&login);
        assert_eq!(
            auth.professional,
            Some(professional_uuid(&broker, "Carl", "91234564"))
        );
        assert_eq!(auth.idp, Idp::MitIdErhverv);
        assert_eq!(auth.idp.claim(), "mitid_erhverv");
        assert_eq!(
            auth.citizen,
            broker.identities.by_user_id("app.approve").unwrap().uuid
        );
        assert_eq!(auth.loa, Loa::Substantial);
        assert!(!auth.cpr_verified);
    }

    #[test]
    fn a_person_with_two_organisations_picks_one() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "to.firmaer");
        let employee = professional_uuid(&broker, "Bjørn", "91234564");
        let signatory = professional_uuid(&broker, "Bjørn", "98765433");
        match &login.step {
            Step::ChooseProfessional {
                choices,
                private_allowed,
                ..
            } => {
                assert_eq!(choices, &vec![employee, signatory], "fixture order");
                assert!(!private_allowed);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(login.step.name(), "choose_professional");
        assert!(login.step.citizen().is_some());
        // Someone else's identity cannot be picked.
        let carl = professional_uuid(&broker, "Carl", "91234564");
        assert_eq!(
            login.choose_professional(&broker, carl),
            Err(FlowError::WrongStep)
        );
        assert!(login.continue_privately(&broker).is_err(), "not offered");
        login.choose_professional(&broker, signatory).unwrap();
        let auth = authenticated(&login);
        assert_eq!(auth.professional, Some(signatory));
        let chosen = broker.identities.professional(signatory).unwrap();
        assert_eq!(chosen.auth_to_repr(), Some(chosen.cvr));
        assert_eq!(
            login.choose_professional(&broker, employee),
            Err(FlowError::WrongStep),
            "the choice is made once"
        );
    }

    #[test]
    fn a_locked_professional_identity_fails_after_mitid() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "erhverv.spaerret");
        assert_eq!(
            failed(&login),
            Failure::Erhverv(ErhvervFailure::IdentityNotUsable(
                ProfessionalStatus::Locked
            ))
        );
        assert!(failed(&login).explained_first());
    }

    #[test]
    fn an_identity_that_stopped_working_fails_when_picked() {
        let broker = broker();
        let signatory = professional_uuid(&broker, "Bjørn", "98765433");
        let mut revoked = (*broker.identities.professional(signatory).unwrap()).clone();
        revoked.status = ProfessionalStatus::Revoked;
        broker.identities.insert_professional(revoked);
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "to.firmaer");
        login.choose_professional(&broker, signatory).unwrap();
        assert_eq!(
            failed(&login),
            Failure::Erhverv(ErhvervFailure::IdentityNotUsable(
                ProfessionalStatus::Revoked
            ))
        );
    }

    #[test]
    fn no_professional_identity_fails_unless_private_is_allowed() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "uden.cpr");
        assert_eq!(
            failed(&login),
            Failure::Erhverv(ErhvervFailure::NoProfessionalIdentity)
        );

        let mut login = Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::Substantial, true),
            &broker,
        );
        authenticate(&broker, &mut login, "uden.cpr");
        let auth = authenticated(&login);
        assert_eq!(auth.idp, Idp::MitId, "the private identity, at once");
        assert_eq!(auth.professional, None);
    }

    #[test]
    fn allow_private_offers_the_private_identity_beside_the_professional_one() {
        let broker = broker();
        let mut login = Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::Substantial, true),
            &broker,
        );
        authenticate(&broker, &mut login, "app.approve");
        assert!(matches!(
            &login.step,
            Step::ChooseProfessional { choices, private_allowed: true, .. } if choices.len() == 1
        ));
        login.continue_privately(&broker).unwrap();
        let auth = authenticated(&login);
        assert_eq!((auth.idp, auth.professional), (Idp::MitId, None));
    }

    #[test]
    fn the_private_option_goes_through_the_cpr_check_when_ssn_is_asked() {
        let broker = broker();
        let mut wants = requirements(Idp::MitIdErhverv, Loa::Substantial, true);
        wants.cpr_entry = CprEntry::Always;
        let mut login = Login::new((), wants, &broker);
        authenticate(&broker, &mut login, "app.approve");
        login.continue_privately(&broker).unwrap();
        assert_eq!(login.step.name(), "cpr");
        login.submit_cpr(&broker, "310190-3011").unwrap();
        assert!(authenticated(&login).cpr_verified);
    }

    #[test]
    fn dedicated_eids_serve_mitid_erhverv_only() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "erhverv.udlaending");
        let auth = authenticated(&login);
        let sarah = broker
            .identities
            .professional(auth.professional.unwrap())
            .unwrap();
        assert_eq!(sarah.person.cpr(), None);
        assert_eq!(sarah.name(), "Sarah Miller");

        // A private login with it: refused before any authenticator.
        let mut private = Login::new(
            (),
            requirements(Idp::MitId, Loa::Substantial, false),
            &broker,
        );
        private
            .submit_user_id(&broker, "erhverv.udlaending")
            .unwrap();
        assert_eq!(
            failed(&private),
            Failure::Erhverv(ErhvervFailure::NotAPrivateIdentity)
        );
        // Even allow_private does not turn a dedicated eID into a private identity.
        let mut login = Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::Substantial, true),
            &broker,
        );
        authenticate(&broker, &mut login, "erhverv.udlaending");
        assert!(authenticated(&login).professional.is_some());
    }

    #[test]
    fn the_chooser_leads_to_mitid_erhverv_too() {
        let broker = broker();
        let mut wants = requirements(Idp::MitId, Loa::Substantial, false);
        wants.idp_choices = vec![Idp::MitId, Idp::MitIdErhverv];
        let mut login = Login::new((), wants, &broker);
        assert_eq!(login.step, Step::ChooseIdp);
        login.choose_idp(Idp::MitIdErhverv).unwrap();
        authenticate(&broker, &mut login, "app.approve");
        assert_eq!(authenticated(&login).idp, Idp::MitIdErhverv);
    }

    const HIGH: &str = r#"
[[user]]
user_id = "hoej"
purpose = "high"
uuid = "6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e5f"
cpr = "120385-1234"
name = "Hanne Høj"
ial = "high"
[user.app]
answer = "approve"
level = "high"

[[organisation]]
cvr = "91234564"
name = "Testfirma ApS"

[[professional]]
uuid = "0c5e8f7a-1b2d-4c3e-8f4a-5b6c7d8e9f01"
cvr = "91234564"
cpr = "120385-1234"
given_name = "Hanne"
family_name = "Høj"
rid = "1"
ial = "high"
"#;

    #[test]
    fn the_level_is_capped_at_substantial_and_high_cannot_be_had() {
        let broker = broker_of(parse_population(HIGH).unwrap());
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "hoej");
        let auth = authenticated(&login);
        assert_eq!(auth.proof.aal, Loa::High);
        assert_eq!(auth.ial, Loa::High, "ial is reported as it is");
        assert_eq!(auth.loa, ERHVERV_MAX_LOA);

        let mut login = Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::High, false),
            &broker,
        );
        login.submit_user_id(&broker, "hoej").unwrap();
        assert_eq!(failed(&login), Failure::InsufficientAssurance);
        // The same person reaches High in a private login.
        let mut private = Login::new((), requirements(Idp::MitId, Loa::High, false), &broker);
        authenticate(&broker, &mut private, "hoej");
        assert_eq!(authenticated(&private).loa, Loa::High);
        // A broker without the cap (NemLog-in) issues High.
        let mut uncapped = requirements(Idp::MitIdErhverv, Loa::High, false);
        uncapped.erhverv.uncapped = true;
        let mut login = Login::new((), uncapped, &broker);
        authenticate(&broker, &mut login, "hoej");
        assert_eq!(authenticated(&login).loa, Loa::High);
    }

    #[test]
    fn a_low_ial_professional_identity_is_refused_where_substantial_is_asked() {
        let low = HIGH.replace("rid = \"1\"\nial = \"high\"", "rid = \"1\"\nial = \"low\"");
        let broker = broker_of(parse_population(&low).unwrap());
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "hoej");
        assert_eq!(failed(&login), Failure::InsufficientAssurance);

        let mut login = Login::new(
            (),
            requirements(Idp::MitIdErhverv, Loa::Low, false),
            &broker,
        );
        authenticate(&broker, &mut login, "hoej");
        let auth = authenticated(&login);
        assert_eq!((auth.ial, auth.loa), (Loa::Low, Loa::Low));
    }

    #[test]
    fn a_page_less_login_names_the_professional_identity() {
        let broker = broker();
        let anna = professional_uuid(&broker, "Anna", "91234564");
        let mut login = erhverv_login(&broker);
        login
            .authenticate_professional_directly(&broker, anna, None)
            .unwrap();
        let auth = authenticated(&login);
        assert_eq!(auth.professional, Some(anna));
        assert_eq!(
            auth.citizen,
            broker.identities.by_user_id("anna.jensen").unwrap().uuid
        );

        // Bent has no private MitID: his dedicated eID authenticates.
        let bent = professional_uuid(&broker, "Bent", "91234564");
        let mut login = erhverv_login(&broker);
        login
            .authenticate_professional_directly(&broker, bent, None)
            .unwrap();
        let auth = authenticated(&login);
        let eid = broker.identities.by_uuid(auth.citizen).unwrap();
        assert_eq!(eid.user_id.as_str(), "erhverv.dedikeret");

        // The locked identity fails as it would with pages.
        let lone = professional_uuid(&broker, "Lone", "91234564");
        let mut login = erhverv_login(&broker);
        login
            .authenticate_professional_directly(&broker, lone, None)
            .unwrap();
        assert!(matches!(failed(&login), Failure::Erhverv(_)));
    }

    #[test]
    fn a_page_less_login_refuses_hints_that_do_not_fit() {
        let broker = broker();
        let anna = professional_uuid(&broker, "Anna", "91234564");
        let carl_eid = broker.identities.by_user_id("app.approve").unwrap();
        let mut login = erhverv_login(&broker);
        assert_eq!(
            login
                .authenticate_professional_directly(&broker, anna, Some(&carl_eid))
                .err(),
            Some(ProfessionalHintError::EidMismatch)
        );
        assert_eq!(
            login
                .authenticate_professional_directly(&broker, Uuid::nil(), None)
                .err(),
            Some(ProfessionalHintError::UnknownProfessional)
        );
        let mut private = Login::new(
            (),
            requirements(Idp::MitId, Loa::Substantial, false),
            &broker,
        );
        assert_eq!(
            private
                .authenticate_professional_directly(&broker, anna, None)
                .err(),
            Some(ProfessionalHintError::NotAnErhvervLogin)
        );
        // A hint by MitID UUID alone leaves a person with two identities at the choice.
        let bjorn = broker.identities.by_user_id("to.firmaer").unwrap();
        let mut login = erhverv_login(&broker);
        login.authenticate_directly(&broker, &bjorn);
        assert_eq!(login.step.name(), "choose_professional");
    }

    #[test]
    fn cancelling_at_the_choice_aborts() {
        let broker = broker();
        let mut login = erhverv_login(&broker);
        authenticate(&broker, &mut login, "to.firmaer");
        login.cancel(&broker);
        assert_eq!(failed(&login), Failure::Aborted);
    }
}
