// The `openai` npm package as a real client of `dpserve engine`: chat and completions, streamed
// and not. Usage: node openai_client_test.mjs /path/to/dpserve
// Exit 0 = pass, 1 = fail, 77 = skipped (the openai package is not installed: run `npm ci` here).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const SKIP = 77;
let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch {
  console.log('SKIP: the openai package is not installed (run `npm ci` in tests/node)');
  process.exit(SKIP);
}

const dpserve = process.argv[2];
if (!dpserve) {
  console.error('usage: node openai_client_test.mjs /path/to/dpserve');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'dpserve-node-'));
const model = join(dir, 'tiny-llama');
const created = spawnSync(dpserve, ['model', 'create', '--arch', 'llama', '--preset', 'tiny',
  '--out', model], { encoding: 'utf8' });
assert.equal(created.status, 0, `model create failed: ${created.stderr}`);

const engine = spawn(dpserve, ['engine', '--model-path', model, '--port', '0',
  '--served-model-name', 'tiny', '--max-total-tokens', '8192', '--api-key', 'node-key',
  '--log-level', 'warning'], { stdio: ['ignore', 'pipe', 'inherit'] });

function cleanup() {
  engine.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

// Resolves with the port from the "listening on http://HOST:PORT" line, or fails after 60 s.
const port = await new Promise((resolve, reject) => {
  let seen = '';
  const timer = setTimeout(() => reject(new Error('engine did not start')), 60000);
  engine.stdout.on('data', (chunk) => {
    seen += chunk;
    const match = seen.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (match) {
      clearTimeout(timer);
      resolve(Number(match[1]));
    }
  });
  engine.on('exit', (code) => reject(new Error(`engine exited with ${code}`)));
});

const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'node-key',
  timeout: 60000, maxRetries: 0 });
const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello!' }];

const tests = {
  async models() {
    const list = await client.models.list();
    assert.equal(list.data[0].id, 'tiny');
  },
  async completion() {
    const out = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time',
      max_tokens: 8, temperature: 0 });
    assert.equal(out.object, 'text_completion');
    assert.equal(out.choices[0].finish_reason, 'length');
    assert.equal(typeof out.choices[0].text, 'string');
    assert.equal(out.usage.completion_tokens, 8);
    assert.equal(typeof out.usage.prompt_tokens_details.cached_tokens, 'number');
  },
  async completionStream() {
    const whole = await client.completions.create({ model: 'tiny', prompt: 'abc', max_tokens: 6,
      temperature: 0 });
    const stream = await client.completions.create({ model: 'tiny', prompt: 'abc', max_tokens: 6,
      temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) text += chunk.choices[0].text;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, whole.choices[0].text);
    assert.equal(usage.completion_tokens, 6);
  },
  async chat() {
    const out = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 8,
      temperature: 0 });
    assert.equal(out.object, 'chat.completion');
    assert.equal(out.choices[0].message.role, 'assistant');
    assert.equal(typeof out.choices[0].message.content, 'string');
    assert.equal(out.usage.completion_tokens, 8);
    const again = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 8,
      temperature: 0 });
    assert.equal(again.choices[0].message.content, out.choices[0].message.content);
    assert.ok(again.usage.prompt_tokens_details.cached_tokens > 0);
  },
  async chatStream() {
    const whole = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 6,
      temperature: 0 });
    const stream = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 6,
      temperature: 0, stream: true, stream_options: { include_usage: true } });
    let content = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        content += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(content, whole.choices[0].message.content);
    assert.equal(finish, 'length');
    assert.equal(usage.completion_tokens, 6);
  },
  async badRequest() {
    await assert.rejects(
      client.completions.create({ model: 'gpt-9', prompt: 'x', max_tokens: 2 }),
      (err) => err.status === 400 && /gpt-9/.test(err.message));
  },
};

let failed = 0;
for (const [name, run] of Object.entries(tests)) {
  try {
    await run();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.stack ?? err}`);
  }
}
cleanup();
process.exit(failed === 0 ? 0 : 1);
