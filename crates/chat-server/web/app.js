// The chat page's script: one WebSocket to /ws, one protocol line per
// message each way (PROTOCOL.md). The page is in several rooms at once,
// each with its own view and unread count; after a dropped connection it
// reconnects, joins its rooms again and catches up by message id as
// chat-client --reconnect does. Modules, each served by the server from
// this origin (the CSP allows no other script): lines.js reads lines,
// session.js follows the protocol and the catch-up, views.js draws,
// account.js logs in and keeps the login token.

import { Account } from "./account.js";
import { echoOf, isSecret, keyOf, parseLine, readNotice } from "./lines.js";
import { Session } from "./session.js";
import { Views } from "./views.js";

const INPUT_HISTORY_MAX = 200;

const $ = (id) => document.getElementById(id);
const input = $("line");
const statusLine = $("status");

const session = new Session();
const views = new Views({ open: openRoom, part: partRoom });
const account = new Account(send, () => session.nick);

// The server's answers to a tab clicked (`now talking in dev`): not shown,
// the highlighted tab says it. Counted per room, since clicks can be
// quicker than answers.
const quietJoins = new Map();
let quietWho = 0; // replies to our own /who: not shown in the log

function quiet(key) {
  quietJoins.set(key, (quietJoins.get(key) || 0) + 1);
}

function takeQuiet(key) {
  const count = quietJoins.get(key) || 0;
  if (count === 0) return false;
  if (count === 1) quietJoins.delete(key);
  else quietJoins.set(key, count - 1);
  return true;
}

/** A tab clicked: shown at once, and made the room plain lines go to. */
function openRoom(key) {
  if (key === views.shown) return;
  views.show(key);
  scheduleRead();
  input.focus();
  // While catching up the rooms are being joined in turn; the one shown
  // then is joined once that is done (see "caught-up").
  if (session.catchingUp()) return;
  if (send("/join " + views.nameOf(key))) {
    quiet(key);
    if (views.views.get(key).members === null) askWho();
  }
}

function partRoom(key) {
  send("/part " + views.nameOf(key));
  input.focus();
}

function askWho() {
  // In no room /who is refused: a count left waiting would hide the
  // answer to a /who typed later.
  if (session.current === null) return;
  if (send("/who")) quietWho += 1;
}

/** One step of what a server line means (session.js). */
function handle(step) {
  switch (step.kind) {
    case "show":
      showLine(step.room, step.line, step.fresh);
      break;
    case "joined": {
      const key = keyOf(step.room);
      views.add(step.room);
      if (!session.catchingUp() && !takeQuiet(key)) {
        views.show(key);
        askWho();
      }
      break;
    }
    case "left":
      quietJoins.delete(step.room);
      views.remove(step.room);
      break;
    case "talking": {
      const key = keyOf(step.room);
      if (takeQuiet(key)) break;
      views.show(key);
      showLine(key, step.line, false);
      if (views.views.has(key) && views.views.get(key).members === null) askWho();
      break;
    }
    case "already":
      if (!takeQuiet(keyOf(step.room))) showLine(null, step.line, false);
      break;
    case "caught-up":
      // A tab clicked while catching up: its room is the one to talk in.
      if (views.shown !== null && views.shown !== session.current && views.has(views.shown)) {
        if (send("/join " + views.nameOf(views.shown))) quiet(views.shown);
      }
      askWho();
      break;
  }
}

/** Shows a line in a room's view, following the members it names. */
function showLine(key, line, fresh) {
  const parsed = parseLine(line);
  const notice = parsed.kind === "notice" ? readNotice(parsed.text) : null;
  switch (notice && notice.what) {
    case "members":
      views.setMembers(keyOf(notice.room), notice.nicks);
      if (quietWho > 0) {
        quietWho -= 1;
        return;
      }
      break;
    case "joined":
      if (!session.isMe(notice.nick)) views.memberJoined(keyOf(notice.room), notice.nick);
      break;
    case "left":
      views.memberLeft(keyOf(notice.room), notice.nick);
      break;
    case "renamed":
      views.renamed(notice.nick, notice.to);
      break;
    case "unread":
      views.setUnread(keyOf(notice.room), notice.count);
      unreadRooms.add(keyOf(notice.room));
      scheduleRead();
      break;
    case "read":
      // Any device of the account read it (this one too): its badge goes,
      // and the notice is not shown (it comes every few seconds).
      views.setUnread(keyOf(notice.room), 0);
      return;
  }
  views.append(key, line, fresh);
  if (parsed.kind === "message" || parsed.kind === "action") {
    const target = key !== null && views.has(key) ? key : views.shown;
    if (target !== null) unreadRooms.add(target);
    scheduleRead();
  }
}

// --- Read markers: the room shown is read while the page is looked at -----

// A room's /read is sent this long after its lines come (so a burst is one
// /read), and at most once per READ_EVERY_MS per room.
const READ_DELAY_MS = 1000;
const READ_EVERY_MS = 2000;
const unreadRooms = new Set(); // keys of rooms with lines come since their last /read
const readTimers = new Map(); // key → the pending /read's timer
const readSent = new Map(); // key → when its last /read was sent

/** Whether someone is looking at the room shown: the page visible and focused. */
function looking() {
  return document.visibilityState === "visible" && document.hasFocus();
}

/**
 * Sends `/read ROOM` for the room shown if it has lines not marked read,
 * someone is looking and the page is logged in to an account (a guest has
 * no marker): debounced, at most once per READ_EVERY_MS per room.
 */
function scheduleRead() {
  const key = views.shown;
  if (key === null || !unreadRooms.has(key) || readTimers.has(key)) return;
  if (account.name === null || !looking()) return;
  const since = Date.now() - (readSent.get(key) || 0);
  const wait = Math.max(READ_DELAY_MS, READ_EVERY_MS - since);
  readTimers.set(
    key,
    setTimeout(() => {
      readTimers.delete(key);
      // Still shown and looked at, and still a room of ours.
      if (views.shown !== key || !views.has(key) || account.name === null || !looking()) return;
      if (send("/read " + views.nameOf(key))) {
        readSent.set(key, Date.now());
        unreadRooms.delete(key);
      }
    }, wait),
  );
}

window.addEventListener("focus", scheduleRead);
document.addEventListener("visibilitychange", scheduleRead);

// --- The connection ----------------------------------------------------------

let socket = null;
let connectedOnce = false;
let retryDelay = 1000;
let retryTimer = null;
let stopped = false;

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
  $("again").hidden = state !== "closed";
}

function send(line) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(line);
    return true;
  }
  return false;
}

function connect() {
  retryTimer = null;
  stopped = false;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(scheme + "//" + location.host + "/ws");
  setStatus(connectedOnce ? "reconnecting" : "connecting", connectedOnce ? "reconnecting…" : "connecting…");
  socket.addEventListener("open", () => {
    retryDelay = 1000;
    setStatus("connected", "connected");
    let lines;
    if (connectedOnce) {
      // Answers owed by the lost connection never come.
      quietJoins.clear();
      quietWho = 0;
      views.forgetMembers();
      lines = session.reconnected(views.shown);
    } else {
      lines = session.firstLines();
    }
    connectedOnce = true;
    // A held login token logs in first; the login brings the account's
    // nick, so the session's /nick (refused before the login) is not sent.
    const resume = account.resumeLine();
    if (resume !== null) {
      send(resume);
      lines = lines.filter((line) => !line.startsWith("/nick "));
    }
    for (const line of lines) send(line);
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const parsed = parseLine(event.data);
    if (parsed.kind === "notice" && account.onNotice(parsed.text)) return;
    const outcome = session.onLine(event.data);
    for (const step of outcome.steps) handle(step);
    for (const line of outcome.send) send(line);
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    // 1000: we quit or were sent away (a kick): stay away until asked.
    if (event.code === 1000 || stopped) {
      setStatus("closed", "disconnected");
      return;
    }
    const wait = retryDelay;
    retryDelay = Math.min(retryDelay * 2, 10000);
    setStatus("reconnecting", "connection lost; retrying in " + Math.round(wait / 1000) + " s");
    retryTimer = setTimeout(connect, wait);
  });
}

/** The server does not echo a sender's room line: the page shows it, in the room shown. */
function echo(typed) {
  if (session.nick === null || views.shown === null) return;
  const line = echoOf(typed, session.nick, new Date());
  if (line !== null) views.append(views.shown, line, false);
}

// --- Typing ------------------------------------------------------------------

const typed = [];
let browsing = typed.length; // where Up/Down is in `typed`
let draft = "";

$("say").addEventListener("submit", (event) => {
  event.preventDefault();
  const line = input.value;
  if (line === "") return;
  if (!send(line)) {
    setStatus(statusLine.dataset.state, "not connected: the line was kept");
    return;
  }
  if (/^\/quit\b/i.test(line)) stopped = true;
  echo(line);
  // A password typed as a command is not kept for Up to show again.
  if (!isSecret(line) && typed[typed.length - 1] !== line) typed.push(line);
  if (typed.length > INPUT_HISTORY_MAX) typed.shift();
  browsing = typed.length;
  draft = "";
  input.value = "";
});

input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowUp" && browsing > 0) {
    if (browsing === typed.length) draft = input.value;
    browsing -= 1;
    input.value = typed[browsing];
    event.preventDefault();
  } else if (event.key === "ArrowDown" && browsing < typed.length) {
    browsing += 1;
    input.value = browsing === typed.length ? draft : typed[browsing];
    event.preventDefault();
  }
});

// "+": the input, ready for the room's name (no prompt dialog: it works
// the same on a phone, and Up recalls it like any command).
$("add-room").addEventListener("click", () => {
  input.value = "/join ";
  input.focus();
});

$("again").addEventListener("click", () => {
  if (retryTimer !== null) clearTimeout(retryTimer);
  connect();
  input.focus();
});

connect();
