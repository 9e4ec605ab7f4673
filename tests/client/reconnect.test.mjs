// The SDK's reconnect against the real server: a dropped socket re-attends as the same attendee,
// server-shutdown + restart on the same port and state file, replaced, and a refused re-attend.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { serverFixture, startServer, waitUntil } from '../integration/harness.mjs';
import { sdkClients, waitState } from './support.mjs';

const fixture = serverFixture({ config: { reconnect_grace_seconds: 10 } });
const open = sdkClients();

async function ownerAndGuest(url, guestOptions = {}) {
  const owner = open(url);
  await owner.create({ name: 'Reconnect' }, { name: 'Olivia' });
  const guest = open(url, guestOptions);
  await guest.attend(owner.workspace.token, { name: 'Gus' });
  await owner.events.next('attend');
  return { owner, guest };
}

/** Polls the owner's attendees request until `id` shows `online`. */
function waitOnline(owner, id, online, timeout = 5000) {
  return waitUntil(async () => (await owner.refreshAttendees()).get(id)?.online === online,
    { timeout, interval: 50, what: `attendee ${id} online:${online}` });
}

describe('a dropped socket', () => {
  test('reconnects, re-attends as the same attendee, and the others see it online again', async () => {
    // A fixed 1.5 s delay leaves time to watch the guest go offline first.
    const { owner, guest } = await ownerAndGuest(fixture.url, { reconnect: { minDelayMs: 1500, maxDelayMs: 1500, jitter: 0 } });
    const id = guest.self.id;
    const token = guest.accessToken;
    const pending = guest.refreshAttendees();
    guest.sockets[0].terminate();
    await assert.rejects(pending, { code: 'disconnected', event: 'attendees' });
    assert.deepStrictEqual((await guest.events.next('disconnected')).willReconnect, true);
    await waitState(guest, 'reconnecting');
    await waitOnline(owner, id, false);

    const granted = await guest.events.next('reconnected', { timeout: 5000 });
    assert.equal(granted.attendee.id, id);
    assert.equal(guest.self.id, id);
    assert.equal(guest.accessToken, token);
    assert.equal(guest.connectionState, 'open');
    assert.equal(guest.sockets.length, 2);
    await waitOnline(owner, id, true);
    assert.equal(owner.events.all('leave').length + owner.events.all('attend').length, 1, 'silent: only the first attend');

    // The new connection is bound: requests work and reach the others.
    await guest.setMic(false);
    assert.deepStrictEqual(await owner.events.next('mic-toggle'), { attendee: { id }, state: false });
  });

  test('a toggle made while reconnecting is sent after the re-attend', async () => {
    const { owner, guest } = await ownerAndGuest(fixture.url, { reconnect: { minDelayMs: 300, maxDelayMs: 300, jitter: 0 } });
    guest.sockets[0].terminate();
    await waitState(guest, 'reconnecting');
    await assert.rejects(guest.setCam(false), { code: 'disconnected' });
    await guest.events.next('reconnected', { timeout: 5000 });
    assert.deepStrictEqual(await owner.events.next('cam-toggle'), { attendee: { id: guest.self.id }, state: false });
  });

  test('a re-attend refused (kicked while away) ends the session but keeps the connection', async () => {
    const { owner, guest } = await ownerAndGuest(fixture.url, { reconnect: { minDelayMs: 500, maxDelayMs: 500, jitter: 0 } });
    const id = guest.self.id;
    guest.sockets[0].terminate();
    await waitState(guest, 'reconnecting');
    await owner.kick(id);
    const error = await guest.events.next('error', { timeout: 5000 });
    assert.equal(error.code, 'token_revoked');
    await waitState(guest, 'open');
    assert.equal(guest.workspace, null);
    assert.equal(guest.accessToken, null);
    await guest.create({ name: 'Fresh start' });
  });

  test('replaced: another connection resuming the session closes this one for good', async () => {
    const { owner, guest } = await ownerAndGuest(fixture.url);
    const id = guest.self.id;
    const second = open(fixture.url);
    await second.resume(guest.accessToken);
    assert.equal(second.self.id, id);
    assert.equal(second.isOwner, false);
    await guest.events.next('replaced');
    await waitState(guest, 'closed');
    assert.equal((await guest.events.next('disconnected')).code, 4002);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(guest.sockets.length, 1, 'a replaced client does not reconnect');
    assert.equal(guest.workspace, null);
    await second.setMic(false);
    assert.equal((await owner.events.next('mic-toggle')).attendee.id, second.self.id);
  });
});

describe('server restart', () => {
  test('server-shutdown: waits retryAfter, reconnects to the restarted server, re-attends', async (t) => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-sdk-state-'));
    t.after(() => fsp.rm(dir, { recursive: true, force: true }));
    const env = { MAGICK_TOKEN: randomBytes(32).toString('hex'), SALT_STRING: randomBytes(24).toString('hex') };
    // shutdown_drain_seconds 2 makes retryAfter max(1, ceil(2 / 2)) = 1 s (docs/protocol.md §11).
    const config = { json_storage_file: path.join(dir, 'state.jsonl'), reconnect_grace_seconds: 60, shutdown_drain_seconds: 2 };
    const first = await startServer({ env, config });
    t.after(() => first.kill());
    const options = { reconnect: { minDelayMs: 100, maxDelayMs: 300, jitter: 0.2 } };
    const { owner, guest } = await ownerAndGuest(first.url, options);
    const ids = [owner.self.id, guest.self.id];

    const stopped = first.stop('SIGTERM');
    for (const c of [owner, guest]) assert.deepStrictEqual(await c.events.next('server-shutdown'), { retryAfter: 1 });
    const closes = await Promise.all([owner, guest].map((c) => c.events.next('disconnected', { timeout: 5000 })));
    for (const close of closes) assert.deepStrictEqual([close.code, close.willReconnect], [1012, true]);
    assert.deepStrictEqual(await stopped, { code: 0, signal: null });

    // Same port (--port comes after the harness's --port 0, and the last one wins), same file and secrets.
    const second = await startServer({ env, config, args: ['--port', String(first.port)] });
    t.after(() => second.kill());
    assert.equal(second.port, first.port);
    for (const c of [owner, guest]) await c.events.next('reconnected', { timeout: 10_000 });
    assert.deepStrictEqual([owner.self.id, guest.self.id], ids);
    for (const c of [owner, guest]) {
      // The first attempt after the 1012 waited for retryAfter (1 s; jitter only adds).
      const closedAt = c.events.firstAt('disconnected');
      assert.ok(c.sockets[1].createdAt - closedAt >= 990, `waited ${c.sockets[1].createdAt - closedAt} ms`);
      assert.equal(c.connectionState, 'open');
    }
    await waitOnline(owner, guest.self.id, true);
    await guest.setCam(false);
    assert.deepStrictEqual(await owner.events.next('cam-toggle'), { attendee: { id: guest.self.id }, state: false });
  });
});
