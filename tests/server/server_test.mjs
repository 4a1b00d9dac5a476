// qwen3c serve, end to end, driven by the official OpenAI client (the `openai` npm package)
// and by plain fetch where a client would not send what we test (malformed bodies).
//
//   node --test tests/server/server_test.mjs   (QWEN3C=path/to/qwen3c ARTIFACT=tiny.q3c)
//
// The model is the tiny fixture (random weights, the real Qwen3 tokenizer): its words mean
// nothing, so the tests compare the server with `qwen3c run` and with itself.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import OpenAI from 'openai';

const qwen3c = process.env.QWEN3C;
const artifact = process.env.ARTIFACT;
const alias = 'tiny';
const servers = [];

// Starts `qwen3c serve` on a free port; resolves once /health says ready.
async function startServer(extra = []) {
  const child = spawn(qwen3c, ['serve', artifact, '--port', '0', '--alias', alias, ...extra],
                      { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(child);
  let log = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`qwen3c serve exited (${code}): ${log}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${base}/health`).catch(() => null);
    if (r && r.status === 200) break;
    if (r) assert.equal(r.status, 503, 'health is 503 while loading');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return { base, child, log: () => log };
}

let server, client;
before(async () => {
  server = await startServer(['--parallel', '4', '--context', '1024']);
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => { for (const s of servers) s.kill('SIGTERM'); });

const post = (base, path, body, headers = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
                            body: typeof body === 'string' ? body : JSON.stringify(body) });
const tokenCount = async (text) => (await (await post(server.base, '/tokenize', { content: text })).json()).tokens.length;
const greedy = { temperature: 0 };
const noThink = { chat_template_kwargs: { enable_thinking: false } };

test('models lists the alias', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [alias]);
});

test('chat completion: message, finish reason and exact usage', async () => {
  const r = await client.chat.completions.create({
    model: alias, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, ...greedy, ...noThink });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  const prompt = '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';
  assert.equal(r.usage.prompt_tokens, await tokenCount(prompt));
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('streamed chat equals the unstreamed reply, with usage when asked', async () => {
  const request = { model: alias, messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 16,
                    ...greedy, ...noThink };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true,
                                                        stream_options: { include_usage: true } });
  let content = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      content += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks > 2);
  assert.equal(content, whole.choices[0].message.content ?? '');
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
});

test('greedy text completion equals qwen3c run --greedy', async () => {
  const prompt = 'The capital of France is';
  const r = await client.completions.create({ model: alias, prompt, max_tokens: 12, ...greedy });
  const run = execFileSync(qwen3c, ['run', artifact, '-p', prompt, '-n', '12', '--greedy'],
                           { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  assert.equal(r.choices[0].text, run.replace(/\n$/, ''));
  assert.equal(r.usage.prompt_tokens, await tokenCount(prompt));
});

test('a stop string ends the text before it', async () => {
  const prompt = 'Once upon a time';
  const full = (await client.completions.create({ model: alias, prompt, max_tokens: 24, ...greedy })).choices[0].text;
  const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
  const r = await client.completions.create({ model: alias, prompt, max_tokens: 24, stop: [stop], ...greedy });
  assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(r.choices[0].finish_reason, 'stop');
});

test('the same seed gives the same text, another seed another', async () => {
  const ask = (seed) => client.completions.create({ model: alias, prompt: 'Hi', max_tokens: 16, temperature: 1, seed });
  const [a, b, c] = await Promise.all([ask(42), ask(42), ask(7)]);
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.notEqual(a.choices[0].text, c.choices[0].text);
});

test('thinking on and off change the prompt as the Qwen3 template does', async () => {
  const messages = [{ role: 'user', content: 'Why?' }];
  const on = await client.chat.completions.create({ model: alias, messages, max_tokens: 1, ...greedy });
  const off = await client.chat.completions.create({ model: alias, messages, max_tokens: 1, ...greedy, ...noThink });
  assert.equal(on.usage.prompt_tokens, await tokenCount('<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n'));
  assert.equal(off.usage.prompt_tokens,
               await tokenCount('<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n'));
});

test('tool definitions, a tool call and its result are rendered as the Qwen3 template does', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const messages = [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21}' },
  ];
  const r = await client.chat.completions.create({ model: alias, messages, tools, max_tokens: 4, ...greedy });
  const expected =
    '<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
    'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
    '{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city", "parameters": ' +
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools>\n\n' +
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
    '<|im_start|>user\nWeather in Paris?<|im_end|>\n' +
    '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
    '<|im_start|>user\n<tool_response>\n{"temperature": 21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n';
  assert.equal(r.usage.prompt_tokens, await tokenCount(expected));
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));
});

test('every error status, as an OpenAI error object', async () => {
  const expectError = async (response, status, fragment) => {
    assert.equal(response.status, status);
    const body = await response.json();
    assert.ok(body.error && typeof body.error.message === 'string', JSON.stringify(body));
    if (fragment) assert.match(body.error.message, fragment);
    return body;
  };
  const chat = (extra) => ({ model: alias, messages: [{ role: 'user', content: 'x' }], max_tokens: 2, ...extra });
  await expectError(await post(server.base, '/v1/chat/completions', '{"model": '), 400, /invalid JSON/);
  await expectError(await post(server.base, '/v1/chat/completions', chat({ temperature: 'hot' })), 400, /temperature/);
  await expectError(await post(server.base, '/v1/chat/completions', chat({ n: 2 })), 400, /'n'/);
  await expectError(await post(server.base, '/v1/chat/completions', chat({ logprobs: true })), 400, /logprobs/);
  await expectError(await post(server.base, '/v1/chat/completions',
                               chat({ response_format: { type: 'json_schema', json_schema: {} } })), 400, /response_format/);
  await expectError(await post(server.base, '/v1/chat/completions', { model: alias, messages: [] }), 400, /messages/);
  const long = await expectError(await post(server.base, '/v1/chat/completions',
                                            chat({ messages: [{ role: 'user', content: 'word '.repeat(2000) }] })), 400, /context/);
  assert.equal(long.error.code, 'context_length_exceeded');
  const accepted = await post(server.base, '/v1/chat/completions', chat({ user: 'someone', ...greedy }));
  assert.equal(accepted.status, 200, 'fields that change nothing are accepted');
  await expectError(await post(server.base, '/v1/chat/completions', { ...chat(), model: 'gpt-4' }), 404, /does not exist/);
  await expectError(await fetch(`${server.base}/v1/nothing`), 404, /no such endpoint/);
  // Through the client too: its typed errors carry the status.
  await assert.rejects(client.chat.completions.create(chat({ n: 3 })), (e) => e.status === 400);

  const guarded = await startServer(['--api-key', 'sesame', '--max-body', '65536', '--parallel', '1', '--max-queue', '0']);
  assert.equal((await fetch(`${guarded.base}/health`)).status, 200, '/health needs no key');
  await expectError(await post(guarded.base, '/v1/chat/completions', chat()), 401, /API key/);
  await expectError(await post(guarded.base, '/v1/chat/completions', chat(), { Authorization: 'Bearer wrong' }), 401);
  const keyed = new OpenAI({ baseURL: `${guarded.base}/v1`, apiKey: 'sesame', maxRetries: 0 });
  assert.equal((await keyed.chat.completions.create(chat(greedy))).object, 'chat.completion');
  await expectError(await post(guarded.base, '/v1/chat/completions',
                               chat({ messages: [{ role: 'user', content: 'y'.repeat(100000) }] }),
                               { Authorization: 'Bearer sesame' }), 413);
  // One slot, no queue: a second request while the first streams is told to come back.
  const abort = new AbortController();
  const first = await keyed.chat.completions.create(chat({ max_tokens: 900, stream: true, ...greedy }),
                                                    { signal: abort.signal });
  const it = first[Symbol.asyncIterator]();
  await it.next();
  const busy = await post(guarded.base, '/v1/chat/completions', chat(), { Authorization: 'Bearer sesame' });
  const body = await expectError(busy, 503, /busy/);
  assert.equal(busy.headers.get('retry-after'), '1', JSON.stringify(body));
  abort.abort();
});

test('16 concurrent streaming clients are all answered as if alone', async () => {
  const prompts = Array.from({ length: 16 }, (_, i) => `Request number ${i} says`);
  const alone = [];
  for (const prompt of prompts) {
    alone.push((await client.completions.create({ model: alias, prompt, max_tokens: 10, ...greedy })).choices[0].text);
  }
  const together = await Promise.all(prompts.map(async (prompt) => {
    const stream = await client.completions.create({ model: alias, prompt, max_tokens: 10, stream: true, ...greedy });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    return text;
  }));
  assert.deepEqual(together, alone);
});

test('a client that disconnects mid-stream frees its slot at once', async () => {
  const single = await startServer(['--parallel', '1']);
  const c = new OpenAI({ baseURL: `${single.base}/v1`, apiKey: 'unused', maxRetries: 0 });
  const abort = new AbortController();
  const stream = await c.completions.create({ model: alias, prompt: 'Go on', max_tokens: 5000, stream: true, ...greedy },
                                            { signal: abort.signal });
  const it = stream[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) await it.next();
  abort.abort();
  const metric = async (name) => {
    const text = await (await fetch(`${single.base}/metrics`)).text();
    return Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))[1]);
  };
  for (let i = 0; i < 50 && (await metric('qwen3c_busy_slots')) !== 0; i++) await new Promise((ok) => setTimeout(ok, 100));
  assert.equal(await metric('qwen3c_busy_slots'), 0, 'the slot is still busy');
  assert.equal(await metric('qwen3c_requests_cancelled_total'), 1);
  const next = await c.completions.create({ model: alias, prompt: 'Next', max_tokens: 4, ...greedy });
  assert.equal(next.choices[0].finish_reason, 'length');
});
