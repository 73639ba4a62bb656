// The Vercel AI SDK (`ai`, with @ai-sdk/openai and @ai-sdk/anthropic) against the proxy, run by
// clients.py with its fake upstream. Each check runs on every way the SDK can reach us:
// the openai provider's Chat Completions mode (`openai.chat`) and its default Responses mode
// (`openai(...)`), and the anthropic provider, each to the fake Chat Completions upstream (gpt-4o)
// and the fake Anthropic one (a Claude name): generateText, streamText (textStream and fullStream,
// with a tool the SDK executes between two steps), generateObject and streamObject with a zod
// schema, and typed errors.
//
// Usage: node vercel_ai.mjs BASE_URL TOKEN NODE_MODULES_DIR

import assert from 'node:assert/strict';
import { load, run } from './harness.mjs';

const [base, token, nodeModules] = process.argv.slice(2);
globalThis.AI_SDK_LOG_WARNINGS = false; // generateObject's deprecation, unsupported settings: not ours
const ai = await load(nodeModules, 'ai/dist/index.js');
const { createOpenAI } = await load(nodeModules, '@ai-sdk/openai/dist/index.js');
const { createAnthropic } = await load(nodeModules, '@ai-sdk/anthropic/dist/index.js');
const { z } = await load(nodeModules, 'zod/index.js');

const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: token });
const anthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey: token });
const claude = 'claude-sonnet-4-20250514';
// [label, model]: every provider mode against both fake upstreams.
const models = [
  ['openai.chat gpt-4o', openai.chat('gpt-4o')],
  [`openai.chat ${claude}`, openai.chat(claude)],
  ['openai(responses) gpt-4o', openai('gpt-4o')],
  [`openai(responses) ${claude}`, openai(claude)],
  ['anthropic gpt-4o', anthropic('gpt-4o')],
  [`anthropic ${claude}`, anthropic(claude)],
];
const calls = [];
const tools = {
  read_file: ai.tool({
    description: 'Read a file',
    inputSchema: z.object({ path: z.string() }),
    execute: async ({ path }) => {
      calls.push(path);
      return 'hello world';
    },
  }),
};
const common = { maxRetries: 0, prompt: 'hi' };
const withTools = { maxRetries: 0, prompt: 'read a.txt', tools, stopWhen: ai.stepCountIs(3) };
const schema = z.object({ answer: z.number().int() });

function assertUsage(usage, label) {
  assert.equal(usage.outputTokens, 7, `${label}: ${JSON.stringify(usage)}`);
  assert.ok(usage.inputTokens >= 11, `${label}: ${JSON.stringify(usage)}`);
}

// Each check runs on every model and names the ones that failed, with why.
async function everyModel(check) {
  const failures = [];
  for (const [label, model] of models) {
    try {
      await check(model, label);
    } catch (e) {
      failures.push(`[${label}] ${e.message.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }
  assert.equal(failures.length, 0, failures.join('; '));
}

await run({
  async ai_generate_text() {
    await everyModel(async (model, label) => {
      const r = await ai.generateText({ model, ...common });
      assert.equal(r.text, 'Hello there');
      assert.equal(r.finishReason, 'stop');
      assertUsage(r.usage, label);
    });
  },
  async ai_stream_text_text_stream() {
    await everyModel(async (model, label) => {
      const r = ai.streamText({ model, ...common, onError: () => {} });
      const pieces = [];
      for await (const t of r.textStream) pieces.push(t);
      assert.equal(pieces.join(''), 'Hello there');
      assert.ok(pieces.length >= 2, `one piece: ${pieces}`);
      assert.equal(await r.finishReason, 'stop');
      assertUsage(await r.usage, label);
    });
  },
  async ai_generate_text_tool_round_trip() {
    await everyModel(async (model, label) => {
      calls.length = 0;
      const r = await ai.generateText({ model, ...withTools });
      assert.equal(r.steps.length, 2);
      assertUsage(r.steps[1].usage, label);
      const [call] = r.steps[0].toolCalls;
      assert.equal(call.toolName, 'read_file');
      assert.deepEqual(call.input, { path: 'a.txt' });
      assert.deepEqual(calls, ['a.txt']);
      assert.equal(r.steps[0].finishReason, 'tool-calls');
      assert.equal(r.text, 'The file says: hello world');
      assert.equal(r.totalUsage.outputTokens, 14, JSON.stringify(r.totalUsage));
    });
  },
  async ai_stream_text_full_stream_tools() {
    await everyModel(async (model) => {
      calls.length = 0;
      const r = ai.streamText({ model, ...withTools, onError: () => {} });
      const parts = [];
      for await (const p of r.fullStream) {
        if (p.type === 'error') throw p.error;
        parts.push(p);
      }
      const kinds = new Set(parts.map((p) => p.type));
      for (const k of ['tool-input-start', 'tool-input-delta', 'tool-call', 'tool-result', 'text-delta', 'finish']) {
        assert.ok(kinds.has(k), `no ${k} in ${[...kinds]}`);
      }
      const call = parts.find((p) => p.type === 'tool-call');
      assert.equal(call.toolName, 'read_file');
      assert.deepEqual(call.input, { path: 'a.txt' });
      const args = parts.filter((p) => p.type === 'tool-input-delta').map((p) => p.delta).join('');
      assert.deepEqual(JSON.parse(args), { path: 'a.txt' });
      assert.equal(parts.find((p) => p.type === 'tool-result').output, 'hello world');
      const text = parts.filter((p) => p.type === 'text-delta').map((p) => p.text).join('');
      assert.equal(text, 'The file says: hello world');
      const finish = parts.at(-1);
      assert.equal(finish.type, 'finish');
      assert.equal(finish.finishReason, 'stop');
      assert.equal(finish.totalUsage.outputTokens, 14, JSON.stringify(finish.totalUsage));
      assert.deepEqual(calls, ['a.txt']);
    });
  },
  async ai_conversation_continues_with_response_messages() {
    // A chat app's next turn: the earlier messages plus `response.messages`. The openai
    // provider's Responses mode sends its earlier output back as `item_reference`s.
    await everyModel(async (model) => {
      const messages = [{ role: 'user', content: 'read a.txt' }];
      const first = await ai.generateText({ model, ...withTools, prompt: undefined, messages });
      assert.equal(first.text, 'The file says: hello world');
      messages.push(...first.response.messages, { role: 'user', content: 'what did you say?' });
      const next = await ai.generateText({ model, maxRetries: 0, messages });
      assert.equal(next.text, 'You heard: The file says: hello world');
    });
  },
  async ai_generate_object() {
    await everyModel(async (model, label) => {
      const r = await ai.generateObject({ model, schema, maxRetries: 0, prompt: '2+2?' });
      assert.deepEqual(r.object, { answer: 4 });
      assert.equal(r.usage.outputTokens, 7, label);
      // What v7 recommends instead of generateObject: generateText with an output setting.
      const t = await ai.generateText({ model, output: ai.Output.object({ schema }), maxRetries: 0, prompt: '2+2?' });
      assert.deepEqual(t.output, { answer: 4 });
    });
  },
  async ai_stream_object() {
    await everyModel(async (model) => {
      const r = ai.streamObject({ model, schema, maxRetries: 0, prompt: '2+2?', onError: () => {} });
      const partials = [];
      for await (const p of r.partialObjectStream) partials.push(p);
      assert.deepEqual(partials.at(-1), { answer: 4 });
      assert.deepEqual(await r.object, { answer: 4 });
    });
  },
  async ai_errors() {
    const cases = [[openai.chat('nope-status-404'), 404], [openai('nope-status-404'), 404], [anthropic('nope-status-404'), 404],
      [openai.chat('claude-status-429'), 429], [openai('claude-status-500'), 500], [anthropic('gpt-status-429'), 429]];
    for (const [model, status] of cases) {
      await assert.rejects(ai.generateText({ model, ...common }), (e) => {
        assert.ok(ai.APICallError.isInstance(e), `${model.modelId}: ${e.constructor.name}: ${e.message}`);
        assert.equal(e.statusCode, status, model.modelId);
        assert.match(e.message, /scripted/);
        return true;
      });
    }
  },
});
