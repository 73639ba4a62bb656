// The official openai JS SDK's Responses API against the proxy, run by clients.py with the same
// fake upstream: `responses.create` and `responses.stream` (its event accumulator checks order
// and ids) with text, tools over two turns and JSON-schema output, on a chat-only, an Anthropic
// and a Responses upstream. Prints one `ok`/`FAIL` line per check, then `N passed, M failed`.
//
// Usage: node responses.mjs BASE_URL TOKEN OPENAI_PACKAGE_DIR

import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';
import { run } from './harness.mjs';

const [base, token, pkg] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(`${pkg}/index.mjs`).href);
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0 });
const tools = [{ type: 'function', name: 'read_file', strict: false, description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } } } }];
const models = ['gpt-4o', 'claude-sonnet-4-20250514', 'native-gpt-5'];

async function turn(model, stream, body) {
  if (!stream) return client.responses.create({ model, ...body });
  const s = client.responses.stream({ model, ...body });
  let last = -1;
  for await (const e of s) {
    assert.equal(e.sequence_number, last + 1, `sequence after ${last}`);
    last = e.sequence_number;
  }
  return s.finalResponse();
}

async function roundTrip(model, stream) {
  const first = await turn(model, stream, { input: 'read a.txt', tools });
  const call = first.output.find((o) => o.type === 'function_call');
  assert.deepEqual(JSON.parse(call.arguments), { path: 'a.txt' });
  const result = { type: 'function_call_output', call_id: call.call_id, output: 'hello world' };
  const native = model.startsWith('native');
  const second = native
    ? await turn(model, stream, { input: [{ role: 'user', content: 'read a.txt' }, ...first.output, result], tools })
    : await turn(model, stream, { input: [result], tools, previous_response_id: first.id });
  assert.equal(second.output_text, 'The file says: hello world');
}

const checks = {
  async js_responses_text() {
    for (const model of models) {
      for (const stream of [false, true]) {
        const r = await turn(model, stream, { input: 'hi' });
        assert.equal(r.output_text, 'Hello there', `${model} ${stream}`);
        assert.ok(r.usage.total_tokens > 0);
      }
    }
  },
  async js_responses_tools_two_turns() {
    for (const model of models) {
      for (const stream of [false, true]) await roundTrip(model, stream);
    }
  },
  async js_responses_json_schema() {
    const text = { format: { type: 'json_schema', name: 'sum', strict: true,
      schema: { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false } } };
    for (const model of ['gpt-4o', 'native-gpt-5']) {
      const r = await turn(model, true, { input: '2+2?', text });
      assert.deepEqual(JSON.parse(r.output_text), { answer: 4 });
    }
  },
  async js_responses_errors() {
    await assert.rejects(client.responses.create({ model: 'gpt-status-429', input: 'x' }), OpenAI.RateLimitError);
    await assert.rejects(client.responses.create({ model: 'claude-x', input: 'x', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }),
      OpenAI.BadRequestError);
  },
};

await run(checks);
