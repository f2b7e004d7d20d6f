// A WebSocket over HTTP/2 (RFC 8441) from real headless Chromium to
// sockeye-hyper's axum-echo over TLS: the page is served over HTTP/2, the
// browser opens `new WebSocket('wss://…')` on that connection as an
// extended CONNECT stream, echoes text and 64 KiB of binary, and closes
// with 1000. The server's report says which form each WebSocket came in,
// so the test fails if the browser fell back to HTTP/1.1.
//
// Run with `node --test http2.test.mjs` (or ./run.sh). AXUM_ECHO_BIN
// overrides the server (default: target/debug/examples/axum-echo, built
// with `--features axum`); CHROMIUM the browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const server = process.env.AXUM_ECHO_BIN || join(root, "target/debug/examples/axum-echo");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT_MS = 20_000;

// A self-signed certificate for 127.0.0.1 (the browser is told to accept it).
async function certificate(dir) {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", key, "-out", cert,
  ]);
  return { cert, key };
}

// Start axum-echo over TLS on a free port; resolves with the child, its
// port and a function that returns everything it has printed so far.
function startServer(cert, key) {
  const child = spawn(server, ["127.0.0.1:0", "--tls", cert, key, "--report"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let printed = "";
  child.stdout.on("data", (chunk) => (printed += chunk));
  child.stderr.on("data", (chunk) => (printed += chunk));
  return new Promise((resolveServer, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`axum-echo did not start in time: ${printed}`));
    }, WAIT_MS);
    const poll = setInterval(() => {
      const listening = printed.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (listening) {
        clearTimeout(timer);
        clearInterval(poll);
        resolveServer({ child, port: Number(listening[1]), printed: () => printed });
      }
    }, 20);
    child.once("exit", (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`axum-echo exited (${code}): ${printed}`));
    });
  });
}

// Waits until `check()` holds, for at most WAIT_MS.
async function eventually(check, what) {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("Chromium opens a WebSocket over HTTP/2, echoes text and 64 KiB binary, closes 1000", { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "sockeye-h2-"));
  const { cert, key } = await certificate(dir);
  const { child, port, printed } = await startServer(cert, key);
  const context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: browserPath,
    headless: true,
    ignoreHTTPSErrors: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--ignore-certificate-errors",
    ],
  });
  try {
    const page = await context.newPage();
    // The page first: Chromium sends a WebSocket over HTTP/2 only on an
    // HTTP/2 connection it already has to the origin.
    const response = await page.goto(`https://127.0.0.1:${port}/`);
    assert.equal(response.status(), 200);
    const pageProtocol = await page.evaluate(
      () => performance.getEntriesByType("navigation")[0].nextHopProtocol,
    );
    assert.equal(pageProtocol, "h2", "the page itself came over HTTP/2");

    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const next = () =>
        new Promise((resolveMessage, reject) => {
          ws.onmessage = (event) => resolveMessage(event.data);
          ws.onclose = (event) => reject(new Error(`closed early: ${event.code}`));
        });
      await new Promise((resolveOpen, reject) => {
        ws.onopen = resolveOpen;
        ws.onerror = () => reject(new Error("the WebSocket failed to open"));
      });
      ws.send("hello over h2");
      const text = await next();
      const sent = new Uint8Array(64 * 1024);
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + 3) % 251;
      ws.send(sent);
      const back = new Uint8Array(await next());
      const binaryEqual = back.length === sent.length && back.every((b, i) => b === sent[i]);
      const closed = new Promise((resolveClose) => {
        ws.onclose = (event) => resolveClose({ code: event.code, wasClean: event.wasClean });
      });
      ws.close(1000, "done");
      return { text, binaryLength: back.length, binaryEqual, ...(await closed) };
    }, `wss://127.0.0.1:${port}/browser`);

    assert.equal(result.text, "hello over h2");
    assert.equal(result.binaryLength, 64 * 1024);
    assert.ok(result.binaryEqual, "the 64 KiB echo matches byte for byte");
    assert.equal(result.code, 1000);
    assert.ok(result.wasClean, "the close was clean");
    await eventually(() => printed().includes("closed /browser 1000"), "the server's close report");
    assert.match(printed(), /opened \/browser over http2/, `server saw: ${printed()}`);
  } finally {
    await context.close();
    child.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
  }
});
