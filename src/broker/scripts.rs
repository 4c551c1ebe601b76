//! Scripted behaviour for a citizen's next logins, set by QA through the admin API:
//! "the next 2 logins of this citizen are rejected in the app".

use std::collections::VecDeque;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "behaviour")]
pub enum ScriptedLogin {
    /// The app rejects (other authenticators: the login ends as rejected).
    Reject,
    /// The app never answers and the request times out.
    Timeout,
    /// The app approves after this many milliseconds.
    Delay { ms: u64 },
    /// The citizen cancels right after typing the user ID.
    Abort,
}

impl ScriptedLogin {
    /// Refuses a delay the app could not wait (over a day: the request times out first,
    /// and beyond i64 milliseconds it would wrap to "at once").
    pub fn check(&self) -> Result<(), String> {
        use crate::authenticators::app::MAX_ANSWER_DELAY_MS;
        match self {
            ScriptedLogin::Delay { ms } if *ms > MAX_ANSWER_DELAY_MS => Err(format!(
                "a delay of {ms} ms is more than a day ({MAX_ANSWER_DELAY_MS} ms)"
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Default)]
pub struct LoginScripts {
    queues: DashMap<Uuid, VecDeque<ScriptedLogin>>,
}

impl LoginScripts {
    /// Scripts the next `count` logins of `citizen`, after any already scripted.
    pub fn push(&self, citizen: Uuid, behaviour: ScriptedLogin, count: usize) {
        let mut queue = self.queues.entry(citizen).or_default();
        queue.extend(std::iter::repeat_n(behaviour, count));
    }

    /// The behaviour for the login starting now, if one is scripted.
    pub fn take(&self, citizen: Uuid) -> Option<ScriptedLogin> {
        let mut queue = self.queues.get_mut(&citizen)?;
        queue.pop_front()
    }

    pub fn pending(&self, citizen: Uuid) -> Vec<ScriptedLogin> {
        self.queues
            .get(&citizen)
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn clear(&self, citizen: Uuid) {
        self.queues.remove(&citizen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_behaviour_is_used_up_in_order() {
        let scripts = LoginScripts::default();
        let citizen = Uuid::new_v4();
        scripts.push(citizen, ScriptedLogin::Reject, 2);
        scripts.push(citizen, ScriptedLogin::Delay { ms: 10 }, 1);
        assert_eq!(scripts.take(citizen), Some(ScriptedLogin::Reject));
        assert_eq!(scripts.pending(citizen).len(), 2);
        assert_eq!(scripts.take(citizen), Some(ScriptedLogin::Reject));
        assert_eq!(scripts.take(citizen), Some(ScriptedLogin::Delay { ms: 10 }));
        assert_eq!(scripts.take(citizen), None);
        assert_eq!(scripts.take(Uuid::new_v4()), None);
    }

    #[test]
    fn a_delay_over_a_day_is_refused() {
        assert!(ScriptedLogin::Delay { ms: 86_400_000 }.check().is_ok());
        let refused = ScriptedLogin::Delay { ms: u64::MAX }.check().unwrap_err();
        assert!(refused.contains("more than a day"), "{refused}");
        assert!(ScriptedLogin::Reject.check().is_ok());
    }
}
