// The page's side of the protocol, without the DOM: who it is, which rooms
// it is in, which room plain lines go to, the newest message id shown per
// room, and the catch-up after a reconnect (chat-client's catchup.rs, for
// several rooms). Each server line goes in; what comes out is a list of
// steps for the page (a line to show in a room, a room joined, left or
// talked in) and lines to send.

import { isRoomLine, keyOf, parseLine, readNotice, same, sayingOf, splitMessageId, splitRoom } from "./lines.js";

export const ASK_IDS = "/cap ids";

// Live room lines kept while catching up, at most: past it they are
// dropped rather than let a stalled catch-up grow without bound.
const HELD_MAX = 10000;

/** One joined room as the protocol sees it. */
class Room {
  constructor(name) {
    this.name = name;
    // The newest line shown, by message id: a replay never shows it again.
    this.lastId = null;
    // Without ids, the newest line shown, as said (see sayingOf): a replay
    // shows only what follows it.
    this.tail = null;
  }
}

export class Session {
  constructor() {
    this.nick = null;
    this.ids = null; // true: the server numbers room lines; false: it cannot
    this.rooms = new Map(); // key → Room, in the order joined
    this.current = null; // the key of the room plain lines go to, as the server last said
    // "live", or catching up after a reconnect: "welcome" (until the first
    // /cap ids marker), "joining" a room again, "paging" its /history since.
    this.phase = "live";
    this.queue = []; // rooms still to join again, the one shown last
    this.step = null; // the key of the room being joined again
    this.more = null; // the next page's /history since ID
    this.replayed = []; // history sent on joining while catching up: [key, id, line, nick]
    this.held = []; // live room lines said while catching up: [key, id, line]
    this.stray = null; // the room the server put us in that we had left
  }

  catchingUp() {
    return this.phase !== "live";
  }

  isMe(nick) {
    return same(nick, this.nick);
  }

  nameOf(key) {
    const room = this.rooms.get(key);
    return room ? room.name : key;
  }

  firstLines() {
    return [ASK_IDS];
  }

  /**
   * What to send on a new connection after a lost one: the server has put
   * us in its default room only, under a guest nick. Each room is joined
   * again in turn (the shown one last, so it is the one plain lines go to),
   * and its lines after the last one shown are read with /history since;
   * a /cap ids after each request marks where its answer ends.
   */
  reconnected(shown) {
    const lines = [ASK_IDS];
    if (this.nick) lines.push("/nick " + this.nick);
    this.queue = [...this.rooms.keys()].filter((key) => key !== shown);
    if (shown !== null && this.rooms.has(shown)) this.queue.push(shown);
    this.current = null;
    this.phase = "welcome";
    this.step = null;
    this.more = null;
    this.replayed = [];
    this.held = [];
    this.stray = null;
    return lines;
  }

  /** One line from the server → { steps, send }. */
  onLine(raw) {
    const out = { steps: [], send: [] };
    const { id, plain: unnumbered } = splitMessageId(raw);
    const { room: tagged, plain } = splitRoom(unnumbered);
    const parsed = parseLine(plain);
    if (parsed.kind === "notice") {
      this.onNotice(parsed.text, plain, out);
    } else if (isRoomLine(parsed)) {
      // Untagged room lines belong to the room the server says we talk in.
      const key = tagged !== null ? keyOf(tagged) : this.current;
      if (parsed.history) this.onHistory(key, id, plain, parsed.nick, out);
      else this.onLive(key, id, plain, out);
    } else {
      show(out, null, plain);
    }
    return out;
  }

  /** A room line as it happens. */
  onLive(key, id, line, out) {
    if (this.catchingUp() && id !== null) {
      // Shown once the catch-up has shown what came before it.
      if (this.held.length < HELD_MAX) this.held.push([key, id, line]);
      return;
    }
    this.emit(key, id, line, true, out);
  }

  /** A room line said before: on joining, from /history or /search. */
  onHistory(key, id, line, nick, out) {
    const room = this.rooms.get(key);
    if (this.phase === "welcome" || this.phase === "joining") {
      // Decided at the marker, when the whole replay is in.
      this.replayed.push([key, id, line, nick]);
    } else if (this.phase === "paging") {
      if (!room || id === null || (room.lastId !== null && id <= room.lastId)) return;
      // Our own lines were shown as we sent them (the server does not echo
      // a sender's line).
      if (this.isMe(nick)) room.lastId = id;
      else this.emit(key, id, line, true, out);
    } else {
      // Asked for: shown as asked, even lines shown before, and never
      // moving the room's newest id back.
      if (room && id !== null && (room.lastId === null || id > room.lastId)) room.lastId = id;
      if (room && id === null) room.tail = sayingOf(line);
      show(out, room ? key : null, line);
    }
  }

  /** Shows a room line unless it was shown already. */
  emit(key, id, line, fresh, out) {
    if (key !== null && this.stray !== null && key === keyOf(this.stray)) return;
    const room = key === null ? undefined : this.rooms.get(key);
    if (room && id !== null) {
      if (room.lastId !== null && id <= room.lastId) return;
      room.lastId = id;
    } else if (room) {
      room.tail = sayingOf(line);
    }
    out.steps.push({ kind: "show", room: room ? key : null, line, fresh });
  }

  onNotice(text, line, out) {
    if (text.startsWith("capability ids on")) {
      this.ids = true;
      this.marker(out);
      return;
    }
    if (text.startsWith("error: message ids")) {
      // The answer to every /cap ids on a server without the history
      // file: shown once, the others are markers.
      const first = this.ids === null;
      this.ids = false;
      const catchingUp = this.catchingUp();
      this.marker(out);
      if (first && !catchingUp) show(out, null, line);
      return;
    }
    if (this.phase === "paging" && text.startsWith("more: /history since ")) {
      const more = Number(text.slice("more: /history since ".length).trim());
      this.more = Number.isFinite(more) ? more : null;
      return;
    }
    const notice = readNotice(text);
    const inRoom = (name) => (this.rooms.has(keyOf(name)) ? keyOf(name) : null);
    switch (notice && notice.what) {
      case "welcome":
        this.nick = notice.nick;
        show(out, null, line);
        break;
      case "renamed":
        if (this.isMe(notice.nick)) this.nick = notice.to;
        show(out, null, line);
        break;
      case "joined":
        if (this.isMe(notice.nick)) this.joined(notice.room, line, out);
        else show(out, inRoom(notice.room), line);
        break;
      case "left":
        if (this.isMe(notice.nick)) this.left(notice.room, line, out);
        else show(out, inRoom(notice.room), line);
        break;
      case "talking":
        this.current = keyOf(notice.room);
        // While catching up it answers our own /join of a room the server
        // had put us in: nothing to tell.
        if (!this.catchingUp()) out.steps.push({ kind: "talking", room: notice.room, line });
        break;
      case "already":
        if (!(this.catchingUp() && same(keyOf(notice.room), this.step))) {
          out.steps.push({ kind: "already", room: notice.room, line });
        }
        break;
      case "topic":
      case "members":
        show(out, inRoom(notice.room), line);
        break;
      default:
        show(out, null, line);
    }
  }

  joined(name, line, out) {
    const key = keyOf(name);
    this.current = key;
    if (this.phase === "welcome" && !this.rooms.has(key)) {
      // The server's default room, which we had left: left again once the
      // rooms we were in are joined.
      this.stray = name;
      return;
    }
    if (!this.rooms.has(key)) this.rooms.set(key, new Room(name));
    out.steps.push({ kind: "joined", room: name });
    show(out, key, line);
  }

  left(name, line, out) {
    const key = keyOf(name);
    if (this.current === key) this.current = null;
    if (this.stray !== null && keyOf(this.stray) === key) {
      this.stray = null;
      return;
    }
    this.rooms.delete(key);
    out.steps.push({ kind: "left", room: key });
    // Its view is gone: the notice goes to the one shown.
    show(out, null, line);
  }

  /** A reply to /cap ids: the next step of a catch-up. */
  marker(out) {
    if (this.phase === "welcome") {
      this.showReplayed(out);
      this.nextRoom(out);
    } else if (this.phase === "joining") {
      this.showReplayed(out);
      const room = this.rooms.get(this.step);
      if (this.ids === true && room && room.lastId !== null) {
        out.send.push("/history since " + room.lastId, ASK_IDS);
        this.more = null;
        this.phase = "paging";
      } else {
        this.nextRoom(out);
      }
    } else if (this.phase === "paging") {
      if (this.more !== null) {
        out.send.push("/history since " + this.more, ASK_IDS);
        this.more = null;
      } else {
        this.nextRoom(out);
      }
    }
  }

  /**
   * The history sent on joining while catching up. A room whose lines
   * have ids is read with /history since instead (the replay is only the
   * room's last lines: shown, it would leave a gap before them). Without
   * ids, what follows the newest line shown is shown.
   */
  showReplayed(out) {
    const replayed = this.replayed;
    this.replayed = [];
    for (const key of new Set(replayed.map(([key]) => key))) {
      const room = this.rooms.get(key);
      if (!room || (this.ids === true && room.lastId !== null)) continue;
      const lines = replayed.filter(([k]) => k === key);
      let start = 0;
      if (room.tail !== null) {
        const at = lines.findLastIndex(([, , line]) => sayingOf(line) === room.tail);
        if (at >= 0) start = at + 1;
      }
      for (const [, id, line, nick] of lines.slice(start)) {
        // Lines we said in a room we were in were shown as we sent them
        // (the server does not echo them); what was there before we came
        // was shown on joining, so the tail or the id is past it.
        if (this.isMe(nick)) {
          if (id !== null && (room.lastId === null || id > room.lastId)) room.lastId = id;
          continue;
        }
        this.emit(key, id, line, true, out);
      }
    }
  }

  nextRoom(out) {
    while (this.queue.length > 0) {
      const key = this.queue.shift();
      const room = this.rooms.get(key);
      if (!room) continue;
      this.step = key;
      this.phase = "joining";
      out.send.push("/join " + room.name, ASK_IDS);
      return;
    }
    this.step = null;
    this.phase = "live";
    if (this.stray !== null) out.send.push("/part " + this.stray);
    const held = this.held;
    this.held = [];
    for (const [key, id, line] of held) this.emit(key, id, line, true, out);
    out.steps.push({ kind: "caught-up" });
  }
}

function show(out, room, line) {
  out.steps.push({ kind: "show", room, line, fresh: true });
}
