//! The fidelity ledger: each documented or recorded fact of the real Nets eID Broker (the
//! 92 rows of the fidelity table) and of NemLog-in (a second table, the facts of its
//! OIOSAML 3.0 profile), whether mitid-sim matches it, why not when it does not, its
//! public source, and the tests that show it. Kept in `docs/fidelity.toml`;
//! `docs/fidelity.md` is rendered from it (a test keeps the two equal); the broker serves
//! it at `GET /sim/fidelity` and answers the real broker's endpoints it does not emulate
//! with 501 and the row that says so.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The ledger as built into this mitid-sim.
pub const LEDGER_TOML: &str = include_str!("../../docs/fidelity.toml");

/// Where the broker serves the ledger (JSON); `/sim/fidelity/<row>` for one row.
pub const LEDGER_PATH: &str = "/sim/fidelity";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Short source keys (`SG/oidc`) and what they name.
    pub sources: BTreeMap<String, String>,
    /// The Nets eID Broker (NEB personality).
    #[serde(rename(serialize = "rows", deserialize = "row"))]
    pub rows: Vec<Row>,
    /// NemLog-in (the OIOSAML 3.0 personality), numbered on their own.
    #[serde(default)]
    pub nemlogin: Vec<Row>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// mitid-sim does what the real broker does.
    Match,
    /// mitid-sim does it otherwise; `why` says how and why.
    Differs,
    /// The real broker has it; mitid-sim does not (its endpoints answer 501).
    NotEmulated,
    /// mitid-sim has it; the real broker does not document it.
    Extra,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Differs => "differs",
            Status::NotEmulated => "not emulated",
            Status::Extra => "extra",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub number: u32,
    pub feature: String,
    /// What the real NEB does: its documentation, or `[3P-rec]` recordings of it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub neb: String,
    /// What the real NemLog-in does (rows of the NemLog-in table).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nemlogin: String,
    /// What mitid-sim does.
    pub mitid_sim: String,
    pub status: Status,
    /// Why mitid-sim differs, or does not emulate it (empty for a match).
    #[serde(default)]
    pub why: String,
    /// Keys of [`Ledger::sources`], or a recording (`[3P-rec] CAP-020`).
    pub sources: Vec<String>,
    /// The tests that show the row, as `<file>::<test function>`.
    #[serde(default)]
    pub tests: Vec<String>,
    /// Members of the recorded answers (`tests/fixtures/neb-recorded/<file>:<member>`)
    /// in which mitid-sim differs for this row's reason.
    #[serde(default)]
    pub recorded: Vec<String>,
    /// Paths of the real broker that mitid-sim answers with 501 for this row.
    #[serde(default)]
    pub endpoints: Vec<String>,
}

/// The ledger built into this binary.
pub fn ledger() -> Result<&'static Ledger, String> {
    static LEDGER: OnceLock<Result<Ledger, String>> = OnceLock::new();
    LEDGER
        .get_or_init(|| {
            toml::from_str(LEDGER_TOML).map_err(|err| format!("docs/fidelity.toml: {err}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl Ledger {
    pub fn row(&self, number: u32) -> Option<&Row> {
        self.rows.iter().find(|r| r.number == number)
    }

    /// The row that explains a difference in a recorded member, if one does.
    pub fn explaining(&self, recorded: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.status != Status::Match && r.recorded.iter().any(|m| m == recorded))
    }

    /// Problems that make the ledger untrustworthy: numbering, missing reasons, a match
    /// without a test, a 501 endpoint on a row that claims to match, a row that does not
    /// say what the real broker of its table does.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.table_problems(&self.rows, "row", |row| &row.neb);
        problems.extend(self.table_problems(&self.nemlogin, "NemLog-in row", |row| &row.nemlogin));
        for row in &self.nemlogin {
            if !row.neb.is_empty() || !row.recorded.is_empty() || !row.endpoints.is_empty() {
                problems.push(format!(
                    "NemLog-in row {}: `neb`, `recorded` and `endpoints` belong to NEB rows",
                    row.number
                ));
            }
        }
        for row in &self.rows {
            if !row.nemlogin.is_empty() {
                problems.push(format!(
                    "row {}: `nemlogin` belongs to NemLog-in rows",
                    row.number
                ));
            }
        }
        problems
    }

    fn table_problems(
        &self,
        rows: &[Row],
        what: &str,
        real: impl Fn(&Row) -> &String,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (index, row) in rows.iter().enumerate() {
            let n = row.number;
            let row_name = format!("{what} {n}");
            if n as usize != index + 1 {
                problems.push(format!("{row_name} is at position {}", index + 1));
            }
            if real(row).trim().is_empty() {
                problems.push(format!("{row_name} does not say what the real broker does"));
            }
            if row.status == Status::Match && row.tests.is_empty() {
                problems.push(format!("{row_name} claims a match but names no test"));
            }
            if row.status != Status::Match && row.why.trim().is_empty() {
                problems.push(format!(
                    "{row_name} is `{}` but says not why",
                    row.status.label()
                ));
            }
            if matches!(row.status, Status::Match | Status::Extra) && !row.endpoints.is_empty() {
                problems.push(format!("{row_name} is emulated but lists 501 endpoints"));
            }
            for source in &row.sources {
                let key = source.split_whitespace().next().unwrap_or_default();
                if !key.starts_with('[') && !self.sources.contains_key(key) {
                    problems.push(format!("{row_name}: unknown source `{source}`"));
                }
            }
            for endpoint in &row.endpoints {
                if !endpoint.starts_with('/') {
                    problems.push(format!("{row_name}: endpoint `{endpoint}` is not a path"));
                }
            }
        }
        problems
    }

    pub fn count(&self, status: Status) -> usize {
        count(&self.rows, status)
    }

    /// `docs/fidelity.md`.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        md.push_str(
            "# Fidelity ledger: mitid-sim and the real brokers\n\n\
             <!-- Rendered from docs/fidelity.toml by the test suite; edit the TOML, then run\n     \
             MITID_SIM_BLESS=1 cargo test --test api fidelity:: -->\n\n\
             Every documented or recorded fact of the real brokers that an RP depends on, \
             whether mitid-sim matches it, why not where it does not, the public source, and \
             the tests that show it: the Nets eID Broker (NEB, OpenID Connect) first, then \
             NemLog-in (OIOSAML 3.0). A row cannot claim a match without a test, and a test \
             compares mitid-sim's discovery document, tokens and userinfo with the recorded \
             ones (`tests/fixtures/neb-recorded/`). Where the vendor's prose and the \
             recordings disagree, mitid-sim copies the wire and the row says so.\n\n\
             A running broker serves this ledger as JSON at `GET /sim/fidelity` (one NEB row: \
             `/sim/fidelity/<number>`); the real broker's endpoints that mitid-sim does not \
             emulate answer `501 Not Implemented` with a pointer to their row.\n\n\
             ## Nets eID Broker (NEB, OpenID Connect)\n\n",
        );
        table(&mut md, &self.rows, "Real broker", |row| &row.neb);
        md.push_str(
            "\n## NemLog-in (OIOSAML 3.0)\n\n\
             The facts of NemLog-in's SAML profile (NEB-FIDELITY.md §4: the OIOSAML 3.0 \
             specification, digst's reference implementations and the devtest4 metadata they \
             ship), against the NemLog-in personality (`/nemlogin`). Its tests drive an \
             independent SP library (pysaml2) through the MitID pages and headless.\n\n",
        );
        table(&mut md, &self.nemlogin, "NemLog-in", |row| &row.nemlogin);
        md.push_str("\n## Sources\n\n");
        for (key, source) in &self.sources {
            let _ = writeln!(md, "- **{key}**: {source}");
        }
        md
    }
}

fn count(rows: &[Row], status: Status) -> usize {
    rows.iter().filter(|r| r.status == status).count()
}

/// One table of the Markdown ledger, with its counts.
fn table(md: &mut String, rows: &[Row], real_heading: &str, real: impl Fn(&Row) -> &String) {
    let _ = writeln!(
        md,
        "**{} rows**: {} match, {} differ, {} not emulated, {} extra.\n",
        rows.len(),
        count(rows, Status::Match),
        count(rows, Status::Differs),
        count(rows, Status::NotEmulated),
        count(rows, Status::Extra),
    );
    let _ = writeln!(
        md,
        "| # | Feature | {real_heading} | mitid-sim | Status | Why | Source | Tests |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for row in rows {
        let mut mitid_sim = row.mitid_sim.clone();
        if !row.endpoints.is_empty() {
            let paths: Vec<String> = row.endpoints.iter().map(|e| format!("`{e}`")).collect();
            let _ = write!(mitid_sim, " (501: {})", paths.join(", "));
        }
        let tests: Vec<String> = row.tests.iter().map(|t| format!("`{t}`")).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.number,
            cell(&row.feature),
            cell(real(row)),
            cell(&mitid_sim),
            row.status.label(),
            cell(&row.why),
            cell(&row.sources.join("; ")),
            cell(&tests.join(", ")),
        );
    }
}

/// Text for one table cell: no line breaks, no column separators.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_ledger_parses_and_has_no_problems() {
        let ledger = ledger().unwrap();
        assert_eq!(ledger.rows.len(), 92, "every row of the fidelity table");
        assert!(
            ledger.nemlogin.len() >= 20,
            "the facts of NEB-FIDELITY §4 (NemLog-in)"
        );
        assert_eq!(ledger.problems(), Vec::<String>::new());
    }

    #[test]
    fn a_nemlogin_row_says_what_nemlogin_does_and_is_numbered_on_its_own() {
        let mut ledger = ledger().unwrap().clone();
        ledger.nemlogin[0].nemlogin.clear();
        ledger.nemlogin[1].number = 7;
        let problems = ledger.problems();
        assert!(
            problems
                .contains(&"NemLog-in row 1 does not say what the real broker does".to_string()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"NemLog-in row 7 is at position 2".to_string()),
            "{problems:?}"
        );
    }

    #[test]
    fn a_match_without_a_test_is_a_problem() {
        let mut ledger = ledger().unwrap().clone();
        let row = ledger
            .rows
            .iter_mut()
            .find(|r| r.status == Status::Match)
            .unwrap();
        row.tests.clear();
        let number = row.number;
        assert!(ledger
            .problems()
            .contains(&format!("row {number} claims a match but names no test")));
    }

    #[test]
    fn cells_stay_on_one_line_and_in_their_column() {
        assert_eq!(cell("a |\n b"), "a \\| b");
    }
}
