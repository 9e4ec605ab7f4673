// Bad input over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): malformed frames, unknown events, wrong field types; the server keeps serving (PROTOCOL.md §2, §5).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  Client, assertAlert, assertReply, assertServes, createWorkspace, nativeOnly, serverFixture, setupWorkspace, testLogsClean,
} from './harness.mjs';

// A long ring timeout: the field-type table keeps one ring pending while it runs.
const fixture = serverFixture({ config: { ring_timeout_seconds: 60 } });
afterEach(() => assertServes(fixture.url));

describe('frames', () => {
  const cases = [
    { name: 'malformed JSON', raw: '{"event": "create", "data": {' },
    { name: 'a JSON array', raw: '["create", {}]' },
    { name: 'a JSON string', raw: '"create"' },
    { name: 'a JSON number', raw: '42' },
    { name: 'JSON null', raw: 'null' },
    { name: 'an empty frame', raw: '' },
    { name: 'a missing event', raw: '{"data": {}}' },
    { name: 'a non-string event', raw: '{"event": 5, "data": {}}' },
    { name: 'a null event', raw: '{"event": null, "data": {}}' },
  ];
  for (const { name, raw } of cases) {
    // Socket.IO packets have their own malformed forms: socketio.test.mjs.
    test(`${name} gets bad_request and the connection keeps working`, nativeOnly, async () => {
      const client = await Client.connect(fixture.url);
      client.sendRaw(raw);
      assertAlert(await client.next('alert'), { code: 'bad_request' });
      await createWorkspace(client);
    });
  }

  test('a binary frame gets bad_request', nativeOnly, async () => {
    const client = await Client.connect(fixture.url);
    client.sendRaw(Buffer.from(JSON.stringify({ event: 'create', data: { workspace: {}, attendee: {} } })), { binary: true });
    assertAlert(await client.next('alert'), { code: 'bad_request' });
    await client.expectNothing('created', 200);
  });

  test('a bad frame with a readable id is answered with re', nativeOnly, async () => {
    const client = await Client.connect(fixture.url);
    client.sendRaw(JSON.stringify({ data: {}, id: 41 }));
    assertAlert(await client.next('alert'), { code: 'bad_request', re: 41 });
  });

  test('an unknown event gets unknown_event naming it, with re and nonce', async () => {
    const client = await Client.connect(fixture.url);
    const reply = await client.request('frobnicate', { nonce: 'u' }, { id: 'x-1' });
    assertAlert(reply, { code: 'unknown_event', event: 'frobnicate', nonce: 'u', re: 'x-1' });
    client.send('Create', { workspace: {}, attendee: {} }); // event names are case-sensitive
    assertAlert(await client.next('alert'), { code: 'unknown_event', event: 'Create' });
  });
});

describe('field types', () => {
  /** Wrong types, each naming its dotted field; `as` says who sends it. */
  const cases = [
    { event: 'create', as: 'stranger', data: { workspace: { name: 5 }, attendee: {} }, field: 'workspace.name' },
    { event: 'create', as: 'stranger', data: { workspace: { pin: 1234 }, attendee: {} }, field: 'workspace.pin' },
    { event: 'create', as: 'stranger', data: { workspace: { avatar: {} }, attendee: {} }, field: 'workspace.avatar' },
    { event: 'create', as: 'stranger', data: { workspace: {}, attendee: { name: ['a'] } }, field: 'attendee.name' },
    { event: 'create', as: 'stranger', data: { workspace: {}, attendee: { avatar: true } }, field: 'attendee.avatar' },
    { event: 'create', as: 'stranger', data: { workspace: 'x', attendee: {} }, field: 'workspace' },
    { event: 'create', as: 'stranger', data: { workspace: {}, attendee: 7 }, field: 'attendee' },
    { event: 'attend', as: 'stranger', data: { workspace: { pin: 5 }, attendee: {} }, field: 'workspace.pin' },
    { event: 'attend', as: 'stranger', data: { workspace: {}, attendee: { name: 5 } }, field: 'attendee.name' },
    { event: 'attend', as: 'stranger', data: { workspace: {}, attendee: { avatar: [] } }, field: 'attendee.avatar' },
    { event: 'mic-toggle', as: 'owner', data: { state: 'off' }, field: 'state' },
    { event: 'mic-toggle', as: 'owner', data: {}, field: 'state' },
    { event: 'cam-toggle', as: 'owner', data: { state: 0 }, field: 'state' },
    { event: 'kick', as: 'owner', data: { attendee: { id: 5 } }, field: 'attendee.id' },
    { event: 'ring', as: 'owner', data: { callee: { id: 5 }, offer: {} }, field: 'callee.id' },
    { event: 'ring', as: 'owner', data: { callee: { id: 'GUEST' }, offer: {}, call: { id: 7 } }, field: 'call.id' },
    { event: 'hangup', as: 'owner', data: { call: { id: 7 } }, field: 'call.id' },
    { event: 'icecandidate', as: 'owner', data: { attendee: { id: 5 }, candidate: {} }, field: 'attendee.id' },
    { event: 'negotiation', as: 'owner', data: { attendee: { id: null }, message: {} }, field: 'attendee.id' },
    { event: 'answer', as: 'guest', data: { caller: { id: 5 }, answer: {}, call: { id: 'CALL' } }, field: 'caller.id' },
    { event: 'busy', as: 'guest', data: { call: { id: 5 } }, field: 'call.id' },
  ];

  test('each wrong type gets bad_request naming the field, and changes nothing', async () => {
    const { owner, guests: [guest], invite } = await setupWorkspace(fixture.url);
    // answer/busy need a callee with a pending ring (the role check comes before fields).
    const ringing = assertReply(await owner.request('ring', { callee: { id: guest.id }, offer: {} }), 'ringing');
    await guest.next('ring');
    const fill = (value) => JSON.parse(JSON.stringify(value).replaceAll('"GUEST"', JSON.stringify(guest.id))
      .replaceAll('"CALL"', JSON.stringify(ringing.call.id)));
    const stranger = await Client.connect(fixture.url);
    const failures = [];
    for (const { event, as, data, field } of cases) {
      const body = { ...fill(data), nonce: 'ft' };
      if (event === 'attend') body.workspace = { token: invite, ...body.workspace };
      const sender = { stranger, owner, guest }[as];
      const reply = await sender.request(event, body);
      try {
        assertAlert(reply, { code: 'bad_request', event, field, nonce: 'ft' });
      } catch (error) {
        failures.push(`${event} ${JSON.stringify(data)}: ${error.message}`);
      }
    }
    assert.deepStrictEqual(failures, [], `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`);
    // Nothing changed: still two members, the ring still pending (answerable).
    await owner.expectNothing('attend', 0);
    const { attendees } = assertReply(await owner.request('attendees'), 'attendees');
    assert.deepStrictEqual(Object.keys(attendees).sort(), [owner.id, guest.id].sort());
    const answered = await guest.request('answer', { caller: { id: owner.id }, answer: {}, call: ringing.call });
    assert.deepStrictEqual(assertReply(answered, 'ok'), { event: 'answer' });
  });
});

testLogsClean(fixture);
