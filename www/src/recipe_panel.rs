//! The use-case lessons' panel: each recipe client (zabra-recipes running on the tab's
//! simulator), what it is doing, the znodes its session owns, the watches its peer holds for
//! it and how many watch notifications it received, so a student sees that a crash or a
//! release wakes one client, not all of them.

use yew::prelude::*;
use zabra_recipes::lesson::ActorView;

#[derive(Properties, PartialEq)]
pub struct RecipeProps {
    pub clients: Vec<ActorView>,
}

#[function_component(RecipePanel)]
pub fn recipe_panel(p: &RecipeProps) -> Html {
    if p.clients.is_empty() {
        return html! {};
    }
    let rows = p.clients.iter().map(|a| {
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        let state = match (a.crashed, a.znodes.is_empty()) {
            (false, _) => a.phase.clone(),
            (true, false) => "crashed: no more heartbeats, but its session lives until it times out, so its znodes stay".into(),
            (true, true) => "crashed: its session expired, and its ephemeral znodes with it".into(),
        };
        html! {
            <tr data-testid={format!("recipe-client-{}", a.name)} data-notified={a.notified.to_string()}
                data-phase={a.phase.clone()} data-crashed={a.crashed.to_string()} data-znodes={a.znodes.len().to_string()}
                class={classes!(a.crashed.then_some("crashed"), (a.notified > 0).then_some("notified"))}>
                <td><b>{ &a.name }</b><br/><small>{ format!("{} · peer {}", a.recipe, a.peer) }</small></td>
                <td>{ state }</td>
                <td class="mono" data-testid={format!("recipe-znodes-{}", a.name)}>{ list(&a.znodes) }</td>
                <td class="mono" data-testid={format!("recipe-watches-{}", a.name)}>{ list(&a.watches) }</td>
                <td title="watch notifications received">{ if a.notified == 0 { "–".to_string() } else { format!("{}×", a.notified) } }</td>
            </tr>
        }
    });
    html! {
        <section class="panel recipes" data-testid="recipe-panel">
            <h2>{ "Use case: the recipe's clients" }</h2>
            <p class="note">{ "Each client runs the recipe from zabra-recipes (the same code as the Rust example) on this simulated cluster. Its requests and the watch notifications are the client traffic in the event log." }</p>
            <table class="recipes"><thead><tr>
                <th>{ "client" }</th><th>{ "doing" }</th><th>{ "its ephemeral znodes" }</th><th>{ "watches set for it" }</th><th>{ "notified" }</th>
            </tr></thead><tbody>{ for rows }</tbody></table>
        </section>
    }
}
