pub fn run_script(_t: &str) -> Result<String, String> {
    Err("todo".into())
}
