//! Generated MitID Erhverv data: test organisations (CVR numbers starting with 9 that pass
//! modulus 11, production units, SE numbers, Danish and long names) and professional
//! identities for some of the generated citizens, plus employees without CPR who log in
//! with dedicated MitID Erhverv eIDs.

use std::collections::HashSet;
use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::Date;

use super::{below, key, pick, string, totp_secret, uuid_from, Citizen, GenerateOptions};

/// Mixed into the seed so the workforce has a stream of its own.
const WORKFORCE_STREAM: u64 = 0x4d49_5449_445f_4552;

struct Organisation {
    cvr: String,
    name: String,
    /// Lower-case ASCII, for e-mail domains.
    domain: String,
    p_numbers: Vec<String>,
    se_numbers: Vec<String>,
}

/// How a person with a CPR number logs in to their professional identities.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Private,
    Dedicated,
    Either,
}

/// A dedicated MitID Erhverv eID ([[user]] with kind = "erhverv").
struct DedicatedEid {
    user_id: String,
    purpose: String,
    uuid: String,
    name: String,
    /// `None`: the app approves after 300 ms; `Some(seed)`: a code display and password.
    code_display: Option<String>,
}

struct Professional {
    uuid: String,
    purpose: String,
    organisation: usize,
    cpr: Option<String>,
    route: Route,
    dedicated: Option<String>,
    date_of_birth: Option<Date>,
    given_name: String,
    family_name: String,
    email: Option<String>,
    rid: String,
    signatory: bool,
    p_number: Option<String>,
    se_number: Option<String>,
    privileges: Vec<&'static str>,
    status: Option<&'static str>,
    name_protected: bool,
    loip_extended: bool,
    ial_low: bool,
}

pub(super) fn write(out: &mut String, citizens: &[Citizen], options: &GenerateOptions) {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ WORKFORCE_STREAM);
    let mut cvrs = HashSet::new();
    let organisations: Vec<_> = (0..options.organisations)
        .map(|_| Organisation::random(&mut rng, &mut cvrs))
        .collect();
    let mut rids = HashSet::new();
    let mut eids = Vec::new();
    let mut professionals = Vec::new();

    for citizen in citizens {
        if !rng.random_bool(0.35) {
            continue;
        }
        let route = match below(&mut rng, 10) {
            0 => Route::Dedicated,
            1 => Route::Either,
            _ => Route::Private,
        };
        let dedicated = (route != Route::Private).then(|| {
            let eid = DedicatedEid::random(
                &mut rng,
                eids.len() + 1,
                &citizen.name,
                &format!("of the person with the private MitID {}", citizen.user_id),
            );
            let user_id = eid.user_id.clone();
            eids.push(eid);
            user_id
        });
        let first = below(&mut rng, organisations.len());
        let mut employers = vec![first];
        if organisations.len() > 1 && rng.random_bool(0.15) {
            employers
                .push((first + 1 + below(&mut rng, organisations.len() - 1)) % organisations.len());
        }
        for organisation in employers {
            let mut professional = Professional::random(
                &mut rng,
                &organisations,
                organisation,
                &mut rids,
                &citizen.given_name,
                &citizen.family_name,
            );
            professional.cpr = Some(citizen.cpr.clone());
            professional.route = route;
            professional.dedicated = dedicated.clone();
            professional.purpose = purpose(&professional, &organisations, &citizen.user_id);
            professionals.push(professional);
        }
    }
    // Every organisation has someone; some have an employee without CPR.
    for organisation in 0..organisations.len() {
        let staffed = professionals.iter().any(|p| p.organisation == organisation);
        if staffed && !rng.random_bool(0.35) {
            continue;
        }
        let (given, family) = (
            pick(&mut rng, FOREIGN_GIVEN),
            pick(&mut rng, FOREIGN_FAMILY),
        );
        let eid = DedicatedEid::random(
            &mut rng,
            eids.len() + 1,
            &format!("{given} {family}"),
            "of an employee without CPR",
        );
        let mut professional = Professional::random(
            &mut rng,
            &organisations,
            organisation,
            &mut rids,
            given,
            family,
        );
        professional.dedicated = Some(eid.user_id.clone());
        professional.date_of_birth = Some(working_age_birth_date(&mut rng, options.today));
        professional.purpose = purpose(&professional, &organisations, &eid.user_id);
        eids.push(eid);
        professionals.push(professional);
    }

    let _ = writeln!(
        out,
        "\n# MitID Erhverv: {} test organisations, {} professional identities, {} dedicated eIDs",
        organisations.len(),
        professionals.len(),
        eids.len()
    );
    for eid in &eids {
        out.push('\n');
        eid.write_toml(out);
    }
    for organisation in &organisations {
        out.push('\n');
        organisation.write_toml(out);
    }
    for professional in &professionals {
        out.push('\n');
        professional.write_toml(out, &organisations);
    }
}

fn purpose(professional: &Professional, organisations: &[Organisation], via: &str) -> String {
    let role = if professional.signatory {
        "company signatory"
    } else {
        "employee"
    };
    let mut purpose = format!(
        "Generated: {role} of CVR {}",
        organisations[professional.organisation].cvr
    );
    match (professional.cpr.is_some(), professional.route) {
        (false, _) => purpose.push_str(&format!(", no CPR, dedicated eID {via}")),
        (true, Route::Private) => purpose.push_str(&format!(", private MitID {via}")),
        (true, Route::Dedicated) => purpose.push_str(", dedicated eID only"),
        (true, Route::Either) => {
            purpose.push_str(&format!(", private MitID {via} or a dedicated eID"))
        }
    }
    if let Some(status) = professional.status {
        purpose.push_str(&format!(", {status}"));
    }
    if professional.name_protected {
        purpose.push_str(", name protected");
    }
    purpose
}

impl Organisation {
    fn random(rng: &mut ChaCha8Rng, cvrs: &mut HashSet<String>) -> Self {
        let cvr = loop {
            let cvr = with_check_digit(rng, 9);
            if cvrs.insert(cvr.clone()) {
                break cvr;
            }
        };
        let suffix = pick(rng, SUFFIXES);
        let name = if rng.random_bool(0.1) {
            format!(
                "{} {}- og {}forretning samt {} {} og {} {suffix}",
                pick(rng, PLACES),
                pick(rng, TRADES),
                pick(rng, TRADES).to_lowercase(),
                pick(rng, PLACES),
                pick(rng, TRADES),
                pick(rng, TRADES),
            )
        } else {
            format!("{} {} {suffix}", pick(rng, PLACES), pick(rng, TRADES))
        };
        let domain = name
            .split_whitespace()
            .take(2)
            .map(slug)
            .collect::<Vec<_>>()
            .join("-");
        let mut p_numbers = Vec::new();
        for _ in 0..1 + below(rng, 3) {
            let p = format!("1{:09}", rng.random_range(0..1_000_000_000u32));
            if !p_numbers.contains(&p) {
                p_numbers.push(p);
            }
        }
        let mut se_numbers = Vec::new();
        for _ in 0..below(rng, 3) {
            let first = 1 + below(rng, 9) as u8;
            let se = with_check_digit(rng, first);
            if !se_numbers.contains(&se) {
                se_numbers.push(se);
            }
        }
        Self {
            cvr,
            name,
            domain,
            p_numbers,
            se_numbers,
        }
    }

    fn write_toml(&self, out: &mut String) {
        out.push_str("[[organisation]]\n");
        key(out, "cvr", string(&self.cvr));
        key(out, "name", string(&self.name));
        key(out, "purpose", string("Generated test organisation"));
        key(out, "p_numbers", strings(&self.p_numbers));
        if !self.se_numbers.is_empty() {
            key(out, "se_numbers", strings(&self.se_numbers));
        }
    }
}

impl DedicatedEid {
    fn random(rng: &mut ChaCha8Rng, index: usize, name: &str, whose: &str) -> Self {
        let family = name.rsplit(' ').next().unwrap_or(name);
        let code_display = rng.random_bool(0.3).then(|| totp_secret(rng));
        Self {
            user_id: format!("gen.erhverv.{index:04}.{}", slug(family)),
            purpose: format!("Generated: dedicated MitID Erhverv eID {whose}"),
            uuid: uuid_from(rng),
            name: name.to_string(),
            code_display,
        }
    }

    fn write_toml(&self, out: &mut String) {
        out.push_str("[[user]]\n");
        key(out, "user_id", string(&self.user_id));
        key(out, "purpose", string(&self.purpose));
        key(out, "kind", string("erhverv"));
        key(out, "uuid", string(&self.uuid));
        key(out, "name", string(&self.name));
        match &self.code_display {
            Some(secret) => {
                key(out, "password", string("Erhverv2024"));
                out.push_str("[user.code_display]\n");
                key(out, "secret", string(secret));
            }
            None => {
                out.push_str("[user.app]\n");
                key(out, "answer", string("approve"));
                key(out, "after_ms", toml::Value::Integer(300));
            }
        }
    }
}

impl Professional {
    fn random(
        rng: &mut ChaCha8Rng,
        organisations: &[Organisation],
        organisation: usize,
        rids: &mut HashSet<(usize, String)>,
        given_name: &str,
        family_name: &str,
    ) -> Self {
        let at = &organisations[organisation];
        let rid = loop {
            let rid = format!("{}", 10_000_000 + rng.random_range(0..90_000_000u32));
            if rids.insert((organisation, rid.clone())) {
                break rid;
            }
        };
        let email = rng.random_bool(0.85).then(|| {
            let first = given_name.split([' ', '-']).next().unwrap_or(given_name);
            format!("{}.{}@{}.test", slug(first), slug(family_name), at.domain)
        });
        let p_number = rng
            .random_bool(0.7)
            .then(|| at.p_numbers[below(rng, at.p_numbers.len())].clone());
        let se_number = (!at.se_numbers.is_empty() && rng.random_bool(0.5))
            .then(|| at.se_numbers[below(rng, at.se_numbers.len())].clone());
        let privileges = if rng.random_bool(0.3) {
            let first = below(rng, PRIVILEGES.len());
            let mut chosen = vec![PRIVILEGES[first]];
            if rng.random_bool(0.5) {
                chosen.push(PRIVILEGES[(first + 1) % PRIVILEGES.len()]);
            }
            chosen
        } else {
            Vec::new()
        };
        let status = match below(rng, 25) {
            0 => Some("locked"),
            1 => Some("suspended"),
            2 => Some("revoked"),
            3 => Some("pending"),
            _ => None,
        };
        Self {
            uuid: uuid_from(rng),
            purpose: String::new(),
            organisation,
            cpr: None,
            route: Route::Private,
            dedicated: None,
            date_of_birth: None,
            given_name: given_name.to_string(),
            family_name: family_name.to_string(),
            email,
            rid,
            signatory: rng.random_bool(0.15),
            p_number,
            se_number,
            privileges,
            status,
            name_protected: rng.random_bool(0.05),
            loip_extended: rng.random_bool(0.2),
            ial_low: rng.random_bool(0.05),
        }
    }

    fn write_toml(&self, out: &mut String, organisations: &[Organisation]) {
        let cvr = &organisations[self.organisation].cvr;
        out.push_str("[[professional]]\n");
        key(out, "uuid", string(&self.uuid));
        key(out, "purpose", string(&self.purpose));
        key(out, "cvr", string(cvr));
        if let Some(cpr) = &self.cpr {
            key(out, "cpr", string(cpr));
            if self.route == Route::Dedicated {
                key(out, "private_mitid", toml::Value::Boolean(false));
            }
        }
        if let Some(user_id) = &self.dedicated {
            key(out, "erhverv_user_id", string(user_id));
        }
        if let Some(born) = self.date_of_birth {
            key(out, "date_of_birth", string(&born.to_string()));
        }
        key(out, "given_name", string(&self.given_name));
        key(out, "family_name", string(&self.family_name));
        if self.name_protected {
            key(out, "name_protected", toml::Value::Boolean(true));
        }
        if let Some(email) = &self.email {
            key(out, "email", string(email));
        }
        key(out, "rid", string(&self.rid));
        let role = if self.signatory {
            "company_signatory"
        } else {
            "employee"
        };
        key(out, "role", string(role));
        if let Some(p) = &self.p_number {
            key(out, "p_number", string(p));
        }
        if let Some(se) = &self.se_number {
            key(out, "se_number", string(se));
        }
        if let Some(status) = self.status {
            key(out, "status", string(status));
        }
        if self.ial_low {
            key(out, "ial", string("low"));
        }
        if self.loip_extended {
            key(out, "loip", string("extended"));
        }
        if !self.privileges.is_empty() {
            out.push_str("[[professional.privileges]]\n");
            key(
                out,
                "scope",
                string(&format!("urn:dk:gov:saml:cvrNumberIdentifier:{cvr}")),
            );
            let privileges: Vec<String> = self.privileges.iter().map(|p| p.to_string()).collect();
            key(out, "privileges", strings(&privileges));
        }
    }
}

/// Someone 18 to 66 years old on `today`.
fn working_age_birth_date(rng: &mut ChaCha8Rng, today: Date) -> Date {
    let days_old = rng.random_range(18 * 366..67 * 365);
    Date::from_julian_day(today.to_julian_day() - days_old).unwrap_or(today)
}

/// Lower-case ASCII for user IDs and e-mail addresses, also for the foreign names here.
fn slug(name: &str) -> String {
    const FOLD: &[(char, &str)] = &[
        ('á', "a"),
        ('ā', "a"),
        ('ç', "c"),
        ('č', "c"),
        ('ë', "e"),
        ('ē', "e"),
        ('ğ', "g"),
        ('í', "i"),
        ('ī', "i"),
        ('ı', "i"),
        ('ņ', "n"),
        ('ñ', "n"),
        ('ó', "o"),
        ('š', "s"),
        ('ş', "s"),
        ('ú', "u"),
        ('ū', "u"),
        ('ý', "y"),
        ('ž', "z"),
    ];
    let folded: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            FOLD.iter()
                .find(|(from, _)| *from == c)
                .map_or_else(|| c.to_string(), |(_, to)| to.to_string())
        })
        .collect();
    super::slug(&folded)
}

/// Eight digits starting with `first`, the last a modulus 11 check digit (CVR, SE).
fn with_check_digit(rng: &mut ChaCha8Rng, first: u8) -> String {
    const WEIGHTS: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
    loop {
        let mut digits = [first as u32, 0, 0, 0, 0, 0, 0];
        for digit in digits.iter_mut().skip(1) {
            *digit = below(rng, 10) as u32;
        }
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        if check < 10 {
            let mut text: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
            text.push(char::from(b'0' + check as u8));
            return text;
        }
    }
}

fn strings(values: &[String]) -> toml::Value {
    toml::Value::Array(values.iter().map(|v| string(v)).collect())
}

const PLACES: &[&str] = &[
    "Nordhavn",
    "Østjysk",
    "Ærø",
    "Søborg",
    "Vestergaard",
    "Hjørring",
    "Fanø",
    "Bornholms",
    "Kløvermarkens",
    "Brønderslev",
    "Møns",
    "Skærbæk",
    "Læsø",
    "Gråsten",
    "Åkirkeby",
    "Thisted",
];

const TRADES: &[&str] = &[
    "Tømrer",
    "VVS",
    "Revision",
    "Bogføring",
    "Rengøring",
    "IT",
    "Bageri",
    "Vognmand",
    "Malerfirma",
    "Ejendomme",
    "Konsulenthus",
    "Maskinfabrik",
    "Gartneri",
    "Tandklinik",
    "Advokatfirma",
    "Økologi",
];

const SUFFIXES: &[&str] = &["ApS", "A/S", "I/S", "K/S", "P/S", "A.m.b.A."];

const FOREIGN_GIVEN: &[&str] = &[
    "Sarah", "Piotr", "Ana", "Mehmet", "Oksana", "Liam", "Giulia", "Jānis", "Zoë", "Tomás",
];

const FOREIGN_FAMILY: &[&str] = &[
    "Miller",
    "Nowak",
    "García",
    "Yılmaz",
    "Kovalenko",
    "O'Brien",
    "Rossi",
    "Bērziņš",
    "Dubois",
    "Novák",
];

const PRIVILEGES: &[&str] = &[
    "urn:dk:mitid-sim:privilege:invoices:read",
    "urn:dk:mitid-sim:privilege:invoices:approve",
    "urn:dk:mitid-sim:privilege:payroll:read",
    "urn:dk:mitid-sim:privilege:tax:report",
];

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use time::macros::date;

    use super::super::generate_users;
    use super::*;
    use crate::identity::{parse_population, Population, ProfessionalRole};

    fn generate(count: usize, seed: u64, organisations: usize) -> String {
        generate_users(&GenerateOptions {
            count,
            seed,
            today: date!(2026 - 11 - 23),
            organisations,
        })
    }

    fn load(text: &str) -> Population {
        parse_population(text).unwrap_or_else(|err| panic!("{err}\n{text}"))
    }

    #[test]
    fn generated_workforces_load_with_every_cross_check() {
        for seed in 1..=8 {
            for organisations in [1, 3, 6] {
                let population = load(&generate(40, seed, organisations));
                assert_eq!(population.workforce.organisations.len(), organisations);
                for organisation in &population.workforce.organisations {
                    assert!(
                        population
                            .workforce
                            .professionals
                            .iter()
                            .any(|p| p.cvr == organisation.cvr),
                        "{} has someone",
                        organisation.cvr
                    );
                }
            }
        }
        let only_organisations = load(&generate(0, 5, 3));
        assert!(!only_organisations.citizens.is_empty(), "dedicated eIDs");
    }

    #[test]
    fn asking_for_organisations_leaves_the_citizens_of_a_seed_as_they_were() {
        let plain = generate(60, 9, 0);
        let with = generate(60, 9, 4);
        let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
        assert!(
            body(&with).starts_with(&body(&plain)),
            "same citizens first"
        );
        assert!(with.starts_with(
            "# Generated by mitid-sim users generate --count 60 --seed 9 --organisations 4"
        ));
        assert_eq!(with, generate(60, 9, 4), "reproducible");
        assert_ne!(with, generate(60, 10, 4));
    }

    #[test]
    fn generated_numbers_are_valid_test_numbers() {
        let population = load(&generate(200, 2, 12));
        let workforce = &population.workforce;
        for organisation in &workforce.organisations {
            assert!(organisation.cvr.as_str().starts_with('9'));
            assert!(
                organisation.cvr.satisfies_modulus_11(),
                "{}",
                organisation.cvr
            );
            assert!(organisation
                .se_numbers
                .iter()
                .all(|se| se.satisfies_modulus_11()));
            assert!(!organisation.p_numbers.is_empty());
        }
    }

    #[test]
    fn the_generated_workforce_is_varied() {
        let population = load(&generate(400, 4, 10));
        let professionals = &population.workforce.professionals;
        let count = |f: &dyn Fn(&crate::identity::ProfessionalIdentity) -> bool| {
            professionals.iter().filter(|p| f(p)).count()
        };
        assert!(professionals.len() > 100, "{}", professionals.len());
        assert!(count(&|p| p.role == ProfessionalRole::CompanySignatory) > 5);
        assert!(count(&|p| p.person.cpr().is_none()) >= 1);
        assert!(count(&|p| p.person.cpr().is_some() && !p.person.uses_private_mitid()) > 0);
        assert!(count(&|p| !p.can_log_in()) > 0);
        assert!(count(&|p| !p.privileges.is_empty()) > 10);
        assert!(count(&|p| p.email.is_none()) > 0 && count(&|p| p.email.is_some()) > 50);
        let mut per_person = HashMap::new();
        for cpr in professionals.iter().filter_map(|p| p.person.cpr()) {
            *per_person.entry(cpr).or_insert(0) += 1;
        }
        assert!(
            per_person.values().any(|n| *n == 2),
            "someone in two organisations"
        );
        let names: Vec<_> = population
            .workforce
            .organisations
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert!(
            names
                .iter()
                .any(|n| n.contains(['æ', 'ø', 'å', 'Æ', 'Ø', 'Å'])),
            "{names:?}"
        );
        let long = load(&generate(10, 7, 60));
        assert!(
            long.workforce
                .organisations
                .iter()
                .any(|o| o.name.chars().count() > 60),
            "now and then a long name"
        );
    }

    #[test]
    fn foreign_names_become_ascii_user_ids_and_addresses() {
        assert_eq!(slug("Yılmaz"), "yilmaz");
        assert_eq!(slug("Bērziņš"), "berzins");
        assert_eq!(slug("O'Brien"), "obrien");
        assert_eq!(slug("Ærø"), "aeroe");
    }
}
