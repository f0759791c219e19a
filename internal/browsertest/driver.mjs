// driver.mjs drives a Chromium that the Go harness started, through playwright-core over the
// Chrome DevTools Protocol. It reads one JSON command per line on stdin and writes one JSON
// reply per line on stdout: {"id":N,"ok":true,"result":...} or {"id":N,"ok":false,"error":"..."}.
// Lines with "event" instead of "id" are page console messages and page errors.
//
// Usage: node driver.mjs <repo root> <CDP websocket URL>
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";

const [root, endpoint] = process.argv.slice(2);
const require = createRequire(path.join(root, "package.json"));
const { chromium } = require("playwright-core");

const write = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

let browser;
let grantPerms = [];
const pages = [];

const page = (n) => {
  const p = pages[n];
  if (!p) throw new Error("no page " + n);
  return p;
};

const ops = {
  async connect({ permissions }) {
    grantPerms = permissions;
    browser = await chromium.connectOverCDP(endpoint);
    return { version: browser.version() };
  },
  async open({ url }) {
    // Each page gets its own browser context, so its own HTTP cache and storage, like a
    // separate viewer: a segment one page fetched is not served to another from the cache.
    const context = await browser.newContext({ viewport: { width: 480, height: 320 } });
    await context.grantPermissions(grantPerms, { origin: new URL(url).origin });
    const p = await context.newPage();
    const n = pages.length;
    pages.push(p);
    p.on("console", (m) => write({ event: "console", page: n, text: m.type() + ": " + m.text() }));
    p.on("pageerror", (e) => write({ event: "pageerror", page: n, text: String(e) }));
    p.on("crash", () => write({ event: "crash", page: n, text: "page crashed" }));
    await p.goto(url, { waitUntil: "load" });
    return { page: n };
  },
  async eval({ page: n, expr }) {
    return await page(n).evaluate(expr);
  },
  async screenshot({ page: n, path: file }) {
    await page(n).screenshot({ path: file });
    return {};
  },
  async close({ page: n }) {
    await page(n).context().close();
    return {};
  },
  async quit() {
    // Leave the browser process to the Go harness, which kills its process group.
    setTimeout(() => process.exit(0), 10);
    return {};
  },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    write({ event: "driver", text: "bad command line: " + line });
    return;
  }
  try {
    const fn = ops[msg.op];
    if (!fn) throw new Error("unknown op " + msg.op);
    const result = await fn(msg);
    write({ id: msg.id, ok: true, result: result === undefined ? null : result });
  } catch (e) {
    write({ id: msg.id, ok: false, error: String((e && e.stack) || e) });
  }
});
rl.on("close", () => process.exit(0));
