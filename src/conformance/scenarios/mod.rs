//! The catalogue of DESIGN §6 that this version implements. Ids match the catalogue.

mod frontchannel;
mod login;
mod logout;
mod session;
mod token;

use crate::conformance::scenario::{Group, Scenario};
use crate::scenario_fn;

/// Scenarios whose change to the broker cannot be undone (a key rotation).
pub const CHANGES_THE_BROKER: [&str; 1] = ["T07"];

pub fn catalogue() -> Vec<Scenario> {
    vec![
        Scenario {
            id: "L01",
            group: Group::Login,
            title: "valid code flow (state, nonce, PKCE S256, registered redirect)",
            references: &["OIDC Core 3.1.2.1", "RFC 7636", "RFC 9700 2.1.1"],
            run: scenario_fn!(login::l01_valid_code_flow),
        },
        Scenario {
            id: "L02",
            group: Group::Login,
            title: "callback with tampered or missing state makes no session",
            references: &["RFC 6749 10.12", "OIDC Core 3.1.2.7", "ASVS 51.2.3"],
            run: scenario_fn!(login::l02_state_checked),
        },
        Scenario {
            id: "L03",
            group: Group::Login,
            title: "a callback replayed into another browser makes no session",
            references: &["RFC 6749 10.12", "RFC 9700 4.5"],
            run: scenario_fn!(login::l03_callback_bound_to_browser),
        },
        Scenario {
            id: "L04",
            group: Group::Login,
            title: "access_denied (citizen aborts): error shown, no session, no 5xx",
            references: &["RFC 6749 4.1.2.1"],
            run: scenario_fn!(login::l04_access_denied),
        },
        Scenario {
            id: "L05",
            group: Group::Login,
            title: "wrong iss in the authorization response is refused",
            references: &["RFC 9207 2.4"],
            run: scenario_fn!(login::l05_authorization_response_iss),
        },
        Scenario {
            id: "L06",
            group: Group::Login,
            title: "cookies from before the login do not open the session (no fixation)",
            references: &["ASVS 3.2.1"],
            run: scenario_fn!(login::l06_session_id_changes),
        },
        Scenario {
            id: "L07",
            group: Group::Login,
            title: "session cookies HttpOnly/SameSite (Secure over https), no tokens in URLs",
            references: &["ASVS 3.4.2", "ASVS 3.4.3", "RFC 6750 2.3"],
            run: scenario_fn!(login::l07_cookie_flags),
        },
        Scenario {
            id: "L08",
            group: Group::Login,
            title: "a level below the one the RP requires is refused",
            references: &["NSIS 2.0", "OIDC Core 3.1.2.1"],
            run: scenario_fn!(login::l08_assurance),
        },
        Scenario {
            id: "L09",
            group: Group::Login,
            title: "every persona class logs in (unicode names, no CPR, protected address)",
            references: &["DESIGN 4"],
            run: scenario_fn!(login::l09_persona_classes),
        },
        Scenario {
            id: "T01",
            group: Group::Token,
            title: "nonce wrong or missing",
            references: &["OIDC Core 3.1.3.7 item 11"],
            run: scenario_fn!(token::t01_nonce),
        },
        Scenario {
            id: "T02",
            group: Group::Token,
            title: "iss wrong",
            references: &["OIDC Core 3.1.3.7 item 2"],
            run: scenario_fn!(token::t02_iss),
        },
        Scenario {
            id: "T03",
            group: Group::Token,
            title: "aud wrong, missing or with an extra untrusted audience",
            references: &["OIDC Core 3.1.3.7 items 3-5"],
            run: scenario_fn!(token::t03_aud),
        },
        Scenario {
            id: "T04",
            group: Group::Token,
            title: "exp in the past, iat missing or in the future",
            references: &["OIDC Core 3.1.3.7 items 9-10"],
            run: scenario_fn!(token::t04_times),
        },
        Scenario {
            id: "T05",
            group: Group::Token,
            title: "alg none",
            references: &["OIDC Core 3.1.3.7 item 7", "RFC 8725 3.1"],
            run: scenario_fn!(token::t05_alg_none),
        },
        Scenario {
            id: "T06",
            group: Group::Token,
            title: "bad signature; HS256 keyed with the RSA public key",
            references: &["OIDC Core 3.1.3.7 item 6", "RFC 8725 3.1"],
            run: scenario_fn!(token::t06_signature),
        },
        Scenario {
            id: "T07",
            group: Group::Token,
            title: "key rotation: new kid refetched and accepted, unknown kid refused",
            references: &["OIDC Core 10.1.1"],
            run: scenario_fn!(token::t07_key_rotation),
        },
        Scenario {
            id: "T08",
            group: Group::Token,
            title: "sub missing, or userinfo sub differing from the id_token's",
            references: &["OIDC Core 2", "OIDC Core 5.3.2"],
            run: scenario_fn!(token::t08_sub),
        },
        Scenario {
            id: "T09",
            group: Group::Token,
            title: "discovery names another issuer than configured (needs a restart)",
            references: &["OIDC Discovery 4.3"],
            run: scenario_fn!(token::t09_discovery_issuer),
        },
        Scenario {
            id: "T10",
            group: Group::Token,
            title: "auth_time older than the max_age the RP sent is refused",
            references: &["OIDC Core 3.1.3.7 item 13"],
            run: scenario_fn!(token::t10_auth_time),
        },
        Scenario {
            id: "O01",
            group: Group::Logout,
            title: "RP logout calls end_session with id_token_hint and registered post_logout_redirect_uri",
            references: &["OIDC RP-Initiated Logout 1.0 2"],
            run: scenario_fn!(logout::o01_rp_logout),
        },
        Scenario {
            id: "O02",
            group: Group::Logout,
            title: "cookies from before logout, restored, stay logged out",
            references: &["ASVS 3.3.1"],
            run: scenario_fn!(logout::o02_old_cookies),
        },
        Scenario {
            id: "O03",
            group: Group::Logout,
            title: "authenticated pages carry Cache-Control: no-store",
            references: &["ASVS 8.2.1"],
            run: scenario_fn!(logout::o03_no_store),
        },
        Scenario {
            id: "O04",
            group: Group::Logout,
            title: "after RP logout the broker session is gone",
            references: &["OIDC RP-Initiated Logout 1.0 2"],
            run: scenario_fn!(logout::o04_broker_session_gone),
        },
        Scenario {
            id: "O05",
            group: Group::Logout,
            title: "the logout return URL cannot be bent to another site",
            references: &["ASVS 5.1.5", "OIDC RP-Initiated Logout 1.0 3"],
            run: scenario_fn!(logout::o05_no_open_redirect),
        },
        Scenario {
            id: "O06",
            group: Group::Logout,
            title: "valid back-channel logout token → 2xx and that session dead",
            references: &["OIDC Back-Channel Logout 1.0 2.6-2.8"],
            run: scenario_fn!(logout::o06_backchannel),
        },
        Scenario {
            id: "O07",
            group: Group::Logout,
            title: "a logout token with sub only ends the sessions in both browsers",
            references: &["OIDC Back-Channel Logout 1.0 2.4"],
            run: scenario_fn!(logout::o07_sub_only),
        },
        Scenario {
            id: "O08",
            group: Group::Logout,
            title: "bad logout tokens are answered 400 and the session lives",
            references: &["OIDC Back-Channel Logout 1.0 2.6"],
            run: scenario_fn!(logout::o08_bad_logout_tokens),
        },
        Scenario {
            id: "O09",
            group: Group::Logout,
            title: "a replayed jti is refused",
            references: &["OIDC Back-Channel Logout 1.0 2.6 item 7"],
            run: scenario_fn!(logout::o09_jti_replay),
        },
        Scenario {
            id: "O10",
            group: Group::Logout,
            title: "front-channel logout: the broker's logout page loads the RP's URI and the session ends",
            references: &["OIDC Front-Channel Logout 1.0 2-4"],
            run: scenario_fn!(frontchannel::o10_frontchannel_logout),
        },
        Scenario {
            id: "S01",
            group: Group::Session,
            title: "idle timeout: just past the declared limit logged out, just under alive",
            references: &["ASVS 3.3.2"],
            run: scenario_fn!(session::s01_idle_timeout),
        },
        Scenario {
            id: "S02",
            group: Group::Session,
            title: "absolute timeout enforced despite activity",
            references: &["ASVS 3.3.2"],
            run: scenario_fn!(session::s02_absolute_timeout),
        },
        Scenario {
            id: "S03",
            group: Group::Session,
            title: "old or tampered cookies after expiry stay logged out",
            references: &["ASVS 3.3.1"],
            run: scenario_fn!(session::s03_old_or_tampered_cookie),
        },
        Scenario {
            id: "S04",
            group: Group::Session,
            title: "the broker's session_expiry passing makes the RP re-authenticate",
            references: &["NEB session_expiry"],
            run: scenario_fn!(session::s04_broker_session_expiry),
        },
        Scenario {
            id: "S05",
            group: Group::Session,
            title: "an ended broker session ends the RP session within its check interval",
            references: &["NEB userinfo session_is_active", "RFC 6749 6"],
            run: scenario_fn!(session::s05_session_state_checked),
        },
        Scenario {
            id: "S06",
            group: Group::Session,
            title: "past the max login age the sensitive action asks for prompt=login or max_age",
            references: &["OIDC Core 3.1.2.1", "ASVS 3.7.1"],
            run: scenario_fn!(session::s06_sensitive_action),
        },
    ]
}
