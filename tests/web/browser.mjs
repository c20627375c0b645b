// Drives the chat page in headless Chromium for tests/web_browser.rs:
// playwright-core (no browser download) pointed at the system's chromium
// (CHROMIUM, or /usr/bin/chromium). Commands come one per line on stdin;
// each answer is one line on stdout.
//
//   open URL          -> "opened" once the page says it is connected
//   type TEXT         types TEXT into the input and presses Enter
//   fill TEXT         types TEXT into the input without sending it
//   key KEY           presses KEY (ArrowUp, say) in the input
//   input             -> "input VALUE"
//   expect TEXT       -> "seen LINE" once a log line contains TEXT
//   count TEXT        -> "count N": log lines containing TEXT
//   status STATE      -> "status STATE" once the connection state is STATE
//   pwned             -> "pwned TYPE": typeof window.pwned (undefined: nothing ran)
//   elements SELECTOR -> "elements N" inside the log
//   rooms             -> "rooms A B* C": the room tabs in order, * the one shown
//   room NAME         -> "room NAME" once NAME's tab is the one shown
//   click-room NAME   clicks NAME's tab
//   part-room NAME    clicks NAME's tab's ×
//   badge NAME N      -> "badge NAME N" once NAME's unread badge says N (0: none)
//   register NAME PASSWORD, login NAME PASSWORD
//                     fills the account form and presses Register / Log in
//   logout            presses Log out
//   who NAME          -> "who NAME" once the page says it is logged in as
//                     NAME ("-": once the account form is shown instead)
//   stored            -> "stored KEY=VALUE ...": the tab's sessionStorage
//                     ("stored nothing" when empty)
//   reload            -> "reloaded" once the reloaded page is connected
//   focus on|off      -> "focus on|off": whether the page is looked at
//                     (document.hasFocus as the page reads it, and a focus
//                     or blur event), so a test decides when it reads
//   screenshot PATH   -> "saved PATH"
// Failures answer "error WHAT".

import { chromium } from "playwright-core";
import readline from "node:readline";

const TIMEOUT = 10000;
const say = (line) => process.stdout.write(line + "\n");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: { width: 900, height: 560 } });
const page = await context.newPage();
page.on("dialog", (dialog) => {
  say("dialog " + dialog.message());
  dialog.dismiss();
});
page.on("pageerror", (error) => say("pageerror " + error.message));

const tab = (name) => `#room-tabs li[data-room="${name.toLowerCase()}"]`;

/** Polls `read` until it returns `want`; the answer, or an error with what it last read. */
async function until(read, want, what) {
  const deadline = Date.now() + TIMEOUT;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (last === want) return want;
    await page.waitForTimeout(50);
  }
  return "error " + what + ": wanted " + JSON.stringify(want) + ", last " + JSON.stringify(last);
}

const logLines = () => page.$$eval("#log .line", (rows) => rows.map((row) => row.textContent));

async function run(command, arg) {
  switch (command) {
    case "open":
      await page.goto(arg);
      await page.waitForSelector('#status[data-state="connected"]', { timeout: TIMEOUT });
      return "opened";
    case "type":
      await page.fill("#line", arg);
      await page.press("#line", "Enter");
      return null;
    case "fill":
      await page.fill("#line", arg);
      return null;
    case "key":
      await page.press("#line", arg);
      return null;
    case "input":
      return "input " + (await page.inputValue("#line"));
    case "expect": {
      const deadline = Date.now() + TIMEOUT;
      while (Date.now() < deadline) {
        const found = (await logLines()).find((line) => line.includes(arg));
        if (found !== undefined) return "seen " + found;
        await page.waitForTimeout(50);
      }
      return "error no line contains " + JSON.stringify(arg) + "; the log:\n" + (await logLines()).join("\n");
    }
    case "count":
      return "count " + (await logLines()).filter((line) => line.includes(arg)).length;
    case "status":
      await page.waitForSelector(`#status[data-state="${arg}"]`, { timeout: TIMEOUT });
      return "status " + arg;
    case "pwned":
      return "pwned " + (await page.evaluate(() => typeof window.pwned));
    case "elements":
      return "elements " + (await page.$$eval("#log " + arg, (found) => found.length));
    case "rooms":
      return (
        "rooms " +
        (await page.$$eval("#room-tabs li", (tabs) =>
          tabs.map((li) => li.querySelector(".name").textContent + (li.classList.contains("selected") ? "*" : "")).join(" "),
        ))
      );
    case "room":
      await page.waitForSelector(tab(arg) + ".selected", { timeout: TIMEOUT });
      return "room " + arg;
    case "click-room":
      await page.click(tab(arg) + " .open");
      return null;
    case "part-room":
      await page.click(tab(arg) + " .part");
      return null;
    case "badge": {
      const [name, want] = arg.split(" ");
      const read = () =>
        page.$eval(tab(name) + " .badge", (badge) => (badge.hidden ? "0" : badge.textContent)).catch(() => "no tab");
      const got = await until(read, want, "badge " + name);
      return got === want ? "badge " + name + " " + want : got;
    }
    case "register":
    case "login": {
      const [name, password] = arg.split(" ");
      await page.fill("#account-name", name);
      await page.fill("#account-password", password);
      await page.click("#" + command);
      return null;
    }
    case "logout":
      await page.click("#logout");
      return null;
    case "who": {
      const read = () =>
        page.evaluate(() => {
          const who = document.getElementById("who");
          const form = document.getElementById("account");
          if (!who.hidden && form.hidden) return document.getElementById("who-name").textContent;
          return who.hidden && !form.hidden ? "-" : "both or neither";
        });
      const got = await until(read, arg, "who");
      return got === arg ? "who " + arg : got;
    }
    case "stored":
      return (
        "stored " +
        (await page.evaluate(
          () => Object.entries(sessionStorage).map(([key, value]) => key + "=" + value).join(" ") || "nothing",
        ))
      );
    case "reload":
      await page.reload();
      await page.waitForSelector('#status[data-state="connected"]', { timeout: TIMEOUT });
      return "reloaded";
    case "focus":
      await page.evaluate((on) => {
        document.hasFocus = () => on;
        window.dispatchEvent(new Event(on ? "focus" : "blur"));
      }, arg === "on");
      return "focus " + arg;
    case "screenshot":
      await page.screenshot({ path: arg });
      return "saved " + arg;
    default:
      return "error unknown command " + command;
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const at = line.indexOf(" ");
  const [command, arg] = at < 0 ? [line, ""] : [line.slice(0, at), line.slice(at + 1)];
  try {
    const answer = await run(command, arg);
    if (answer !== null) say(answer);
  } catch (error) {
    say("error " + command + ": " + String(error).split("\n")[0]);
  }
}
await browser.close();
