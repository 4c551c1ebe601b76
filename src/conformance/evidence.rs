//! Evidence lines a developer can act on: what the kit sent, what came back, and why that
//! decides the verdict. Each line starts with its observation (DESIGN §6): `[P+]`/`[P−]`
//! the protected page logged in / out, `[H]` an RP response, `[S]` what the broker saw the
//! RP send, `[N]` calls the RP made afterwards. Long opaque values (tokens, codes) are
//! shortened; nothing is a debug dump.

use serde_json::Value;
use url::Url;

use super::driver::{Hop, Page, Request, Visit};

/// At most `max` characters of `text`, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A value as a line shows it: long opaque values (tokens, codes, hashes) shortened.
pub fn shorten(value: &str) -> String {
    let chars = value.chars().count();
    if chars > 48 && !value.contains(' ') {
        let head: String = value.chars().take(20).collect();
        format!("{head}…({chars} chars)")
    } else {
        value.to_string()
    }
}

/// A URL with long query values shortened.
pub fn url(text: &str) -> String {
    let Ok(mut parsed) = Url::parse(text) else {
        return shorten(text);
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), shorten(&v)))
        .collect();
    if pairs.is_empty() {
        return text.to_string();
    }
    parsed.set_query(None);
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{parsed}?{}", query.join("&"))
}

/// Request parameters the broker recorded (a JSON object), as `name=value, …`.
pub fn params(value: &Value) -> String {
    let Some(object) = value.as_object() else {
        return "(none)".into();
    };
    if object.is_empty() {
        return "(none)".into();
    }
    let mut names: Vec<&String> = object.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let value = match &object[name] {
                Value::String(s) => shorten(s),
                other => shorten(&other.to_string()),
            };
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET http://rp/me → 401 "Not logged in"` or `→ 303 to http://…`.
pub fn exchange(page: &Page) -> String {
    format!("{} {} → {}", page.method, url(&page.url), answer(page))
}

/// What came back: the status and where it redirects, or what the page says.
pub fn answer(page: &Page) -> String {
    let status = page.status.as_u16();
    match page.location().filter(|_| page.is_redirect()) {
        Some(location) => format!("{status} to {}", url(&location)),
        None => {
            let text = page.text();
            if text.is_empty() {
                format!("{status}")
            } else {
                format!("{status} \"{}\"", excerpt(&text, 80))
            }
        }
    }
}

/// A hop in words: `GET http://rp/cb?… → 303 to http://rp/me`, or `→ 400`.
pub fn hop(hop: &Hop) -> String {
    match &hop.location {
        Some(location) => format!(
            "{} {} → {} to {}",
            hop.method,
            url(&hop.url),
            hop.status,
            url(location)
        ),
        None => format!("{} {} → {}", hop.method, url(&hop.url), hop.status),
    }
}

/// The first answer of a navigation (what the RP answered to the request itself); with
/// the page's words when that answer is where it settled.
pub fn first(visit: &Visit) -> String {
    match visit.hops.as_slice() {
        [only] if only.url == visit.page.url => exchange(&visit.page),
        [first, ..] => hop(first),
        [] => exchange(&visit.page),
    }
}

/// What the first request of a navigation got back: `303 to …`, or the status and the
/// page's words when that is where it settled.
pub fn first_answer(visit: &Visit) -> String {
    match visit.hops.as_slice() {
        [only] if only.url == visit.page.url => answer(&visit.page),
        [first, ..] => match &first.location {
            Some(location) => format!("{} to {}", first.status, url(location)),
            None => first.status.to_string(),
        },
        [] => answer(&visit.page),
    }
}

/// Every hop of a navigation, `⇒` between them, ending with the page's words.
pub fn path(visit: &Visit) -> String {
    let mut steps: Vec<String> = visit.hops.iter().map(hop).collect();
    if let Some(last) = steps.last_mut() {
        if visit
            .hops
            .last()
            .is_some_and(|h| h.url == visit.page.url && h.location.is_none())
        {
            *last = exchange(&visit.page);
        }
    }
    if let Some(stopped) = &visit.stopped {
        steps.push(format!("(stopped before {})", request(stopped)));
    }
    steps.join(" ⇒ ")
}

/// A request in words, its form fields named.
pub fn request(request: &Request) -> String {
    match &request.form {
        Some(form) => format!(
            "{} {} with {}",
            request.method,
            url(&request.url),
            form.iter()
                .map(|(k, v)| format!("{k}={}", shorten(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        None => format!("{} {}", request.method, url(&request.url)),
    }
}

/// A request the kit sent and what it got back first: `POST http://rp/callback with
/// code=… state=… → 400 "state mismatch"` (a GET shows its query).
pub fn sent(request: &Request, visit: &Visit) -> String {
    format!("{} → {}", self::request(request), first_answer(visit))
}

/// The parameters of a request to the RP (a callback's query or form), e.g.
/// `error=access_denied error_description=…`.
pub fn params_of(request: &Request) -> String {
    request
        .params()
        .iter()
        .map(|(k, v)| format!("{k}={}", shorten(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The query of a redirect back to the RP, e.g. `error=access_denied error_description=…`.
pub fn redirect_params(location: &str) -> String {
    Url::parse(location)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| format!("{k}={}", shorten(&v)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_shortened_and_words_kept() {
        let token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl";
        assert_eq!(shorten(token), "eyJhbGciOiJFUzI1NiIs…(68 chars)");
        assert_eq!(shorten("openid mitid"), "openid mitid");
        let line = params(&serde_json::json!({ "state": "abc", "id_token_hint": token }));
        assert_eq!(
            line,
            "id_token_hint=eyJhbGciOiJFUzI1NiIs…(68 chars), state=abc"
        );
        assert_eq!(excerpt("æøå æøå", 3), "æøå…");
    }
}
