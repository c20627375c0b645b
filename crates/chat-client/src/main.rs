//! chat-client
fn main() {}
