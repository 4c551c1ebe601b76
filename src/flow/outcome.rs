//! How a login ends.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{ErhvervFailure, Idp};
use crate::authenticators::Proof;
use crate::identity::{IdentityStatus, Loa};

#[derive(Clone, Debug, PartialEq)]
pub struct Authentication {
    /// The MitID eID that authenticated: a citizen's private MitID, or a dedicated MitID
    /// Erhverv eID.
    pub citizen: Uuid,
    pub idp: Idp,
    pub proof: Proof,
    /// The lower of the identity's IAL and the authenticator's AAL.
    pub loa: Loa,
    pub ial: Loa,
    pub auth_time: OffsetDateTime,
    /// The citizen confirmed their CPR number, so `dk.cpr` may be released.
    pub cpr_verified: bool,
    /// PSD2-compliant: the RP asked for it (`require_psd2`) and the authenticator has two
    /// factors.
    pub psd2: bool,
    /// The identity provider's own transaction (MitID's transaction ID): one per
    /// authentication, shared by every client an SSO session answers.
    pub idp_transaction_id: Uuid,
    /// The professional identity (persistent professional ID) the person acts as, in a
    /// MitID Erhverv login; `None` for a private login.
    pub professional: Option<Uuid>,
}

impl Authentication {
    /// Whom the RP sees: the professional identity a MitID Erhverv login acts as, else the
    /// eID that authenticated. The pairwise `sub` is made from it, so a person's private
    /// and professional logins (and their professional identities) have different subjects.
    pub fn subject_identity(&self) -> Uuid {
        self.professional.unwrap_or(self.citizen)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The citizen pressed "Afbryd".
    Aborted,
    AppRejected,
    AppTimedOut,
    /// No authenticator of this citizen reaches the level the RP asked for.
    InsufficientAssurance,
    IdentityNotUsable(IdentityStatus),
    /// NemID was asked for, but the citizen has none.
    NoNemId,
    /// Every key on the card is used; `new_card_sent` tells whether one can be activated.
    CardExhausted {
        new_card_sent: bool,
    },
    CprNotMatched,
    CprTimedOut,
    /// MitID refused a value of the request (`Requirements::mitid_refusal` says which).
    ParameterRefused,
    /// A MitID Erhverv login could not end in a professional identity.
    Erhverv(ErhvervFailure),
}

impl Failure {
    /// Failures the citizen should read about before going back to the service.
    pub fn explained_first(self) -> bool {
        !matches!(
            self,
            Failure::Aborted | Failure::AppRejected | Failure::AppTimedOut
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Authenticated(Authentication),
    Failed(Failure),
}
