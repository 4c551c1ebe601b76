//! Legacy NemID: the printed code card (nøglekort) and the key app (nøgleapp).
//!
//! A card holds 148 keys: a 4-digit key number beside a 6-digit key. The login shows a key
//! number; the key beside it works once. When 20 keys remain a new card is sent, and the
//! citizen activates it with a key from the new card. The key app can be activated only
//! while the card still has at least two unused keys.

use std::collections::HashSet;
use std::fmt;

use dashmap::DashMap;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Password;

pub const KEYS_PER_CARD: usize = 148;
pub const NEW_CARD_AT: usize = 20;
pub const KEY_APP_NEEDS_KEYS: usize = 2;

/// A NemID person identifier, `PID:9208-2002-2-<12 digits>`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pid(String);

impl Pid {
    pub const PREFIX: &'static str = "PID:9208-2002-2-";

    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = text.strip_prefix(Self::PREFIX).ok_or_else(|| {
            format!(
                "`{text}` is not a NemID PID: it starts with {}",
                Self::PREFIX
            )
        })?;
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{text}` is not a NemID PID: {} is followed by 12 digits",
                Self::PREFIX
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PID as the broker's `nemid.pid` claim carries it: `9208-2002-2-<12 digits>`,
    /// without the `PID:` prefix.
    pub fn number(&self) -> &str {
        self.0.strip_prefix("PID:").unwrap_or(&self.0)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pid({})", self.0)
    }
}

impl TryFrom<String> for Pid {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Pid> for String {
    fn from(pid: Pid) -> Self {
        pid.0
    }
}

/// A citizen's NemID as the fixtures describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemIdConfig {
    pub pid: Pid,
    /// 4 digits with a code card (the NemID rule), else 6 to 40 letters and digits.
    pub password: Password,
    /// Keys already used on the current card when the broker starts (0 to 148).
    #[serde(default)]
    pub keys_used: u16,
    /// The key app (nøgleapp) is already activated.
    #[serde(default)]
    pub key_app: bool,
    /// What the broker's PID lookup gives (`nemid.pid_status`): `success`, or
    /// `unable_to_lookup` to simulate a lookup that fails.
    #[serde(default)]
    pub pid_status: PidStatus,
}

/// The outcome of the broker's NemID PID lookup, in the real broker's vocabulary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidStatus {
    /// Earlier versions wrote `valid`.
    #[default]
    #[serde(alias = "valid")]
    Success,
    UnableToLookup,
}

impl PidStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PidStatus::Success => "success",
            PidStatus::UnableToLookup => "unable_to_lookup",
        }
    }
}

impl NemIdConfig {
    pub fn problems(&self) -> Option<String> {
        let password = self.password.expose();
        let four_digits = password.len() == 4 && password.bytes().all(|b| b.is_ascii_digit());
        let long_form =
            (6..=40).contains(&password.len()) && password.chars().all(char::is_alphanumeric);
        if !four_digits && !long_form {
            return Some("a NemID password is 4 digits, or 6 to 40 letters and digits".into());
        }
        if usize::from(self.keys_used) > KEYS_PER_CARD {
            return Some(format!(
                "keys_used is {} but a card has {KEYS_PER_CARD} keys",
                self.keys_used
            ));
        }
        None
    }
}

/// One key of a card: the number printed in front, and the key itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CardKey {
    pub number: u16,
    pub key: u32,
}

impl CardKey {
    pub fn number_text(&self) -> String {
        format!("{:04}", self.number)
    }

    pub fn key_text(&self) -> String {
        format!("{:06}", self.key)
    }
}

/// The keys of a citizen's `index`-th card, always the same for the same PID, so the
/// CLI, the card page and the broker agree without sharing state.
pub fn card_keys(pid: &Pid, index: u32) -> Vec<CardKey> {
    let digest = openssl::sha::sha256(format!("{pid}#card{index}").as_bytes());
    let mut rng = ChaCha8Rng::from_seed(digest);
    let mut numbers: Vec<u16> = (0..10_000).collect();
    numbers.shuffle(&mut rng);
    numbers
        .into_iter()
        .take(KEYS_PER_CARD)
        .map(|number| CardKey {
            number,
            key: rng.random_range(0..1_000_000),
        })
        .collect()
}

/// A card's serial as printed on it (e.g. "NK 4711-0001").
pub fn card_serial(pid: &Pid, index: u32) -> String {
    let tail = &pid.as_str()[pid.as_str().len() - 4..];
    format!("NK {tail}-{:04}", index + 1)
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CardState {
    pub card_index: u32,
    pub used: HashSet<usize>,
    pub new_card_sent: bool,
    pub key_app_active: bool,
}

impl CardState {
    pub fn keys_left(&self) -> usize {
        KEYS_PER_CARD - self.used.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    Accepted,
    Wrong,
    /// The key was used already (e.g. by a racing request).
    Used,
    Exhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyAppActivation {
    #[error("the key app needs a card with at least {KEY_APP_NEEDS_KEYS} unused keys")]
    TooFewKeys,
    #[error("the key does not match the key number")]
    WrongKey,
}

/// Runtime state of every citizen's card, sharded per citizen.
#[derive(Debug, Default)]
pub struct CodeCards {
    cards: DashMap<Uuid, CardState>,
}

impl CodeCards {
    fn entry<'a>(
        &'a self,
        citizen: Uuid,
        config: &NemIdConfig,
    ) -> dashmap::mapref::one::RefMut<'a, Uuid, CardState> {
        self.cards.entry(citizen).or_insert_with(|| {
            let used: HashSet<usize> = (0..usize::from(config.keys_used)).collect();
            CardState {
                card_index: 0,
                new_card_sent: KEYS_PER_CARD - used.len() <= NEW_CARD_AT,
                used,
                key_app_active: config.key_app,
            }
        })
    }

    pub fn state(&self, citizen: Uuid, config: &NemIdConfig) -> CardState {
        self.entry(citizen, config).clone()
    }

    /// Picks an unused key whose number the login page shows.
    pub fn challenge(&self, citizen: Uuid, config: &NemIdConfig) -> Option<CardKey> {
        let card = self.entry(citizen, config);
        let unused: Vec<usize> = (0..KEYS_PER_CARD)
            .filter(|i| !card.used.contains(i))
            .collect();
        let index = *unused.get(rand::rng().random_range(0..unused.len().max(1)))?;
        Some(card_keys(&config.pid, card.card_index)[index])
    }

    /// Checks the key typed for `number` on the current card and uses it up. The entry
    /// lock makes two racing submissions of the same key succeed exactly once.
    pub fn redeem(
        &self,
        citizen: Uuid,
        config: &NemIdConfig,
        number: u16,
        typed: &str,
    ) -> KeyCheck {
        let mut card = self.entry(citizen, config);
        if card.keys_left() == 0 {
            return KeyCheck::Exhausted;
        }
        let keys = card_keys(&config.pid, card.card_index);
        let Some(index) = keys.iter().position(|k| k.number == number) else {
            return KeyCheck::Wrong;
        };
        if card.used.contains(&index) {
            return KeyCheck::Used;
        }
        if typed.trim() != keys[index].key_text() {
            return KeyCheck::Wrong;
        }
        card.used.insert(index);
        if card.keys_left() <= NEW_CARD_AT {
            card.new_card_sent = true;
        }
        KeyCheck::Accepted
    }

    /// A key from the card that was sent, for its activation.
    pub fn next_card_challenge(&self, citizen: Uuid, config: &NemIdConfig) -> Option<CardKey> {
        let card = self.entry(citizen, config);
        if !card.new_card_sent {
            return None;
        }
        let keys = card_keys(&config.pid, card.card_index + 1);
        Some(keys[rand::rng().random_range(0..keys.len())])
    }

    /// Activates the new card with one of its keys, which counts as used.
    pub fn activate_next_card(
        &self,
        citizen: Uuid,
        config: &NemIdConfig,
        number: u16,
        typed: &str,
    ) -> KeyCheck {
        let mut card = self.entry(citizen, config);
        if !card.new_card_sent {
            return KeyCheck::Wrong;
        }
        let keys = card_keys(&config.pid, card.card_index + 1);
        let Some(index) = keys.iter().position(|k| k.number == number) else {
            return KeyCheck::Wrong;
        };
        if typed.trim() != keys[index].key_text() {
            return KeyCheck::Wrong;
        }
        card.card_index += 1;
        card.used = HashSet::from([index]);
        card.new_card_sent = false;
        KeyCheck::Accepted
    }

    /// Activates the key app with a key from the card, which is used up. Checked and
    /// applied under one entry lock, so the two-key rule cannot be raced.
    pub fn activate_key_app(
        &self,
        citizen: Uuid,
        config: &NemIdConfig,
        number: u16,
        typed: &str,
    ) -> Result<(), KeyAppActivation> {
        let mut card = self.entry(citizen, config);
        if card.keys_left() < KEY_APP_NEEDS_KEYS {
            return Err(KeyAppActivation::TooFewKeys);
        }
        let keys = card_keys(&config.pid, card.card_index);
        let index = keys
            .iter()
            .position(|k| k.number == number)
            .filter(|i| !card.used.contains(i) && typed.trim() == keys[*i].key_text())
            .ok_or(KeyAppActivation::WrongKey)?;
        card.used.insert(index);
        if card.keys_left() <= NEW_CARD_AT {
            card.new_card_sent = true;
        }
        card.key_app_active = true;
        Ok(())
    }

    pub fn reset(&self, citizen: Uuid) {
        self.cards.remove(&citizen);
    }

    /// Every card that has been used, for the state directory.
    pub fn export(&self) -> Vec<(Uuid, CardState)> {
        self.cards
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect()
    }

    pub fn import(&self, cards: Vec<(Uuid, CardState)>) {
        for (citizen, state) in cards {
            self.cards.insert(citizen, state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys_used: u16) -> NemIdConfig {
        NemIdConfig {
            pid: Pid::parse("PID:9208-2002-2-123456789012").unwrap(),
            password: Password::new("1234"),
            keys_used,
            key_app: false,
            pid_status: PidStatus::Success,
        }
    }

    #[test]
    fn a_card_has_148_distinct_key_numbers_and_is_the_same_every_time() {
        let pid = config(0).pid;
        let keys = card_keys(&pid, 0);
        assert_eq!(keys.len(), KEYS_PER_CARD);
        let numbers: HashSet<_> = keys.iter().map(|k| k.number).collect();
        assert_eq!(numbers.len(), KEYS_PER_CARD);
        assert_eq!(card_keys(&pid, 0), keys);
        assert_ne!(card_keys(&pid, 1), keys, "the next card differs");
    }

    #[test]
    fn each_key_works_once() {
        let cards = CodeCards::default();
        let (citizen, config) = (Uuid::new_v4(), config(0));
        let challenge = cards.challenge(citizen, &config).unwrap();
        assert_eq!(
            cards.redeem(citizen, &config, challenge.number, "000000x"),
            KeyCheck::Wrong
        );
        assert_eq!(
            cards.redeem(citizen, &config, challenge.number, &challenge.key_text()),
            KeyCheck::Accepted
        );
        assert_eq!(
            cards.redeem(citizen, &config, challenge.number, &challenge.key_text()),
            KeyCheck::Used
        );
        assert_eq!(cards.state(citizen, &config).keys_left(), 147);
    }

    #[test]
    fn a_new_card_is_sent_at_20_keys_left_and_can_be_activated() {
        let cards = CodeCards::default();
        let (citizen, config) = (Uuid::new_v4(), config(127));
        assert!(!cards.state(citizen, &config).new_card_sent, "21 keys left");
        assert!(cards.next_card_challenge(citizen, &config).is_none());
        let key = cards.challenge(citizen, &config).unwrap();
        cards.redeem(citizen, &config, key.number, &key.key_text());
        assert!(cards.state(citizen, &config).new_card_sent, "20 keys left");
        let next = cards.next_card_challenge(citizen, &config).unwrap();
        assert_eq!(
            cards.activate_next_card(citizen, &config, next.number, &next.key_text()),
            KeyCheck::Accepted
        );
        let state = cards.state(citizen, &config);
        assert_eq!((state.card_index, state.keys_left()), (1, 147));
    }

    #[test]
    fn an_exhausted_card_refuses_and_the_key_app_needs_two_keys() {
        let cards = CodeCards::default();
        let (citizen, config) = (Uuid::new_v4(), config(147));
        let key = cards.challenge(citizen, &config).unwrap();
        assert_eq!(
            cards.activate_key_app(citizen, &config, key.number, &key.key_text()),
            Err(KeyAppActivation::TooFewKeys)
        );
        assert_eq!(
            cards.redeem(citizen, &config, key.number, &key.key_text()),
            KeyCheck::Accepted
        );
        assert_eq!(
            cards.redeem(citizen, &config, key.number, &key.key_text()),
            KeyCheck::Exhausted
        );
        assert!(cards.challenge(citizen, &config).is_none());

        let (roomy, two_left) = (Uuid::new_v4(), self::config(146));
        let key = cards.challenge(roomy, &two_left).unwrap();
        assert_eq!(
            cards.activate_key_app(roomy, &two_left, key.number, "999999x"),
            Err(KeyAppActivation::WrongKey)
        );
        assert_eq!(
            cards.activate_key_app(roomy, &two_left, key.number, &key.key_text()),
            Ok(())
        );
        let state = cards.state(roomy, &two_left);
        assert!(state.key_app_active);
        assert_eq!(state.keys_left(), 1, "the activation used a key");
    }

    #[test]
    fn racing_submissions_of_one_key_succeed_exactly_once() {
        let cards = std::sync::Arc::new(CodeCards::default());
        let (citizen, config) = (Uuid::new_v4(), config(0));
        let key = cards.challenge(citizen, &config).unwrap();
        let accepted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (cards, config) = (cards.clone(), config.clone());
                    scope.spawn(move || cards.redeem(citizen, &config, key.number, &key.key_text()))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|r| *r == KeyCheck::Accepted)
                .count()
        });
        assert_eq!(accepted, 1);
    }

    #[test]
    fn pids_and_passwords_are_checked() {
        assert!(Pid::parse("PID:9208-2002-2-12345").is_err());
        assert!(Pid::parse("9208-2002-2-123456789012").is_err());
        let mut bad = config(0);
        bad.password = Password::new("12345");
        assert!(bad.problems().is_some());
        bad.password = Password::new("secret12");
        assert!(bad.problems().is_none());
    }
}
