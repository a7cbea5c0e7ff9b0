//! The HTTP port: `/healthz`, `/metrics` (Prometheus text), `/cluster` (every member's
//! addresses, so a UI finds the whole cluster from one node), `/observe` (a WebSocket of the
//! core's TraceEvents, one JSON object per message, with a bounded buffer: a slow viewer is
//! dropped), and control actions (`/control/partition`, `/control/heal`) that need the admin
//! token and `control = true`.

use crate::config::NodeConfig;
use crate::node::{Event, NodeView};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
pub struct Http {
    pub cfg: Arc<NodeConfig>,
    pub events: mpsc::UnboundedSender<Event>,
}

pub fn router(h: Http) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/cluster", get(cluster))
        .route("/observe", get(observe))
        .route("/api", get(api))
        .route("/control/partition", post(partition))
        .route("/control/heal", post(heal))
        .with_state(h)
}

pub async fn view(events: &mpsc::UnboundedSender<Event>) -> Option<NodeView> {
    let (tx, rx) = oneshot::channel();
    events.send(Event::Status(tx)).ok()?;
    rx.await.ok()
}

async fn healthz(State(h): State<Http>) -> Response {
    match view(&h.events).await {
        Some(v) if v.status.serving => (StatusCode::OK, Json(v)).into_response(),
        Some(v) => (StatusCode::SERVICE_UNAVAILABLE, Json(v)).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn metrics(State(h): State<Http>) -> Response {
    let Some(v) = view(&h.events).await else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    (StatusCode::OK, [("content-type", crate::monitor::CONTENT_TYPE)], crate::monitor::prometheus(&v, h.cfg.id))
        .into_response()
}

async fn cluster(State(h): State<Http>) -> Response {
    let v = view(&h.events).await;
    let body = serde_json::json!({ "id": h.cfg.id, "cluster": h.cfg.cluster, "members": h.cfg.members, "status": v });
    Json(body).into_response()
}

async fn api(State(h): State<Http>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| crate::api::serve_socket(socket, h.events))
}

async fn observe(State(h): State<Http>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| stream_trace(socket, h))
}

async fn stream_trace(mut socket: WebSocket, h: Http) {
    let (tx, mut rx) = mpsc::channel::<String>(1024);
    if h.events.send(Event::Observe(tx)).is_err() {
        return;
    }
    while let Some(line) = rx.recv().await {
        if socket.send(Message::Text(line.into())).await.is_err() {
            return;
        }
    }
}

fn authorized(h: &Http, q: &BTreeMap<String, String>) -> Result<(), (StatusCode, &'static str)> {
    if !h.cfg.control {
        return Err((StatusCode::FORBIDDEN, "control actions are disabled on this node\n"));
    }
    match (&h.cfg.admin_token, q.get("token")) {
        (Some(t), Some(given)) if crate::secrets::token_eq(given, t) => Ok(()),
        _ => Err((StatusCode::UNAUTHORIZED, "admin token missing or wrong\n")),
    }
}

/// `POST /control/partition?token=T&peers=2,3`: stop talking to those peers.
async fn partition(State(h): State<Http>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Err(r) = authorized(&h, &q) {
        return r.into_response();
    }
    let peers: Result<Vec<u64>, _> =
        q.get("peers").map(String::as_str).unwrap_or("").split(',').filter(|s| !s.is_empty()).map(str::parse).collect();
    match peers {
        Ok(p) => {
            let _ = h.events.send(Event::Block(p.clone()));
            (StatusCode::OK, format!("partitioned from {p:?}\n")).into_response()
        }
        Err(_) => (StatusCode::BAD_REQUEST, "peers: a comma-separated list of ids\n").into_response(),
    }
}

async fn heal(State(h): State<Http>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Err(r) = authorized(&h, &q) {
        return r.into_response();
    }
    let _ = h.events.send(Event::Block(Vec::new()));
    (StatusCode::OK, "healed\n").into_response()
}
