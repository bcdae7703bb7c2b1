#!/usr/bin/env node
// Drives the test page in headless Chromium (Debian's /usr/bin/chromium through playwright-core;
// no browser download).
//
//   node driver.mjs --page URL [--gateway URL --token JWT --org ORG]
//                   [--wait EXPR]... [--timeout-ms N] [--hold-ms N]
//
// Opens URL?gateway=..&token=..&org=.. (the page's query string), then for each --wait, in
// order, waits until EXPR (JavaScript, `s` is window.__switchboard) is true, and prints one JSON
// line {"wait": EXPR, "met": true|false, "elapsed_ms": N, "state": {...}}. Without --wait it
// waits for `s.ready`. A condition not met within --timeout-ms (per condition, default 20000)
// prints met=false and exits 2. Console errors and failed requests of the page are on stderr.
// Exit code: 0 all conditions met, 2 one timed out, 1 the browser or page failed.
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const opts = { waits: [], timeoutMs: 20000, holdMs: 0 };
for (let i = 0; i < args.length; i++) {
  const value = () => {
    if (i + 1 >= args.length) fail(`${args[i]} needs a value`);
    return args[++i];
  };
  switch (args[i]) {
    case "--page": opts.page = value(); break;
    case "--gateway": opts.gateway = value(); break;
    case "--token": opts.token = value(); break;
    case "--org": opts.org = value(); break;
    case "--wait": opts.waits.push(value()); break;
    case "--timeout-ms": opts.timeoutMs = Number(value()); break;
    case "--hold-ms": opts.holdMs = Number(value()); break;
    default: fail(`unknown argument ${args[i]}`);
  }
}
if (!opts.page) fail("--page is required");
if (opts.waits.length === 0) opts.waits.push("s.ready");

function fail(message) {
  console.error(`driver: ${message}`);
  process.exit(1);
}

const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const url = new URL(opts.page);
for (const key of ["gateway", "token", "org"]) {
  if (opts[key] !== undefined) url.searchParams.set(key, opts[key]);
}

let browser;
let code = 0;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const page = await browser.newPage();
  page.on("console", (msg) => {
    // "Failed to load resource" repeats what requestfailed says.
    if ((msg.type() === "error" || msg.type() === "warning") && !msg.text().startsWith("Failed to load resource")) {
      console.error(`page ${msg.type()}: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => console.error(`page exception: ${err.message}`));
  page.on("requestfailed", (req) =>
    console.error(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ""}`),
  );
  const started = Date.now();
  await page.goto(url.toString(), { waitUntil: "load", timeout: opts.timeoutMs });
  for (const expr of opts.waits) {
    let met = true;
    try {
      await page.waitForFunction(
        (e) => {
          const s = window.__switchboard;
          // eslint-disable-next-line no-new-func
          return s !== undefined && Boolean(new Function("s", `return (${e});`)(s));
        },
        expr,
        { timeout: opts.timeoutMs, polling: 50 },
      );
    } catch (err) {
      if (!String(err).includes("Timeout")) throw err;
      met = false;
    }
    const state = await page.evaluate(() => window.__switchboard ?? null);
    console.log(JSON.stringify({ wait: expr, met, elapsed_ms: Date.now() - started, state }));
    if (!met) {
      code = 2;
      break;
    }
  }
  if (opts.holdMs > 0) await new Promise((r) => setTimeout(r, opts.holdMs));
} catch (err) {
  console.error(`driver: ${err?.stack ?? err}`);
  code = 1;
} finally {
  await browser?.close().catch(() => {});
}
process.exit(code);
