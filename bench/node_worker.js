// Node's worker_threads, for comparison with airlock's code-mode worker (bench/codemode.sh):
//
//   start  the time from `new Worker(...)` to the 'message' event of the worker's first
//          postMessage (the worker is then terminated, and the next one started);
//   rtt    one postMessage round trip main -> worker -> main, the counterpart of a binding call.
//
// Prints one machine-readable line per figure:
//   node_worker start n=200 median_ms=… p10_ms=… p90_ms=…
//   node_worker rtt n=20000 median_us=… p10_us=… p90_us=…
// Usage: node bench/node_worker.js [N]   (N starts, default 200; 100×N round trips)
'use strict';
const { Worker } = require('node:worker_threads');

const n = Number(process.argv[2] || process.env.N || 200);
const startCode = "require('node:worker_threads').parentPort.postMessage(1)";
const echoCode = "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m))";

function quantiles(xs) {
  xs.sort((a, b) => a - b);
  const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  return { median: q(0.5), p10: q(0.1), p90: q(0.9) };
}

async function startOnce() {
  const t0 = process.hrtime.bigint();
  const w = new Worker(startCode, { eval: true });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await w.terminate();
  return ms;
}

async function main() {
  for (let i = 0; i < 10; i++) await startOnce(); // warm-up: code caches, the thread pool
  const starts = [];
  for (let i = 0; i < n; i++) starts.push(await startOnce());
  const s = quantiles(starts);
  console.log(`node_worker start n=${n} median_ms=${s.median.toFixed(3)} p10_ms=${s.p10.toFixed(3)} p90_ms=${s.p90.toFixed(3)}`);

  const w = new Worker(echoCode, { eval: true });
  const rounds = 100 * n;
  const rtts = [];
  let t0;
  await new Promise((resolve, reject) => {
    let i = 0;
    w.on('error', reject);
    w.on('message', () => {
      rtts.push(Number(process.hrtime.bigint() - t0) / 1e3);
      if (++i === rounds + 100) return resolve();
      t0 = process.hrtime.bigint();
      w.postMessage(i);
    });
    t0 = process.hrtime.bigint();
    w.postMessage(0);
  });
  await w.terminate();
  const r = quantiles(rtts.slice(100)); // the first hundred warm up
  console.log(`node_worker rtt n=${rounds} median_us=${r.median.toFixed(1)} p10_us=${r.p10.toFixed(1)} p90_us=${r.p90.toFixed(1)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
