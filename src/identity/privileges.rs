//! Privileges of a professional identity, as the OIO Basic Privilege Profile (BPP 1.2)
//! models them and NemLog-in sends them in `privilegesIntermediate`: groups of privilege
//! URIs, each group valid within one scope (a CVR number, a P number, an SE number or a
//! CPR number), optionally narrowed by constraints (model 3).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Cpr, Cvr, PNumber, SeNumber};

/// Where a privilege group applies (the `Scope` attribute of a BPP `PrivilegeGroup`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PrivilegeScope {
    Cvr(Cvr),
    PNumber(PNumber),
    SeNumber(SeNumber),
    Cpr(Cpr),
}

const CVR_SCOPE: &str = "urn:dk:gov:saml:cvrNumberIdentifier:";
const P_NUMBER_SCOPE: &str = "urn:dk:gov:saml:productionUnitIdentifier:";
const SE_NUMBER_SCOPE: &str = "urn:dk:gov:saml:seNumberIdentifier:";
const CPR_SCOPE: &str = "urn:dk:gov:saml:cprNumberIdentifier:";

impl PrivilegeScope {
    /// Reads the BPP form, e.g. `urn:dk:gov:saml:cvrNumberIdentifier:91234564`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let scoped = |prefix: &str| text.strip_prefix(prefix);
        let parsed = if let Some(cvr) = scoped(CVR_SCOPE) {
            Cvr::parse(cvr).map(Self::Cvr)
        } else if let Some(p) = scoped(P_NUMBER_SCOPE) {
            PNumber::parse(p).map(Self::PNumber)
        } else if let Some(se) = scoped(SE_NUMBER_SCOPE) {
            SeNumber::parse(se).map(Self::SeNumber)
        } else if let Some(cpr) = scoped(CPR_SCOPE) {
            Cpr::parse(cpr).map(Self::Cpr).map_err(|e| e.to_string())
        } else {
            return Err(format!(
                "`{text}` is not a privilege scope: use {CVR_SCOPE}<CVR>, \
                 {P_NUMBER_SCOPE}<P number>, {SE_NUMBER_SCOPE}<SE number> or {CPR_SCOPE}<CPR>"
            ));
        };
        parsed.map_err(|problem| format!("privilege scope `{text}`: {problem}"))
    }

    /// The BPP `Scope` attribute value.
    pub fn urn(&self) -> String {
        match self {
            Self::Cvr(cvr) => format!("{CVR_SCOPE}{cvr}"),
            Self::PNumber(p) => format!("{P_NUMBER_SCOPE}{p}"),
            Self::SeNumber(se) => format!("{SE_NUMBER_SCOPE}{se}"),
            Self::Cpr(cpr) => format!("{CPR_SCOPE}{}", cpr.compact()),
        }
    }
}

impl fmt::Display for PrivilegeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.urn())
    }
}

impl fmt::Debug for PrivilegeScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivilegeScope({})", self.urn())
    }
}

impl TryFrom<String> for PrivilegeScope {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PrivilegeScope> for String {
    fn from(scope: PrivilegeScope) -> Self {
        scope.urn()
    }
}

text_newtype!(
    /// A URI naming a privilege or a constraint (`urn:…` or `http(s)://…`), as the service
    /// that defines it spells it.
    PrivilegeUri
);

impl PrivilegeUri {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let scheme_ok = ["urn:", "http://", "https://"]
            .iter()
            .any(|scheme| text.len() > scheme.len() && text.starts_with(scheme));
        if !scheme_ok || text.len() > 512 || text.chars().any(|c| c.is_whitespace()) {
            return Err(format!(
                "`{text}` is not a privilege URI: a urn:… or http(s)://… URI of at most \
                 512 characters without spaces"
            ));
        }
        Ok(Self(text.to_string()))
    }
}

/// One BPP `PrivilegeGroup`: these privileges, within this scope, under these constraints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivilegeGroup {
    pub scope: PrivilegeScope,
    pub privileges: Vec<PrivilegeUri>,
    /// Model 3 constraints: name (a URI) → value, e.g. `urn:dk:kombit:KLE` → `25.*`.
    #[serde(default)]
    pub constraints: std::collections::BTreeMap<PrivilegeUri, String>,
}

impl PrivilegeGroup {
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.privileges.is_empty() {
            problems.push(format!(
                "privilege group for {} grants nothing: list at least one privilege URI",
                self.scope
            ));
        }
        if let Some(uri) = super::organisation::first_repeated(&self.privileges) {
            problems.push(format!(
                "privilege group for {} lists {uri} twice",
                self.scope
            ));
        }
        if let Some((name, _)) = self.constraints.iter().find(|(_, v)| v.trim().is_empty()) {
            problems.push(format!(
                "privilege group for {}: constraint {name} has an empty value",
                self.scope
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_write_the_bpp_urns() {
        for urn in [
            "urn:dk:gov:saml:cvrNumberIdentifier:91234564",
            "urn:dk:gov:saml:productionUnitIdentifier:1012345678",
            "urn:dk:gov:saml:seNumberIdentifier:92345688",
            "urn:dk:gov:saml:cprNumberIdentifier:1203851234",
        ] {
            let scope = PrivilegeScope::parse(urn).unwrap();
            assert_eq!(scope.urn(), urn);
        }
        let err =
            PrivilegeScope::parse("urn:dk:gov:saml:cvrNumberIdentifier:12345678").unwrap_err();
        assert!(err.contains("start with 9"), "{err}");
        let err = PrivilegeScope::parse("cvr:91234564").unwrap_err();
        assert!(err.contains("is not a privilege scope"), "{err}");
    }

    #[test]
    fn privilege_uris_are_uris_without_spaces() {
        assert!(PrivilegeUri::parse("urn:dk:some_domain:myPrivilege1A").is_ok());
        assert!(PrivilegeUri::parse("https://privilege.example.dk/read").is_ok());
        for bad in ["read", "urn:", "urn:a b", ""] {
            assert!(PrivilegeUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_empty_or_repeating_group_has_problems() {
        let group = PrivilegeGroup {
            scope: PrivilegeScope::parse("urn:dk:gov:saml:cvrNumberIdentifier:91234564").unwrap(),
            privileges: vec![],
            constraints: Default::default(),
        };
        assert!(group.problems()[0].contains("grants nothing"));
        let uri = PrivilegeUri::parse("urn:dk:x:read").unwrap();
        let group = PrivilegeGroup {
            privileges: vec![uri.clone(), uri],
            ..group
        };
        assert!(
            group.problems()[0].contains("twice"),
            "{:?}",
            group.problems()
        );
    }
}
