//! Which identity provider and how: `idp_values` and the `idp_params` JSON (the keys of
//! `mitid` and of `mitid_erhverv`).
//!
//! As recorded at NEB, an `idp_params` that is not JSON (or not of the documented shape)
//! makes the request invalid, while a well-formed value MitID cannot use is accepted here
//! and refused inside the MitID flow (`MitidRequest::refusal`).

use serde::Deserialize;

use super::params::Params;
use super::IdentityHint;
use crate::authenticators::{ActionText, ClientTexts, ReferenceText};
use crate::flow::{ErhvervOptions, Idp};
use crate::identity::{Loa, RequiredLevel};
use crate::protocols::oidc::error::OAuthError;

/// Identity providers NEB documents that this simulator does not emulate.
const NOT_EMULATED: [&str; 6] = ["euid", "euav", "soloid", "passkeyid", "eboks", "mobilepay"];

/// Every identity provider `idp_values` named, in order; several show NEB's chooser and
/// the first is the default for pageless logins.
pub(super) fn choices(params: &Params) -> Result<Vec<Idp>, OAuthError> {
    let mut choices: Vec<Idp> = Vec::new();
    for value in params
        .get("idp_values")
        .unwrap_or("mitid")
        .split_whitespace()
    {
        let parsed = match value {
            "mitid" => Idp::MitId,
            "mitid_erhverv" => Idp::MitIdErhverv,
            "nemid" => Idp::NemId,
            other if NOT_EMULATED.contains(&other) => {
                return Err(OAuthError::invalid_request(format!(
                    "Requested IDP is not enabled for this client: mitid-sim does not emulate \
                     `{other}` (it offers mitid, mitid_erhverv and nemid)"
                )))
            }
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "idp_values `{other}` is not an identity provider; use mitid, \
                     mitid_erhverv or nemid"
                )))
            }
        };
        if !choices.contains(&parsed) {
            choices.push(parsed);
        }
    }
    if choices.is_empty() {
        choices.push(Idp::default());
    }
    Ok(choices)
}

/// What `idp_params.mitid` asks of a MitID login.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MitidRequest {
    /// `loa_value`, else `aal_value`, else Substantial.
    pub level: RequiredLevel,
    /// `enable_step_up`: with `prompt=login`, raise an existing session's level.
    pub enable_step_up: bool,
    /// `action_text` and `reference_text`, for the MitID client.
    pub texts: ClientTexts,
    /// `uuid_hint`, then `cpr_hint`: the MitID flow starts for that identity.
    pub identity_hints: Vec<IdentityHint>,
    pub require_psd2: bool,
    /// `enable_app_switch` with `app_switch_os` and `app_switch_url`: validated, not
    /// emulated (there is no MitID app to switch to).
    pub app_switch: bool,
    /// `transfer_token_exchange_code` with `transfer_token_text`: validated, not emulated.
    pub controlled_transfer: bool,
    /// Why MitID refuses a value, if it does: the flow ends there, not the request.
    pub refusal: Option<String>,
}

#[derive(Deserialize, Default)]
struct IdpParams {
    #[serde(default)]
    mitid: MitidParams,
    #[serde(default)]
    mitid_erhverv: ErhvervParams,
}

/// NEB documents one key for MitID Erhverv; MitID's own keys apply to its MitID part.
#[derive(Deserialize, Default)]
struct ErhvervParams {
    allow_private: Option<bool>,
}

/// The documented keys with their JSON types; other keys are ignored, as at NEB.
#[derive(Deserialize, Default)]
struct MitidParams {
    loa_value: Option<String>,
    aal_value: Option<String>,
    reference_text: Option<String>,
    uuid_hint: Option<String>,
    cpr_hint: Option<String>,
    require_psd2: Option<bool>,
    enable_step_up: Option<bool>,
    action_text: Option<String>,
    enable_app_switch: Option<bool>,
    app_switch_os: Option<String>,
    app_switch_url: Option<String>,
    transfer_token_exchange_code: Option<String>,
    transfer_token_text: Option<String>,
}

/// `idp_params`: what it asks of the MitID part of the login and of MitID Erhverv.
pub(super) fn parse(params: &Params) -> Result<(MitidRequest, ErhvervOptions), OAuthError> {
    let idp_params: IdpParams = match params.get("idp_params") {
        Some(json) => serde_json::from_str(json).map_err(|err| {
            OAuthError::invalid_request(format!(
                "idp_params is not valid JSON of the documented shape \
                 ({{\"mitid\":{{\"loa_value\":\"substantial\", …}}, \
                 \"mitid_erhverv\":{{\"allow_private\":true}}}}): {err}"
            ))
        })?,
        None => IdpParams::default(),
    };
    let erhverv = ErhvervOptions {
        allow_private: idp_params.mitid_erhverv.allow_private.unwrap_or(false),
        // NEB is an NSIS Substantial broker.
        uncapped: false,
        selected: None,
    };
    Ok((mitid(idp_params.mitid), erhverv))
}

fn mitid(raw: MitidParams) -> MitidRequest {
    let mut refusals: Vec<String> = Vec::new();
    let mut refuse = |key: &str, problem: String| {
        refusals.push(format!("idp_params.mitid.{key}: {problem}"));
    };

    let mut level = RequiredLevel::default();
    // aal_value counts only without loa_value.
    if let Some(text) = &raw.loa_value {
        match text.parse::<Loa>() {
            Ok(loa) => level = RequiredLevel::Loa(loa),
            Err(err) => refuse("loa_value", err),
        }
    } else if let Some(text) = &raw.aal_value {
        match text.parse::<Loa>() {
            Ok(aal) => level = RequiredLevel::Aal(aal),
            Err(err) => refuse("aal_value", err),
        }
    }

    let mut texts = ClientTexts::default();
    if let Some(text) = &raw.action_text {
        match text.parse::<ActionText>() {
            Ok(action) => texts.action = action,
            Err(err) => refuse("action_text", err),
        }
    }
    if let Some(encoded) = &raw.reference_text {
        match ReferenceText::from_base64(encoded) {
            Ok(text) => texts.reference_text = Some(text),
            Err(err) => refuse("reference_text", err),
        }
    }

    let mut identity_hints = Vec::new();
    if let Some(uuid) = &raw.uuid_hint {
        match IdentityHint::uuid(uuid) {
            Ok(hint) => identity_hints.push(hint),
            Err(err) => refuse("uuid_hint", err),
        }
    }
    if let Some(cpr) = &raw.cpr_hint {
        match IdentityHint::cpr(cpr) {
            Ok(hint) => identity_hints.push(hint),
            Err(err) => refuse("cpr_hint", err),
        }
    }

    let app_switch = raw.enable_app_switch.unwrap_or(false);
    if let Some(os) = raw.app_switch_os.as_deref() {
        if !matches!(os, "ios" | "android") {
            refuse("app_switch_os", format!("`{os}` is not ios or android"));
        }
    }
    if let Some(url) = raw.app_switch_url.as_deref() {
        if !url::Url::parse(url).is_ok_and(|u| u.scheme() == "https") {
            refuse("app_switch_url", format!("`{url}` is not an https URL"));
        }
    }
    if app_switch {
        for (key, value) in [
            ("app_switch_os", &raw.app_switch_os),
            ("app_switch_url", &raw.app_switch_url),
        ] {
            if value.is_none() {
                refuse(key, "required when enable_app_switch is true".into());
            }
        }
    }

    let controlled_transfer = raw.transfer_token_exchange_code.is_some();
    if let Some(code) = &raw.transfer_token_exchange_code {
        if code.trim().is_empty() {
            refuse("transfer_token_exchange_code", "is empty".into());
        }
        match raw.transfer_token_text.as_deref().map(str::trim) {
            None | Some("") => refuse(
                "transfer_token_text",
                "a non-empty text must come with transfer_token_exchange_code".into(),
            ),
            Some(text) if text.chars().count() > 130 => {
                refuse("transfer_token_text", "longer than 130 characters".into())
            }
            Some(_) => {}
        }
    }

    MitidRequest {
        level,
        enable_step_up: raw.enable_step_up.unwrap_or(false),
        texts,
        identity_hints,
        require_psd2: raw.require_psd2.unwrap_or(false),
        app_switch,
        controlled_transfer,
        refusal: (!refusals.is_empty()).then(|| refusals.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_of(json: &str) -> Result<(MitidRequest, ErhvervOptions), OAuthError> {
        parse(&Params::new(vec![("idp_params".into(), json.into())]))
    }

    fn mitid_of(json: &str) -> Result<MitidRequest, OAuthError> {
        parse_of(json).map(|(mitid, _)| mitid)
    }

    #[test]
    fn substantial_unless_loa_value_or_aal_value_says_otherwise() {
        assert_eq!(
            parse(&Params::new(vec![])).unwrap().0.level,
            RequiredLevel::Loa(Loa::Substantial)
        );
        assert_eq!(
            mitid_of(r#"{"mitid":{"loa_value":"low"}}"#).unwrap().level,
            RequiredLevel::Loa(Loa::Low)
        );
        assert_eq!(
            mitid_of(r#"{"mitid":{"aal_value":"high"}}"#).unwrap().level,
            RequiredLevel::Aal(Loa::High)
        );
        let both = mitid_of(r#"{"mitid":{"loa_value":"low","aal_value":"bogus"}}"#).unwrap();
        assert_eq!(
            both.level,
            RequiredLevel::Loa(Loa::Low),
            "aal_value ignored"
        );
        assert_eq!(both.refusal, None);
    }

    #[test]
    fn bad_values_are_refused_in_the_flow_and_bad_json_or_types_refuse_the_request() {
        let refused = mitid_of(
            r#"{"mitid":{"loa_value":"medium","action_text":"FOO","uuid_hint":"not-a-uuid",
                "reference_text":"***","cpr_hint":"12","enable_app_switch":true}}"#,
        )
        .unwrap();
        let refusal = refused.refusal.unwrap();
        for key in [
            "loa_value",
            "action_text",
            "uuid_hint",
            "reference_text",
            "cpr_hint",
            "app_switch_os",
            "app_switch_url",
        ] {
            assert!(
                refusal.contains(&format!("idp_params.mitid.{key}")),
                "{refusal}"
            );
        }
        assert!(mitid_of("{not json").is_err());
        assert!(mitid_of(r#"{"mitid":{"require_psd2":"yes"}}"#).is_err());
        assert!(mitid_of(r#"{"mitid":"low"}"#).is_err());
        let other_idps = mitid_of(r#"{"nemid":{"x":1},"mitid":{"unknown_key":1}}"#).unwrap();
        assert_eq!(other_idps.refusal, None, "unknown keys are ignored");
    }

    #[test]
    fn texts_hints_psd2_app_switch_and_transfer_are_read() {
        let request = mitid_of(
            r#"{"mitid":{"action_text":"SIGN","reference_text":"VGVzdCByZWZlcmVuY2UgdGV4dA==",
                "uuid_hint":"5b7f3a52-3c1e-4f6a-9a43-1f0a6d2b9c01","cpr_hint":"1203851234",
                "require_psd2":true,"enable_app_switch":true,"app_switch_os":"ios",
                "app_switch_url":"https://rp.example/app","transfer_token_exchange_code":"c",
                "transfer_token_text":"From bank A"}}"#,
        )
        .unwrap();
        assert_eq!(request.refusal, None);
        assert_eq!(request.texts.action, ActionText::Sign);
        assert_eq!(
            request.texts.reference_text.unwrap().as_str(),
            "Test reference text"
        );
        assert_eq!(request.identity_hints.len(), 2);
        assert!(request.require_psd2 && request.app_switch && request.controlled_transfer);
        let no_text = mitid_of(r#"{"mitid":{"transfer_token_exchange_code":"c"}}"#).unwrap();
        assert!(no_text.refusal.unwrap().contains("transfer_token_text"));
    }
}

#[cfg(test)]
mod erhverv_tests {
    use super::*;

    fn choices_of(value: &str) -> Result<Vec<Idp>, OAuthError> {
        choices(&Params::new(vec![("idp_values".into(), value.into())]))
    }

    fn erhverv_of(json: &str) -> Result<ErhvervOptions, OAuthError> {
        parse(&Params::new(vec![("idp_params".into(), json.into())])).map(|(_, e)| e)
    }

    #[test]
    fn mitid_erhverv_is_offered_alone_or_beside_mitid() {
        assert_eq!(choices_of("mitid_erhverv").unwrap(), [Idp::MitIdErhverv]);
        assert_eq!(
            choices_of("mitid mitid_erhverv").unwrap(),
            [Idp::MitId, Idp::MitIdErhverv]
        );
        let refused = choices_of("mitid euid").unwrap_err();
        assert!(refused.description.contains("not enabled"), "{refused:?}");
        assert!(choices_of("erhverv").is_err());
    }

    #[test]
    fn allow_private_is_a_boolean_that_defaults_to_false() {
        assert!(!erhverv_of("{}").unwrap().allow_private);
        assert!(
            erhverv_of(r#"{"mitid_erhverv":{"allow_private":true}}"#)
                .unwrap()
                .allow_private
        );
        let both = parse(&Params::new(vec![(
            "idp_params".into(),
            r#"{"mitid":{"loa_value":"low"},"mitid_erhverv":{"allow_private":true,"x":1}}"#.into(),
        )]))
        .unwrap();
        assert_eq!(
            both.0.level,
            RequiredLevel::Loa(Loa::Low),
            "MitID's keys apply too"
        );
        assert!(
            both.1.allow_private,
            "unknown keys are ignored, as for mitid"
        );
        for wrong in [
            r#"{"mitid_erhverv":{"allow_private":"true"}}"#,
            r#"{"mitid_erhverv":true}"#,
        ] {
            assert!(erhverv_of(wrong).is_err(), "{wrong}");
        }
    }
}
