//! Legacy NemID: user ID and password on one page, then the code card (or the key app),
//! a new card's activation and the key app's.

use super::{Failure, FlowError, Login, Notice, Outcome, Step};
use crate::authenticators::code_card::{KeyAppActivation, KeyCheck};
use crate::authenticators::{CodeCheck, Method, Proof};
use crate::broker::Broker;
use crate::identity::{Identity, Loa};

impl<P> Login<P> {
    /// NemID's first page: user ID and password together.
    pub fn submit_nemid_credentials(
        &mut self,
        broker: &Broker,
        user_id: &str,
        password: &str,
    ) -> Result<(), FlowError> {
        if self.step != Step::NemIdCredentials {
            return Err(FlowError::WrongStep);
        }
        // Like the real NemID, an unknown user, a citizen without NemID and a wrong
        // password all get one message, and nothing about the identity shows before the
        // password is right.
        let Some((citizen, nemid)) = broker
            .identities
            .by_user_id(user_id)
            .and_then(|c| c.nemid.clone().map(|n| (c, n)))
        else {
            self.notice = Some(Notice::WrongNemIdCredentials);
            return Ok(());
        };
        let now = broker.clock.now();
        let secret = (citizen.uuid, Method::CodeCard);
        if !nemid.password.matches(password) {
            self.notice = Some(Notice::WrongNemIdCredentials);
            broker.code_displays.fail(secret, now);
            return Ok(());
        }
        self.notice = None;
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = Step::Blocked {
                citizen: citizen.uuid,
                method: Method::CodeCard,
                until,
            };
            return Ok(());
        }
        broker.code_displays.succeed(secret);
        self.begin(broker, &citizen);
        Ok(())
    }

    pub(super) fn card_step(&mut self, broker: &Broker, citizen: &Identity) -> Step {
        let Some(nemid) = &citizen.nemid else {
            return Step::Finished(Outcome::Failed(Failure::NoNemId));
        };
        match broker.code_cards.challenge(citizen.uuid, nemid) {
            Some(key) => Step::CodeCard {
                citizen: citizen.uuid,
                key_number: key.number,
            },
            None => {
                let new_card_sent = broker.code_cards.state(citizen.uuid, nemid).new_card_sent;
                Step::Finished(Outcome::Failed(Failure::CardExhausted { new_card_sent }))
            }
        }
    }

    /// The key typed for the key number the page shows (or, when activating, from the new card).
    pub fn submit_card_key(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let (citizen, key_number, activating) = match self.step {
            Step::CodeCard {
                citizen,
                key_number,
            } => (citizen, key_number, false),
            Step::ActivateCard {
                citizen,
                key_number,
            } => (citizen, key_number, true),
            _ => return Err(FlowError::WrongStep),
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        let secret = (citizen, Method::CodeCard);
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = Step::Blocked {
                citizen,
                method: Method::CodeCard,
                until,
            };
            return Ok(());
        }
        let check = if activating {
            broker
                .code_cards
                .activate_next_card(citizen, nemid, key_number, typed)
        } else {
            broker.code_cards.redeem(citizen, nemid, key_number, typed)
        };
        self.notice = None;
        match check {
            KeyCheck::Accepted => {
                broker.code_displays.succeed(secret);
                self.finish(
                    broker,
                    &identity,
                    Proof::of(Method::CodeCard, Loa::Substantial),
                )
            }
            KeyCheck::Wrong => match broker.code_displays.fail(secret, now) {
                CodeCheck::Blocked { until } => {
                    self.step = Step::Blocked {
                        citizen,
                        method: Method::CodeCard,
                        until,
                    }
                }
                _ => self.notice = Some(Notice::WrongKey),
            },
            // Used meanwhile (another tab won the race): ask for another key.
            KeyCheck::Used => {
                self.notice = Some(Notice::WrongKey);
                self.step = self.card_step(broker, &identity);
            }
            KeyCheck::Exhausted => self.step = self.card_step(broker, &identity),
        }
        Ok(())
    }

    /// "Aktivér dit nye nøglekort": asks a key from the card that was sent.
    pub fn start_card_activation(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let citizen = match self.step {
            Step::CodeCard { citizen, .. } => citizen,
            Step::Finished(Outcome::Failed(Failure::CardExhausted {
                new_card_sent: true,
            })) => self.last_citizen.ok_or(FlowError::WrongStep)?,
            _ => return Err(FlowError::WrongStep),
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        let key = broker
            .code_cards
            .next_card_challenge(citizen, nemid)
            .ok_or(FlowError::WrongStep)?;
        self.notice = None;
        self.step = Step::ActivateCard {
            citizen,
            key_number: key.number,
        };
        Ok(())
    }

    /// Activates the key app with the key shown, then logs in with it.
    pub fn activate_key_app(&mut self, broker: &Broker, typed: &str) -> Result<(), FlowError> {
        let Step::CodeCard {
            citizen,
            key_number,
        } = self.step
        else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let nemid = identity.nemid.as_ref().ok_or(FlowError::WrongStep)?;
        match broker
            .code_cards
            .activate_key_app(citizen, nemid, key_number, typed)
        {
            Ok(()) => {
                self.notice = Some(Notice::KeyAppActivated);
                self.finish(
                    broker,
                    &identity,
                    Proof::of(Method::CodeCard, Loa::Substantial),
                );
            }
            Err(KeyAppActivation::TooFewKeys) => self.notice = Some(Notice::KeyAppNeedsKeys),
            Err(KeyAppActivation::WrongKey) => self.notice = Some(Notice::WrongKey),
        }
        Ok(())
    }
}
