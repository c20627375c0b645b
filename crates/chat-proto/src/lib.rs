//! chat-proto
