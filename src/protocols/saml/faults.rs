//! Deliberately broken responses for SAML SPs: QA queues a fault for an SP's next
//! successful responses (admin API, CLI, in-process) and watches whether the SP refuses
//! them, as the OIDC token faults do for clients. Each response uses up one fault.

use std::collections::VecDeque;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use super::response::ResponseFault;

/// A fault as QA names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamlFault {
    UnsignedResponse,
    UnsignedAssertion,
    SignatureWrapping,
    WrongAudience,
    ExpiredNotOnOrAfter,
    WrongInResponseTo,
    /// The assertion carries the ID of the SP's previous assertion.
    ReplayedAssertion,
    WrongRecipient,
    AssertionNotEncrypted,
}

impl SamlFault {
    pub const ALL: [SamlFault; 9] = [
        SamlFault::UnsignedResponse,
        SamlFault::UnsignedAssertion,
        SamlFault::SignatureWrapping,
        SamlFault::WrongAudience,
        SamlFault::ExpiredNotOnOrAfter,
        SamlFault::WrongInResponseTo,
        SamlFault::ReplayedAssertion,
        SamlFault::WrongRecipient,
        SamlFault::AssertionNotEncrypted,
    ];

    /// The name the admin API and the CLI use (`wrong_audience`, …).
    pub fn name(self) -> &'static str {
        match self {
            SamlFault::UnsignedResponse => "unsigned_response",
            SamlFault::UnsignedAssertion => "unsigned_assertion",
            SamlFault::SignatureWrapping => "signature_wrapping",
            SamlFault::WrongAudience => "wrong_audience",
            SamlFault::ExpiredNotOnOrAfter => "expired_not_on_or_after",
            SamlFault::WrongInResponseTo => "wrong_in_response_to",
            SamlFault::ReplayedAssertion => "replayed_assertion",
            SamlFault::WrongRecipient => "wrong_recipient",
            SamlFault::AssertionNotEncrypted => "assertion_not_encrypted",
        }
    }

    /// The defect to build into a response; `previous_assertion` is the ID of the SP's
    /// last assertion, which `replayed_assertion` repeats (no defect without one).
    pub fn defect(self, previous_assertion: Option<&str>) -> Option<ResponseFault> {
        Some(match self {
            SamlFault::UnsignedResponse => ResponseFault::UnsignedResponse,
            SamlFault::UnsignedAssertion => ResponseFault::UnsignedAssertion,
            SamlFault::SignatureWrapping => ResponseFault::SignatureWrapping,
            SamlFault::WrongAudience => ResponseFault::WrongAudience,
            SamlFault::ExpiredNotOnOrAfter => ResponseFault::ExpiredNotOnOrAfter,
            SamlFault::WrongInResponseTo => ResponseFault::WrongInResponseTo,
            SamlFault::ReplayedAssertion => ResponseFault::ReplayedAssertion {
                assertion_id: previous_assertion?.to_string(),
            },
            SamlFault::WrongRecipient => ResponseFault::WrongRecipient,
            SamlFault::AssertionNotEncrypted => ResponseFault::AssertionNotEncrypted,
        })
    }
}

/// Pending faults per SP entity ID, in the order they were queued.
#[derive(Default)]
pub struct Faults {
    pending: DashMap<String, VecDeque<SamlFault>>,
}

impl Faults {
    pub fn push(&self, entity_id: &str, fault: SamlFault, count: usize) {
        self.pending
            .entry(entity_id.to_string())
            .or_default()
            .extend(std::iter::repeat_n(fault, count));
    }

    /// The defect for the SP's next successful response, used up. A replay waits while
    /// the SP has had no assertion to replay.
    pub fn next(&self, entity_id: &str, previous_assertion: Option<&str>) -> Option<ResponseFault> {
        let mut queue = self.pending.get_mut(entity_id)?;
        let defect = queue.front()?.defect(previous_assertion)?;
        queue.pop_front();
        Some(defect)
    }

    pub fn pending(&self, entity_id: &str) -> Vec<SamlFault> {
        self.pending
            .get(entity_id)
            .map(|queue| queue.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn clear(&self, entity_id: &str) {
        self.pending.remove(entity_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_response_faults_and_a_replay_waits_for_an_assertion() {
        for fault in SamlFault::ALL {
            let json = serde_json::to_value(fault).unwrap();
            assert_eq!(json, fault.name(), "serde and name() agree");
            let defect = fault.defect(Some("_a0")).unwrap();
            assert_eq!(
                defect.name(),
                fault.name(),
                "the defect built is the one named"
            );
        }
        let faults = Faults::default();
        faults.push("sp", SamlFault::ReplayedAssertion, 1);
        faults.push("sp", SamlFault::WrongAudience, 1);
        assert_eq!(faults.next("sp", None), None, "nothing to replay yet");
        assert_eq!(
            faults.next("sp", Some("_a1")),
            Some(ResponseFault::ReplayedAssertion {
                assertion_id: "_a1".into()
            })
        );
        assert_eq!(faults.pending("sp"), vec![SamlFault::WrongAudience]);
        assert_eq!(faults.next("sp", None), Some(ResponseFault::WrongAudience));
        assert_eq!(faults.next("sp", None), None);
        assert_eq!(faults.next("other", None), None);
    }
}
