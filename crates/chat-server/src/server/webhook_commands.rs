//! The operators' `/webhook create ROOM NAME`, `/webhook list` and
//! `/webhook delete NAME`, at the console or from a client logged in with
//! `/oper` (the hub hands those over: `Outbox::webhook`): the server's,
//! like `/reload` (the hub knows no hooks). A created hook's URL, with its
//! token, is shown once, to the operator who asked (on the console's
//! stdout, or to that client), never in the log; it lasts until the server
//! stops (server.toml's `[[webhooks]]` keeps one for good).

use chat_hub::Outbox;
use chat_net::Net;

use super::Server;
use crate::web::WebListeners;

impl Server {
    /// `line` is a `/webhook` command: carried out, and answered on the
    /// console. Returns false for any other line.
    pub(super) fn webhook_command(&mut self, net: &mut Net, line: &str) -> bool {
        let Some(args) = line.trim().strip_prefix("/webhook") else {
            return false;
        };
        if !(args.is_empty() || args.starts_with(' ')) {
            return false;
        }
        let answer = webhook_answer(self.web.as_mut(), args, self.console_on_stdout);
        let (_, mut out) = self.parts(net);
        for line in answer.lines() {
            out.console(line);
        }
        true
    }
}

/// `/webhook ARGS` carried out on `web`'s hooks, and its answer; a new
/// hook's URL only where `private` (the answer goes to the operator alone,
/// not to a log).
pub(super) fn webhook_answer(web: Option<&mut WebListeners>, args: &str, private: bool) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    let Some(web) = web else {
        return "webhooks are served by the web listeners, and there is none".to_owned();
    };
    match words.as_slice() {
        ["create", _, _] if !private => {
            "the console writes to the log, where a webhook's URL must not go: add it to server.toml's [[webhooks]] instead".to_owned()
        }
        ["create", room, name] => match web.hooks.create(room, name) {
            Ok(token) => {
                let addr = web.first_address();
                format!(
                    "webhook {name} posts in {room}: POST http://{addr}{}{token} (shown this once; it lasts until the server stops: add it to server.toml's [[webhooks]] to keep it)",
                    crate::web::HOOKS_PATH
                )
            }
            Err(why) => format!("webhook not created: {why}"),
        },
        ["list"] => {
            let hooks = web.hooks.list();
            let mut text = format!("{} webhooks", hooks.len());
            for (name, room, created) in hooks {
                let from = if created { "created here" } else { "server.toml" };
                text.push_str(&format!("\n  {name} -> {room} ({from})"));
            }
            text
        }
        ["delete", name] => match web.hooks.delete(name) {
            true => format!("webhook {name} deleted (one from server.toml returns with a reload)"),
            false => format!("no webhook called {name}"),
        },
        _ => "usage: /webhook create ROOM NAME | /webhook list | /webhook delete NAME"
            .to_owned(),
    }
}
