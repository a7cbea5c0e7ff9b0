//! The HTTP port: `/healthz`, `/metrics` (Prometheus text), `/cluster` (every member's
//! addresses, so a UI finds the whole cluster from one node), `/join` (a browser member's
//! join token, for the admin, and `/bus-keys`, masked keys browser members authenticate each
//! other with: `join.rs`), `/api` (the JSON client API,
//! `api.rs`), `/observe` (a WebSocket of the core's TraceEvents for holders of a viewer
//! token, `viewers.rs`), and control actions (`/control/partition`, `/control/heal`) that
//! need the admin token and `control = true`. With `ui_dir` set, every other path is a file
//! of the built UI (so Live mode is same-origin with the node). No request from a foreign web
//! page is served (`origin.rs`); the pages of the cluster's own members are not foreign.
//!
//! The server loop is hyper's, driven here rather than through `axum::serve`, for what that
//! one lacks: the connection limits of the client port (`limits.rs`), a time limit for
//! request headers, TCP_NODELAY on every socket, reads paid from the node's read budget, and
//! the connection's real peer address handed to every handler.

use crate::budget::{Budgeted, Hold, ReadBudget};
use crate::config::NodeConfig;
use crate::limits::ConnGuard;
use crate::node::{Event, NodeView};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct Http {
    pub cfg: Arc<NodeConfig>,
    pub events: crate::node::Events,
    /// One permit per `/observe` viewer.
    pub viewers: Arc<Semaphore>,
}

impl Http {
    pub fn new(cfg: Arc<NodeConfig>, events: crate::node::Events) -> Http {
        let viewers = Arc::new(Semaphore::new(cfg.limits.max_viewers));
        Http { cfg, events, viewers }
    }
}

/// What the server loop knows of a request's connection.
#[derive(Clone)]
pub struct ConnCtx {
    /// The socket's peer: the client's address for `ip` ACLs (never what a client claims).
    pub peer: SocketAddr,
    /// The connection's share of the read budget; a WebSocket settles it per message.
    pub hold: Arc<Hold>,
    /// The connection's place under the connection limits, kept by upgraded sockets too.
    _guard: Arc<ConnGuard>,
}

pub fn router(h: Http) -> Router {
    // The UI served by any member watches every member's `/observe`.
    let mut origins = h.cfg.member_origins();
    origins.extend(h.cfg.allowed_origins.iter().cloned());
    let policy = crate::origin::OriginPolicy::new(h.cfg.me().http, &origins);
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/cluster", get(cluster))
        .route("/join", get(crate::join::join))
        .route("/bus-keys", get(crate::join::bus_keys))
        .route("/observe", get(observe))
        .route("/api", get(api))
        .route("/control/partition", post(partition))
        .route("/control/heal", post(heal));
    if let Some(dir) = &h.cfg.ui_dir {
        // Static files only: no directory listings, nothing outside the folder (ServeDir
        // refuses `..`), `/` is index.html.
        r = r.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    // The UI's partition/heal controls call every member: CORS for the members' pages only.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(
            origins.iter().filter_map(|o| axum::http::HeaderValue::from_str(o).ok()),
        ))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST]);
    r.layer(axum::middleware::from_fn_with_state(policy, crate::origin::check)).layer(cors).with_state(h)
}

/// Serve the HTTP port until the process ends.
pub async fn serve(l: TcpListener, h: Http, budget: ReadBudget) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower_service::Service;
    let table = crate::limits::ConnTable::new(&h.cfg.limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_millis(h.cfg.limits.header_timeout_ms));
    let router = router(h);
    crate::limits::accept_loop(l, "HTTP port", table, move |stream, peer, guard| {
        let io = Budgeted::new(stream, &budget);
        let ctx = ConnCtx { peer, hold: io.hold(), _guard: Arc::new(guard) };
        let (router, http) = (router.clone(), http.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                ctx.hold.settle(0);
                req.extensions_mut().insert(ctx.clone());
                router.clone().call(req.map(axum::body::Body::new))
            });
            if let Err(e) = http.serve_connection(TokioIo::new(io), svc).with_upgrades().await {
                tracing::debug!("HTTP connection {peer}: {e}");
            }
        });
    })
    .await
}

pub async fn view(events: &crate::node::Events) -> Option<NodeView> {
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
    let body = serde_json::json!({
        "id": h.cfg.id,
        "cluster": h.cfg.cluster,
        "members": h.cfg.members,
        "browser_members": h.cfg.browser_members,
        "supervisor": h.cfg.supervisor,
        "status": v,
    });
    Json(body).into_response()
}

async fn api(State(h): State<Http>, Extension(ctx): Extension<ConnCtx>, req: Request) -> Response {
    crate::api::upgrade(req, ctx, h.events, h.cfg)
}

/// A viewer token: the configured `viewer_token`, or the admin token.
fn viewer_token_ok(cfg: &NodeConfig, given: &str) -> bool {
    [&cfg.viewer_token, &cfg.admin_token]
        .into_iter()
        .flatten()
        .any(|t| !t.is_empty() && crate::secrets::token_eq(given, t))
}

/// `GET /observe?token=T`, or `/observe` and the token as the first message (a browser
/// cannot set headers on a WebSocket), as the bare token or `{"token": "T"}`.
async fn observe(
    State(h): State<Http>,
    Extension(ctx): Extension<ConnCtx>,
    Query(q): Query<BTreeMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    if h.cfg.viewer_token.is_none() && h.cfg.admin_token.is_none() {
        return (StatusCode::FORBIDDEN, "no viewer token is configured (viewer_token or admin_token)\n")
            .into_response();
    }
    let given = q.get("token");
    if given.is_some_and(|t| !viewer_token_ok(&h.cfg, t)) {
        return (StatusCode::UNAUTHORIZED, "viewer token wrong\n").into_response();
    }
    // With the token in the query the place is taken now (503 when none is left); otherwise
    // only once the first message proves the token, so strangers cannot hold the places.
    let permit = match given {
        Some(_) => match h.viewers.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, too_many_viewers(&h.cfg)).into_response(),
        },
        None => None,
    };
    // A viewer only ever sends its token (and close frames): small messages suffice.
    ws.max_message_size(4096)
        .max_frame_size(4096)
        .read_buffer_size(crate::transport::WS_READ_BUFFER)
        .on_upgrade(move |s| stream_trace(s, h, ctx, permit))
}

fn too_many_viewers(cfg: &NodeConfig) -> String {
    format!("too many viewers (max_viewers is {})\n", cfg.limits.max_viewers)
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

/// The token from the first message, then a place among the viewers.
async fn first_message_login(socket: &mut WebSocket, h: &Http, ctx: &ConnCtx) -> Option<OwnedSemaphorePermit> {
    let first = tokio::time::timeout(h.cfg.limits.connect_timeout(), socket.recv()).await;
    ctx.hold.settle(0);
    let ok = matches!(&first, Ok(Some(Ok(Message::Text(t)))) if viewer_token_ok(&h.cfg, &first_message_token(t)));
    if !ok {
        close(socket, 1008, "viewer token missing or wrong").await;
        return None;
    }
    match h.viewers.clone().try_acquire_owned() {
        Ok(p) => Some(p),
        Err(_) => {
            close(socket, 1013, too_many_viewers(&h.cfg).trim_end()).await;
            None
        }
    }
}

fn first_message_token(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v["token"].as_str().unwrap_or_default().to_string(),
        Err(_) => text.trim().to_string(),
    }
}

async fn stream_trace(mut socket: WebSocket, h: Http, ctx: ConnCtx, permit: Option<OwnedSemaphorePermit>) {
    let _permit = match permit {
        Some(p) => p,
        None => match first_message_login(&mut socket, &h, &ctx).await {
            Some(p) => p,
            None => return,
        },
    };
    let (tx, mut rx) = crate::viewers::ViewerTx::channel();
    let skipped = tx.skipped.clone();
    if h.events.send(Event::Observe(tx)).is_err() {
        return;
    }
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => if send_line(&mut socket, line, &mut rx, &skipped).await.is_err() { return },
                None => return,
            },
            // Only to notice the viewer leaving (and answer pings); what it sends is ignored.
            msg = socket.recv() => {
                ctx.hold.settle(0);
                if !matches!(msg, Some(Ok(m)) if !matches!(m, Message::Close(_))) { return }
            }
        }
    }
}

/// Sends one trace line; then, if that drained the queue, the marker for events the node
/// skipped while the queue was full and no later event carried (`viewers.rs`), so a gap at
/// the end of a burst is reported without waiting for the next event.
async fn send_line(
    socket: &mut WebSocket,
    line: String,
    rx: &mut mpsc::Receiver<String>,
    skipped: &AtomicU64,
) -> Result<(), axum::Error> {
    socket.send(Message::Text(line.into())).await?;
    if !rx.is_empty() {
        return Ok(());
    }
    match crate::viewers::take_marker(skipped) {
        Some(marker) => socket.send(Message::Text(marker.into())).await,
        None => Ok(()),
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
        Ok(p) => match block(&h, p.clone()).await {
            Some(()) => (StatusCode::OK, format!("partitioned from {p:?}\n")).into_response(),
            None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        },
        Err(_) => (StatusCode::BAD_REQUEST, "peers: a comma-separated list of ids\n").into_response(),
    }
}

async fn heal(State(h): State<Http>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if let Err(r) = authorized(&h, &q) {
        return r.into_response();
    }
    match block(&h, Vec::new()).await {
        Some(()) => (StatusCode::OK, "healed\n").into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Cut the node off from `sids` (none: heal) and wait until it holds; `None` if the node
/// has stopped. Waiting keeps each control request to one event in the node's queue.
async fn block(h: &Http, sids: Vec<u64>) -> Option<()> {
    let (done, held) = oneshot::channel();
    h.events.send(Event::Block { sids, done }).ok()?;
    held.await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http() -> (Http, mpsc::UnboundedReceiver<Event>) {
        let mut cfg = NodeConfig::local(1, 3);
        cfg.control = true;
        cfg.admin_token = Some("t".into());
        let (events, rx) = mpsc::unbounded_channel();
        (Http::new(Arc::new(cfg), events), rx)
    }

    fn query(peers: &str) -> Query<BTreeMap<String, String>> {
        Query([("token".to_string(), "t".to_string()), ("peers".to_string(), peers.to_string())].into())
    }

    /// A control request answers only once the node has applied it, so a client repeating
    /// it without pause has one event in the node's queue, not as many as it sends.
    #[tokio::test]
    async fn control_requests_wait_for_the_node() {
        let (h, mut rx) = http();
        let request = tokio::spawn(partition(State(h.clone()), query("2,3")));
        let Some(Event::Block { sids, done }) = rx.recv().await else { panic!("expected a Block event") };
        assert_eq!(sids, vec![2, 3]);
        tokio::task::yield_now().await;
        assert!(!request.is_finished(), "answered before the node applied the partition");
        assert!(rx.try_recv().is_err());
        done.send(()).unwrap();
        assert_eq!(request.await.unwrap().status(), StatusCode::OK);

        let request = tokio::spawn(heal(State(h), query("")));
        let Some(Event::Block { sids, done }) = rx.recv().await else { panic!("expected a Block event") };
        assert!(sids.is_empty());
        tokio::task::yield_now().await;
        assert!(!request.is_finished(), "answered before the node healed");
        done.send(()).unwrap();
        assert_eq!(request.await.unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn control_requests_to_a_stopped_node_are_refused() {
        let (h, rx) = http();
        drop(rx);
        assert_eq!(partition(State(h.clone()), query("2")).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(heal(State(h), query("")).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
