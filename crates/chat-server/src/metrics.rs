//! `/metrics` in the Prometheus text format, and `/health`.
//!
//! Nothing here counts: a scrape reads what the hub (`Hub::stats`, the
//! counts `/stats` already keeps) and the reactor (`Net::stats`: bytes,
//! refusals for want of descriptors, turn times) have counted anyway, so a
//! relayed line costs nothing more for being measured. The text format is a
//! few lines per metric; a metrics crate would bring a registry and atomic
//! counters we would only copy these numbers into at each scrape.

use std::fmt::Write;

use chat_hub::{Hub, ReasonCounts};

use crate::cluster::Probe;
use chat_net::{NetStats, TURN_BUCKETS_MICROS};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether this node is in the cluster: its link to Redis is up and a ping
/// came back through pub/sub lately. `None`: not a cluster node.
fn cluster_up(hub: &Hub, probe: Option<&Probe>) -> Option<bool> {
    Some(hub.cluster_up()? && probe.is_none_or(Probe::up))
}

/// Every metric, as one text. `probe`: the cluster's delivery probe.
pub fn render(hub: &Hub, net: &NetStats, probe: Option<&Probe>) -> String {
    let stats = hub.stats();
    let mut text = String::with_capacity(4096);
    let out = &mut text;
    gauge(
        out,
        "chat_clients",
        "Clients connected now (logged in).",
        hub.client_count() as u64,
    );
    gauge(
        out,
        "chat_rooms",
        "Rooms that exist now.",
        hub.room_count() as u64,
    );
    counter(
        out,
        "chat_connections_total",
        "Clients admitted since the start.",
        stats.connections,
    );
    counter(
        out,
        "chat_messages_received_total",
        "Lines (or raw messages) received from clients.",
        stats.messages_in,
    );
    counter(
        out,
        "chat_deliveries_total",
        "Lines queued to clients, each recipient counted.",
        stats.deliveries,
    );
    counter(
        out,
        "chat_encodings_total",
        "Lines encoded for the wire: once per wire shape among a line's recipients.",
        stats.encodings,
    );
    counter(
        out,
        "chat_bytes_received_total",
        "Bytes read from connections.",
        net.bytes_in,
    );
    counter(
        out,
        "chat_bytes_sent_total",
        "Bytes written to connections.",
        net.bytes_out,
    );
    labelled(
        out,
        "chat_refused_total",
        "Connections turned away, by reason.",
        &stats.refusals,
        Some(("descriptors", net.refused)),
    );
    labelled(
        out,
        "chat_disconnects_total",
        "Clients gone, by reason.",
        &stats.disconnects,
        None,
    );
    counter(
        out,
        "chat_cluster_dropped_total",
        "Cluster requests dropped because the queue toward Redis was full.",
        stats.cluster_dropped,
    );
    if let Some(up) = cluster_up(hub, probe) {
        gauge(
            out,
            "chat_cluster_up",
            "1 while a ping published by this node came back through its Redis subscription within the last 3 s, 0 otherwise.",
            u64::from(up),
        );
    }
    if let Some(probe) = probe {
        probe.render(out);
    }
    if let Some(store) = hub.store_health() {
        gauge(
            out,
            "chat_history_store_up",
            "1 while the history file takes writes, 0 while writing fails.",
            u64::from(store.writing),
        );
        counter(
            out,
            "chat_history_store_write_failures_total",
            "Failed writes to the history file (each retried).",
            store.write_failures,
        );
        counter(
            out,
            "chat_history_store_dropped_total",
            "Lines never written to the history file because the queue toward it was full (each logged).",
            store.dropped,
        );
        counter(
            out,
            "chat_history_store_reads_refused_total",
            "History reads and searches answered \"busy\" because the reader's queue was full.",
            store.reads_refused,
        );
        gauge(
            out,
            "chat_history_store_uncommitted_lines",
            "Lines said and waiting for their commit before going out (history_sync = \"always\").",
            store.uncommitted as u64,
        );
    }
    turn_histogram(out, net);
    text
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {value}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, help, "counter");
    let _ = writeln!(out, "{name} {value}");
}

fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    counts: &ReasonCounts,
    extra: Option<(&'static str, u64)>,
) {
    header(out, name, help, "counter");
    for (reason, value) in counts.iter().chain(extra) {
        let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {value}");
    }
}

fn turn_histogram(out: &mut String, net: &NetStats) {
    let name = "chat_reactor_turn_seconds";
    header(
        out,
        name,
        "Time the reactor took per loop turn (every client waits for it).",
        "histogram",
    );
    let times = &net.turn_time;
    let mut cumulative = 0;
    for (bound, count) in TURN_BUCKETS_MICROS.iter().zip(times.buckets) {
        cumulative += count;
        let seconds = *bound as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"{seconds}\"}} {cumulative}");
    }
    let count = times.count();
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {}", times.total_nanos as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {count}");
}

/// `/health`: whether this server serves, and if not, why.
pub fn health(hub: &Hub, probe: Option<&Probe>) -> Result<&'static str, String> {
    if hub.is_shutting_down() {
        return Err("shutting down\n".into());
    }
    if hub.cluster_up() == Some(false) {
        return Err("cluster: redis unreachable\n".into());
    }
    if cluster_up(hub, probe) == Some(false) {
        return Err("cluster: no ping came back through redis pub/sub lately\n".into());
    }
    Ok("ok\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_hub::HubConfig;

    #[test]
    fn every_metric_has_help_and_type_and_counters_end_in_total() {
        let hub = Hub::new(HubConfig::default());
        let text = render(&hub, &NetStats::default(), None);
        for name in [
            "chat_clients",
            "chat_rooms",
            "chat_connections_total",
            "chat_messages_received_total",
            "chat_deliveries_total",
            "chat_encodings_total",
            "chat_bytes_received_total",
            "chat_bytes_sent_total",
            "chat_refused_total",
            "chat_disconnects_total",
            "chat_reactor_turn_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}\n{text}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}\n{text}");
        }
        assert!(text.contains("chat_refused_total{reason=\"descriptors\"} 0"));
        assert!(text.contains("chat_reactor_turn_seconds_bucket{le=\"+Inf\"} 0"));
        assert!(!text.contains("chat_cluster_up"), "not a cluster node");
    }
}
