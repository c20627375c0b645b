//! chat-net
