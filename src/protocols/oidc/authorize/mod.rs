//! The authorization request (OIDC Core §3.1.2.1 with NEB's extensions), parsed once.
//!
//! Each file reads one concern: `client` who asks and where the answer goes, `response`
//! what comes back, `scopes`, `pkce`, `prompt` (session reuse), `idp` (`idp_values` and
//! `idp_params`) and `simulation`; the identity hints and the language are shared with
//! the other personality (`protocols::identity_hint`; the language is the domain's, `authenticators::Language`).

mod client;
mod idp;
mod params;
mod pkce;
mod prompt;
mod response;
mod scopes;
pub mod simulation;

use std::sync::Arc;

use super::clients::{Client, ClientRegistry};
use super::error::OAuthError;
use crate::flow::{ErhvervOptions, Idp};

pub use crate::authenticators::Language;
pub use crate::protocols::identity_hint::IdentityHint;
pub use idp::MitidRequest;
pub use prompt::Reauthentication;
pub use simulation::{Simulation, SimulationMode};

/// A validated authorization request, kept with the login until it ends.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    pub client: Arc<Client>,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub language: Language,
    pub prompt_login: bool,
    /// `prompt=none`: answer from the SSO session or with `login_required`, never a page.
    pub prompt_none: bool,
    pub max_age: Option<u64>,
    /// Every identity provider `idp_values` named, in order; more than one shows a chooser.
    pub idp_choices: Vec<Idp>,
    /// What `idp_params.mitid` asks of the MitID login.
    pub mitid: MitidRequest,
    /// What `idp_params.mitid_erhverv` asks of a MitID Erhverv login.
    pub erhverv: ErhvervOptions,
    /// NEB's simulation mode, for clients entitled to it.
    pub simulation: Option<Simulation>,
}

impl AuthorizeRequest {
    /// The IdP a login starts with when no chooser is shown: the first one offered.
    pub fn first_idp(&self) -> Idp {
        self.idp_choices.first().copied().unwrap_or_default()
    }

    /// The professional identity NEB's simulation names (`mitid_erhverv_uuid:`), when the
    /// request offers MitID Erhverv.
    pub fn simulated_professional(&self) -> Option<uuid::Uuid> {
        self.simulation
            .as_ref()
            .and_then(|s| s.professional)
            .filter(|_| self.idp_choices.contains(&Idp::MitIdErhverv))
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a request was refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// An invalid request: NEB's own error page, never the RP (OIDC: "the end-user will
    /// only be redirected back to the service provider if the authorization request is
    /// valid"; recorded as a redirect to `/op/Error?errorId=…`).
    Page {
        error: OAuthError,
        /// The registered client the request named, if it named one.
        client_id: Option<String>,
    },
    /// A NEB error code the RP receives at its registered redirect URI.
    Redirect {
        client_id: String,
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl Rejection {
    fn page(error: OAuthError) -> Self {
        Rejection::Page {
            error,
            client_id: None,
        }
    }
}

pub fn parse(
    pairs: Vec<(String, String)>,
    clients: &ClientRegistry,
) -> Result<AuthorizeRequest, Rejection> {
    let params = params::Params::new(pairs);
    let (client, redirect_uri) = client::resolve(&params, clients)?;
    let state = params.get("state").map(str::to_string);
    let invalid = |error: OAuthError| Rejection::Page {
        error,
        client_id: Some(client.client_id.clone()),
    };

    if let Some(key) = &params.repeated {
        return Err(invalid(OAuthError::invalid_request(format!(
            "parameter `{key}` appears more than once"
        ))));
    }
    response::check(&params).map_err(invalid)?;
    let scopes = scopes::parse(&params).map_err(invalid)?;
    let code_challenge = pkce::parse(&params, &client).map_err(invalid)?;
    let reauthentication = prompt::parse(&params).map_err(invalid)?;
    let idp_choices = idp::choices(&params).map_err(invalid)?;
    let (mitid, erhverv) = idp::parse(&params).map_err(invalid)?;
    // Simulation errors are NEB error codes, and those reach the RP.
    let simulation = simulation::parse(&params, &client).map_err(|error| Rejection::Redirect {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
    })?;

    Ok(AuthorizeRequest {
        state,
        nonce: params.get("nonce").map(str::to_string),
        scopes,
        code_challenge,
        language: Language::parse(params.get("language").or(params.get("ui_locales"))),
        prompt_login: reauthentication.prompt_login,
        prompt_none: reauthentication.prompt_none,
        max_age: reauthentication.max_age,
        idp_choices,
        mitid,
        erhverv,
        simulation,
        client,
        redirect_uri,
    })
}
