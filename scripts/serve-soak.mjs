#!/usr/bin/env node
// A soak of qwen3c serve (issue #15): a mixed load for a while, on 127.0.0.1 only, bounded
// in clients and time. Valid requests (streamed and not) must get the reply the same
// prompt got alone; malformed, oversized and unknown-model requests their error; some
// clients disconnect mid-stream. Afterwards the server must still serve, and its resident
// memory must not have grown past the bound.
//
//   node scripts/serve-soak.mjs QWEN3C ARTIFACT [SECONDS=600] [CLIENTS=8] [RSS_GROWTH_MB=64]

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sseEvents } from './sse.mjs';

const [qwen3c, artifact, secondsArg = '600', clientsArg = '8', growthArg = '64'] = process.argv.slice(2);
if (!qwen3c || !artifact) {
  console.error('usage: serve-soak.mjs QWEN3C ARTIFACT [SECONDS] [CLIENTS] [RSS_GROWTH_MB]');
  process.exit(2);
}
const seconds = Number(secondsArg), clients = Number(clientsArg), growthMb = Number(growthArg);

const server = spawn(qwen3c, ['serve', artifact, '--port', '0', '--alias', 'soak', '--parallel', '4',
                              '--max-queue', '32', '--max-body', '65536', '--context', '2048'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const port = await new Promise((resolve, reject) => {
  server.stderr.on('data', (d) => {
    log += d;
    const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
});
const base = `http://127.0.0.1:${port}`;
while ((await fetch(`${base}/health`).catch(() => ({ status: 0 }))).status !== 200) {
  await new Promise((ok) => setTimeout(ok, 100));
}
const rssMb = () => Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;

const post = (body, signal) => fetch(`${base}/v1/chat/completions`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, signal,
  body: typeof body === 'string' ? body : JSON.stringify(body) });
const prompts = Array.from({ length: 8 }, (_, i) => `Soak prompt ${i}: ${'tell me more '.repeat(i + 1)}`);
const request = (i, extra = {}) => ({ model: 'soak', messages: [{ role: 'user', content: prompts[i] }],
                                      max_tokens: 24, temperature: 0, ...extra });

async function streamedContent(response, stopAfter = Infinity, abort = null) {
  let content = '', events = 0, done = false;
  for await (const event of sseEvents(response)) {
    if (event.done) { done = true; continue; }
    content += event.chunk.choices?.[0]?.delta?.content ?? '';
    if (++events >= stopAfter && abort) { abort.abort(); return { content, done }; }
  }
  return { content, done };
}

// The replies each prompt gets alone, greedy.
const expected = [];
for (let i = 0; i < prompts.length; i++) {
  expected.push((await (await post(request(i))).json()).choices[0].message.content);
}
const warmRss = rssMb();
let peakRss = warmRss;
const counts = {}, failures = [];
const count = (kind) => { counts[kind] = (counts[kind] ?? 0) + 1; };
const fail = (kind, why) => { failures.push(`${kind}: ${why}`); };

const actions = [
  async () => {  // valid, whole
    const i = Math.floor(Math.random() * prompts.length);
    const r = await post(request(i));
    const body = await r.json();
    if (r.status !== 200 || body.choices[0].message.content !== expected[i]) fail('chat', `${r.status} ${JSON.stringify(body).slice(0, 200)}`);
    count('chat');
  },
  async () => {  // valid, streamed
    const i = Math.floor(Math.random() * prompts.length);
    const r = await post(request(i, { stream: true }));
    const { content, done } = await streamedContent(r);
    if (r.status !== 200 || content !== expected[i] || !done) fail('stream', `${r.status} '${content}'`);
    count('stream');
  },
  async () => {  // disconnects mid-stream
    const abort = new AbortController();
    try {
      const r = await post(request(0, { stream: true, max_tokens: 400 }), abort.signal);
      await streamedContent(r, 3, abort);
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
    }
    count('disconnect');
  },
  async () => {  // malformed
    const r = await post('{"model": "soak", "messages": [');
    if (r.status !== 400) fail('malformed', r.status);
    await r.text();
    count('malformed');
  },
  async () => {  // oversized
    const r = await post(request(0, { messages: [{ role: 'user', content: 'x'.repeat(100000) }] }));
    if (r.status !== 413) fail('oversized', r.status);
    await r.text();
    count('oversized');
  },
  async () => {  // unknown model
    const r = await post({ ...request(0), model: 'other' });
    if (r.status !== 404) fail('unknown model', r.status);
    await r.text();
    count('unknown model');
  },
];

const end = Date.now() + seconds * 1000;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMb()); }, 1000);
await Promise.all(Array.from({ length: clients }, async () => {
  while (Date.now() < end) {
    try {
      await actions[Math.floor(Math.random() * actions.length)]();
    } catch (e) {
      fail('client', e.message);
    }
  }
}));
clearInterval(sampler);
await new Promise((ok) => setTimeout(ok, 500));
const health = (await fetch(`${base}/health`)).status;
const after = (await (await post(request(3))).json()).choices[0].message.content;
const finalRss = rssMb();
peakRss = Math.max(peakRss, finalRss);
server.kill('SIGTERM');

const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ seconds, clients, requests: total, counts, failures: failures.length,
                             health_after: health, serves_after: after === expected[3],
                             rss_mb: { warm: +warmRss.toFixed(1), peak: +peakRss.toFixed(1), final: +finalRss.toFixed(1) },
                             rss_bound_mb: +(warmRss + growthMb).toFixed(1) }));
for (const f of failures.slice(0, 10)) console.log('failure:', f);
const ok = failures.length === 0 && health === 200 && after === expected[3] && peakRss <= warmRss + growthMb;
process.exit(ok ? 0 : 1);
