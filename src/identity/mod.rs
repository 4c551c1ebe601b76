//! Who a citizen is: CPR, MitID identity, names, status, assurance, authenticators; and
//! who acts for an organisation: test organisations and professional identities (MitID
//! Erhverv).

#[macro_use]
mod newtype;
mod assurance;
mod cpr;
pub mod generate;
mod organisation;
mod privileges;
mod professional;
mod store;
mod workforce;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::authenticators::{AppConfig, CodeDisplayConfig, Method, NemIdConfig, Password};
use crate::fixtures::{self, FixtureError};

pub use assurance::{Loa, RequiredLevel};
pub use cpr::{Cpr, CprError, Gender};
pub use organisation::{Cvr, Organisation, PNumber, SeNumber};
pub use privileges::{PrivilegeGroup, PrivilegeScope, PrivilegeUri};
pub use professional::{
    Email, LoginRoute, Loip, Person, ProfessionalIdentity, ProfessionalRole, ProfessionalStatus,
    Rid, PSEUDONYM_ALIAS,
};
pub use store::IdentityStore;
pub use workforce::{Entry, Workforce, WorkforceProblem};

/// A MitID user ID (brugernavn): what the citizen types first. Matched without regard to case.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@');
        if text.is_empty() || text.chars().count() > 64 || !text.chars().all(allowed) {
            return Err(format!(
                "`{text}` is not a user ID: 1 to 64 letters, digits, '.', '-', '_' or '@'"
            ));
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that lookups use: user IDs are not case sensitive.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl TryFrom<String> for UserId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    #[default]
    Active,
    /// Temporarily locked, e.g. after wrong codes.
    Locked,
    Revoked,
    Suspended,
    /// MitID was refused to this person (identity not established).
    NotIssued,
}

impl IdentityStatus {
    pub fn can_log_in(self) -> bool {
        self == IdentityStatus::Active
    }
}

/// Whose MitID an eID is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EidKind {
    /// A citizen's own MitID.
    #[default]
    Private,
    /// A dedicated MitID Erhverv eID an organisation issued: it logs in only to MitID
    /// Erhverv, as the professional identities that name it (`erhverv_user_id`). The
    /// person's CPR number, if any, is on those professional identities.
    Erhverv,
}

impl EidKind {
    fn is_private(&self) -> bool {
        *self == EidKind::Private
    }
}

/// A citizen as the fixtures describe them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub user_id: UserId,
    /// What this persona is for, shown in listings.
    pub purpose: String,
    /// A private MitID (the default) or a dedicated MitID Erhverv eID.
    #[serde(default, skip_serializing_if = "EidKind::is_private")]
    pub kind: EidKind,
    /// The MitID UUID (`mitid.uuid`).
    pub uuid: Uuid,
    /// Absent for citizens without a CPR number (e.g. foreign nationals).
    #[serde(default)]
    pub cpr: Option<Cpr>,
    /// The name held by MitID (the eID name, `mitid.identity_name`).
    pub name: String,
    /// The name in the CPR register, when it differs from the eID name.
    #[serde(default)]
    pub cpr_name: Option<String>,
    /// Birth date for citizens without CPR; derived from the CPR number otherwise.
    #[serde(default)]
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub status: IdentityStatus,
    /// Identity assurance level of the enrolment.
    #[serde(default = "default_ial")]
    pub ial: Loa,
    #[serde(default)]
    pub name_address_protected: bool,
    /// The MitID password (with code display, audio code reader, chip, or alone).
    #[serde(default)]
    pub password: Option<Password>,
    /// Has a MitID chip: password + chip gives High.
    #[serde(default)]
    pub chip: bool,
    /// May log in with the password alone (Low).
    #[serde(default)]
    pub password_login: bool,
    #[serde(default)]
    pub app: Option<AppConfig>,
    #[serde(default)]
    pub code_display: Option<CodeDisplayConfig>,
    /// The audio code reader (kodeoplæser): the same TOTP, read aloud.
    #[serde(default)]
    pub audio_reader: Option<CodeDisplayConfig>,
    /// Legacy NemID with a code card (`idp_values=nemid`).
    #[serde(default)]
    pub nemid: Option<NemIdConfig>,
    /// People this citizen is related to (children, wards, powers of attorney).
    #[serde(default)]
    pub relations: Vec<Relation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    /// A child; CPR records custody only for children born from May 2004.
    Child,
    /// The citizen is a guardian (værge) of this person.
    Ward,
    /// The citizen holds a power of attorney (fuldmagt) from this person.
    PowerOfAttorney,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relation {
    pub kind: RelationKind,
    pub name: String,
    pub cpr: Cpr,
}

impl Relation {
    /// Custody shows in CPR only for children born on or after 1 May 2004.
    pub fn custody_in_cpr(&self) -> bool {
        self.kind == RelationKind::Child
            && self.cpr.birth_date() >= time::macros::date!(2004 - 05 - 01)
    }
}

fn default_ial() -> Loa {
    Loa::Substantial
}

impl Identity {
    pub fn date_of_birth(&self) -> Option<Date> {
        self.cpr.map(|c| c.birth_date()).or(self.date_of_birth)
    }

    pub fn age_on(&self, today: Date) -> Option<u32> {
        let born = self.date_of_birth()?;
        let mut age = today.year() - born.year();
        if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
            age -= 1;
        }
        Some(age.max(0) as u32)
    }

    /// The MitID authenticators in the order the login offers them.
    pub fn methods(&self) -> Vec<Method> {
        let available = [
            (Method::App, self.app.is_some()),
            (Method::CodeDisplay, self.code_display.is_some()),
            (Method::AudioReader, self.audio_reader.is_some()),
            (Method::Chip, self.chip),
            (Method::Password, self.password_login),
        ];
        available
            .into_iter()
            .filter(|(_, has)| *has)
            .map(|(m, _)| m)
            .collect()
    }

    /// The TOTP device of a code display or audio code reader.
    pub fn totp_device(&self, method: Method) -> Option<&CodeDisplayConfig> {
        match method {
            Method::CodeDisplay => self.code_display.as_ref(),
            Method::AudioReader => self.audio_reader.as_ref(),
            _ => None,
        }
    }

    /// Every authenticator, MitID and NemID, for listings.
    pub fn all_methods(&self) -> Vec<Method> {
        let mut methods = self.methods();
        if let Some(nemid) = &self.nemid {
            methods.push(Method::CodeCard);
            if nemid.key_app {
                methods.push(Method::KeyApp);
            }
        }
        methods
    }

    /// Problems an entry can have beyond its syntax (fixtures and the admin API).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.all_methods().is_empty() && self.status == IdentityStatus::Active {
            problems.push(format!(
                "citizen `{}` has no authenticator: add [user.app], [user.code_display], \
                 [user.audio_reader], chip, password_login or [user.nemid]",
                self.user_id
            ));
        }
        let needs_password = self.code_display.is_some()
            || self.audio_reader.is_some()
            || self.chip
            || self.password_login;
        if needs_password && self.password.is_none() {
            problems.push(format!(
                "citizen `{}` needs a password: code display, audio code reader, chip and \
                 password login all ask for it",
                self.user_id
            ));
        }
        if let Some(problem) = self.nemid.as_ref().and_then(NemIdConfig::problems) {
            problems.push(format!("citizen `{}`: {problem}", self.user_id));
        }
        if self.cpr.is_some() && self.date_of_birth.is_some() {
            problems.push(format!(
                "citizen `{}` has both `cpr` and `date_of_birth`; the birth date comes from the CPR number",
                self.user_id
            ));
        }
        if self.name.trim().is_empty() {
            problems.push(format!("citizen `{}` has an empty name", self.user_id));
        }
        if self.kind == EidKind::Erhverv {
            let private_only = [
                ("cpr", self.cpr.is_some()),
                ("cpr_name", self.cpr_name.is_some()),
                ("name_address_protected", self.name_address_protected),
                ("nemid", self.nemid.is_some()),
                ("relations", !self.relations.is_empty()),
            ];
            if let Some((key, _)) = private_only.iter().find(|(_, set)| *set) {
                problems.push(format!(
                    "dedicated MitID Erhverv eID `{}` cannot have `{key}`: it belongs to the \
                     person's private MitID (a CPR number goes on the [[professional]])",
                    self.user_id
                ));
            }
        }
        problems
    }
}

/// A users fixture: citizens (`[[user]]`, their private MitID or a dedicated MitID Erhverv
/// eID) and, optionally, the MitID Erhverv sections: `[[organisation]]` and
/// `[[professional]]`. One file, so that cross-references (a professional's CPR number
/// or dedicated eID) are checked where they are written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<toml::Spanned<Identity>>,
    #[serde(default)]
    organisation: Vec<toml::Spanned<Organisation>>,
    #[serde(default)]
    professional: Vec<toml::Spanned<ProfessionalIdentity>>,
}

/// Everyone a users fixture declares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Population {
    pub citizens: Vec<Identity>,
    pub workforce: Workforce,
}

/// The citizens compiled into the binary (a copy of `fixtures/users.toml`).
pub const BUILT_IN_USERS: &str = include_str!("../../fixtures/users.toml");

/// Reads and checks a users fixture file (e.g. `fixtures/users.toml`): its citizens.
pub fn load_users(path: &Path) -> Result<Vec<Identity>, FixtureError> {
    load_population(path).map(|p| p.citizens)
}

/// Citizens from TOML text (for tests and in-process use); errors name `<inline>`.
pub fn parse_users(source: &str) -> Result<Vec<Identity>, FixtureError> {
    parse_population(source).map(|p| p.citizens)
}

/// The built-in citizens, for a broker started without `--users`.
pub fn built_in_users() -> Result<Vec<Identity>, FixtureError> {
    built_in_population().map(|p| p.citizens)
}

/// Reads and checks a users fixture file with its organisations and professionals.
pub fn load_population(path: &Path) -> Result<Population, FixtureError> {
    check_population(fixtures::read::<UsersFile>(path)?)
}

/// A population from TOML text (for tests and in-process use); errors name `<inline>`.
pub fn parse_population(source: &str) -> Result<Population, FixtureError> {
    check_population(fixtures::parse::<UsersFile>(
        Path::new("<inline>"),
        source.to_string(),
    )?)
}

/// The built-in citizens, organisations and professional identities.
pub fn built_in_population() -> Result<Population, FixtureError> {
    let path = Path::new("fixtures/users.toml (built in)");
    check_population(fixtures::parse::<UsersFile>(
        path,
        BUILT_IN_USERS.to_string(),
    )?)
}

fn check_population(document: fixtures::Document<UsersFile>) -> Result<Population, FixtureError> {
    let citizens = check_users(&document)?;
    let file = &document.value;
    let workforce = Workforce {
        organisations: file
            .organisation
            .iter()
            .map(|o| o.get_ref().clone())
            .collect(),
        professionals: file
            .professional
            .iter()
            .map(|p| p.get_ref().clone())
            .collect(),
    };
    if let Err(problem) = workforce.check(&citizens) {
        let span = match problem.entry {
            Entry::Citizen(i) => file.user[i].span(),
            Entry::Organisation(i) => file.organisation[i].span(),
            Entry::Professional(i) => file.professional[i].span(),
        };
        return Err(document.error_at(span, problem.message));
    }
    Ok(Population {
        citizens,
        workforce,
    })
}

fn check_users(document: &fixtures::Document<UsersFile>) -> Result<Vec<Identity>, FixtureError> {
    let path = document.path.clone();
    let path = path.as_path();
    let mut seen_ids = std::collections::HashMap::new();
    let mut seen_uuids = std::collections::HashMap::new();
    let mut users = Vec::with_capacity(document.value.user.len());
    for entry in &document.value.user {
        let span = entry.span();
        let identity = entry.get_ref();
        if let Some(problem) = identity.problems().into_iter().next() {
            return Err(document.error_at(span, problem));
        }
        if seen_ids.insert(identity.user_id.key(), ()).is_some() {
            return Err(document.error_at(
                span,
                format!("user ID `{}` is used twice", identity.user_id),
            ));
        }
        if seen_uuids.insert(identity.uuid, ()).is_some() {
            return Err(document.error_at(span, format!("UUID {} is used twice", identity.uuid)));
        }
        users.push(identity.clone());
    }
    if users.is_empty() {
        return Err(FixtureError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: "no citizens: add at least one [[user]] table".into(),
        });
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn load(text: &str) -> Result<Vec<Identity>, FixtureError> {
        let mut file = tempfile_in_target();
        file.1.write_all(text.as_bytes()).unwrap();
        load_users(&file.0)
    }

    fn tempfile_in_target() -> (std::path::PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("users-{}.toml", Uuid::new_v4()));
        let file = std::fs::File::create(&path).unwrap();
        (path, file)
    }

    const VALID: &str = r#"
[[user]]
user_id = "anna"
purpose = "test"
uuid = "6f3c0b9e-2f43-4a8b-9d8f-0a1b2c3d4e5f"
cpr = "010190-1234"
name = "Anna"
password = "Test1234"
[user.code_display]
secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
"#;

    #[test]
    fn generated_citizens_load_as_fixtures() {
        use super::generate::{generate_users, GenerateOptions};
        let today = time::macros::date!(2026 - 11 - 23);
        let text = generate_users(&GenerateOptions {
            count: 300,
            seed: 42,
            today,
            organisations: 0,
        });
        let users = load(&text).unwrap();
        assert_eq!(users.len(), 300);
    }

    #[test]
    fn the_built_in_personas_load() {
        let users = built_in_users().unwrap();
        assert!(users.len() >= 25);
    }

    #[test]
    fn reads_a_valid_citizen() {
        let users = load(VALID).unwrap();
        assert_eq!(users[0].methods(), vec![Method::CodeDisplay]);
        assert_eq!(users[0].date_of_birth().unwrap().year(), 1990);
    }

    #[test]
    fn a_bad_cpr_is_reported_with_file_and_line() {
        let err = load(&VALID.replace("010190-1234", "320190-1234")).unwrap_err();
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.message.contains("no valid birth date"), "{err}");
        assert!(err.to_string().contains(".toml:6:"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = load(&VALID.replace("purpose", "purpos")).unwrap_err();
        assert!(err.message.contains("unknown field `purpos`"), "{err}");
    }

    #[test]
    fn duplicate_user_ids_and_missing_passwords_are_caught() {
        let twice = format!("{VALID}{}", VALID.replace("6f3c0b9e", "7f3c0b9e"));
        let err = load(&twice).unwrap_err();
        assert!(err.message.contains("used twice"), "{err}");
        assert_eq!(err.line, Some(12), "{err}");
        let err = load(&VALID.replace("password = \"Test1234\"\n", "")).unwrap_err();
        assert!(err.message.contains("needs a password"), "{err}");
    }
}
