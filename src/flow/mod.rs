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

use crate::identity::Loa;

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
    pub min_loa: Loa,
    pub idp: Idp,
    /// Several identity providers: the citizen picks one first.
    pub idp_choices: Vec<Idp>,
    /// The `ssn` scope: the citizen confirms their CPR number after authenticating.
    pub cpr_entry: bool,
    /// What the RP asked of a MitID Erhverv login (`idp_params.mitid_erhverv`).
    pub erhverv: ErhvervOptions,
}
