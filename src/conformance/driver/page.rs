//! A page as a driver saw it: its document response and its HTML (after its scripts ran,
//! in a real browser), with the readings the kit takes from it.

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use url::Url;

use super::{DriverError, Request};

#[derive(Clone, Debug)]
pub struct Page {
    pub method: String,
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The HTML: as served (HTTP driver), or the document after its scripts ran.
    pub body: String,
    /// The text the page shows, when a real browser rendered it.
    pub rendered_text: Option<String>,
}

/// A form of a page, ready to send.
#[derive(Clone, Debug)]
pub struct Form {
    pub method: String,
    /// The absolute URL it posts to.
    pub action: String,
    /// Its named fields with their values (submit buttons left out).
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The request that submitting the form makes.
    pub fn request(self) -> Result<Request, DriverError> {
        if self.method == "POST" {
            return Ok(Request::post(self.action, self.fields));
        }
        let mut url =
            Url::parse(&self.action).map_err(|_| DriverError::Url(self.action.clone()))?;
        url.query_pairs_mut().clear().extend_pairs(&self.fields);
        Ok(Request::get(url.to_string()))
    }
}

fn selector(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).expect("a valid selector")
}

impl Page {
    pub fn location(&self) -> Option<String> {
        let location = self.headers.get(LOCATION)?.to_str().ok()?;
        self.resolve(location)
    }

    /// `relative` resolved against the page's URL.
    pub fn resolve(&self, relative: &str) -> Option<String> {
        Url::parse(&self.url)
            .ok()?
            .join(relative)
            .ok()
            .map(|u| u.to_string())
    }

    pub fn is_redirect(&self) -> bool {
        self.status.is_redirection() && self.headers.contains_key(LOCATION)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The first form whose action ends with `action_suffix`.
    pub fn form(&self, action_suffix: &str) -> Option<Form> {
        let html = scraper::Html::parse_document(&self.body);
        let form = html.select(&selector("form")).find(|form| {
            form.value()
                .attr("action")
                .unwrap_or_default()
                .ends_with(action_suffix)
        })?;
        self.form_of(form)
    }

    /// The form `form` (an element of this page's document), ready to send.
    pub fn form_of(&self, form: scraper::ElementRef<'_>) -> Option<Form> {
        let inputs = selector("input[name], textarea[name], select[name]");
        let fields = form
            .select(&inputs)
            .filter(|i| !matches!(i.value().attr("type"), Some("submit" | "button" | "image")))
            .map(|i| {
                let v = i.value();
                (
                    v.attr("name").unwrap_or_default().to_string(),
                    v.attr("value").unwrap_or_default().to_string(),
                )
            })
            .collect();
        Some(Form {
            method: form
                .value()
                .attr("method")
                .unwrap_or("GET")
                .to_ascii_uppercase(),
            action: self.resolve(form.value().attr("action").unwrap_or_default())?,
            fields,
        })
    }

    /// The form the page submits by itself, as far as a browser without scripts can
    /// tell: the page's only form, with nothing but hidden fields (at least one) and its
    /// buttons. That is an auto-posting page (OAuth 2.0 Form Post Response Mode, the SAML
    /// POST binding): a browser's script submits it at once, and without scripts the page
    /// shows its button, which only hands the fields on (a script's `submit()` sends no
    /// button, so none is added). A page that asks anything (a visible field, a choice
    /// between forms) is no such page.
    pub fn self_posting_form(&self) -> Option<Form> {
        let html = scraper::Html::parse_document(&self.body);
        let forms = selector("form");
        let mut forms = html.select(&forms);
        let (only, None) = (forms.next()?, forms.next()) else {
            return None;
        };
        let asks_nothing = only
            .select(&selector("input, textarea, select"))
            .all(|field| {
                let v = field.value();
                v.name() == "input"
                    && matches!(
                        v.attr("type").map(str::to_ascii_lowercase).as_deref(),
                        Some("hidden" | "submit" | "button" | "image")
                    )
            });
        let form = self.form_of(only)?;
        (asks_nothing && !form.fields.is_empty()).then_some(form)
    }

    /// Hidden and named fields of the first form whose action ends with `action_suffix`.
    pub fn form_fields(&self, action_suffix: &str) -> Vec<(String, String)> {
        self.form(action_suffix)
            .map(|form| form.fields)
            .unwrap_or_default()
    }

    /// `data-step` of the broker's login page heading.
    pub fn broker_step(&self) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        html.select(&selector("[data-step]"))
            .next()
            .and_then(|h| h.value().attr("data-step").map(str::to_string))
    }

    /// The absolute URLs of the page's iframes.
    pub fn frames(&self) -> Vec<String> {
        let html = scraper::Html::parse_document(&self.body);
        html.select(&selector("iframe[src]"))
            .filter_map(|f| self.resolve(f.value().attr("src")?))
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .collect()
    }

    /// Where a `<meta http-equiv="refresh">` sends a browser without scripts, if it does so
    /// within ten seconds and to another page.
    pub fn refresh(&self) -> Option<String> {
        let html = scraper::Html::parse_document(&self.body);
        // Parsed as a browser with scripts parses it, a `<noscript>` holds raw text: a
        // browser without scripts reads the refresh in it, so the kit parses it too.
        let noscripts: Vec<scraper::Html> = html
            .select(&selector("noscript"))
            .map(|n| scraper::Html::parse_fragment(&n.text().collect::<String>()))
            .collect();
        let content = std::iter::once(&html).chain(&noscripts).find_map(|doc| {
            doc.select(&selector("meta[http-equiv][content]"))
                .find(|m| {
                    m.value()
                        .attr("http-equiv")
                        .is_some_and(|h| h.eq_ignore_ascii_case("refresh"))
                })
                .and_then(|m| m.value().attr("content").map(str::to_string))
        })?;
        let (delay, rest) = content.split_once(';')?;
        let seconds: f64 = delay.trim().parse().ok()?;
        let target = rest.trim();
        let target = target
            .strip_prefix("url=")
            .or_else(|| target.strip_prefix("URL="))
            .unwrap_or(target)
            .trim_matches(['\'', '"']);
        let next = self.resolve(target)?;
        (seconds <= 10.0 && next != self.url).then_some(next)
    }

    /// Whether the page shows `text`: in what a real browser rendered, else in the HTML.
    pub fn shows(&self, text: &str) -> bool {
        match &self.rendered_text {
            Some(rendered) => rendered.contains(text),
            None => self.body.contains(text),
        }
    }

    /// The visible text of the page, whitespace collapsed (for evidence).
    pub fn text(&self) -> String {
        let text = match &self.rendered_text {
            Some(rendered) => rendered.clone(),
            None => {
                let html = scraper::Html::parse_document(&self.body);
                match html.select(&selector("body")).next() {
                    Some(body) => body.text().collect::<Vec<_>>().join(" "),
                    None => self.body.clone(),
                }
            }
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Page {
        Page {
            method: "GET".into(),
            url: "http://127.0.0.1:8088/op/connect/endsession".into(),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.into(),
            rendered_text: None,
        }
    }

    #[test]
    fn a_browser_without_scripts_follows_a_prompt_refresh_and_loads_frames() {
        let logged_out = page(
            r#"<iframe class="frontchannel" src="http://127.0.0.1:3000/fc?iss=x&amp;sid=y"></iframe>
            <noscript><meta http-equiv="refresh" content="3;url=http://127.0.0.1:3000/"></noscript>"#,
        );
        assert_eq!(
            logged_out.frames(),
            ["http://127.0.0.1:3000/fc?iss=x&sid=y"]
        );
        assert_eq!(
            logged_out.refresh().as_deref(),
            Some("http://127.0.0.1:3000/")
        );
        assert_eq!(
            page(r#"<meta http-equiv="refresh" content="600;url=/later">"#).refresh(),
            None
        );
    }

    fn at(url: &str, body: &str) -> Page {
        Page {
            url: url.into(),
            ..page(body)
        }
    }

    #[test]
    fn a_page_whose_only_form_asks_nothing_posts_itself() {
        let broker = "http://127.0.0.1:8088/op/connect/authorize?x=1";
        let form_post = at(
            broker,
            r#"<h1>Back to the service</h1>
            <form id="r" method="post" action="http://127.0.0.1:3000/callback">
              <input type="hidden" name="code" value="c1"><input type="hidden" name="state" value="s&amp;1">
              <noscript><p>Press the button.</p></noscript><button type="submit">Continue</button>
            </form><script src="/static/form-post.js" defer></script>"#,
        );
        let form = form_post.self_posting_form().unwrap();
        assert_eq!(form.method, "POST");
        assert_eq!(form.action, "http://127.0.0.1:3000/callback");
        assert_eq!(
            form.fields,
            [
                ("code".to_string(), "c1".to_string()),
                ("state".into(), "s&1".into())
            ]
        );
        // A form that asks for something, or a page of several forms (a choice), waits
        // for the citizen.
        let asks = at(
            broker,
            r#"<form method="post" action="http://127.0.0.1:3000/cb"><input type="hidden" name="a" value="1"><input name="user_id"></form>"#,
        );
        assert!(asks.self_posting_form().is_none());
        let choice = at(
            broker,
            r#"<form method="post" action="http://127.0.0.1:3000/a"><input type="hidden" name="a" value="1"></form>
            <form method="post" action="http://127.0.0.1:3000/b"><input type="hidden" name="b" value="1"></form>"#,
        );
        assert!(choice.self_posting_form().is_none());
        let empty = at(
            broker,
            r#"<form method="post" action="http://127.0.0.1:3000/a"><button>Go</button></form>"#,
        );
        assert!(empty.self_posting_form().is_none());
    }

    #[test]
    fn forms_are_found_by_their_action_with_their_hidden_fields() {
        let login = page(
            r#"<form method="post" action="/login/1/user-id"><input type="hidden" name="csrf" value="t">
            <input name="user_id"><button type="submit">Go</button></form>"#,
        );
        let form = login.form("/user-id").unwrap();
        assert_eq!(form.method, "POST");
        assert_eq!(form.action, "http://127.0.0.1:8088/login/1/user-id");
        assert_eq!(
            form.fields,
            [
                ("csrf".to_string(), "t".to_string()),
                ("user_id".into(), String::new())
            ]
        );
    }
}
