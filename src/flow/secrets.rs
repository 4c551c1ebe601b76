//! The MitID secrets after the user ID: a code from the code display or audio code
//! reader, the password, and the chip.

use super::{FlowError, Login, Notice, Step};
use crate::authenticators::{CodeCheck, Method, Proof};
use crate::broker::Broker;
use crate::identity::Loa;

impl<P> Login<P> {
    pub fn submit_code(&mut self, broker: &Broker, code: &str) -> Result<(), FlowError> {
        let Step::Code { citizen, method } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let device = identity.totp_device(method).ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        self.notice = None;
        match broker
            .code_displays
            .check((citizen, method), &device.secret, code, now)
        {
            CodeCheck::Accepted => self.step = Step::Password { citizen, method },
            CodeCheck::Wrong { attempts_left } => {
                self.notice = Some(Notice::WrongCode { attempts_left })
            }
            CodeCheck::Reused => self.notice = Some(Notice::CodeAlreadyUsed),
            CodeCheck::Blocked { until } => {
                self.step = Step::Blocked {
                    citizen,
                    method,
                    until,
                }
            }
        }
        Ok(())
    }

    pub fn submit_password(&mut self, broker: &Broker, password: &str) -> Result<(), FlowError> {
        let Step::Password { citizen, method } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        let now = broker.clock.now();
        let secret = (citizen, Method::Password);
        let blocked = |until| Step::Blocked {
            citizen,
            method: Method::Password,
            until,
        };
        if let Some(until) = broker.code_displays.blocked_until(secret, now) {
            self.step = blocked(until);
            return Ok(());
        }
        if !identity
            .password
            .as_ref()
            .is_some_and(|p| p.matches(password))
        {
            match broker.code_displays.fail(secret, now) {
                CodeCheck::Blocked { until } => self.step = blocked(until),
                _ => self.notice = Some(Notice::WrongPassword),
            }
            return Ok(());
        }
        broker.code_displays.succeed(secret);
        self.notice = None;
        if method == Method::Chip {
            self.step = Step::Chip { citizen };
        } else {
            self.finish(broker, &identity, Proof::of(method, Loa::Substantial));
        }
        Ok(())
    }

    /// The simulated chip was presented.
    pub fn present_chip(&mut self, broker: &Broker) -> Result<(), FlowError> {
        let Step::Chip { citizen } = self.step else {
            return Err(FlowError::WrongStep);
        };
        let identity = broker
            .identities
            .by_uuid(citizen)
            .ok_or(FlowError::WrongStep)?;
        self.finish(broker, &identity, Proof::of(Method::Chip, Loa::High));
        Ok(())
    }
}
