//! `GET /join?sid=N&token=ADMIN` on a node's HTTP port: the join token of browser member `N`,
//! for an admin to hand to the tab (or Node.js peer) that will run that sid.
//!
//! The token is derived from the cluster secret (`zabra_peerwire::join_token`, which says why),
//! so any native node answers the same and every native node accepts it. It is a secret of
//! that sid: only the admin token gets it, and the answer is never cached.
//!
//! `GET /bus-keys`: for each pair of browser members, their BroadcastChannel key masked for
//! each of the two (`zabra_peerwire::wrap_bus_key`, which says why). Public: only the holder
//! of a member's join token unmasks that member's keys, so tabs of one cluster authenticate
//! each other per pair with nothing more for the admin to hand out.

use crate::http::Http;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::BTreeMap;

pub async fn join(State(h): State<Http>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    match answer(&h, &q) {
        Ok(body) => ([("cache-control", "no-store")], Json(body)).into_response(),
        Err((code, why)) => (code, format!("{why}\n")).into_response(),
    }
}

fn answer(h: &Http, q: &BTreeMap<String, String>) -> Result<serde_json::Value, (StatusCode, String)> {
    let cfg = &h.cfg;
    match (&cfg.admin_token, q.get("token")) {
        (Some(t), Some(given)) if !t.is_empty() && crate::secrets::token_eq(given, t) => {}
        _ => return Err((StatusCode::UNAUTHORIZED, "admin token missing or wrong".into())),
    }
    let sid: u64 = q
        .get("sid")
        .and_then(|s| s.parse().ok())
        .ok_or((StatusCode::BAD_REQUEST, "sid: the id of a browser member".to_string()))?;
    let Some(member) = cfg.browser_members.iter().find(|b| b.id == sid) else {
        let ids: Vec<u64> = cfg.browser_members.iter().map(|b| b.id).collect();
        return Err((StatusCode::NOT_FOUND, format!("sid {sid} is not a browser member (those are {ids:?})")));
    };
    let path = cfg.secret_file.as_ref().ok_or((StatusCode::CONFLICT, "this node has no cluster secret".into()))?;
    let secret = crate::secrets::read_cluster_secret(path).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
    Ok(serde_json::json!({
        "cluster": cfg.cluster,
        "sid": sid,
        "observer": member.observer,
        "join_token": zabra_peerwire::join_token(&secret, &cfg.cluster, sid),
    }))
}

pub async fn bus_keys(State(h): State<Http>) -> Response {
    let cfg = &h.cfg;
    let Some(path) = cfg.secret_file.as_ref() else {
        return (StatusCode::CONFLICT, "this node has no cluster secret\n").into_response();
    };
    let secret = match crate::secrets::read_cluster_secret(path) {
        Ok(s) => s,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    };
    let ids: Vec<u64> = cfg.browser_members.iter().map(|b| b.id).collect();
    let keys: BTreeMap<String, BTreeMap<String, String>> = ids
        .iter()
        .map(|me| {
            let others = ids.iter().filter(|o| *o != me);
            let wrapped = others.map(|o| (o.to_string(), zabra_peerwire::wrap_bus_key(&secret, &cfg.cluster, *me, *o)));
            (me.to_string(), wrapped.collect())
        })
        .collect();
    let body = serde_json::json!({ "cluster": cfg.cluster, "keys": keys });
    ([("cache-control", "no-store")], Json(body)).into_response()
}
