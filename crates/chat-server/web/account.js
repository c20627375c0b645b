// The account form and the page's login token (PROTOCOL.md, "Accounts").
// Logging in or registering sends the password once; the page then asks
// for a login token (/token) and keeps it in sessionStorage (never the
// password), so every reconnect, and a reload of the tab, logs in again
// with /resume NAME TOKEN: no password sent again, no argon2 run again on
// the server. The token's notice is a secret: it is taken here and never
// shown in the log.

const STORED = "chat.login";

/** What an account notice says, or null (the notice is for the log). */
export function readAccountNotice(text) {
  let m;
  if ((m = /^you are logged in as (\S+)$/.exec(text))) return { what: "in", name: m[1] };
  if (text === "you are logged out") return { what: "out" };
  if ((m = /^login token: (\S+) \(valid \d+h\)$/.exec(text))) return { what: "token", token: m[1] };
  if (/^error: (wrong account name or password|account \S+ is locked)/.exec(text)) return { what: "refused" };
  return null;
}

/** The stored { name, token }, or null. */
function stored() {
  try {
    const held = JSON.parse(sessionStorage.getItem(STORED) || "null");
    return held && typeof held.name === "string" && typeof held.token === "string" ? held : null;
  } catch {
    return null;
  }
}

function store(held) {
  try {
    if (held === null) sessionStorage.removeItem(STORED);
    else sessionStorage.setItem(STORED, JSON.stringify(held));
  } catch {
    // Storage off (a private window's quota): every reconnect is a guest.
  }
}

export class Account {
  /** `send(line)` sends a line; `currentNick()` is the page's nick now. */
  constructor(send, currentNick) {
    this.send = send;
    this.currentNick = currentNick;
    this.name = null; // the account logged in to, as the server spells it
    this.resuming = false; // a /resume sent, its answer not come yet
    // A registration waiting for its /nick: { name, password } (in memory
    // for that moment only).
    this.registering = null;
    const $ = (id) => document.getElementById(id);
    this.form = $("account");
    this.nameInput = $("account-name");
    this.password = $("account-password");
    this.who = $("who");
    this.whoName = $("who-name");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      // The button pressed says which: Enter in a field is "Log in".
      const register = event.submitter && event.submitter.id === "register";
      this.submit(register);
    });
    $("logout").addEventListener("click", () => {
      store(null);
      this.send("/logout");
    });
    this.draw();
  }

  /**
   * A new connection: what to send first, /resume with the token, when
   * the page holds one. Then the lines the session would send to take its
   * nick back are not sent: the login gives the account's nick.
   */
  resumeLine() {
    // A new connection is a guest until it logs in.
    this.name = null;
    this.draw();
    const held = stored();
    if (held === null) return null;
    this.resuming = true;
    return "/resume " + held.name + " " + held.token;
  }

  submit(register) {
    const name = this.nameInput.value.trim();
    const password = this.password.value;
    if (password === "" || (!register && name === "")) return;
    let sent;
    if (register && name !== "" && name !== this.currentNick()) {
      // /register makes the current nick an account: the name is taken
      // first, and registered once the server says it is ours (a refused
      // /nick must not register the nick we had instead).
      sent = this.send("/nick " + name);
      this.registering = sent ? { name, password } : null;
    } else if (register) {
      sent = this.send("/register " + password);
    } else {
      sent = this.send("/login " + name + " " + password);
    }
    if (sent) this.password.value = "";
  }

  /** A server notice's text: true when it was the account's and is not to be shown. */
  onNotice(text) {
    this.registerOnceRenamed(text);
    const notice = readAccountNotice(text);
    if (notice === null) return false;
    switch (notice.what) {
      case "in": {
        const held = stored();
        this.name = notice.name;
        // Logged in with the password (or typed /login): a token for the
        // reconnects. A resume keeps the token it used.
        if (!this.resuming || held === null || held.name.toLowerCase() !== notice.name.toLowerCase()) {
          this.send("/token");
        }
        this.resuming = false;
        this.draw();
        return false;
      }
      case "token":
        if (this.name !== null) store({ name: this.name, token: notice.token });
        return true;
      case "out":
        this.name = null;
        store(null);
        this.draw();
        return false;
      case "refused":
        // The token is no good (expired, revoked, the server restarted):
        // forgotten, and the form is there to log in again.
        if (this.resuming) {
          this.resuming = false;
          store(null);
          this.draw();
        }
        return false;
    }
    return false;
  }

  /** The /nick before a registration answered: register, or give up. */
  registerOnceRenamed(text) {
    const waiting = this.registering;
    if (waiting === null) return;
    const renamed = /^\S+ is now known as (\S+)$/.exec(text);
    if (renamed && renamed[1].toLowerCase() === waiting.name.toLowerCase()) {
      this.registering = null;
      this.send("/register " + waiting.password);
    } else if (text.startsWith("error: ")) {
      this.registering = null;
    }
  }

  draw() {
    const loggedIn = this.name !== null;
    this.form.hidden = loggedIn;
    this.who.hidden = !loggedIn;
    this.whoName.textContent = loggedIn ? this.name : "";
    if (!loggedIn && this.nameInput.value === "") {
      const held = stored();
      if (held !== null) this.nameInput.value = held.name;
    }
  }
}
