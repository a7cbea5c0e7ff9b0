//! Joining a native cluster from Tabs mode (issue 9, shape 2): the page reads `/cluster` from
//! the node named in `?join=HOST:PORT` and makes the worker's plan from it: the cluster's
//! name, its voters and observers (native and browser members), the browser sids this tab may
//! claim, and every native node's peer-port URL, which the worker dials with the join token;
//! then `/bus-keys`, the masked keys that let the worker talk to the cluster's other browser
//! members over the BroadcastChannel (each pair with its own key).

use serde::Deserialize;
use zabra_wasm::protocol::JoinNative;

/// What the worker runs: the membership and how to reach the other members.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub cluster: String,
    /// The sids this tab may claim (browser members in a native cluster).
    pub claimable: Vec<u64>,
    pub voters: Vec<u64>,
    pub observers: Vec<u64>,
    pub join: Option<JoinNative>,
}

#[derive(Deserialize)]
struct Member {
    id: u64,
    #[serde(default)]
    peer: Option<String>,
    #[serde(default)]
    observer: bool,
}

#[derive(Deserialize)]
struct ClusterInfo {
    cluster: String,
    members: Vec<Member>,
    #[serde(default)]
    browser_members: Vec<Member>,
}

/// The plan of a cluster of tabs only.
pub fn tabs(cluster: &str) -> Plan {
    let sids = zabra_wasm::DEMO_VOTERS.to_vec();
    Plan { cluster: cluster.to_string(), claimable: sids.clone(), voters: sids, observers: Vec::new(), join: None }
}

/// The plan of browser member `sid` of the native cluster whose node answers at `addr`.
#[cfg(target_arch = "wasm32")]
pub async fn native(addr: &str, sid: Option<u64>, token: Option<String>) -> Result<Plan, String> {
    let token = token.ok_or("joining a native cluster needs this sid's join token (&token=…, from GET /join)")?;
    let text = fetch_text(&format!("http://{addr}/cluster")).await?;
    let mut p = plan(&text, sid, token).map_err(|e| format!("{addr}/cluster: {e}"))?;
    let keys = fetch_text(&format!("http://{addr}/bus-keys")).await?;
    if let Some(j) = p.join.as_mut() {
        j.bus_keys = bus_keys(&keys).map_err(|e| format!("{addr}/bus-keys: {e}"))?;
    }
    Ok(p)
}

#[derive(Deserialize)]
struct BusKeys {
    keys: std::collections::BTreeMap<u64, std::collections::BTreeMap<u64, String>>,
}

/// The masked bus keys of every browser member from a node's `/bus-keys` answer.
pub fn bus_keys(
    json: &str,
) -> Result<std::collections::BTreeMap<u64, std::collections::BTreeMap<u64, String>>, String> {
    serde_json::from_str::<BusKeys>(json).map(|k| k.keys).map_err(|e| e.to_string())
}

/// The plan from a node's `/cluster` answer.
pub fn plan(cluster_json: &str, sid: Option<u64>, token: String) -> Result<Plan, String> {
    let info: ClusterInfo = serde_json::from_str(cluster_json).map_err(|e| e.to_string())?;
    let claimable: Vec<u64> = info.browser_members.iter().map(|m| m.id).collect();
    if let Some(s) = sid.filter(|s| !claimable.contains(s)) {
        return Err(format!("sid {s} is not a browser member of {:?} (those are {claimable:?})", info.cluster));
    }
    let all = || info.members.iter().chain(&info.browser_members);
    let natives = info.members.iter().filter_map(|m| Some((m.id, format!("ws://{}/peer", m.peer.as_ref()?)))).collect();
    Ok(Plan {
        cluster: info.cluster.clone(),
        claimable,
        voters: all().filter(|m| !m.observer).map(|m| m.id).collect(),
        observers: all().filter(|m| m.observer).map(|m| m.id).collect(),
        join: Some(JoinNative { token, natives, bus_keys: Default::default() }),
    })
}

#[cfg(target_arch = "wasm32")]
async fn fetch_text(url: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let w = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(w.fetch_with_str(url)).await.map_err(|e| format!("GET {url}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| format!("GET {url}: not a response"))?;
    let body = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    let body = body.as_string().unwrap_or_default();
    if !resp.ok() {
        return Err(format!("GET {url}: {} {}", resp.status(), body.trim()));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_lists_every_member_and_dials_only_native_ones() {
        let text = r#"{"cluster":"zabra-local","members":[{"id":1,"peer":"127.0.0.1:2891","observer":false},
            {"id":2,"peer":"127.0.0.1:2892"}],"browser_members":[{"id":3},{"id":4,"observer":true}]}"#;
        let p = plan(text, Some(4), "ab".into()).unwrap();
        assert_eq!((p.voters, p.observers, p.claimable), (vec![1, 2, 3], vec![4], vec![3, 4]));
        let j = p.join.unwrap();
        assert_eq!(j.natives, vec![(1, "ws://127.0.0.1:2891/peer".into()), (2, "ws://127.0.0.1:2892/peer".into())]);
        assert!(plan(text, Some(2), "ab".into()).unwrap_err().contains("not a browser member"));
    }

    #[test]
    fn bus_keys_read_per_member() {
        let k = bus_keys(r#"{"cluster":"c","keys":{"4":{"5":"ab"},"5":{"4":"cd"}}}"#).unwrap();
        assert_eq!(k[&4][&5], "ab");
        assert_eq!(k[&5][&4], "cd");
        assert!(bus_keys("{}").is_err());
    }
}
