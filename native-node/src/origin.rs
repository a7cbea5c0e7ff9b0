//! Which web pages may use a node's (or the supervisor's) HTTP port.
//!
//! A browser lets any page open a WebSocket or send a POST to any address, loopback included,
//! and names the page in the `Origin` header. Without a check, any web page a developer
//! visits could open `/api` as them, watch `/observe`, or kill their demo cluster. So a
//! request that carries an `Origin` must come from the port's own origin (its address, and
//! the `localhost` / `127.0.0.1` forms of it when it listens on loopback) or from the
//! configured `allowed_origins`. Requests without one (curl, kazoo, tests, `zabra cli`) are
//! not from a browser page and pass. The `Host` header is not trusted for this: with DNS
//! rebinding an attacker's page sends a matching one.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

fn normalize(o: &str) -> String {
    o.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl OriginPolicy {
    pub fn new(own: SocketAddr, extra: &[String]) -> Arc<OriginPolicy> {
        let port = own.port();
        let mut allowed = vec![format!("http://{own}")];
        if own.ip().is_loopback() || own.ip().is_unspecified() {
            allowed.extend(["localhost", "127.0.0.1", "[::1]"].map(|h| format!("http://{h}:{port}")));
        }
        allowed.extend(extra.iter().map(|o| normalize(o)));
        Arc::new(OriginPolicy { allowed })
    }

    /// `None` (no header) is a non-browser client; a header must name an allowed origin.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        origin.is_none_or(|o| self.allowed.contains(&normalize(o)))
    }
}

/// Middleware: refuse requests from foreign pages with 403. An allowed page of another
/// origin (a UI served elsewhere, or a tab joining this cluster) may also read the answers
/// (`Access-Control-Allow-Origin`): it may use the port anyway.
pub async fn check(State(p): State<Arc<OriginPolicy>>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).map(|v| v.to_str().unwrap_or("(not text)").to_string());
    if p.allows(origin.as_deref()) {
        let mut resp = next.run(req).await;
        if let Some(v) = origin.and_then(|o| header::HeaderValue::from_str(&o).ok()) {
            resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            resp.headers_mut().insert(header::VARY, header::HeaderValue::from_static("origin"));
        }
        return resp;
    }
    let o = origin.unwrap_or_default();
    tracing::info!("refused a request from the web page origin {o:?}");
    (StatusCode::FORBIDDEN, format!("requests from the web page origin {o:?} are not allowed (see allowed_origins)\n"))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_loopback_forms_and_configured_origins_only() {
        let p = OriginPolicy::new("127.0.0.1:8081".parse().unwrap(), &["https://ui.example.org/".into()]);
        for ok in [None, Some("http://127.0.0.1:8081"), Some("http://LOCALHOST:8081/"), Some("https://ui.example.org")]
        {
            assert!(p.allows(ok), "{ok:?}");
        }
        for bad in ["http://evil.example", "http://localhost:8082", "null", "http://127.0.0.1:8081.evil.example"] {
            assert!(!p.allows(Some(bad)), "{bad}");
        }
        let lan = OriginPolicy::new("10.0.0.5:8081".parse().unwrap(), &[]);
        assert!(lan.allows(Some("http://10.0.0.5:8081")));
        assert!(!lan.allows(Some("http://localhost:8081")), "loopback forms only for a loopback address");
    }
}
