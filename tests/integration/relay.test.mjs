// Relay and identity over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): icecandidate, negotiation, bound connections, payload spoofing (PROTOCOL.md §3, §4, §4.2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client, Member, assertAlert, assertReply, serverFixture, setupWorkspace, testLogsClean, unknownId, waitOnline,
} from './harness.mjs';

const fixture = serverFixture();

const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };
const MESSAGE = { type: 'offer', sdp: 'v=0\r\n', renegotiation: true };

describe('icecandidate and negotiation', () => {
  test('icecandidate reaches the target with the sender as attendee and broadcaster', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const reply = await guest.request('icecandidate', { attendee: { id: owner.id }, candidate: CANDIDATE, nonce: 'c' });
    assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'icecandidate', nonce: 'c' });
    const pushed = await owner.next('icecandidate');
    assert.equal('re' in pushed, false);
    assert.deepStrictEqual(pushed.data, { attendee: { id: guest.id }, broadcaster: { id: guest.id }, candidate: CANDIDATE });
  });

  test('negotiation reaches the target with the sender id, name and avatar', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const reply = await owner.request('negotiation', { attendee: { id: guest.id }, message: MESSAGE });
    assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'negotiation' });
    assert.deepStrictEqual((await guest.next('negotiation')).data, { attendee: owner.brief, message: MESSAGE });
  });

  test('without an id the sender gets no reply at all, only the target hears', async () => {
    const { owner, guests: [a, b] } = await setupWorkspace(fixture.url, { guests: 2 });
    a.send('icecandidate', { attendee: { id: owner.id }, candidate: CANDIDATE });
    a.send('negotiation', { attendee: { id: owner.id }, message: MESSAGE });
    await owner.next('icecandidate');
    await owner.next('negotiation');
    await Promise.all([a.expectNothing('*', 300), b.expectNothing('*', 0)]);
  });

  test('a target outside the workspace is not_found', async () => {
    const { guests: [guest] } = await setupWorkspace(fixture.url);
    const elsewhere = await setupWorkspace(fixture.url, { guests: 0 });
    for (const id of [unknownId(), elsewhere.owner.id]) {
      assertAlert(await guest.request('icecandidate', { attendee: { id }, candidate: CANDIDATE, nonce: 'n' }),
        { code: 'not_found', event: 'icecandidate', nonce: 'n' });
      assertAlert(await guest.request('negotiation', { attendee: { id }, message: MESSAGE }),
        { code: 'not_found', event: 'negotiation' });
    }
    await elsewhere.owner.expectNothing('*', 100);
  });

  test('a target offline within grace: ok to the sender, the message is dropped', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    await guest.client.close();
    await waitOnline(owner, guest.id, false);
    const reply = await owner.request('icecandidate', { attendee: { id: guest.id }, candidate: CANDIDATE });
    assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'icecandidate' });
    assertReply(await owner.request('negotiation', { attendee: { id: guest.id }, message: MESSAGE }), 'ok');
    // Not queued for later either.
    const client = await Client.connect(fixture.url);
    assertReply(await client.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    await client.expectNothing('*', 300);
  });
});

describe('identity comes from the token only', () => {
  test('leave with another attendee and workspace in the payload removes the sender', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const elsewhere = await setupWorkspace(fixture.url, { guests: 0 });
    const reply = await guest.request('leave', {
      attendee: { id: owner.id }, workspace: { id: elsewhere.workspaceId }, nonce: 's',
    });
    assert.deepStrictEqual(assertReply(reply, 'left'), { workspace: { id: owner.workspace.id }, nonce: 's' });
    assert.deepStrictEqual((await owner.next('leave')).data, guest.brief);
    assert.deepStrictEqual(Object.keys(assertReply(await owner.request('attendees'), 'attendees').attendees), [owner.id]);
    await elsewhere.owner.expectNothing('*', 100);
  });

  test('owner claims in a guest payload do not make it the owner', async () => {
    const { owner, guests: [guest, other] } = await setupWorkspace(fixture.url, { guests: 2 });
    const claims = { own: true, owner: true, aid: owner.id, caller: { id: owner.id }, workspace: { id: owner.workspace.id, owner: guest.id } };
    assertAlert(await guest.request('kick', { ...claims, attendee: { id: other.id } }), { code: 'forbidden', event: 'kick' });
    assertAlert(await guest.request('destroy', claims), { code: 'forbidden', event: 'destroy' });
    assertAlert(await guest.request('ring', { ...claims, callee: { id: other.id }, offer: MESSAGE }), { code: 'forbidden', event: 'ring' });
    assertAlert(await guest.request('hangup', claims), { code: 'forbidden', event: 'hangup' });
    await Promise.all([owner.expectNothing('*', 200), other.expectNothing('*', 0)]);
  });

  test('relay payloads cannot forge the sender', async () => {
    const { owner, guests: [guest, other] } = await setupWorkspace(fixture.url, { guests: 2 });
    guest.send('icecandidate', { attendee: { id: other.id }, broadcaster: { id: owner.id }, candidate: CANDIDATE });
    assert.deepStrictEqual((await other.next('icecandidate')).data,
      { attendee: { id: guest.id }, broadcaster: { id: guest.id }, candidate: CANDIDATE });
    guest.send('mic-toggle', { attendee: { id: owner.id }, state: false });
    assert.deepStrictEqual((await owner.next('mic-toggle')).data, { attendee: { id: guest.id }, state: false });
    const { attendees } = assertReply(await owner.request('attendees'), 'attendees');
    assert.equal(attendees[owner.id].mic, true);
    assert.equal(attendees[guest.id].mic, false);
  });

  test('a token is accepted only on the connection bound to its attendee', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const elsewhere = await setupWorkspace(fixture.url, { guests: 0 });
    const fresh = await Client.connect(fixture.url);
    assertAlert(await fresh.request('attendees', { accessToken: guest.token, nonce: 'f' }),
      { code: 'forbidden', event: 'attendees', nonce: 'f' });
    assertAlert(await fresh.request('icecandidate', { accessToken: guest.token, attendee: { id: owner.id }, candidate: CANDIDATE }),
      { code: 'forbidden', event: 'icecandidate' });
    // Another member's connection, same workspace.
    assertAlert(await owner.client.request('mic-toggle', { accessToken: guest.token, state: false }),
      { code: 'forbidden', event: 'mic-toggle' });
    // A member of another workspace using its own token over this workspace's connection.
    assertAlert(await guest.client.request('attendees', { accessToken: elsewhere.owner.token }),
      { code: 'forbidden', event: 'attendees' });
    assertAlert(await fresh.request('kick', { accessToken: owner.token, attendee: { id: guest.id } }),
      { code: 'forbidden', event: 'kick' });
    await Promise.all([owner.expectNothing('*', 200), guest.expectNothing('*', 0)]);
    // re-attend binds the fresh connection (and replaces the old one).
    const data = assertReply(await fresh.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    assertReply(await new Member(fresh, data).request('attendees'), 'attendees');
  });
});

testLogsClean(fixture);
