// Node `ws`'s side of the permessage-deflate comparison (run.sh runs it).
//
//   node ws.js CORPUS [ROUNDS] [ROUND_SECONDS]
//
// The same operation as sockeye's `deflate-peers`: each message of the
// corpus (one a line) compressed by a server-side PerMessageDeflate and
// inflated by a client-side one, one message at a time, with context
// takeover and without it; level 6, memory level 8, window 15 (zlib's
// defaults, set explicitly). Best round's rate, ratio from the first pass.
'use strict';

const fs = require('fs');
const path = require('path');
// The class is not among the package's exports; load its file directly.
const PerMessageDeflate = require(
  path.join(path.dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js')
);

const [corpusPath, roundsArg, secondsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 5);
const roundMs = Number(secondsArg || 0.4) * 1000;
const corpus = fs
  .readFileSync(corpusPath, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => Buffer.from(line, 'utf8'));
const payload = corpus.reduce((sum, m) => sum + m.length, 0);

function pair(noTakeover) {
  const zlibDeflateOptions = { level: 6, memLevel: 8 };
  const server = new PerMessageDeflate({
    isServer: true,
    serverNoContextTakeover: noTakeover,
    clientNoContextTakeover: noTakeover,
    zlibDeflateOptions,
    concurrencyLimit: 1
  });
  server.accept([{ client_max_window_bits: [true] }]);
  const client = new PerMessageDeflate({
    clientNoContextTakeover: noTakeover,
    zlibDeflateOptions
  });
  const response = {};
  for (const [key, value] of Object.entries(server.params)) {
    response[key] = [value];
  }
  client.accept([response]);
  return { server, client };
}

function roundTrip({ server, client }, message) {
  return new Promise((resolve, reject) => {
    server.compress(message, true, (err, compressed) => {
      if (err) return reject(err);
      client.decompress(compressed, true, (err2, inflated) => {
        if (err2) return reject(err2);
        if (inflated.length !== message.length) {
          return reject(new Error('round trip changed the message'));
        }
        resolve(compressed.length);
      });
    });
  });
}

async function pass(p) {
  let compressed = 0;
  for (const message of corpus) {
    compressed += await roundTrip(p, message);
  }
  return compressed;
}

async function main() {
  for (const [mode, noTakeover] of [
    ['takeover', false],
    ['no_takeover', true]
  ]) {
    const p = pair(noTakeover);
    const compressed = await pass(p);
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      const start = process.hrtime.bigint();
      let passes = 0;
      let elapsedMs = 0;
      while (elapsedMs < roundMs) {
        await pass(p);
        passes += 1;
        elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
      }
      best = Math.max(best, (payload * passes) / (elapsedMs / 1000) / 1e6);
    }
    const ratio = compressed / payload;
    console.log(`ws\t${mode}\t${best.toFixed(1)}\t${ratio.toFixed(3)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
