// The SDK against the real server: sessions, attendee maps, alerts as WorkspacesError, full, kick,
// destroy, toggles, ICE servers, token refresh, request timeouts and disconnects.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { WorkspacesError } from '../../client/workspaces.js';
import { ID_RE, serverFixture, sleep, withServer } from '../integration/harness.mjs';
import { fakeStream, sdkClients, waitState } from './support.mjs';

const fixture = serverFixture();
const open = sdkClients();

/** An owner with a created workspace and `guests` attended guests, every `attend` seen by all. */
async function workspace(url, { guests = 1, pin, options = {} } = {}) {
  const owner = open(url, options);
  await owner.create({ name: 'Design', pin }, { name: 'Olivia' });
  const members = [owner];
  for (let i = 1; i <= guests; i++) {
    const guest = open(url, options);
    await guest.attend(owner.workspace.token, { pin, name: `Guest ${i}` });
    await Promise.all(members.map((m) => m.events.next('attend', { where: (a) => a.id === guest.self.id })));
    members.push(guest);
  }
  return { owner, guests: members.slice(1) };
}

describe('sessions', () => {
  test('create and attend fill both attendee maps; leave empties them', async () => {
    const owner = open(fixture.url);
    const created = await owner.create({ name: 'Design' }, { name: 'Olivia' });
    assert.match(created.workspace.id, ID_RE);
    assert.equal(owner.connectionState, 'open');
    assert.equal(owner.isOwner, true);
    assert.equal(owner.accessToken, created.accessToken);
    assert.equal(owner.workspace.name, 'Design');
    assert.equal(owner.self.name, 'Olivia');
    assert.deepStrictEqual([...owner.attendees.keys()], [owner.self.id]);

    const guest = open(fixture.url);
    const granted = await guest.attend(owner.workspace.token, { name: 'Gus' });
    assert.equal(granted.workspace.id, created.workspace.id);
    assert.equal(guest.isOwner, false);
    assert.equal(guest.workspace.owner, owner.self.id);
    assert.deepStrictEqual([...guest.attendees.keys()].sort(), [owner.self.id, guest.self.id].sort());
    assert.equal(guest.attendees.get(owner.self.id).name, 'Olivia');

    const pushed = await owner.events.next('attend');
    assert.equal(pushed.id, guest.self.id);
    const seen = owner.attendees.get(guest.self.id);
    assert.deepStrictEqual(seen, { id: guest.self.id, name: 'Gus', avatar: seen.avatar, mic: true, cam: true, online: true });
    assert.ok(owner.events.all('attendees').some((map) => map.has(guest.self.id)), 'an attendees event carried the newcomer');

    const guestId = guest.self.id;
    await guest.leave();
    assert.equal(guest.workspace, null);
    assert.equal(guest.self, null);
    assert.equal(guest.attendees.size, 0);
    assert.equal((await owner.events.next('leave')).id, guestId);
    assert.equal(owner.attendees.has(guestId), false);
    assert.equal(guest.connectionState, 'open', 'leaving keeps the connection');
  });

  test('requests made before the socket opens wait for it', async () => {
    const client = open(fixture.url);
    assert.equal(client.connectionState, 'connecting');
    const created = await client.create();
    assert.equal(created.workspace.name, 'Anonymous Workspace');
    assert.equal(client.self.name, 'Anonymous');
  });
});

describe('alerts reject with WorkspacesError', () => {
  test('wrong and missing PIN: pin_invalid; bad invite: token_invalid; oversized name: too_large with field', async () => {
    const owner = open(fixture.url);
    await owner.create({ pin: 'pin-sdk-1234' });
    const guest = open(fixture.url);
    const rejected = (promise, code, extra = {}) => assert.rejects(promise, (error) => {
      assert.ok(error instanceof WorkspacesError, `a WorkspacesError, got ${error}`);
      assert.equal(error.code, code, `code (${error.message})`);
      for (const [key, value] of Object.entries(extra)) assert.equal(error[key], value, key);
      assert.ok(error.message.length > 0);
      return true;
    });
    await rejected(guest.attend(owner.workspace.token, { pin: 'wrong' }), 'pin_invalid', { event: 'attend' });
    await rejected(guest.attend(owner.workspace.token), 'pin_invalid');
    await rejected(guest.attend('not-a-token', { pin: 'pin-sdk-1234' }), 'token_invalid', { event: 'attend' });
    await rejected(guest.attend(owner.workspace.token, { pin: 'pin-sdk-1234', name: 'x'.repeat(65) }), 'too_large',
      { field: 'attendee.name' });
    assert.equal(guest.workspace, null, 'no session after failures');
    await guest.attend(owner.workspace.token, { pin: 'pin-sdk-1234' });
    await rejected(guest.kick(owner.self.id), 'forbidden', { event: 'kick' });
    await rejected(guest.startCall(fakeStream()), 'forbidden');
  });

  test('full: attend rejects with code full, emits full, and the client closes without reconnecting', async (t) => {
    const server = await withServer(t, { config: { max_capacity_of_workspace: 2 } });
    const { owner } = await workspace(server.url, { guests: 1 });
    const third = open(server.url);
    await assert.rejects(third.attend(owner.workspace.token), { code: 'full', event: 'attend' });
    assert.equal((await third.events.next('full')).capacity, 2);
    await waitState(third, 'closed');
    const closed = await third.events.next('disconnected');
    assert.deepStrictEqual([closed.code, closed.willReconnect], [4001, false]);
    await sleep(400); // reconnect delays are 50-400 ms in these tests
    assert.equal(third.sockets.length, 1, 'no reconnect after full');
    await assert.rejects(third.create(), { code: 'closed' });
  });
});

describe('owner powers', () => {
  test('kick: the target gets kicked and stays closed; owner and bystander maps drop it', async () => {
    const { owner, guests: [target, bystander] } = await workspace(fixture.url, { guests: 2 });
    const targetId = target.self.id;
    await owner.kick(targetId);
    assert.equal(owner.attendees.has(targetId), false);
    assert.deepStrictEqual(await owner.events.next('kicked'), { id: targetId });
    assert.deepStrictEqual(await bystander.events.next('kicked'), { id: targetId });
    assert.equal((await bystander.events.next('attendees', { where: (m) => !m.has(targetId) })).size, 2);

    assert.deepStrictEqual(await target.events.next('kicked'), { id: targetId });
    await waitState(target, 'closed');
    assert.equal((await target.events.next('disconnected')).code, 4003);
    assert.equal(target.workspace, null);
    assert.equal(target.accessToken, null);
    await sleep(400);
    assert.equal(target.sockets.length, 1, 'a kicked client does not reconnect');
  });

  test('destroy: everyone gets destroyed, sessions end, connections stay usable', async () => {
    const { owner, guests: [guest] } = await workspace(fixture.url);
    const id = owner.workspace.id;
    await owner.destroy();
    assert.deepStrictEqual((await owner.events.next('destroyed')).workspace, { id });
    assert.deepStrictEqual((await guest.events.next('destroyed')).workspace, { id });
    for (const client of [owner, guest]) {
      assert.equal(client.workspace, null);
      assert.equal(client.attendees.size, 0);
      assert.equal(client.connectionState, 'open');
    }
    const again = await guest.create({ name: 'Second' });
    assert.notEqual(again.workspace.id, id);
    assert.equal(guest.isOwner, true);
  });

  test('a request for a destroyed workspace rejects with destroyed and ends the session', async () => {
    const { owner, guests: [guest] } = await workspace(fixture.url);
    const token = guest.accessToken;
    await owner.destroy();
    await guest.events.next('destroyed');
    const stranger = open(fixture.url);
    await assert.rejects(stranger.resume(token), { code: 'destroyed', event: 're-attend' });
    assert.equal(stranger.workspace, null);
  });
});

describe('media state and misc requests', () => {
  test('mic and cam toggles switch the local tracks and reach the others', async () => {
    const { owner, guests: [guest] } = await workspace(fixture.url);
    const stream = fakeStream();
    guest.setLocalStream(stream);
    await guest.setMic(false);
    assert.equal(stream.getAudioTracks()[0].enabled, false);
    assert.equal(stream.getVideoTracks()[0].enabled, true);
    assert.deepStrictEqual(await owner.events.next('mic-toggle'), { attendee: { id: guest.self.id }, state: false });
    assert.equal(owner.attendees.get(guest.self.id).mic, false);
    assert.equal(guest.self.mic, false);

    await guest.setCam(false);
    assert.equal(stream.getVideoTracks()[0].enabled, false);
    assert.deepStrictEqual(await owner.events.next('cam-toggle'), { attendee: { id: guest.self.id }, state: false });
    assert.equal(owner.attendees.get(guest.self.id).cam, false);

    // A late joiner sees the stored state.
    const late = open(fixture.url);
    await late.attend(owner.workspace.token);
    assert.deepStrictEqual([late.attendees.get(guest.self.id).mic, late.attendees.get(guest.self.id).cam], [false, false]);
  });

  test('an attendee list answered before a toggle does not undo the toggle in self', async () => {
    const { guests: [guest] } = await workspace(fixture.url);
    // The list request goes first, so its answer holds the state from before the toggle.
    const listed = guest.refreshAttendees();
    const toggled = guest.setCam(false);
    await Promise.all([listed, toggled]);
    assert.equal(guest.self.cam, false);
    assert.equal(guest.attendees.get(guest.self.id).cam, false);
  });

  test('iceServers lists RTCIceServers; refreshToken gives a new token that works', async () => {
    const owner = open(fixture.url);
    await owner.create();
    const servers = await owner.iceServers();
    assert.ok(Array.isArray(servers) && servers.length > 0);
    for (const server of servers) assert.ok([server.urls].flat().every((u) => /^(stun|stuns|turn|turns):/.test(u)));
    const before = owner.accessToken;
    const fresh = await owner.refreshToken();
    assert.notEqual(fresh, before);
    assert.equal(owner.accessToken, fresh);
    const map = await owner.refreshAttendees();
    assert.equal(map.get(owner.self.id).online, true);
  });

  test('request() sends any event with the access token added', async () => {
    const owner = open(fixture.url);
    await owner.create();
    assert.deepStrictEqual(await owner.request('mic-toggle', { state: false }), { event: 'mic-toggle' });
    await assert.rejects(owner.request('no-such-event'), { code: 'unknown_event' });
  });
});

describe('timeouts and disconnects (a stub server)', () => {
  /** A ws server on 127.0.0.1 that runs `onMessage(socket)` for every frame it receives. */
  async function stubServer(t, onMessage) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    wss.on('connection', (socket) => socket.on('message', () => onMessage(socket)));
    t.after(() => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(resolve);
    }));
    return `ws://127.0.0.1:${wss.address().port}/ws`;
  }

  test('no reply within requestTimeoutMs rejects with timeout', async (t) => {
    const url = await stubServer(t, () => {});
    const client = open(url, { requestTimeoutMs: 200 });
    const started = Date.now();
    await assert.rejects(client.create(), { code: 'timeout', event: 'create' });
    assert.ok(Date.now() - started >= 190);
  });

  test('a dropped connection rejects pending requests with disconnected; close() rejects with closed', async (t) => {
    const url = await stubServer(t, (socket) => socket.terminate());
    const client = open(url, { reconnect: { minDelayMs: 5000 } });
    await assert.rejects(client.create(), { code: 'disconnected', event: 'create' });
    await waitState(client, 'reconnecting');
    await assert.rejects(client.create(), { code: 'disconnected' }, 'fails fast while reconnecting');
    await client.close();
    assert.equal(client.connectionState, 'closed');
    await assert.rejects(client.create(), { code: 'closed' });
  });
});
