// Process lifecycle: graceful shutdown on SIGTERM/SIGINT (PROTOCOL.md §4.3) and WebSocket heartbeats (§7); rerun over Socket.IO by eio4/ and eio3/.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client, assertLogsClean, assertReply, createWorkspace, httpRequest, nativeOnly, setupWorkspace, sleep, withServer, withTimeout,
} from './harness.mjs';

describe('graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal}: server-shutdown to all, /readyz 503 while draining, 1012 for stayers, exit 0`, async (t) => {
      const server = await withServer(t, { config: { shutdown_drain_seconds: 1 } });
      const { owner } = await setupWorkspace(server.url, { guests: 0 });
      const leaver = await Client.connect(server.url);
      const stayer = await Client.connect(server.url);
      assert.equal((await httpRequest(`${server.httpUrl}/readyz`)).status, 200);

      const signalled = Date.now();
      const exited = server.stop(signal);
      const notices = await Promise.all([owner, leaver, stayer].map((c) => c.next('server-shutdown')));
      for (const { data } of notices) {
        assert.deepStrictEqual(Object.keys(data), ['retryAfter']);
        assert.ok(Number.isInteger(data.retryAfter) && data.retryAfter >= 1, `retryAfter ${data.retryAfter}`);
      }
      const readyz = await httpRequest(`${server.httpUrl}/readyz`).catch((error) => {
        throw new Error(`GET /readyz while draining failed (${error.code ?? error.message}): it must answer 503, so the listener stays open during the drain (§4.3)`);
      });
      assert.equal(readyz.status, 503);
      await assert.rejects(Client.connect(server.url, { timeout: 2000 }), 'no new WebSocket while draining');

      await leaver.close(); // a well-behaved client goes when told
      for (const client of [owner.client, stayer]) {
        assert.equal((await client.waitClosed(4000)).code, 1012);
      }
      assert.ok(Date.now() - signalled >= 500, 'stayers were given the drain period');
      assert.deepStrictEqual(await exited, { code: 0, signal: null });
      assertLogsClean(server);
    });
  }

  test('with no clients it exits 0 promptly', async (t) => {
    const server = await withServer(t, { config: { shutdown_drain_seconds: 5 } });
    const started = Date.now();
    assert.deepStrictEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
    assert.ok(Date.now() - started < 5000, 'did not wait the whole drain period for nobody');
  });
});

describe('heartbeat', () => {
  // WebSocket ping frames; the Engine.IO heartbeat has its own tests in socketio.test.mjs.
  test('a client that never answers pings is closed; a normal one stays', nativeOnly, async (t) => {
    const server = await withServer(t, { config: { ping_interval_ms: 200, ping_timeout_ms: 200 } });
    const silent = await Client.connect(server.url, { autoPong: false });
    const normal = await Client.connect(server.url);
    const connected = Date.now();
    await withTimeout(silent.closed, 1500, 'the server to drop the client that sends no pongs');
    assert.ok(silent.pings >= 1, 'the silent client was pinged');
    const remaining = 1500 - (Date.now() - connected);
    if (remaining > 0) await sleep(remaining);
    assert.ok(normal.isOpen, 'the normal client is still connected after 1.5 s');
    assert.ok(normal.pings >= 3, `the normal client was pinged (${normal.pings} pings)`);
    assertReply(await normal.request('create', { workspace: {}, attendee: {} }), 'created');
    await createWorkspace(await Client.connect(server.url));
  });
});
