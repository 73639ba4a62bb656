// The official Anthropic JS SDK (@anthropic-ai/sdk) against the proxy, run by clients.py with
// its fake upstream: `messages.create`, `messages.stream` with its helpers (text, inputJson and
// streamEvent events, finalMessage, finalText), a tool round trip, typed errors, count_tokens and
// the model list, each on a Claude model (passed through to the fake Anthropic upstream) and on
// gpt-4o (translated to the fake Chat Completions upstream).
//
// Usage: node anthropic.mjs BASE_URL TOKEN NODE_MODULES_DIR

import assert from 'node:assert/strict';
import { load, run } from './harness.mjs';

const [base, token, nodeModules] = process.argv.slice(2);
const { default: Anthropic } = await load(nodeModules, '@anthropic-ai/sdk/index.mjs');
const client = new Anthropic({ baseURL: base, apiKey: token, maxRetries: 0 });
const models = ['claude-sonnet-4-20250514', 'gpt-4o'];
const tools = [{ name: 'read_file', description: 'Read a file',
  input_schema: { type: 'object', properties: { path: { type: 'string' } } } }];
const ask = [{ role: 'user', content: 'read a.txt' }];

// One streamed turn through `messages.stream`, recording what its events delivered.
async function streamed(body) {
  const stream = client.messages.stream(body);
  const seen = { text: [], json: [], events: [] };
  stream.on('text', (delta) => seen.text.push(delta));
  stream.on('inputJson', (_, snapshot) => seen.json.push(snapshot));
  stream.on('streamEvent', (e) => seen.events.push(e.type));
  const message = await stream.finalMessage();
  assert.equal(seen.events[0], 'message_start');
  assert.equal(seen.events.at(-1), 'message_stop');
  return { message, seen, finalText: message.stop_reason === 'end_turn' ? await stream.finalText() : null };
}

async function roundTrip(model, stream) {
  const body = { model, max_tokens: 200, messages: ask, tools };
  const first = stream ? await streamed(body) : { message: await client.messages.create(body) };
  const msg = first.message;
  assert.equal(msg.stop_reason, 'tool_use', `${model} ${stream}`);
  assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'tool_use']);
  assert.equal(msg.content[0].thinking, 'Need a tool.');
  const use = msg.content[1];
  assert.equal(use.name, 'read_file');
  assert.deepEqual(use.input, { path: 'a.txt' });
  assert.match(use.id, /^\S+$/);
  if (stream) assert.deepEqual(first.seen.json.at(-1), { path: 'a.txt' }, 'inputJson snapshot');
  const follow = [...ask, { role: 'assistant', content: msg.content },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'hello world' }] }];
  const again = { model, max_tokens: 200, messages: follow, tools };
  const second = stream ? (await streamed(again)).message : await client.messages.create(again);
  assert.equal(second.stop_reason, 'end_turn');
  assert.equal(second.content[0].text, 'The file says: hello world');
  assert.equal(second.usage.output_tokens, 7);
}

async function rejectsWith(promise, cls, status) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof cls, `${e.constructor.name} is not ${cls.name}: ${e.message}`);
    assert.equal(e.status, status);
    return true;
  });
}

await run({
  async js_anthropic_create_text() {
    for (const model of models) {
      const msg = await client.messages.create({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.deepEqual(msg.content.map((b) => [b.type, b.text]), [['text', 'Hello there']], model);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.equal(msg.usage.input_tokens, 11, model);
      assert.equal(msg.usage.output_tokens, 7, model);
    }
  },
  async js_anthropic_stream_helpers() {
    for (const model of models) {
      const { message, seen, finalText } = await streamed({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
      assert.ok(seen.text.length >= 2, `text arrived in ${seen.text.length} event(s)`);
      assert.equal(seen.text.join(''), 'Hello there', model);
      assert.equal(finalText, 'Hello there');
      assert.equal(message.stop_reason, 'end_turn');
      assert.equal(message.usage.input_tokens, 11, model);
      assert.equal(message.usage.output_tokens, 7, model);
      assert.ok(seen.events.includes('content_block_delta') && seen.events.includes('message_delta'), seen.events.join());
    }
  },
  async js_anthropic_tool_round_trip_whole() {
    for (const model of models) await roundTrip(model, false);
  },
  async js_anthropic_tool_round_trip_streamed() {
    for (const model of models) await roundTrip(model, true);
  },
  async js_anthropic_errors() {
    const ask1 = { max_tokens: 5, messages: ask };
    await rejectsWith(client.messages.create({ model: 'nope-status-404', ...ask1 }), Anthropic.NotFoundError, 404);
    await rejectsWith(client.messages.create({ model: 'claude-status-404', ...ask1 }), Anthropic.NotFoundError, 404);
    await rejectsWith(client.messages.create({ model: 'gpt-status-429', ...ask1 }), Anthropic.RateLimitError, 429);
    await rejectsWith(client.messages.stream({ model: 'claude-status-529', ...ask1 }).finalMessage(), Anthropic.OverloadedError, 529);
    await rejectsWith(client.messages.stream({ model: 'gpt-status-500', ...ask1 }).finalMessage(), Anthropic.InternalServerError, 500);
    const wrong = new Anthropic({ baseURL: base, apiKey: 'wrong', maxRetries: 0 });
    await rejectsWith(wrong.messages.create({ model: 'gpt-4o', ...ask1 }), Anthropic.AuthenticationError, 401);
    try {
      await client.messages.create({ model: 'nope-status-404', ...ask1 });
    } catch (e) {
      assert.equal(e.error?.type, 'error', JSON.stringify(e.error));
      assert.match(e.error.error.message, /scripted 404/);
    }
  },
  async js_anthropic_count_tokens() {
    const passed = await client.messages.countTokens({ model: 'claude-x', messages: ask });
    assert.equal(passed.input_tokens, 77);
    const estimated = await client.messages.countTokens({ model: 'gpt-4o', messages: ask, tools });
    assert.ok(Number.isInteger(estimated.input_tokens) && estimated.input_tokens > 0, JSON.stringify(estimated));
  },
  async js_anthropic_models() {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.slice(0, 2), ['demo', 'claude-sonnet-4-20250514']);
    const demo = await client.models.retrieve('demo');
    assert.equal(demo.id, 'demo');
    assert.equal(demo.type, 'model');
  },
});
