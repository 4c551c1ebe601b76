//! What the MitID login pages need of the protocol that started a login. Each personality
//! (NEB's OpenID Connect, NemLog-in's SAML) is a front over the same login flow: it keeps
//! its own request with each login and turns a finished login into its own answer, while
//! the pages, the authenticators and the sessions stay one.

use std::future::Future;

use crate::broker::Broker;
use crate::flow::{Login, Logins};
use crate::protocols::Language;

/// A personality as the login pages see it.
pub trait LoginFront: Send + Sync + 'static {
    /// The protocol's request, kept with the login until it ends.
    type Request: Send + 'static;

    fn broker(&self) -> &Broker;

    /// The logins this personality started.
    fn logins(&self) -> &Logins<Self::Request>;

    /// Where the server is reached, e.g. `http://127.0.0.1:8088`.
    fn base_url(&self) -> &str;

    /// The language of the pages for this request.
    fn language(request: &Self::Request) -> Language;

    /// The login is over (authenticated or failed): the answer to the relying party, and
    /// the browser's new SSO cookie value when a session began.
    fn finish_login(
        &self,
        login: Login<Self::Request>,
        browser_key: Option<&str>,
    ) -> impl Future<Output = Finished> + Send;

    /// Saves runtime state (used code-card keys, activated key apps) when the broker
    /// keeps it (`--state-dir`).
    fn persist(&self) -> impl Future<Output = Result<(), String>> + Send;
}

/// A finished login: what the browser gets, and its new SSO cookie if a session began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub answer: Answer,
    pub sso: Option<String>,
}

/// How the answer travels to the relying party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A redirect (OpenID Connect: the redirect URI with a code or an error).
    Redirect(String),
    /// A form the browser posts (SAML's HTTP-POST binding: the Response to the ACS).
    Post(PostForm),
    /// No answer could be made (a key or signing failure on the broker's side): the
    /// browser gets an error page saying why.
    Failed(String),
}

/// A form for the browser to post, as data: the web layer renders it with a button (and a
/// script that presses it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PostForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl PostForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
