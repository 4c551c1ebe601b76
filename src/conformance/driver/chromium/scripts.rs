//! The scripts the driver runs in pages: they act as the citizen does (submit a form,
//! click) and read what a site keeps in the browser.

use serde_json::Value;

/// Reads the page: its URL, its document after scripts ran, and the text it shows.
pub(super) const READ_PAGE: &str = r#"({
    url: location.href,
    html: document.documentElement ? document.documentElement.outerHTML : "",
    text: document.body ? document.body.innerText : ""
})"#;

/// Resolves once the tasks already queued (timers due now included) have run.
pub(super) const AFTER_QUEUED_TASKS: &str = "new Promise(done => setTimeout(() => done(null), 50))";

/// Reads the origin's web storage.
pub(super) const READ_STORAGE: &str =
    "({ local: Object.entries(localStorage), session: Object.entries(sessionStorage) })";

/// Replaces the origin's web storage with these items.
pub(super) fn write_storage(local: &[(String, String)], session: &[(String, String)]) -> String {
    format!(
        r#"(() => {{
            localStorage.clear();
            sessionStorage.clear();
            for (const [k, v] of {local}) localStorage.setItem(k, v);
            for (const [k, v] of {session}) sessionStorage.setItem(k, v);
            return null;
        }})()"#,
        local = serde_json::to_string(local).unwrap_or_else(|_| "[]".into()),
        session = serde_json::to_string(session).unwrap_or_else(|_| "[]".into()),
    )
}

/// The script that submits the form whose action ends with `suffix`, with `fields` set.
pub(super) fn submit_script(suffix: &str, fields: &[(String, String)]) -> String {
    format!(
        r#"(() => {{
            const suffix = {suffix};
            const form = [...document.forms].find(f => (f.getAttribute("action") || "").endsWith(suffix));
            if (!form) return "no form posting to …" + suffix + " at " + location.href;
            for (const [name, value] of {fields}) {{
                let input = form.elements.namedItem(name);
                if (!input || !("value" in input)) {{
                    input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    form.appendChild(input);
                }}
                input.value = value;
            }}
            setTimeout(() => HTMLFormElement.prototype.submit.call(form), 0);
            return null;
        }})()"#,
        suffix = Value::from(suffix),
        fields = serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()),
    )
}

/// The script that clicks the element `selector`.
pub(super) fn click_script(selector: &str) -> String {
    format!(
        r#"(() => {{
            const element = document.querySelector({selector});
            if (!element) return "no `" + {selector} + "` on " + location.href;
            setTimeout(() => element.click(), 0);
            return null;
        }})()"#,
        selector = Value::from(selector),
    )
}
