pub async fn listen(
    _l: tokio::net::TcpListener,
    _e: tokio::sync::mpsc::UnboundedSender<crate::node::Event>,
    _c: std::sync::Arc<crate::config::NodeConfig>,
) {
}
