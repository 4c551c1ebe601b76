//! The login transaction as a state machine: user ID, then one authenticator, then a
//! result. Protocol-agnostic: the protocol that started the login keeps its request in `P`.
//!
//! `step` names where a login can be, `outcome` how it ends, `login` moves between steps
//! (the MitID secrets in `secrets`, legacy NemID in `nemid`, the `ssn` CPR check in `cpr`,
//! MitID Erhverv's choice of professional identity in `professional`), and `registry` keeps
//! the logins in progress.

mod cpr;
mod login;
mod nemid;
mod outcome;
mod professional;
mod registry;
mod secrets;
mod step;

pub use cpr::{CPR_ENTRY_TRIES, CPR_ENTRY_WINDOW};
pub use login::{Login, LoginId};
pub use outcome::{Authentication, Failure, Outcome};
pub use professional::{ErhvervFailure, ErhvervOptions, ProfessionalHintError, ERHVERV_MAX_LOA};
pub use registry::{LoginLookupError, Logins, DEFAULT_MAX_PENDING_LOGINS};
pub use step::{FlowError, Notice, Step};

use crate::authenticators::ClientTexts;
use crate::identity::RequiredLevel;

/// Which identity provider the login uses (`idp_values`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Idp {
    #[default]
    MitId,
    /// Legacy NemID with code card or key app.
    NemId,
    /// MitID Erhverv: the person authenticates with MitID (private or a dedicated eID),
    /// then acts as one of their professional identities.
    MitIdErhverv,
}

impl Idp {
    /// Whether the person authenticates with MitID (and MitID's `idp_params` apply).
    pub fn uses_mitid(self) -> bool {
        matches!(self, Idp::MitId | Idp::MitIdErhverv)
    }

    /// The `idp` claim.
    pub fn claim(self) -> &'static str {
        match self {
            Idp::MitId => "mitid",
            Idp::NemId => "nemid",
            Idp::MitIdErhverv => "mitid_erhverv",
        }
    }
}

/// What the relying party asked of this login.
#[derive(Clone, Debug)]
pub struct Requirements {
    pub client_name: String,
    pub level: RequiredLevel,
    pub idp: Idp,
    /// Several identity providers: the citizen picks one first.
    pub idp_choices: Vec<Idp>,
    /// Whether the citizen confirms their CPR number after authenticating.
    pub cpr_entry: CprEntry,
    /// The action header and reference text the MitID client shows.
    pub texts: ClientTexts,
    /// A PSD2-compliant authentication is asked for (NEB's `require_psd2`).
    pub require_psd2: bool,
    /// Why MitID refuses this request's parameters, if it does. As at NEB, such values are
    /// accepted with the request and refused inside the MitID flow.
    pub mitid_refusal: Option<String>,
    /// What the RP asked of a MitID Erhverv login (`idp_params.mitid_erhverv`).
    pub erhverv: ErhvervOptions,
}

/// When the citizen must type their CPR number after authenticating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CprEntry {
    #[default]
    Never,
    /// Before the CPR number is released (`ssn`).
    Always,
    /// After MitID only: the NemID PID of a MitID identity is looked up by its CPR
    /// number (`nemid.pid`); a NemID login knows its PID.
    AfterMitId,
}

impl CprEntry {
    pub fn applies_to(self, idp: Idp) -> bool {
        match self {
            CprEntry::Never => false,
            // A professional identity's CPR number is released as `nemlogin.cpr`, to
            // public service providers, without the private person's CPR check.
            CprEntry::Always => idp != Idp::MitIdErhverv,
            CprEntry::AfterMitId => idp == Idp::MitId,
        }
    }
}
