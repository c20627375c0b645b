// What the page shows: a view per joined room (its lines, its members, its
// unread count), the room tabs, and the log, which holds the lines of the
// room shown. Every user's text goes in with textContent, never as HTML.

import { keyOf, parseLine } from "./lines.js";

const NICK_COLOURS = 12;
// Lines a room keeps, at most: the oldest go, so a busy room left open for
// days does not grow without bound.
const ROWS_MAX = 2000;
const BADGE_MAX = 99;

const $ = (id) => document.getElementById(id);

export function colourOf(nick) {
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

/** One line as a row of the log. */
export function render(line) {
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
  return row;
}

/** A room's lines, members and unread count; its tab in the strip. */
class View {
  constructor(name) {
    this.name = name;
    this.rows = [];
    this.unread = 0;
    this.members = null; // a Set once /who has answered for this room
    this.scroll = null; // where the log was scrolled when left; null: the bottom
    this.tab = null;
  }
}

export class Views {
  /** `open(key)` and `part(key)`: what clicking a tab or its × asks. */
  constructor({ open, part }) {
    this.log = $("log");
    this.tabs = $("room-tabs");
    this.views = new Map(); // key → View, in the order joined
    // Lines while in no room (the welcome comes before the first join, a
    // /part's notice before the next room is shown): carried into the next
    // room shown.
    this.none = new View(null);
    this.shown = null; // the key of the room shown
    this.open = open;
    this.part = part;
  }

  has(key) {
    return this.views.has(key);
  }

  nameOf(key) {
    const view = this.views.get(key);
    return view ? view.name : null;
  }

  /** Adds a room's tab, if it has none. */
  add(name) {
    const key = keyOf(name);
    if (this.views.has(key)) return;
    const view = new View(name);
    const li = document.createElement("li");
    li.className = "room";
    li.dataset.room = key;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.setAttribute("role", "tab");
    open.append(span("name", name), span("badge", ""));
    open.addEventListener("click", () => this.open(key));
    const part = document.createElement("button");
    part.type = "button";
    part.className = "part";
    part.textContent = "×";
    part.title = "leave " + name;
    part.setAttribute("aria-label", "leave " + name);
    part.addEventListener("click", () => this.part(key));
    li.append(open, part);
    view.tab = li;
    this.views.set(key, view);
    this.tabs.append(li);
    this.drawBadge(view);
  }

  /** Removes a room left; if it was shown, the log shows no room until the next. */
  remove(key) {
    const view = this.views.get(key);
    if (!view) return;
    view.tab.remove();
    this.views.delete(key);
    if (this.shown === key) this.show(null);
  }

  viewOf(key) {
    return key === null ? this.none : this.views.get(key);
  }

  /** Shows a room's lines (null: no room), clearing its unread count. */
  show(key) {
    const old = this.viewOf(this.shown);
    if (old) old.scroll = this.atBottom() ? null : this.log.scrollTop;
    if (key !== null && !this.views.has(key)) key = null;
    this.shown = key;
    const view = this.viewOf(key) || this.none;
    if (view !== this.none && this.none.rows.length > 0) {
      for (const row of this.none.rows) this.keep(view, row);
      this.none.rows = [];
    }
    this.log.replaceChildren(...view.rows);
    this.log.scrollTop = view.scroll === null ? this.log.scrollHeight : view.scroll;
    view.unread = 0;
    for (const other of this.views.values()) {
      const selected = other === view;
      other.tab.classList.toggle("selected", selected);
      other.tab.firstChild.setAttribute("aria-selected", String(selected));
      this.drawBadge(other);
    }
    $("room").textContent = key === null ? "chat" : "#" + view.name;
    document.title = key === null ? "chat" : view.name + " · chat";
    this.drawMembers();
  }

  atBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
  }

  keep(view, row) {
    view.rows.push(row);
    if (view.rows.length > ROWS_MAX) {
      const gone = view.rows.shift();
      if (gone.isConnected) gone.remove();
    }
  }

  /**
   * Adds a line to a room's view (null, or a room without one: the view
   * shown). A room line that is news, in a room not shown, counts as unread.
   */
  append(key, line, fresh) {
    const target = key !== null && this.views.has(key) ? key : this.shown;
    const view = this.viewOf(target) || this.none;
    const row = render(line);
    if (target === this.shown) {
      const atBottom = this.atBottom();
      this.keep(view, row);
      this.log.append(row);
      if (atBottom) this.log.scrollTop = this.log.scrollHeight;
    } else {
      this.keep(view, row);
      const kind = parseLine(line).kind;
      if (fresh && (kind === "message" || kind === "action")) {
        view.unread += 1;
        this.drawBadge(view);
      }
    }
  }

  /** The server's count of a room's unread lines (0: read on some device). */
  setUnread(key, count) {
    const view = this.views.get(key);
    if (!view) return;
    view.unread = count;
    this.drawBadge(view);
  }

  drawBadge(view) {
    const badge = view.tab.querySelector(".badge");
    badge.textContent = view.unread > BADGE_MAX ? BADGE_MAX + "+" : String(view.unread);
    badge.hidden = view.unread === 0;
    const label = view.unread === 0 ? view.name : view.name + ", " + view.unread + " unread";
    view.tab.firstChild.setAttribute("aria-label", label);
  }

  // --- Members: from /who, kept up by join, leave and nick notices ---------

  setMembers(key, nicks) {
    const view = this.views.get(key);
    if (!view) return;
    view.members = new Set(nicks);
    if (key === this.shown) this.drawMembers();
  }

  memberJoined(key, nick) {
    const view = this.views.get(key);
    if (!view || view.members === null) return;
    view.members.add(nick);
    if (key === this.shown) this.drawMembers();
  }

  memberLeft(key, nick) {
    const view = this.views.get(key);
    if (!view || view.members === null) return;
    for (const member of view.members) if (keyOf(member) === keyOf(nick)) view.members.delete(member);
    if (key === this.shown) this.drawMembers();
  }

  renamed(nick, to) {
    for (const view of this.views.values()) {
      if (view.members === null) continue;
      for (const member of view.members) {
        if (keyOf(member) === keyOf(nick)) {
          view.members.delete(member);
          view.members.add(to);
        }
      }
    }
    this.drawMembers();
  }

  /** After a reconnect every list is stale until /who answers again. */
  forgetMembers() {
    for (const view of this.views.values()) view.members = null;
    this.drawMembers();
  }

  drawMembers() {
    const view = this.viewOf(this.shown);
    const members = view && view.members !== null ? [...view.members] : [];
    $("members").replaceChildren(
      ...members.sort((a, b) => a.localeCompare(b)).map((nick) => {
        const li = document.createElement("li");
        li.append(span("nick " + colourOf(nick), nick));
        return li;
      }),
    );
    $("count").textContent = view && view.members !== null ? "(" + members.length + ")" : "";
  }
}
