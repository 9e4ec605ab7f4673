// Calls over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): ring, ringing, answer, busy, ring timeout, hangup (PROTOCOL.md §4, §4.1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ID_RE, assertAlert, assertReply, assertTimestamp, joinMember, serverFixture, setupWorkspace, testLogsClean,
  unknownId, waitOnline,
} from './harness.mjs';

// A 1 s ring timeout keeps the timeout test short; the other tests answer within milliseconds.
const fixture = serverFixture({ config: { ring_timeout_seconds: 1, reconnect_grace_seconds: 2 } });

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };

/** The owner rings `callee`; checks ringing and the callee's ring; returns the call id. */
async function ring(owner, callee, { call, nonce = `ring-${callee.id}` } = {}) {
  const reply = await owner.request('ring', { callee: { id: callee.id }, offer: OFFER, call, nonce });
  const ringing = assertReply(reply, 'ringing');
  const callId = ringing.call.id;
  assert.match(callId, ID_RE);
  assert.deepStrictEqual(ringing, { call: { id: callId }, callee: { id: callee.id }, nonce });
  const pushed = await callee.next('ring');
  assert.equal('re' in pushed, false);
  assert.deepStrictEqual(pushed.data, {
    workspace: { id: owner.workspace.id }, caller: owner.brief, offer: OFFER, call: { id: callId }, nonce,
  });
  return callId;
}

/** `callee` answers the owner's ring; checks the ok and the owner's answer. */
async function answer(owner, callee, callId) {
  const nonce = `answer-${callee.id}`;
  const reply = await callee.request('answer', { caller: { id: owner.id }, answer: ANSWER, call: { id: callId }, nonce });
  assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'answer', nonce });
  const pushed = await owner.next('answer');
  assert.deepStrictEqual(pushed.data, {
    workspace: { id: owner.workspace.id }, callee: callee.brief, answer: ANSWER, call: { id: callId }, nonce,
  });
}

const busy = (owner, callee, callId, reason) =>
  ({ workspace: { id: owner.workspace.id }, callee: callee.brief, call: { id: callId }, reason });

describe('ring', () => {
  test('only the owner rings', async () => {
    const { guests: [a, b] } = await setupWorkspace(fixture.url, { guests: 2 });
    assertAlert(await a.request('ring', { callee: { id: b.id }, offer: OFFER, nonce: 'r' }),
      { code: 'forbidden', event: 'ring', nonce: 'r' });
    await b.expectNothing('ring', 100);
  });

  test('assigns the call id (ignoring a client one), rings the callee, and shows the call to newcomers', async () => {
    const { owner, guests: [callee] } = await setupWorkspace(fixture.url);
    const clientPick = unknownId();
    const before = Date.now();
    const callId = await ring(owner, callee, { call: { id: clientPick } });
    const after = Date.now();
    assert.notEqual(callId, clientPick);
    await answer(owner, callee, callId);

    const newcomer = await joinMember(fixture.url, owner.workspace.token, { name: 'Newcomer' });
    const { call } = newcomer.workspace;
    assert.deepStrictEqual(Object.keys(call).sort(), ['id', 'participants', 'started']);
    assert.equal(call.id, callId);
    assertTimestamp(call.started, before, after);
    assert.deepStrictEqual([...call.participants].sort(), [owner.id, callee.id].sort());
  });

  test('rings more callees into the same call; a stale call id is not_found', async () => {
    const { owner, guests: [a, b] } = await setupWorkspace(fixture.url, { guests: 2 });
    const callId = await ring(owner, a);
    await answer(owner, a, callId);
    assert.equal(await ring(owner, b, { call: { id: callId } }), callId);
    assertAlert(await owner.request('ring', { callee: { id: b.id }, offer: OFFER, call: { id: unknownId() }, nonce: 'n' }),
      { code: 'not_found', event: 'ring', nonce: 'n' });
  });

  test('an unknown callee is not_found; ringing oneself is a bad request', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    const other = await setupWorkspace(fixture.url, { guests: 0 });
    for (const id of [unknownId(), other.owner.id]) {
      assertAlert(await owner.request('ring', { callee: { id }, offer: OFFER }), { code: 'not_found', event: 'ring' });
    }
    await other.owner.expectNothing('ring', 100);
    assertAlert(await owner.request('ring', { callee: { id: owner.id }, offer: OFFER }),
      { code: 'bad_request', event: 'ring', field: 'callee.id' });
  });
});

describe('answer', () => {
  test('needs a pending ring and the current call id', async () => {
    const { owner, guests: [a, b] } = await setupWorkspace(fixture.url, { guests: 2 });
    const callId = await ring(owner, a);
    // b was never rung.
    assertAlert(await b.request('answer', { caller: { id: owner.id }, answer: ANSWER, call: { id: callId }, nonce: 'b' }),
      { code: 'forbidden', event: 'answer', nonce: 'b' });
    // a was rung, but names another call.
    assertAlert(await a.request('answer', { caller: { id: owner.id }, answer: ANSWER, call: { id: unknownId() } }),
      { code: 'not_found', event: 'answer' });
    await owner.expectNothing('answer', 100);
    await answer(owner, a, callId);
  });
});

describe('busy', () => {
  test('a declining callee tells every other member; the owner may not send busy', async () => {
    const { owner, guests: [callee, bystander] } = await setupWorkspace(fixture.url, { guests: 2 });
    const callId = await ring(owner, callee);
    const reply = await callee.request('busy', { call: { id: callId } });
    assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'busy' });
    for (const member of [owner, bystander]) {
      assert.deepStrictEqual((await member.next('busy')).data, busy(owner, callee, callId, 'declined'));
    }
    await callee.expectNothing('busy', 100);
    assertAlert(await owner.request('busy', { call: { id: callId } }), { code: 'forbidden', event: 'busy' });
  });

  test('an unanswered ring times out: caller gets busy, callee gets ring-cancelled', async () => {
    const { owner, guests: [callee] } = await setupWorkspace(fixture.url);
    const callId = await ring(owner, callee);
    const [toCaller, toCallee] = await Promise.all([owner.next('busy'), callee.next('ring-cancelled')]);
    assert.deepStrictEqual(toCaller.data, busy(owner, callee, callId, 'timeout'));
    assert.deepStrictEqual(toCallee.data, {
      workspace: { id: owner.workspace.id }, caller: { id: owner.id }, call: { id: callId }, reason: 'timeout',
    });
    // The ring is over: answering it now is refused.
    assertAlert(await callee.request('answer', { caller: { id: owner.id }, answer: ANSWER, call: { id: callId } }),
      { code: 'forbidden', event: 'answer' });
  });

  test('a callee leaving while rung ends the ring as gone', async () => {
    const { owner, guests: [callee] } = await setupWorkspace(fixture.url);
    const callId = await ring(owner, callee);
    assertReply(await callee.request('leave'), 'left');
    assert.deepStrictEqual((await owner.next('busy', { timeout: 500 })).data, busy(owner, callee, callId, 'gone'));
  });

  test('ringing a callee offline within grace gives busy offline at once', async () => {
    const { owner, guests: [callee] } = await setupWorkspace(fixture.url);
    await callee.client.close();
    await waitOnline(owner, callee.id, false);
    const reply = await owner.request('ring', { callee: { id: callee.id }, offer: OFFER, nonce: 'o' });
    const { call } = assertReply(reply, 'ringing');
    const offline = await owner.next('busy', { timeout: 500 }); // well before the 1 s ring timeout
    assert.deepStrictEqual(offline.data, busy(owner, callee, call.id, 'offline'));
  });
});

describe('hangup', () => {
  test('owner only, and only the current call', async () => {
    const { owner, guests: [callee] } = await setupWorkspace(fixture.url);
    assertAlert(await owner.request('hangup', { nonce: 'h' }), { code: 'not_found', event: 'hangup', nonce: 'h' });
    const callId = await ring(owner, callee);
    await answer(owner, callee, callId);
    assertAlert(await callee.request('hangup', { call: { id: callId } }), { code: 'forbidden', event: 'hangup' });
    assertAlert(await owner.request('hangup', { call: { id: unknownId() } }), { code: 'not_found', event: 'hangup' });
    await callee.expectNothing('hangup', 100);
  });

  test('ends the call for everyone; newcomers see no call', async () => {
    const { owner, guests: [callee, bystander] } = await setupWorkspace(fixture.url, { guests: 2 });
    const callId = await ring(owner, callee);
    await answer(owner, callee, callId);
    const reply = await owner.request('hangup', { call: { id: callId } });
    assert.deepStrictEqual(assertReply(reply, 'ok'), { event: 'hangup' });
    for (const member of [callee, bystander]) {
      assert.deepStrictEqual((await member.next('hangup')).data, { attendee: { id: owner.id }, call: { id: callId } });
    }
    const newcomer = await joinMember(fixture.url, owner.workspace.token);
    assert.equal(newcomer.workspace.call, null);
    assertAlert(await owner.request('hangup'), { code: 'not_found', event: 'hangup' });
  });

  test('the owner leaving ends the call', async () => {
    const { owner, guests: [callee, bystander] } = await setupWorkspace(fixture.url, { guests: 2 });
    const callId = await ring(owner, callee);
    await answer(owner, callee, callId);
    assertReply(await owner.request('leave'), 'left');
    for (const member of [callee, bystander]) {
      assert.deepStrictEqual((await member.next('hangup')).data, { attendee: { id: owner.id }, call: { id: callId } });
      assert.deepStrictEqual((await member.next('leave')).data, owner.brief);
    }
    const newcomer = await joinMember(fixture.url, owner.workspace.token);
    assert.equal(newcomer.workspace.call, null);
  });
});

testLogsClean(fixture);
