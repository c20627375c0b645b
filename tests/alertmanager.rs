//! A real sender of Slack webhooks: Prometheus Alertmanager (Debian's
//! `prometheus-alertmanager`), its `slack_configs` receiver pointed at our
//! hook, fed an alert with `amtool`; the alert's title and text show up in
//! the room for a line client. Without `prometheus-alertmanager` and
//! `amtool` the test says why and passes, or fails under
//! `CHAT_TESTS_REQUIRE=1` (`.ci/run` installs them).

use std::process::Command;
use std::time::{Duration, Instant};

use chat_tests::{Proc, ServerProcess, TIMEOUT, TempDir, free_port, require_tool};

const TOKEN: &str = "alertmanager-0123456789";

#[test]
fn an_alert_from_alertmanager_reaches_the_room_with_its_title_and_text() {
    let (Some(alertmanager), Some(amtool)) = (
        require_tool("prometheus-alertmanager"),
        require_tool("amtool"),
    ) else {
        return;
    };
    let server = ServerProcess::builder()
        .config(&format!(
            "[[webhooks]]\nname = \"alerts\"\nroom = \"lobby\"\ntoken = \"{TOKEN}\"\n"
        ))
        .args(&[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "127.0.0.1:0,web",
            "--no-console",
        ])
        .start();
    let mut nc = server.join();

    let dir = TempDir::new("alertmanager");
    let hook = format!("http://{}/hooks/{TOKEN}", server.web_addr());
    let config = dir.write(
        "alertmanager.yml",
        &format!(
            r##"route:
  receiver: chat
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: chat
    slack_configs:
      - api_url: "{hook}"
        channel: "#lobby"
        title: '{{{{ .CommonLabels.alertname }}}} on {{{{ .CommonLabels.instance }}}}'
        text: '{{{{ range .Alerts }}}}{{{{ .Annotations.summary }}}}{{{{ end }}}}'
"##
        ),
    );
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(&alertmanager);
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // One instance alone: no gossip port to collide with others'.
        .arg("--cluster.listen-address=");
    let alertmanager = Proc::spawn(cmd);

    // amtool retries until Alertmanager listens.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let added = Command::new(&amtool)
            .args([
                "alert",
                "add",
                "InstanceDown",
                "instance=db1",
                "severity=page",
            ])
            .arg("--annotation=summary=db1 stopped answering")
            .arg(format!("--alertmanager.url={url}"))
            .output()
            .is_ok_and(|out| out.status.success());
        if added {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "amtool could not add the alert\n{}",
            alertmanager.report()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The title, linked to Alertmanager's page of it.
    nc.expect("the alert's title", |body| {
        body.starts_with("<alerts[hook]> InstanceDown on db1 (http")
    });
    nc.expect_body("<alerts[hook]> db1 stopped answering");
}
