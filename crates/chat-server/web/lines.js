// Reading a server line (PROTOCOL.md, "Server to client") and writing the
// page's own echo of what it said. Pure functions: no DOM, no state.

/** Room names and nicks compare case-insensitively (PROTOCOL.md). */
export const keyOf = (name) => name.toLowerCase();

export const same = (a, b) => a !== null && b !== null && a !== undefined && b !== undefined && keyOf(a) === keyOf(b);

/** `[stamp] #ID rest` → { id, plain } with the id taken out. */
export function splitMessageId(line) {
  const m = /^(\[[^\]]*\] )#(\d+) (.*)$/s.exec(line);
  if (!m) return { id: null, plain: line };
  return { id: Number(m[2]), plain: m[1] + m[3] };
}

/**
 * `[stamp] #dev rest` → { room: "dev", plain: "[stamp] rest" }: a room line
 * from a room that is not the current one. A room name starts with a
 * letter and an id is digits, so this runs after splitMessageId.
 */
export function splitRoom(line) {
  const m = /^(\[[^\]]*\] )#([A-Za-z][^\s]*) (.*)$/s.exec(line);
  if (!m) return { room: null, plain: line };
  return { room: m[2], plain: m[1] + m[3] };
}

/** One line, without its id or room, read into its kind and parts. */
export function parseLine(line) {
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

/** Whether a parsed line is said in a room (live or replayed). */
export const isRoomLine = (parsed) => parsed.kind === "message" || parsed.kind === "action";

/**
 * A room line as it was said, whether it came live or as history: the
 * same line read twice gives the same key, so a replay without ids can be
 * matched against what was shown.
 */
export const sayingOf = (line) => line.replace(/^(\[[^\]]*\] )\(history\) /s, "$1");

/**
 * The notices the page follows, read into what they say about rooms and
 * nicks; null for any other notice.
 */
export function readNotice(text) {
  let m;
  if ((m = /^Welcome, ([^!\s]+)!/.exec(text))) return { what: "welcome", nick: m[1] };
  if ((m = /^(\S+) is now known as (\S+)$/.exec(text))) return { what: "renamed", nick: m[1], to: m[2] };
  if ((m = /^(\S+) joined (\S+)$/.exec(text))) return { what: "joined", nick: m[1], room: m[2] };
  if ((m = /^(\S+) left (\S+)/.exec(text))) return { what: "left", nick: m[1], room: m[2] };
  if ((m = /^now talking in (\S+)$/.exec(text))) return { what: "talking", room: m[1] };
  if ((m = /^topic of (\S+): /.exec(text))) return { what: "topic", room: m[1] };
  if ((m = /^members of (\S+) \(\d+\): (.*)$/.exec(text))) {
    return { what: "members", room: m[1], nicks: m[2].split(" ").filter((n) => n && n !== "...") };
  }
  if ((m = /^error: you are already in (\S+)$/.exec(text))) return { what: "already", room: m[1] };
  // Read markers (an account's): how much of a room it has not read, on
  // joining; and where its marker now is, when any of its devices read.
  if ((m = /^(\d+) unread in (\S+) since #\d+$/.exec(text))) return { what: "unread", room: m[2], count: Number(m[1]) };
  if ((m = /^read (\S+) through #\d+$/.exec(text))) return { what: "read", room: m[1] };
  return null;
}

// --- The page's echo: the server does not send a sender's own room line
// back (nc's terminal shows what was typed); the page shows it as the room
// sees it, stamped like the server's ctime stamps.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function ctime(date) {
  const two = (n) => String(n).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, " ");
  const time = two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  return DAYS[date.getDay()] + " " + MONTHS[date.getMonth()] + " " + day + " " + time + " " + date.getFullYear();
}

/** What the room sees of a typed line, or null when it says nothing in a room. */
export function echoOf(typed, nick, date) {
  let m;
  if (!typed.startsWith("/")) return "[" + ctime(date) + "] <" + nick + "> " + typed;
  if (typed.startsWith("//")) return "[" + ctime(date) + "] <" + nick + "> " + typed.slice(1);
  if ((m = /^\/me (.*)$/is.exec(typed))) return "[" + ctime(date) + "] * " + nick + " " + m[1];
  return null;
}

/**
 * Whether a typed line may hold a password or a login token, as
 * chat_proto::is_secret_command tells: it is kept out of the input history.
 */
export function isSecret(typed) {
  const m = /^\s*\/(\S*)/.exec(typed);
  return m !== null && ["pass", "oper", "register", "login", "password", "resume", "account"].includes(m[1].toLowerCase());
}
