// Startup checks: secrets in production, TLS files, config types and unknown keys, development mode (PROTOCOL.md §3, §9).
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { Client, assertBinary, assertReply, createWorkspace, join, makeCert, startServer, waitUntil, withServer } from './harness.mjs';

/** Waits (bounded) until the server's output matches `re`: stderr and stdout may interleave. */
const logsMatch = (server, re) => waitUntil(() => re.test(server.logs()), { timeout: 1000, what: `a log line matching ${re}` });

/** Starts a server that must refuse; asserts a non-zero exit and returns its output. */
async function refuses(options) {
  const { code, signal, output, env } = await startServer({ ...options, expectExit: true });
  assert.equal(signal, null, `exited by itself, not by signal ${signal}; output:\n${output}`);
  assert.notEqual(code, 0, `non-zero exit; output:\n${output}`);
  return { output, env };
}

// Fail the whole file at once when the binary is missing (before generating certificates).
before(assertBinary);

describe('refuses to start', () => {
  test('in production without MAGICK_TOKEN, naming it and no other secret', async () => {
    const { output, env } = await refuses({ env: { MAGICK_TOKEN: undefined } });
    assert.match(output, /MAGICK_TOKEN/);
    assert.ok(!output.includes(env.SALT_STRING), 'the output leaks the SALT_STRING value');
  });

  test('in production without SALT_STRING, naming it and no other secret', async () => {
    const { output, env } = await refuses({ env: { SALT_STRING: undefined } });
    assert.match(output, /SALT_STRING/);
    assert.ok(!output.includes(env.MAGICK_TOKEN), 'the output leaks the MAGICK_TOKEN value');
  });

  // Issue 16: `MAGICK_TOKEN=abc` signed tokens that anyone can brute-force from one sample.
  for (const name of ['MAGICK_TOKEN', 'SALT_STRING']) {
    test(`in production with a ${name} shorter than 32 bytes, naming it and never quoting it`, async () => {
      const short = 'abc' + 'x'.repeat(28); // 31 bytes
      const { output } = await refuses({ env: { [name]: short } });
      assert.match(output, new RegExp(`${name} is shorter than 32 bytes`));
      assert.ok(!output.includes(short), `the output quotes the ${name} value`);
    });
  }

  test('with HTTPS on and a missing key file, naming the path', async (t) => {
    const cert = await makeCert();
    t.after(cert.remove);
    const missing = path.join(cert.dir, 'no-such-key.pem');
    const { output } = await refuses({ env: { ENABLE_HTTPS: 'true' }, config: { https: { key: missing, cert: cert.cert } } });
    assert.ok(output.includes(missing), `the output names ${missing}:\n${output}`);
  });

  test('with a config value of the wrong type, naming the key', async () => {
    const { output } = await refuses({ config: { max_capacity_of_workspace: '5' } });
    assert.match(output, /max_capacity_of_workspace/);
  });

  test('with a config file that is not JSON', async () => {
    const { output } = await refuses({ configText: '{"bind_address": "127.0.0.1",' });
    assert.match(output, /config\.json/);
  });
});

describe('starts with a warning', () => {
  test('on an unknown config key, naming it', async (t) => {
    const server = await withServer(t, { config: { max_capacity_of_workspaec: 3 } });
    await logsMatch(server, /max_capacity_of_workspaec/);
    await createWorkspace(await Client.connect(server.url));
  });

  test('in development mode without secrets, and works', async (t) => {
    const server = await withServer(t, { env: { DEVELOPMENT: 'true', MAGICK_TOKEN: undefined, SALT_STRING: undefined } });
    await logsMatch(server, /warn/i);
    await logsMatch(server, /MAGICK_TOKEN|SALT_STRING|ephemeral|restart/);
    const client = await Client.connect(server.url);
    const created = await createWorkspace(client, { pin: 'dev-pin-1234' });
    const guest = await Client.connect(server.url);
    const reply = await guest.request('attend', { workspace: { token: created.workspace.token, pin: 'dev-pin-1234' }, attendee: {} });
    assertReply(reply, 'attendance-granted');
  });
});

describe('logs', () => {
  test('LOG_FORMAT=json writes one JSON object per line, with events and no secrets', async (t) => {
    const server = await withServer(t, { env: { LOG_FORMAT: 'json', DEVELOPMENT: 'true' } });
    const owner = await Client.connect(server.url);
    const created = await createWorkspace(owner, { pin: '4321' });
    const { client } = await join(server.url, created.workspace.token, { pin: '4321' });
    client.close();
    const stopped = await server.stop();
    assert.equal(stopped.code, 0);
    const lines = server.logs().split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length > 5, `some log lines:\n${server.logs()}`);
    const events = new Set();
    for (const line of lines) {
      let entry;
      assert.doesNotThrow(() => { entry = JSON.parse(line); }, `not JSON: ${line}`);
      assert.equal(typeof entry.time, 'string');
      assert.match(entry.level, /^(debug|info|warning|error|critical)$/);
      assert.ok(typeof entry.event === 'string' || typeof entry.msg === 'string', line);
      if (entry.event) events.add(entry.event);
    }
    for (const e of ['workspace.created', 'attendee.joined', 'connection.open', 'connection.closed', 'request', 'server.shutdown']) {
      assert.ok(events.has(e), `a ${e} line among ${[...events].join(', ')}`);
    }
    for (const secret of ['4321', created.accessToken, created.workspace.token]) {
      assert.ok(!server.logs().includes(secret), 'a secret leaked into the logs');
    }
  });
});
