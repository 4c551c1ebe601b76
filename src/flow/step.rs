//! Where a login can be, and what the page says beside it.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Authentication, Outcome};
use crate::authenticators::{AppRequestId, Method};

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `idp_values` named several: MitID or NemID.
    ChooseIdp,
    EnterUserId,
    /// NemID asks for user ID and password on one page.
    NemIdCredentials,
    ChooseMethod {
        citizen: Uuid,
    },
    /// The MitID app or the NemID key app waits for the phone.
    App {
        citizen: Uuid,
        method: Method,
        request: AppRequestId,
    },
    /// A code display or audio code reader code.
    Code {
        citizen: Uuid,
        method: Method,
    },
    /// The password: after the code, or first for chip and password logins.
    Password {
        citizen: Uuid,
        method: Method,
    },
    /// Password accepted; the chip is to be presented.
    Chip {
        citizen: Uuid,
    },
    /// The page shows `key_number`; the citizen types the key beside it.
    CodeCard {
        citizen: Uuid,
        key_number: u16,
    },
    /// Activating the new card with a key from it.
    ActivateCard {
        citizen: Uuid,
        key_number: u16,
    },
    /// Three wrong guesses: the secret (`method`: a code device, `Password`, or `CodeCard`
    /// for the NemID password and keys) is blocked until the given time.
    Blocked {
        citizen: Uuid,
        method: Method,
        until: OffsetDateTime,
    },
    /// MitID Erhverv: the person authenticated and has several professional identities (or
    /// the RP allows going on as the private person): they pick one.
    ChooseProfessional {
        /// The person's MitID authentication, before an identity is picked.
        auth: Authentication,
        /// Persistent professional IDs of the person's identities, in fixture order.
        choices: Vec<Uuid>,
        /// `allow_private`: the person may go on with their private MitID identity.
        private_allowed: bool,
    },
    /// Authenticated; the `ssn` scope asks the citizen to type their CPR number.
    CprEntry {
        auth: Authentication,
        attempts_left: u8,
        deadline: OffsetDateTime,
    },
    Finished(Outcome),
}

impl Step {
    pub fn citizen(&self) -> Option<Uuid> {
        match self {
            Step::ChooseMethod { citizen }
            | Step::App { citizen, .. }
            | Step::Code { citizen, .. }
            | Step::Password { citizen, .. }
            | Step::Chip { citizen }
            | Step::CodeCard { citizen, .. }
            | Step::ActivateCard { citizen, .. }
            | Step::Blocked { citizen, .. } => Some(*citizen),
            Step::CprEntry { auth, .. } | Step::ChooseProfessional { auth, .. } => {
                Some(auth.citizen)
            }
            Step::Finished(Outcome::Authenticated(auth)) => Some(auth.citizen),
            Step::ChooseIdp
            | Step::EnterUserId
            | Step::NemIdCredentials
            | Step::Finished(Outcome::Failed(_)) => None,
        }
    }

    /// A stable name, for the waiting page's script and for tests.
    pub fn name(&self) -> &'static str {
        match self {
            Step::ChooseIdp => "choose_idp",
            Step::EnterUserId => "user_id",
            Step::NemIdCredentials => "nemid_credentials",
            Step::ChooseMethod { .. } => "choose",
            Step::App { .. } => "app",
            Step::Code { .. } => "code",
            Step::Password { .. } => "password",
            Step::Chip { .. } => "chip",
            Step::CodeCard { .. } => "code_card",
            Step::ActivateCard { .. } => "activate_card",
            Step::Blocked { .. } => "blocked",
            Step::ChooseProfessional { .. } => "choose_professional",
            Step::CprEntry { .. } => "cpr",
            Step::Finished(_) => "finished",
        }
    }
}

/// A message shown with the current step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    UnknownUserId,
    WrongCode { attempts_left: u8 },
    CodeAlreadyUsed,
    WrongPassword,
    AppBusy,
    MethodUnavailable,
    WrongNemIdCredentials,
    WrongKey,
    KeyAppNeedsKeys,
    KeyAppActivated,
    WrongCpr { attempts_left: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("this step of the login is over; reload the page")]
    WrongStep,
}
