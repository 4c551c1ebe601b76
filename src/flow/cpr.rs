//! The `ssn` scope's step: after authenticating, the citizen types their CPR number.

use time::Duration;

use super::{Authentication, Failure, FlowError, Login, Notice, Outcome, Step};
use crate::broker::Broker;
use crate::identity::Cpr;

/// How long after the login the citizen may take to type their CPR number.
pub const CPR_ENTRY_WINDOW: Duration = Duration::minutes(15);
pub const CPR_ENTRY_TRIES: u8 = 3;

impl<P> Login<P> {
    /// The `ssn` scope's CPR confirmation.
    pub fn submit_cpr(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let Step::CprEntry {
            auth,
            attempts_left,
            deadline,
        } = &self.step
        else {
            return Err(FlowError::WrongStep);
        };
        if broker.clock.now() > *deadline {
            self.fail(Failure::CprTimedOut);
            return Ok(());
        }
        let expected = broker.identities.by_uuid(auth.citizen).and_then(|c| c.cpr);
        let matches = Cpr::parse(typed)
            .ok()
            .zip(expected)
            .is_some_and(|(a, b)| a == b);
        if matches {
            let auth = Authentication {
                cpr_verified: true,
                ..auth.clone()
            };
            self.notice = None;
            self.step = Step::Finished(Outcome::Authenticated(auth));
            return Ok(());
        }
        let left = attempts_left.saturating_sub(1);
        if left == 0 {
            self.fail(Failure::CprNotMatched);
        } else {
            self.notice = Some(Notice::WrongCpr {
                attempts_left: left,
            });
            if let Step::CprEntry { attempts_left, .. } = &mut self.step {
                *attempts_left = left;
            }
        }
        Ok(())
    }
}
