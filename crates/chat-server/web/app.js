// The chat page's script: one WebSocket to /ws, one protocol line per
// message each way (PROTOCOL.md). Every user's text goes into the page
// with textContent, never as HTML. After a dropped connection it
// reconnects and catches up with message ids exactly as chat-client
// --reconnect does (crates/chat-client/src/catchup.rs, ported below).
"use strict";

const ASK_IDS = "/cap ids";
const HELD_MAX = 10000;
const NICK_COLOURS = 12;
const INPUT_HISTORY_MAX = 200;

const $ = (id) => document.getElementById(id);
const log = $("log");
const input = $("line");
const statusLine = $("status");

// --- Reading a line (PROTOCOL.md, "Server to client") ----------------------

/** `[stamp] #ID rest` → { id, plain } with the id taken out. */
function splitMessageId(line) {
  const m = /^(\[[^\]]*\] )#(\d+) (.*)$/s.exec(line);
  if (!m) return { id: null, plain: line };
  return { id: Number(m[2]), plain: m[1] + m[3] };
}

/** One line, without its id, read into its kind and parts. */
function parseLine(line) {
  const m = /^\[([^\]]*)\] (.*)$/s.exec(line);
  if (!m) return { kind: "other", text: line };
  const stamp = m[1];
  let body = m[2];
  let history = false;
  if (body.startsWith("(history) ")) {
    history = true;
    body = body.slice("(history) ".length);
  }
  let r;
  if ((r = /^<([^<>\s]+)> ?(.*)$/s.exec(body))) {
    return { kind: "message", stamp, history, nick: r[1], text: r[2] };
  }
  if ((r = /^\* (\S+) ?(.*)$/s.exec(body))) {
    return { kind: "action", stamp, history, nick: r[1], text: r[2] };
  }
  if ((r = /^-!- (.*)$/s.exec(body))) return { kind: "notice", stamp, text: r[1] };
  if ((r = /^-> \*(\S+)\* ?(.*)$/s.exec(body))) {
    return { kind: "private-sent", stamp, nick: r[1], text: r[2] };
  }
  if ((r = /^\*(\S+)\* ?(.*)$/s.exec(body))) {
    return { kind: "private", stamp, nick: r[1], text: r[2] };
  }
  if ((r = /^-(\S+)- ?(.*)$/s.exec(body))) return { kind: "operator", stamp, nick: r[1], text: r[2] };
  return { kind: "other", stamp, text: body };
}

// --- Catching up after a reconnect (a port of catchup.rs) ------------------

const catchup = {
  nick: null,
  room: null,
  ids: null, // true: the server numbers room lines; false: it cannot
  lastId: null, // the newest room line shown
  phase: "live", // "live" | "rejoining" | "paging"
  markers: 0, // while rejoining: /cap ids replies still to come
  more: null, // /history since ID the last page asked for
  held: [], // room lines said while catching up: [id, line]

  firstLines() {
    return [ASK_IDS];
  },

  reconnected() {
    const lines = [ASK_IDS];
    if (this.nick) lines.push("/nick " + this.nick);
    if (this.room) lines.push("/join " + this.room);
    this.held = [];
    this.more = null;
    if (this.lastId !== null && this.ids !== false) {
      lines.push(ASK_IDS, "/history since " + this.lastId, ASK_IDS);
      this.phase = "rejoining";
      this.markers = 2;
    } else {
      this.phase = "live";
    }
    return lines;
  },

  /** One line from the server → { show: [line], send: [line] }. */
  onLine(line) {
    const out = { show: [], send: [] };
    const { id, plain } = splitMessageId(line);
    const parsed = parseLine(plain);
    const newer = (id) => this.lastId === null || id > this.lastId;
    if (parsed.kind === "notice") {
      if (this.onNotice(parsed.text, out)) out.show.push(plain);
    } else if ((parsed.kind === "message" || parsed.kind === "action") && parsed.history) {
      if (this.phase === "rejoining") {
        // The history sent on rejoining: dropped (what /history since sends replaces it).
      } else if (this.phase === "paging" && id !== null) {
        if (newer(id)) {
          this.lastId = id;
          // Our own lines were shown as we sent them (the server does not
          // echo a sender's line).
          if (!this.isMe(parsed.nick)) out.show.push(plain);
        }
      } else {
        out.show.push(plain);
      }
    } else if (parsed.kind === "message" || parsed.kind === "action") {
      if (id !== null && this.phase !== "live" && this.held.length < HELD_MAX) {
        this.held.push([id, plain]);
      } else if (id !== null) {
        if (newer(id)) {
          this.lastId = id;
          out.show.push(plain);
        }
      } else {
        out.show.push(plain);
      }
    } else {
      out.show.push(plain);
    }
    return out;
  },

  isMe(nick) {
    return this.nick !== null && nick !== undefined && this.nick.toLowerCase() === nick.toLowerCase();
  },

  /** Learns from a notice; false: it is the catch-up's own, not shown. */
  onNotice(text, out) {
    const me = (nick, mine) => mine !== null && mine.toLowerCase() === nick.toLowerCase();
    let m;
    if ((m = /^Welcome, ([^!\s]+)!/.exec(text))) {
      this.nick = m[1];
    } else if ((m = /^(\S+) is now known as (\S+)$/.exec(text)) && me(m[1], this.nick)) {
      this.nick = m[2];
    } else if ((m = /^(\S+) joined (\S+)$/.exec(text)) && me(m[1], this.nick)) {
      this.room = m[2];
    } else if (text.startsWith("capability ids on")) {
      this.ids = true;
      this.marker(out);
      return false;
    } else if (text.startsWith("error: message ids")) {
      const first = this.ids === null;
      this.ids = false;
      this.phase = "live";
      return first;
    } else if (this.phase === "paging" && text.startsWith("more: /history since ")) {
      const more = Number(text.slice("more: /history since ".length).trim());
      this.more = Number.isFinite(more) ? more : null;
      return false;
    }
    return true;
  },

  /** A reply to /cap ids: the next step of a catch-up. */
  marker(out) {
    if (this.phase === "rejoining") {
      this.markers -= 1;
      if (this.markers <= 0) this.phase = "paging";
    } else if (this.phase === "paging") {
      if (this.more !== null) {
        out.send.push("/history since " + this.more, ASK_IDS);
        this.more = null;
      } else {
        this.phase = "live";
      }
    }
    if (this.phase === "live") {
      for (const [id, line] of this.held) {
        if (this.lastId === null || id > this.lastId) {
          this.lastId = id;
          out.show.push(line);
        }
      }
      this.held = [];
    }
  },
};

// --- Showing lines: text only, never HTML ----------------------------------

function colourOf(nick) {
  let hash = 0;
  for (const ch of nick.toLowerCase()) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return "c" + (hash % NICK_COLOURS);
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

function show(line) {
  const parsed = parseLine(line);
  const row = document.createElement("div");
  row.className = "line " + parsed.kind + (parsed.history ? " history" : "");
  if (parsed.stamp) row.append(span("stamp", parsed.stamp));
  switch (parsed.kind) {
    case "message":
      row.append(span("nick " + colourOf(parsed.nick), "<" + parsed.nick + ">"), " ");
      break;
    case "action":
      row.append("* ", span("nick " + colourOf(parsed.nick), parsed.nick), " ");
      break;
    case "private":
      row.append(span("nick " + colourOf(parsed.nick), "*" + parsed.nick + "*"), " ");
      break;
    case "private-sent":
      row.append("→ ", span("nick " + colourOf(parsed.nick), "*" + parsed.nick + "*"), " ");
      break;
    case "operator":
      row.append(span("nick", "-" + parsed.nick + "-"), " ");
      break;
    case "notice":
      if (parsed.text.startsWith("error: ")) row.classList.add("error");
      row.append("-!- ");
      break;
  }
  row.append(span("text", parsed.text));
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(row);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// --- The member list (from /who, kept up by join, leave and nick notices) ---

const members = new Set();
let quietWho = 0; // replies to our own /who: not shown in the log

function drawMembers() {
  const list = $("members");
  list.replaceChildren(
    ...[...members].sort((a, b) => a.localeCompare(b)).map((nick) => {
      const li = document.createElement("li");
      li.append(span("nick " + colourOf(nick), nick));
      return li;
    }),
  );
  $("count").textContent = "(" + members.size + ")";
}

/** Follows the room's membership; false: the line is not to be shown. */
function trackMembers(line) {
  const parsed = parseLine(line);
  if (parsed.kind !== "notice") return true;
  let m;
  if ((m = /^members of (\S+) \(\d+\): (.*)$/.exec(parsed.text))) {
    if (catchup.room === null || m[1].toLowerCase() === catchup.room.toLowerCase()) {
      members.clear();
      for (const nick of m[2].split(" ")) if (nick && nick !== "...") members.add(nick);
      drawMembers();
    }
    if (quietWho > 0) {
      quietWho -= 1;
      return false;
    }
  } else if ((m = /^(\S+) joined (\S+)$/.exec(parsed.text))) {
    if (catchup.nick !== null && m[1].toLowerCase() === catchup.nick.toLowerCase()) {
      $("room").textContent = "#" + m[2];
      document.title = m[2] + " · chat";
      askWho();
    } else {
      members.add(m[1]);
      drawMembers();
    }
  } else if ((m = /^(\S+) left (\S+)/.exec(parsed.text))) {
    members.delete(m[1]);
    drawMembers();
  } else if ((m = /^(\S+) is now known as (\S+)$/.exec(parsed.text))) {
    if (members.delete(m[1])) members.add(m[2]);
    drawMembers();
  }
  return true;
}

function askWho() {
  quietWho += 1;
  send("/who");
}

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
    const lines = connectedOnce ? catchup.reconnected() : catchup.firstLines();
    connectedOnce = true;
    for (const line of lines) send(line);
  });
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    const outcome = catchup.onLine(event.data);
    for (const line of outcome.show) if (trackMembers(line)) show(line);
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

// The server does not send a sender's own room line back (nc's terminal
// shows what was typed); the page shows it as the room sees it.
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function ctime(date) {
  const two = (n) => String(n).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, " ");
  const time = two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  return DAYS[date.getDay()] + " " + MONTHS[date.getMonth()] + " " + day + " " + time + " " + date.getFullYear();
}

function echo(line) {
  if (catchup.nick === null || catchup.room === null) return;
  let m;
  if (!line.startsWith("/")) {
    show("[" + ctime(new Date()) + "] <" + catchup.nick + "> " + line);
  } else if ((m = /^\/me (.*)$/s.exec(line))) {
    show("[" + ctime(new Date()) + "] * " + catchup.nick + " " + m[1]);
  }
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
  if (typed[typed.length - 1] !== line) typed.push(line);
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

$("again").addEventListener("click", () => {
  if (retryTimer !== null) clearTimeout(retryTimer);
  connect();
  input.focus();
});

connect();
