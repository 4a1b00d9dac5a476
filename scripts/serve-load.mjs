#!/usr/bin/env node
// A load generator for OpenAI-compatible servers (qwen3c serve, llama-server): for each N,
// N clients stream chat completions of --tokens generated tokens at once; reports the
// aggregate generation rate (completion tokens over the wall time of the round, prompts
// included), the aggregate decode rate (the sum over clients of each stream's tokens after
// its first over the time after its first: what llama-batched-bench calls S_TG while the
// streams run together) and the time to first token (median, p95). Plain fetch: nothing
// to install.
//
//   node scripts/serve-load.mjs --base http://127.0.0.1:8080 --model 4b-q4_0 [--n 1,4,8,16] [--tokens 128]
//                               [--ignore-eos true]   (llama-server only)
//                               [--endpoint completions]

import { sseEvents } from './sse.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const base = args.base ?? 'http://127.0.0.1:8080';
const model = args.model ?? 'model';
const counts = (args.n ?? '1,4,8,16').split(',').map(Number);
const tokens = Number(args.tokens ?? 128);
const rounds = Number(args.rounds ?? 1);
// --endpoint completions: raw text completions (no chat template, no reply parsing).
const chat = (args.endpoint ?? 'chat') === 'chat';

async function one(i) {
  const start = performance.now();
  const text = `Client ${i}: write a long story about the number ${i * 7919}.`;
  const response = await fetch(`${base}/v1/${chat ? 'chat/completions' : 'completions'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${args.key ?? 'none'}` },
    body: JSON.stringify({
      model, stream: true, stream_options: { include_usage: true }, max_tokens: tokens, temperature: 0,
      ...(chat ? { messages: [{ role: 'user', content: text }] } : { prompt: text }),
      chat_template_kwargs: { enable_thinking: false },
      // llama-server's extension, for servers whose random-weight model picks an end token
      // at once (--ignore-eos): every client then generates exactly --tokens.
      ...(args['ignore-eos'] === 'true' ? { ignore_eos: true } : {}),
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let first = null, usage = null;
  for await (const event of sseEvents(response)) {
    if (event.done) continue;
    const chunk = event.chunk;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.error) throw new Error(`the server ended the stream: ${JSON.stringify(chunk.error)}`);
    const choice = chunk.choices?.[0];
    const piece = choice?.text ?? choice?.delta?.content ?? choice?.delta?.reasoning_content;
    if (first === null && piece) first = performance.now() - start;
  }
  const end = performance.now() - start;
  const completion = usage?.completion_tokens ?? 0;
  return { ttft: first ?? NaN, completion, decode_rate: completion > 1 ? (completion - 1) / ((end - first) / 1000) : 0 };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};

const results = [];
for (const n of counts) {
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => one(i + 100 * r)));
    const seconds = (performance.now() - start) / 1000;
    const generated = replies.reduce((s, x) => s + x.completion, 0);
    const ttfts = replies.map((x) => x.ttft / 1000);
    const decode = replies.reduce((s, x) => s + x.decode_rate, 0);
    const row = { n, generated, seconds: +seconds.toFixed(2), tokens_per_s: +(generated / seconds).toFixed(2),
                  decode_tokens_per_s: +decode.toFixed(2),
                  ttft_median_s: +quantile(ttfts, 0.5).toFixed(2), ttft_p95_s: +quantile(ttfts, 0.95).toFixed(2) };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}
const at = (n, key) => results.filter((r) => r.n === n).map((r) => r[key]);
if (at(1, 'tokens_per_s').length && at(8, 'tokens_per_s').length) {
  for (const key of ['tokens_per_s', 'decode_tokens_per_s']) {
    console.log(`${key} at N=8 over N=1: ${(Math.max(...at(8, key)) / Math.max(...at(1, key))).toFixed(2)}x`);
  }
}
