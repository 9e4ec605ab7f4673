// Plain HTTP endpoints: /, /healthz, /readyz, /metrics, 404 and 405 (PROTOCOL.md §1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertAlert, assertReply, httpRequest, serverFixture, setupWorkspace, testLogsClean } from './harness.mjs';

const fixture = serverFixture();
const get = (pathname, options) => httpRequest(`${fixture.server.httpUrl}${pathname}`, options);

describe('http', () => {
  test('GET / is a fast human page', async () => {
    const started = Date.now();
    const res = await get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.body, /workspaces/i);
    assert.ok(Date.now() - started < 1000, 'answers fast');
  });

  test('GET /healthz and /readyz', async () => {
    const health = await get('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.trim(), 'ok');
    assert.equal((await get('/readyz')).status, 200);
  });

  test('GET /metrics exposes connection, frame, alert and relay metrics after some traffic', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    assertReply(await guest.request('icecandidate', { attendee: { id: owner.id }, candidate: { candidate: '' } }), 'ok');
    await owner.next('icecandidate');
    assertReply(await owner.request('negotiation', { attendee: { id: guest.id }, message: {} }), 'ok');
    await guest.next('negotiation');
    assertAlert(await guest.request('kick', { attendee: { id: owner.id } }), { code: 'forbidden' });

    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain/);
    for (const name of ['workspaces_connections_open', 'workspaces_frames_in_total', 'workspaces_alerts_total',
      'workspaces_relay_latency_seconds_bucket']) {
      assert.match(res.body, new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'), `metrics include a ${name} sample`);
    }
    const open = [...res.body.matchAll(/^workspaces_connections_open(?:\{[^}]*\})? (\S+)$/gm)]
      .reduce((sum, [, value]) => sum + Number(value), 0);
    assert.ok(open >= 2, `at least the two members' connections are counted open (${open})`);
  });

  test('unknown paths are 404, unsupported methods 405', async () => {
    assert.equal((await get('/no-such-page')).status, 404);
    assert.equal((await get('/healthz', { method: 'POST' })).status, 405);
    assert.equal((await get('/metrics', { method: 'DELETE' })).status, 405);
  });
});

testLogsClean(fixture);
