//! Run a scenario script and print its transcript: `cargo run -p zabra-core --example script -- FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("a script file");
    let text = std::fs::read_to_string(&path).expect("readable");
    match zabra_core::sim::script::run_script(&text) {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
