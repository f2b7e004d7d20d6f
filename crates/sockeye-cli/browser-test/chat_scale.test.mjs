// Two chat processes sharing the room through a real broker, in headless
// Chromium: one page on instance A, one on instance B; a message typed on
// one appears on the other and both names show as online; after the broker
// restarts, the pages' next messages still cross. Once through Redis, once
// through NATS (Debian's redis-server and nats-server, started here on free
// loopback ports and killed by PID).
//
// Run with `node --test chat_scale.test.mjs` (or ./run.sh). SOCKEYE_BIN and
// CHROMIUM as in chat.test.mjs.

import { test } from "node:test";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const binary = process.env.SOCKEYE_BIN || join(root, "target/debug/sockeye");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
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

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Resolves once something accepts connections on the port.
async function waitForPort(port) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const open = await new Promise((r) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        r(true);
      });
      socket.once("error", () => r(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(20);
  }
}

async function startBroker(kind, port) {
  const [program, args] =
    kind === "redis"
      ? ["redis-server", ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]]
      : ["nats-server", ["-a", "127.0.0.1", "-p", `${port}`]];
  const child = spawn(program, args, { stdio: "ignore" });
  child.once("error", (error) => {
    throw new Error(`cannot start ${program} (install it): ${error}`);
  });
  await waitForPort(port);
  return child;
}

// Start `sockeye chat 127.0.0.1:PORT --redis|--nats URL`.
function startChat(port, flag, url) {
  const child = spawn(binary, ["chat", `127.0.0.1:${port}`, flag, url], {
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
  await page.goto(`http://127.0.0.1:${port}/?name=${encodeURIComponent(name)}`);
  await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
  return page;
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

function bubble(page, text) {
  return page.locator("#messages .bubble", { hasText: text }).first();
}

for (const kind of ["redis", "nats"]) {
  test(`pages on two instances chat through ${kind}`, { timeout: 120_000 }, async () => {
    const brokerPort = await freePort();
    const url = kind === "redis" ? `redis://127.0.0.1:${brokerPort}/` : `nats://127.0.0.1:${brokerPort}`;
    const flag = `--${kind}`;
    let broker = await startBroker(kind, brokerPort);
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await startChat(portA, flag, url);
    const b = await startChat(portB, flag, url);
    const userDataDir = await mkdtemp(join(tmpdir(), "sockeye-chromium-"));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: browserPath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const ann = await openAs(context, portA, "Ann");
      const bob = await openAs(context, portB, "Bob");
      for (const page of [ann, bob]) {
        await page.locator("#online li", { hasText: "Ann" }).waitFor({ timeout: WAIT_MS });
        await page.locator("#online li", { hasText: "Bob" }).waitFor({ timeout: WAIT_MS });
      }
      await say(ann, `Hello from instance A via ${kind}`);
      await bubble(bob, `Hello from instance A via ${kind}`).waitFor({ timeout: WAIT_MS });
      await say(bob, `And back from instance B via ${kind}`);
      await bubble(ann, `And back from instance B via ${kind}`).waitFor({ timeout: WAIT_MS });

      // The broker restarts on the same port; the instances reconnect by
      // themselves. What is said during the outage is dropped (at most
      // once), so the page says a numbered line until one crosses.
      await stop(broker);
      await sleep(500);
      broker = await startBroker(kind, brokerPort);
      const deadline = Date.now() + WAIT_MS;
      for (let n = 1; ; n++) {
        const line = `after the restart ${n}`;
        await say(bob, line);
        try {
          await bubble(ann, line).waitFor({ timeout: 1000 });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`nothing crosses after the restart: ${error}`);
        }
      }
    } finally {
      await context.close().catch(() => {});
      await stop(a);
      await stop(b);
      await stop(broker);
      await rm(userDataDir, { recursive: true, force: true });
    }
  });
}
