//! `[metrics]`: `/metrics` in the Prometheus text format after a real
//! conversation (checked by `promtool`), `/health`, and HTTP that is not
//! what the endpoint takes.

use std::process::Command;

use chat_tests::{
    Client, Proc, ServerProcess, http_get, http_request, metric_sample, require_tool,
};

const METRICS: &str = "[metrics]\nlisten = \"127.0.0.1:0\"\n";

#[test]
fn metrics_count_a_scripted_conversation_and_promtool_accepts_them() {
    let mut server = ServerProcess::start_with_config(METRICS, &[]);
    let metrics = server.metrics_addr();
    let mut clients: Vec<Client> = (0..3).map(|_| server.join()).collect();
    for client in &mut clients {
        client.sync();
    }
    for i in 0..10 {
        clients[i % 3].send_line(&format!("line {i}"));
    }
    // The last line has reached both others: all ten were relayed.
    for (i, client) in clients.iter_mut().enumerate() {
        if i != 9 % 3 {
            client.expect_contains("line 9");
        }
    }
    let reply = http_get(metrics, "/metrics");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply
            .head
            .contains("Content-Type: text/plain; version=0.0.4"),
        "{reply:?}"
    );
    let text = reply.body;
    assert_eq!(metric_sample(&text, "chat_clients"), 3, "{text}");
    assert_eq!(metric_sample(&text, "chat_rooms"), 1, "{text}");
    assert_eq!(metric_sample(&text, "chat_connections_total"), 3, "{text}");
    assert!(
        metric_sample(&text, "chat_messages_received_total") >= 10,
        "{text}"
    );
    assert!(
        metric_sample(&text, "chat_deliveries_total") >= 20,
        "{text}"
    );
    // Each of the ten lines went to two line clients: one encoding each.
    let (encodings, deliveries) = (
        metric_sample(&text, "chat_encodings_total"),
        metric_sample(&text, "chat_deliveries_total"),
    );
    assert!(
        (10..deliveries).contains(&encodings),
        "{encodings} encodings for {deliveries} deliveries\n{text}"
    );
    assert!(
        metric_sample(&text, "chat_bytes_received_total") > 0,
        "{text}"
    );
    assert!(metric_sample(&text, "chat_bytes_sent_total") > 0, "{text}");
    assert!(
        metric_sample(&text, "chat_reactor_turn_seconds_count") > 0,
        "{text}"
    );
    assert!(
        text.contains("chat_refused_total{reason=\"full\"} 0"),
        "{text}"
    );
    // The history file (on by default) is writing, and nothing was lost.
    assert_eq!(metric_sample(&text, "chat_history_store_up"), 1, "{text}");
    assert_eq!(
        metric_sample(&text, "chat_history_store_dropped_total"),
        0,
        "{text}"
    );
    assert!(
        text.contains("chat_disconnects_total{reason=\"quit\"} 0"),
        "{text}"
    );

    clients[0].send_line("/quit");
    clients[0].expect_eof();
    let mut gone = server.join();
    gone.send_line("/quit");
    gone.expect_eof();
    let text = http_get(metrics, "/metrics").body;
    assert_eq!(metric_sample(&text, "chat_clients"), 2, "{text}");
    assert!(
        text.contains("chat_disconnects_total{reason=\"quit\"} 2"),
        "{text}"
    );

    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let mut cmd = Command::new(promtool);
    cmd.args(["check", "metrics"]);
    let check = Proc::run(cmd, text.as_bytes());
    assert!(
        check.code() == Some(0) && check.stdout().is_empty() && check.stderr().is_empty(),
        "{}\n---\n{text}",
        check.report()
    );
}

#[test]
fn health_is_ok_and_other_requests_get_clear_answers() {
    let mut server = ServerProcess::start_with_config(METRICS, &[]);
    let metrics = server.metrics_addr();
    let health = http_get(metrics, "/health");
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    assert_eq!(http_get(metrics, "/nothing").status, 404);
    let post = http_request(
        metrics,
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(post.status, 405);
    let garbage = http_request(metrics, "hello there\r\n\r\n");
    assert_eq!(garbage.status, 400);
    let head = http_request(metrics, "HEAD /health HTTP/1.1\r\n\r\n");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert!(head.head.contains("Content-Length: 3"), "{head:?}");
    // The metrics listener is not a chat listener, and scrapes are not clients.
    let text = http_get(metrics, "/metrics").body;
    assert_eq!(metric_sample(&text, "chat_clients"), 0, "{text}");
    assert_eq!(metric_sample(&text, "chat_connections_total"), 0, "{text}");
    // Chat still works beside it.
    let mut client = server.join();
    client.sync();
}

#[test]
fn health_says_503_while_clients_drain_after_a_stop() {
    let config = format!("shutdown_linger = 5\n{METRICS}");
    let mut server = ServerProcess::start_with_config(&config, &["--console"]);
    let metrics = server.metrics_addr();
    // A client that never closes keeps the drain going for the linger.
    let _stays = server.join();
    server.console("/quit");
    server.expect_console("shutting down");
    let health = http_get(metrics, "/health");
    assert_eq!(
        (health.status, health.body.as_str()),
        (503, "shutting down\n")
    );
}
