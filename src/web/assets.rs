//! The pages' stylesheet and scripts, compiled in and served from `/static/`, so the
//! Content-Security-Policy can allow scripts and styles from this origin only.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 7] = [
    Asset {
        name: "mitid-sim.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../static/mitid-sim.css"),
    },
    Asset {
        name: "login-app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/login-app.js"),
    },
    Asset {
        name: "phone.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/phone.js"),
    },
    Asset {
        name: "reload.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/reload.js"),
    },
    Asset {
        name: "picker.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/picker.js"),
    },
    Asset {
        name: "logout.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/logout.js"),
    },
    Asset {
        name: "saml-post.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/saml-post.js"),
    },
];

/// FNV-1a: an entity tag that changes whenever the file does.
const fn etag_of(body: &str) -> u64 {
    let bytes = body.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `GET /static/{name}`. Browsers revalidate each time (a new mitid-sim may bring new
/// files) and get `304 Not Modified` while nothing changed.
pub async fn serve(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body(format!("no static file `{name}`"));
    };
    let etag = format!("\"{:016x}\"", etag_of(asset.body));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is a valid header value"),
        ));
    if unchanged {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

/// The path of every asset (for tests that load each page's resources).
pub fn paths() -> impl Iterator<Item = String> {
    ASSETS.iter().map(|a| format!("/static/{}", a.name))
}
