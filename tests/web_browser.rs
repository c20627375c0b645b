//! The chat page in a real browser: headless Chromium (Debian's
//! `chromium`) driven by playwright-core through `tests/web/browser.mjs`.
//! A line typed in the page reaches an `nc`-style TCP client and back;
//! markup from another user shows as text and runs nothing; input is kept
//! while lines arrive and Up recalls what was sent; after the server
//! restarts the page reconnects and shows every line exactly once. In
//! several rooms the page keeps a view and an unread count per room, and
//! after a restart joins them all again, each line still shown once. Its
//! account form registers and logs in, and a reload or a dropped WebSocket
//! logs in again with the login token the tab keeps (never the password).
//! Logged in, the page reads the room it shows (`/read`): another page of
//! the account sees that room's badge clear, and after a reload the
//! server's unread count is the badge.
//! Screenshots of a conversation are saved in the test output directory.

use std::path::PathBuf;
use std::process::Command;

use chat_tests::{Client, Proc, Proxy, ServerProcess, free_port, missing, require_tool};

/// The driver script, or `None` (skipped, or failed under
/// `CHAT_TESTS_REQUIRE=1`) when chromium, node or playwright-core is
/// missing (`.ci/run` installs all three).
fn driver() -> Option<PathBuf> {
    require_tool("chromium")?;
    require_tool("node")?;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    if !dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing(
            "playwright-core",
            "tests/web/node_modules has no playwright-core (npm ci --prefix tests/web)",
        );
        return None;
    }
    Some(dir.join("browser.mjs"))
}

/// A browser on the page at `addr`, connected.
fn browser(script: &PathBuf, addr: std::net::SocketAddr) -> Proc {
    let mut cmd = Command::new("node");
    cmd.arg(script);
    let mut proc = Proc::spawn(cmd);
    proc.write_line(&format!("open http://{addr}/"));
    proc.expect_stdout("opened");
    proc
}

/// Sends a driver command and waits for the answer starting with `answer`.
fn ask(page: &mut Proc, command: &str, answer: &str) -> String {
    page.write_line(command);
    let line = page.expect_stdout(answer);
    assert!(line.starts_with(answer), "{command}: {line}");
    line
}

/// The tab's sessionStorage once it holds a login token: the page asks
/// for one after its login is answered, and the account thread (at the
/// lowest priority) may answer late on a busy machine.
fn stored_token(page: &mut Proc) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let stored = ask(page, "stored", "stored");
        if stored.contains("\"token\"") || std::time::Instant::now() > deadline {
            return stored;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A server with a line listener and a web listener on a fixed free port
/// (so a restarted server is where the page reconnects).
fn server() -> ServerProcess {
    let web = format!("127.0.0.1:{},web", free_port());
    ServerProcess::builder()
        .args(&["--listen", "127.0.0.1:0", "--listen", &web])
        .start()
}

#[test]
#[allow(clippy::print_stderr, reason = "says where the screenshot is")]
fn web_browser_chats_with_nc_and_shows_markup_as_text() {
    let Some(script) = driver() else { return };
    let server = server();
    let mut page = browser(&script, server.web_addr());
    page.write_line("type /nick webber");
    ask(&mut page, "expect is now known as webber", "seen");
    let mut nc = Client::join(server.plain_addr());
    nc.set_nick("ncuser");
    nc.send_line("/nick ncuser");
    ask(&mut page, "expect is now known as ncuser", "seen");
    // The page to nc, and nc to the page.
    page.write_line("type hello from chromium");
    nc.expect_contains("<webber> hello from chromium");
    ask(&mut page, "expect <webber> hello from chromium", "seen");
    nc.send_line("hello from nc");
    ask(&mut page, "expect <ncuser> hello from nc", "seen");
    // Markup from another user is text: shown literally, nothing runs.
    nc.send_line("<script>window.pwned = 1</script>");
    nc.send_line("<img src=x onerror=\"window.pwned = 2\"> <b>bold?</b>");
    ask(
        &mut page,
        "expect <script>window.pwned = 1</script>",
        "seen",
    );
    ask(&mut page, "expect <img src=x onerror", "seen");
    ask(&mut page, "pwned", "pwned undefined");
    ask(&mut page, "elements img", "elements 0");
    ask(&mut page, "elements b", "elements 0");
    // What is typed stays while lines arrive; Up recalls what was sent.
    page.write_line("fill half a tho");
    nc.send_line("an interruption");
    ask(&mut page, "expect an interruption", "seen");
    ask(&mut page, "input", "input half a tho");
    page.write_line("fill ");
    page.write_line("key ArrowUp");
    ask(&mut page, "input", "input hello from chromium");
    page.write_line("fill ");
    // The member list comes from /who; /commands work as typed.
    page.write_line("type /me waves");
    nc.expect_contains("* webber waves");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web.png");
    ask(
        &mut page,
        &format!("screenshot {}", shot.display()),
        "saved",
    );
    eprintln!("screenshot of the page: {}", shot.display());
}

#[test]
fn web_browser_reconnects_after_a_restart_and_misses_and_repeats_nothing() {
    let Some(script) = driver() else { return };
    let mut server = server();
    let mut page = browser(&script, server.web_addr());
    let mut nc = Client::join(server.plain_addr());
    nc.send_line("before the restart");
    ask(&mut page, "expect before the restart", "seen");
    server.stop();
    ask(&mut page, "status reconnecting", "status reconnecting");
    server.restart();
    let mut nc = Client::join(server.plain_addr());
    nc.send_line("after the restart");
    ask(&mut page, "status connected", "status connected");
    ask(&mut page, "expect after the restart", "seen");
    // Caught up with message ids: each line once, none missing.
    nc.send_line("and one more");
    ask(&mut page, "expect and one more", "seen");
    ask(&mut page, "count before the restart", "count 1");
    ask(&mut page, "count after the restart", "count 1");
}

/// The page as `webber`, in `lobby` and `dev`, showing `dev`; `ncuser`, an
/// nc-style client, in both too.
fn in_two_rooms(script: &PathBuf, server: &ServerProcess) -> (Proc, Client) {
    let mut page = browser(script, server.web_addr());
    page.write_line("type /nick webber");
    ask(&mut page, "expect is now known as webber", "seen");
    page.write_line("type /join dev");
    ask(&mut page, "room dev", "room dev");
    ask(&mut page, "rooms", "rooms lobby dev*");
    let mut nc = Client::join(server.plain_addr());
    nc.set_nick("ncuser");
    nc.send_line("/nick ncuser");
    nc.expect_contains("is now known as ncuser");
    nc.send_line("/join dev");
    nc.expect_contains("ncuser joined dev");
    ask(&mut page, "expect ncuser joined dev", "seen");
    (page, nc)
}

#[test]
#[allow(clippy::print_stderr, reason = "says where the screenshot is")]
fn web_browser_counts_unread_lines_per_room_and_shows_each_rooms_own() {
    let Some(script) = driver() else { return };
    let server = server();
    let (mut page, mut nc) = in_two_rooms(&script, &server);
    // Back to lobby by its tab: dev's lines wait there, counted.
    page.write_line("click-room lobby");
    ask(&mut page, "room lobby", "room lobby");
    ask(&mut page, "rooms", "rooms lobby* dev");
    nc.send_line("<b>bold?</b> <img src=x onerror=\"window.pwned = 1\"> in dev");
    ask(&mut page, "badge dev 1", "badge dev 1");
    ask(&mut page, "badge lobby 0", "badge lobby 0");
    ask(&mut page, "count in dev", "count 0");
    let unread = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-rooms-unread.png");
    ask(
        &mut page,
        &format!("screenshot {}", unread.display()),
        "saved",
    );
    eprintln!("screenshot of dev's unread badge: {}", unread.display());
    // Opening dev shows its line, as text, and clears its count.
    page.write_line("click-room dev");
    ask(&mut page, "room dev", "room dev");
    ask(
        &mut page,
        "expect <ncuser> <b>bold?</b> <img src=x onerror=\"window.pwned = 1\"> in dev",
        "seen",
    );
    ask(&mut page, "badge dev 0", "badge dev 0");
    ask(&mut page, "elements b", "elements 0");
    ask(&mut page, "elements img", "elements 0");
    ask(&mut page, "pwned", "pwned undefined");
    // The page talks in the room it shows.
    page.write_line("type back in dev");
    nc.expect_contains("<webber> back in dev");
    ask(&mut page, "count back in dev", "count 1");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-rooms.png");
    ask(
        &mut page,
        &format!("screenshot {}", shot.display()),
        "saved",
    );
    eprintln!("screenshot of the page in two rooms: {}", shot.display());
    // Its × leaves dev: the server moves the page to lobby, dev's tab goes.
    page.write_line("part-room dev");
    ask(&mut page, "room lobby", "room lobby");
    ask(&mut page, "rooms", "rooms lobby*");
    nc.expect_contains("webber left dev");
}

#[test]
fn web_browser_rejoins_its_rooms_after_a_restart_and_repeats_nothing() {
    let Some(script) = driver() else { return };
    let mut server = server();
    let (mut page, mut nc) = in_two_rooms(&script, &server);
    nc.send_line("dev before the restart");
    ask(&mut page, "expect dev before the restart", "seen");
    server.stop();
    ask(&mut page, "status reconnecting", "status reconnecting");
    server.restart();
    // Said while the page is away: in dev (shown) and lobby (not shown).
    let mut nc = Client::join(server.plain_addr());
    nc.send_line("lobby while away");
    nc.send_line("/join dev");
    nc.expect_contains(" joined dev");
    nc.send_line("dev while away");
    ask(&mut page, "status connected", "status connected");
    ask(&mut page, "room dev", "room dev");
    ask(&mut page, "expect dev while away", "seen");
    ask(&mut page, "rooms", "rooms lobby dev*");
    ask(&mut page, "badge lobby 1", "badge lobby 1");
    // Back in dev: plain lines go there, and lines come in live.
    page.write_line("type dev after the restart");
    nc.expect_contains("<webber> dev after the restart");
    nc.send_line("and one more");
    ask(&mut page, "expect and one more", "seen");
    ask(&mut page, "count dev before the restart", "count 1");
    ask(&mut page, "count dev while away", "count 1");
    page.write_line("click-room lobby");
    ask(&mut page, "room lobby", "room lobby");
    ask(&mut page, "expect lobby while away", "seen");
    ask(&mut page, "count lobby while away", "count 1");
    ask(&mut page, "badge lobby 0", "badge lobby 0");
}

#[test]
#[allow(clippy::print_stderr, reason = "says where the screenshot is")]
fn web_browser_registers_and_a_reload_or_a_drop_logs_in_again_with_its_token() {
    let Some(script) = driver() else { return };
    let mut server = server();
    // Through a proxy of the test's own, to drop the page's WebSocket.
    let proxy = Proxy::start(server.web_addr());
    let mut page = browser(&script, proxy.addr());
    ask(&mut page, "who -", "who -");
    let form = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-account-form.png");
    ask(
        &mut page,
        &format!("screenshot {}", form.display()),
        "saved",
    );
    eprintln!("screenshot of the account form: {}", form.display());
    page.write_line("register alice correct-horse-battery");
    ask(&mut page, "who alice", "who alice");
    ask(&mut page, "expect you are logged in as alice", "seen");
    // The tab keeps a token, never the password; the token is not shown.
    let stored = stored_token(&mut page);
    assert!(stored.contains("\"name\":\"alice\""), "{stored}");
    assert!(stored.contains("\"token\""), "{stored}");
    assert!(!stored.contains("correct-horse"), "{stored}");
    ask(&mut page, "count login token", "count 0");
    let token = stored
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(token.len(), 64, "{stored}");
    // A reload (a new WebSocket, the tab's storage kept) logs in again by
    // the token: alice, not a guest, with no password typed.
    let mut nc = Client::join(server.plain_addr());
    ask(&mut page, "reload", "reloaded");
    ask(&mut page, "who alice", "who alice");
    ask(&mut page, "expect you are logged in as alice", "seen");
    nc.expect_contains("is now known as alice");
    page.write_line("type back as alice");
    nc.expect_contains("<alice> back as alice");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-account.png");
    ask(
        &mut page,
        &format!("screenshot {}", shot.display()),
        "saved",
    );
    eprintln!("screenshot of the page logged in again: {}", shot.display());
    // A dropped WebSocket: the page reconnects and logs in by its token
    // (it holds no password to log in with).
    proxy.cut();
    ask(&mut page, "status reconnecting", "status reconnecting");
    proxy.heal();
    ask(&mut page, "status connected", "status connected");
    ask(&mut page, "who alice", "who alice");
    nc.expect_contains("alice left lobby");
    nc.expect_contains("is now known as alice");
    page.write_line("type back again");
    nc.expect_contains("<alice> back again");
    // Log out: the token is gone from the tab (and revoked on the server).
    page.write_line("logout");
    ask(&mut page, "who -", "who -");
    ask(&mut page, "expect you are logged out", "seen");
    assert_eq!(ask(&mut page, "stored", "stored"), "stored nothing");
    // Log in with the form; a restart forgets every token (they live in
    // memory only): the page comes back as a guest, the form shown.
    page.write_line("login alice correct-horse-battery");
    ask(&mut page, "who alice", "who alice");
    // Neither the password nor the token is ever written down.
    let log = server.report();
    assert!(
        !log.contains("correct-horse") && !log.contains(&token),
        "{log}"
    );
    server.stop();
    ask(&mut page, "status reconnecting", "status reconnecting");
    server.restart();
    ask(&mut page, "status connected", "status connected");
    ask(&mut page, "who -", "who -");
    assert_eq!(ask(&mut page, "stored", "stored"), "stored nothing");
}

#[test]
fn web_browser_reading_on_one_page_clears_the_badge_on_another_and_a_reload_counts_from_the_server()
{
    let Some(script) = driver() else { return };
    let server = server();
    let mut laptop = browser(&script, server.web_addr());
    laptop.write_line("register alice correct-horse-battery");
    ask(&mut laptop, "who alice", "who alice");
    ask(&mut laptop, "focus on", "focus on");
    laptop.write_line("type /join dev");
    ask(&mut laptop, "room dev", "room dev");
    let mut phone = browser(&script, server.web_addr());
    phone.write_line("login alice correct-horse-battery");
    ask(&mut phone, "who alice", "who alice");
    // The phone is not looked at, and shows lobby: dev's lines are unread.
    ask(&mut phone, "focus off", "focus off");
    phone.write_line("type /join dev");
    ask(&mut phone, "room dev", "room dev");
    phone.write_line("click-room lobby");
    ask(&mut phone, "room lobby", "room lobby");
    let mut carol = Client::join(server.plain_addr());
    carol.send_line("/join dev");
    carol.expect_contains(" joined dev");
    carol.send_line("one");
    carol.send_line("two");
    ask(&mut laptop, "expect two", "seen");
    // The laptop shows dev and is looked at: it reads dev, and the phone's
    // badge for dev (two lines, counted as they came) clears.
    ask(&mut phone, "badge dev 0", "badge dev 0");
    ask(&mut laptop, "count read dev through", "count 0");
    // The laptop goes; three lines come while nobody reads.
    laptop.write_line("type /quit");
    ask(&mut laptop, "status closed", "status closed");
    for text in ["three", "four", "five"] {
        carol.send_line(text);
    }
    carol.sync();
    // Reloaded, the phone knows nothing of dev: the server says how much
    // of it the account has not read.
    ask(&mut phone, "reload", "reloaded");
    ask(&mut phone, "who alice", "who alice");
    ask(&mut phone, "focus off", "focus off");
    phone.write_line("type /join dev");
    ask(&mut phone, "expect 3 unread in dev since #", "seen");
    ask(&mut phone, "badge dev 3", "badge dev 3");
    ask(&mut phone, "expect five", "seen");
    // Looked at, it reads dev: the badge clears.
    ask(&mut phone, "focus on", "focus on");
    ask(&mut phone, "badge dev 0", "badge dev 0");
    // What it read stays read: a second reload has nothing unread in dev.
    ask(&mut phone, "reload", "reloaded");
    ask(&mut phone, "who alice", "who alice");
    ask(&mut phone, "focus off", "focus off");
    phone.write_line("type /join dev");
    ask(&mut phone, "room dev", "room dev");
    // The join replays nothing read; /history is answered after it.
    phone.write_line("type /history 1");
    ask(&mut phone, "expect five", "seen");
    ask(&mut phone, "count unread in dev", "count 0");
}
