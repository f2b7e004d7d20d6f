// The chat page in real headless Chromium: two people talk, the server goes
// away and comes back, and the page reconnects on its own.
//
// Run with `node --test chat.test.mjs` (or ./run.sh, which installs what is
// missing). SOCKEYE_BIN overrides the binary (default: target/debug/sockeye
// at the workspace root); CHROMIUM the browser (default: /usr/bin/chromium).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const binary = process.env.SOCKEYE_BIN || join(root, "target/debug/sockeye");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const screenshot = process.env.SOCKEYE_SCREENSHOT || join(root, "docs/chat.png");
const WAIT_MS = 20_000;

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// Start `sockeye chat 127.0.0.1:PORT`; resolves once it is listening.
function startChat(port) {
  const child = spawn(binary, ["chat", `127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  return new Promise((resolveChild, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the chat server did not start in time"));
    }, WAIT_MS);
    let seen = "";
    child.stderr.on("data", (chunk) => {
      seen += chunk;
      if (seen.includes("listening on")) {
        clearTimeout(timer);
        resolveChild(child);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the chat server exited (${code}): ${seen}`));
    });
  });
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    child.once("exit", () => resolveStop());
    child.kill("SIGKILL");
  });
}

async function openAs(context, port, name) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 960, height: 600 });
  await page.goto(`http://127.0.0.1:${port}/?name=${encodeURIComponent(name)}`);
  await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
  return page;
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function sees(page, text) {
  await page
    .locator("#messages .bubble", { hasText: text })
    .first()
    .waitFor({ timeout: WAIT_MS });
}

test("two people chat, and the page reconnects after a server restart", { timeout: 120_000 }, async () => {
  const port = await freePort();
  const userDataDir = await mkdtemp(join(tmpdir(), "sockeye-chromium-"));
  let server = await startChat(port);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browserPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const ann = await openAs(context, port, "Ann");
    const bob = await openAs(context, port, "Bob");

    // Both appear in each other's online list.
    for (const page of [ann, bob]) {
      await page.locator("#online li", { hasText: "Ann" }).waitFor({ timeout: WAIT_MS });
      await page.locator("#online li", { hasText: "Bob" }).waitFor({ timeout: WAIT_MS });
    }

    await say(ann, "Hi Bob! Is the new WebSocket engine up?");
    await sees(bob, "Hi Bob! Is the new WebSocket engine up?");
    await say(bob, "Hi Ann, yes: sockeye, sans-IO all the way down.");
    await sees(ann, "sockeye, sans-IO all the way down.");
    await say(ann, "Great, messages arrive instantly here.");
    await sees(bob, "messages arrive instantly here.");
    await sees(ann, "messages arrive instantly here.");

    await mkdir(dirname(screenshot), { recursive: true });
    await ann.screenshot({ path: screenshot });

    // The server goes away: both pages notice...
    await stop(server);
    for (const page of [ann, bob]) {
      await page.waitForSelector('#status[data-state="disconnected"]', { timeout: WAIT_MS });
      assert.equal(await page.isDisabled("#send"), true);
    }
    // ...and reconnect once it is back, with backoff, without a reload.
    server = await startChat(port);
    for (const page of [ann, bob]) {
      await page.waitForSelector('#status[data-state="connected"]', { timeout: 30_000 });
    }
    await say(bob, "Back after the restart.");
    await sees(ann, "Back after the restart.");
  } finally {
    await context.close().catch(() => {});
    await stop(server);
    await rm(userDataDir, { recursive: true, force: true });
  }
});
