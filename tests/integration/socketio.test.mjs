// Socket.IO compatibility (PROTOCOL.md §7) with the real socket.io-client v4 (EIO=4) and v2
// (EIO=3): acks, relays, kick/destroy/full as a server disconnect, heartbeats, reconnect and
// re-attend, mixed transports in one workspace, malformed Engine.IO packets, polling refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io as ioV4 } from 'socket.io-client';
import ioV2 from 'sio2';
import {
  Client, Member, RawEngineIo, SocketIoClient, assertAlert, assertReply, assertServes, createWorkspace, httpRequest,
  serverFixture, sleep, socketIoBase, testLogsClean, waitUntil, withTimeout,
} from './harness.mjs';

const PING_MS = 250;
const fixture = serverFixture({
  config: { ping_interval_ms: PING_MS, ping_timeout_ms: PING_MS, max_capacity_of_workspace: 3, reconnect_grace_seconds: 5 },
});

const VERSIONS = [
  { transport: 'eio4', eio: 4, io: ioV4, label: 'socket.io-client v4 (EIO=4)' },
  { transport: 'eio3', eio: 3, io: ioV2, label: 'socket.io-client v2 (EIO=3)' },
];

/** A raw socket.io-client socket (websocket only), connected; closed after the test by `t`. */
async function connectSocket(t, { io }, options = {}) {
  const socket = io(socketIoBase(fixture.url), { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
  t.after(() => socket.close());
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), 5000, 'the Socket.IO connection');
  return socket;
}

/** Emits with an ack and resolves the ack's arguments `[event, data]` (bounded). */
function emitAck(socket, event, data) {
  return withTimeout(new Promise((resolve) => socket.emit(event, data, (...args) => resolve(args))), 5000, `the ack of ${event}`);
}

/** The next `event` on `socket` (bounded). */
function once(socket, event, timeout = 3000) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args.length > 1 ? args : args[0]))), timeout, `${event}`);
}

/** A member on `transport` ('native', 'eio4', 'eio3'), created or joined with the harness Client. */
async function memberOn(transport, invite) {
  const client = await Client.connect(fixture.url, { transport });
  if (!invite) return new Member(client, await createWorkspace(client, { attendeeName: `owner-${transport}` }));
  const reply = await client.request('attend', { workspace: { token: invite }, attendee: { name: `guest-${transport}` } });
  return new Member(client, assertReply(reply, 'attendance-granted'));
}

for (const version of VERSIONS) {
  describe(`${version.label}`, () => {
    test('connects; create and attend answer as acks, and as events without an ack', async (t) => {
      const owner = await connectSocket(t, version);
      const [event, created] = await emitAck(owner, 'create', { workspace: { name: 'Sio' }, attendee: { name: 'Owner' }, nonce: 'n1' });
      assert.equal(event, 'created');
      assert.equal(created.workspace.name, 'Sio');
      assert.equal(created.nonce, 'n1');

      const guest = await connectSocket(t, version);
      const granted = once(guest, 'attendance-granted');
      const announcedP = once(owner, 'attend');
      guest.emit('attend', { workspace: { token: created.workspace.token }, attendee: { name: 'Guest' } });
      const grant = await granted;
      assert.equal(grant.workspace.id, created.workspace.id);
      const announced = await announcedP;
      assert.equal(announced.id, grant.attendee.id);

      // An alert for a request with an ack comes back as the ack.
      const [alertEvent, alert] = await emitAck(guest, 'kick', { accessToken: grant.accessToken, attendee: { id: created.attendee.id } });
      assertAlert({ event: alertEvent, data: alert }, { code: 'forbidden', event: 'kick' });
      // A relay with an ack is acknowledged with ok.
      const toggled = once(guest, 'mic-toggle');
      const [okEvent, ok] = await emitAck(owner, 'mic-toggle', { accessToken: created.accessToken, state: false });
      assert.deepStrictEqual([okEvent, ok], ['ok', { event: 'mic-toggle' }]);
      assert.deepStrictEqual(await toggled, { attendee: { id: created.attendee.id }, state: false });
    });

    test('ring, answer, icecandidate and negotiation are relayed', async () => {
      const owner = await memberOn(version.transport);
      const guest = await memberOn(version.transport, owner.workspace.token);
      await owner.next('attend');
      const ringing = assertReply(await owner.request('ring', { callee: { id: guest.id }, offer: { sdp: 'o' } }), 'ringing');
      const ring = (await guest.next('ring')).data;
      assert.deepStrictEqual(ring.offer, { sdp: 'o' });
      assert.equal(ring.call.id, ringing.call.id);
      guest.send('answer', { caller: { id: owner.id }, answer: { sdp: 'a' }, call: ring.call });
      assert.deepStrictEqual((await owner.next('answer')).data.answer, { sdp: 'a' });
      assertReply(await guest.request('icecandidate', { attendee: { id: owner.id }, candidate: { c: 1 } }), 'ok');
      assert.deepStrictEqual((await owner.next('icecandidate')).data.candidate, { c: 1 });
      owner.send('negotiation', { attendee: { id: guest.id }, message: { m: 2 } });
      assert.deepStrictEqual((await guest.next('negotiation')).data.message, { m: 2 });
    });

    test('kick: the target gets kicked, then a server disconnect (41, close 4003) and does not reconnect', async (t) => {
      const owner = await memberOn(version.transport);
      const target = await connectSocket(t, version, { reconnection: true, reconnectionDelay: 50 });
      const [, grant] = await emitAck(target, 'attend', { workspace: { token: owner.workspace.token }, attendee: {} });
      await owner.next('attend');
      const kicked = once(target, 'kicked');
      const disconnected = once(target, 'disconnect');
      assertReply(await owner.request('kick', { attendee: { id: grant.attendee.id } }), 'kicked');
      assert.deepStrictEqual(await kicked, { id: grant.attendee.id });
      const reason = await disconnected;
      assert.equal(Array.isArray(reason) ? reason[0] : reason, 'io server disconnect');
      await sleep(300);
      assert.equal(target.connected, false, 'a kicked client does not reconnect');
    });

    test('full: the refused client gets full and close 4001 as a server disconnect', async () => {
      const owner = await memberOn(version.transport);
      await memberOn(version.transport, owner.workspace.token);
      await memberOn(version.transport, owner.workspace.token);
      const late = await Client.connect(fixture.url, { transport: version.transport });
      const reply = await late.request('attend', { workspace: { token: owner.workspace.token }, attendee: {} });
      assertReply(reply, 'full');
      assert.equal((await late.waitClosed()).code, 4001);
      assert.deepStrictEqual(late.disconnects, ['io server disconnect']);
    });

    test('destroy reaches every member', async () => {
      const owner = await memberOn(version.transport);
      const guest = await memberOn(version.transport, owner.workspace.token);
      await owner.next('attend');
      assertReply(await owner.request('destroy'), 'destroyed');
      assert.deepStrictEqual((await guest.next('destroyed')).data, { workspace: { id: owner.workspace.id } });
    });

    test('reconnects after a dropped transport and re-attends', async (t) => {
      const owner = await memberOn(version.transport);
      const socket = await connectSocket(t, version, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
      const [, grant] = await emitAck(socket, 'attend', { workspace: { token: owner.workspace.token }, attendee: { name: 'Roamer' } });
      await owner.next('attend');
      const reconnected = once(socket, 'connect', 5000);
      socket.io.engine.transport.ws.terminate(); // the network drops
      await reconnected;
      const [event, regrant] = await emitAck(socket, 're-attend', { accessToken: grant.accessToken });
      assert.equal(event, 're-attendance-granted');
      assert.equal(regrant.attendee.id, grant.attendee.id);
      await owner.expectNothing('attend', 200); // within grace: a silent resume
      const negotiation = once(socket, 'negotiation');
      owner.send('negotiation', { attendee: { id: grant.attendee.id }, message: 'again' });
      assert.equal((await negotiation).message, 'again');
    });

    test('a client that keeps answering the heartbeat stays connected', async () => {
      const client = await SocketIoClient.connect(fixture.url, { transport: version.transport });
      await sleep(PING_MS * 5);
      assert.ok(client.isOpen, `still connected after ${PING_MS * 5} ms`);
      if (version.eio === 4) assert.ok(client.pings >= 2, `the server pinged (${client.pings})`);
      assertReply(await client.request('create', { workspace: {}, attendee: {} }), 'created');
    });
  });
}

describe('Engine.IO heartbeat by hand', () => {
  test('EIO=4: the server pings with 2 and drops a client that never answers 3', async () => {
    const silent = await RawEngineIo.connect(fixture.url, { eio: 4 });
    const open = JSON.parse((await silent.next('0')).slice(1));
    assert.deepStrictEqual(
      { upgrades: open.upgrades, pingInterval: open.pingInterval, pingTimeout: open.pingTimeout, maxPayload: open.maxPayload },
      { upgrades: [], pingInterval: PING_MS, pingTimeout: PING_MS, maxPayload: 65536 },
    );
    silent.send('40');
    assert.deepStrictEqual(JSON.parse((await silent.next('40')).slice(2)), { sid: open.sid });
    const started = Date.now();
    await silent.next((p) => p === '2');
    await silent.waitClosed(PING_MS * 6);
    assert.ok(Date.now() - started >= PING_MS * 0.8, 'not dropped before the ping timeout');
  });

  test('EIO=4: a client answering 3 stays, even if it sends nothing else', async () => {
    const raw = await RawEngineIo.connect(fixture.url, { eio: 4 });
    raw.send('40');
    raw.ws.on('message', (data) => data.toString() === '2' && raw.send('3'));
    await sleep(PING_MS * 5);
    assert.equal(raw.ws.readyState, raw.ws.OPEN);
    raw.close();
  });

  test('EIO=3: open without maxPayload, 40 at once, 2 answered by 3, a silent client dropped', async () => {
    const raw = await RawEngineIo.connect(fixture.url, { eio: 3 });
    const open = JSON.parse((await raw.next('0')).slice(1));
    assert.equal('maxPayload' in open, false);
    assert.equal(open.pingInterval, PING_MS);
    assert.equal(await raw.next('40'), '40');
    raw.send('2probe');
    assert.equal(await raw.next('3'), '3probe');
    raw.send('2');
    assert.equal(await raw.next('3'), '3');
    await raw.waitClosed(PING_MS * 6); // silent for pingInterval + pingTimeout
  });
});

describe('malformed Engine.IO and Socket.IO packets', () => {
  const cases = [
    { name: 'an unknown Engine.IO type', packet: '9', closes: true },
    { name: 'a letter as the type', packet: 'x{}', closes: true },
    { name: 'an unknown Socket.IO type', packet: '48["x"]', closes: true },
    { name: 'a client error packet', packet: '44{"message":"x"}', closes: true },
    { name: 'a binary event', packet: '451-["create",{"_placeholder":true,"num":0}]', closes: true, reply: /^44/ },
    { name: 'bad JSON in an event', packet: '42["create",', alert: 'bad_request' },
    { name: 'an event that is not an array', packet: '42{"event":"create"}', alert: 'bad_request' },
    { name: 'an empty event array', packet: '42[]', alert: 'bad_request' },
    { name: 'a non-string event name', packet: '42[5,{}]', alert: 'bad_request' },
    { name: 'an unknown event', packet: '42["frobnicate",{}]', alert: 'unknown_event' },
    { name: 'another namespace', packet: '40/admin,', reply: /^44\/admin,/ },
    { name: 'an event on another namespace', packet: '42/admin,["create",{}]', reply: /^44\/admin,/ },
  ];
  for (const eio of [4, 3]) {
    for (const c of cases) {
      test(`EIO=${eio}: ${c.name} gets ${c.closes ? 'a close' : c.alert ? `alert ${c.alert}` : 'an error packet'}, never a crash`, async () => {
        const raw = await RawEngineIo.connect(fixture.url, { eio });
        await raw.next('0');
        if (eio === 4) raw.send('40');
        await raw.next('40');
        raw.send(c.packet);
        if (c.reply) assert.match(await raw.next('44'), c.reply);
        if (c.alert) {
          const [event, data] = JSON.parse((await raw.next('42["alert"')).slice(2));
          assertAlert({ event, data }, { code: c.alert });
        }
        if (c.closes) {
          assert.equal((await raw.waitClosed()).code, 1002);
        } else {
          raw.send('421["create",{}]'); // the connection still works
          assert.match(await raw.next('431'), /^431\["created",/);
          raw.close();
        }
        await assertServes(fixture.url, { transport: eio === 4 ? 'eio4' : 'eio3' });
      });
    }
  }

  test('EIO=4: an event before connecting to the namespace gets an error packet', async () => {
    const raw = await RawEngineIo.connect(fixture.url, { eio: 4 });
    await raw.next('0');
    raw.send('42["create",{}]');
    assert.match(await raw.next('44'), /^44\{"message":/);
    raw.close();
  });

  test('EIO=4: a ping from the client (wrong heartbeat direction) closes', async () => {
    const raw = await RawEngineIo.connect(fixture.url, { eio: 4 });
    raw.send('2');
    assert.equal((await raw.waitClosed()).code, 1002);
  });

  test('a frame over max_frame_bytes closes with 1009', async () => {
    const raw = await RawEngineIo.connect(fixture.url, { eio: 4 });
    raw.send('40');
    raw.send(`42["create",{"workspace":{"name":"${'x'.repeat(70_000)}"}}]`);
    assert.equal((await raw.waitClosed()).code, 1009);
  });
});

describe('transports together', () => {
  test('members on /ws, EIO=4 and EIO=3 in one workspace relay to each other', async () => {
    const native = await memberOn('native');
    const v4 = await memberOn('eio4', native.workspace.token);
    const v2 = await memberOn('eio3', native.workspace.token);
    assert.equal((await native.next('attend', { where: (f) => f.data.id === v2.id })).data.id, v2.id);
    for (const [from, to] of [[native, v4], [v4, v2], [v2, native], [v4, native], [native, v2], [v2, v4]]) {
      from.send('icecandidate', { attendee: { id: to.id }, candidate: { from: from.id } });
      const pushed = await to.next('icecandidate', { where: (f) => f.data.attendee.id === from.id });
      assert.deepStrictEqual(pushed.data.candidate, { from: from.id });
    }
    const ringing = assertReply(await native.request('ring', { callee: { id: v2.id }, offer: 'sdp' }), 'ringing');
    assert.equal((await v2.next('ring')).data.call.id, ringing.call.id);
  });

  test('metrics label connections and frames by transport', async () => {
    await memberOn('eio4');
    await memberOn('eio3');
    await memberOn('native');
    const { body } = await httpRequest(`${fixture.server.httpUrl}/metrics`);
    for (const transport of ['native', 'eio4', 'eio3']) {
      assert.match(body, new RegExp(`transport="${transport}",event="create"`), `frames in of ${transport}`);
    }
  });
});

describe('HTTP on /socket.io/', () => {
  test('long polling gets a 400 JSON error saying to use transports: [\'websocket\']', async () => {
    for (const query of ['EIO=4&transport=polling', 'EIO=3&transport=polling', 'EIO=4']) {
      const res = await httpRequest(`${fixture.server.httpUrl}/socket.io/?${query}`);
      assert.equal(res.status, 400, query);
      assert.match(res.headers['content-type'], /^application\/json/);
      const body = JSON.parse(res.body);
      assert.equal(body.code, 3);
      assert.match(body.message, /only the websocket transport is supported/);
      assert.match(body.message, /transports: \['websocket'\]/);
    }
  });

  test('a socket.io-client left on its default polling transport fails to connect, cleanly', async () => {
    const socket = ioV4(socketIoBase(fixture.url), { reconnection: false, forceNew: true });
    try {
      const error = await once(socket, 'connect_error', 5000);
      assert.ok(error instanceof Error);
    } finally {
      socket.close();
    }
    await waitUntil(async () => (await httpRequest(`${fixture.server.httpUrl}/healthz`)).status === 200);
  });
});

testLogsClean(fixture);
