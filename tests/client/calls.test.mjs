// The SDK's call choreography against the real server, with fake RTCPeerConnections: ring with an
// offer, automatic and manual answers, trickled candidates, newcomers rung into the call, decline,
// ring timeout, hangup, and renegotiation (ICE restart) after either side reconnects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ID_RE, serverFixture, waitUntil } from '../integration/harness.mjs';
import { fakeStream, sdkClients } from './support.mjs';

const fixture = serverFixture({ config: { ring_timeout_seconds: 1, reconnect_grace_seconds: 10 } });
const open = sdkClients();

async function owner(options = {}) {
  const client = open(fixture.url, options);
  await client.create({ name: 'Call' }, { name: 'Olivia' });
  return client;
}

/** A guest of `host`'s workspace (autoAnswer unless told), with a local stream set. */
async function guest(host, name, options = { autoAnswer: true }) {
  const client = open(fixture.url, options);
  client.setLocalStream(fakeStream(name));
  await client.attend(host.workspace.token, { name });
  await host.events.next('attend', { where: (a) => a.id === client.self.id });
  return client;
}

const connected = (client, peerId) =>
  client.events.next('peer-state', { where: (s) => s.attendeeId === peerId && s.state === 'connected' });

/** Both ends of the owner-guest link connected, and each side's descriptions are the other's. */
async function assertLinked(host, member) {
  await Promise.all([connected(host, member.self.id), connected(member, host.self.id)]);
  const hubPc = host.peerConnection(member.self.id);
  const guestPc = member.peerConnection(host.self.id);
  assert.ok(hubPc && guestPc, 'both sides have a peer connection');
  assert.equal(guestPc.remoteDescription.sdp, hubPc.localDescription.sdp, "the guest holds the owner's offer");
  assert.equal(hubPc.remoteDescription.sdp, guestPc.localDescription.sdp, "the owner holds the guest's answer");
  assert.deepStrictEqual([hubPc.signalingState, guestPc.signalingState], ['stable', 'stable']);
  return { hubPc, guestPc };
}

/** Every candidate `from` gathered was added on `to` (trickled through icecandidate). */
function candidatesCrossed(from, to) {
  const missing = () => from.gathered.filter((c) => !to.candidates.some((x) => x.candidate === c.candidate));
  return waitUntil(() => missing().length === 0,
    { what: () => `pc${from.n}'s candidates to reach pc${to.n}; missing ${JSON.stringify(missing().map((c) => c.candidate))}` });
}

describe('calls', () => {
  test('the owner rings with an offer, the guest answers by itself, descriptions and candidates cross', async () => {
    const host = await owner({ iceTransportPolicy: 'relay' });
    const member = await guest(host, 'Gus', { autoAnswer: true, iceTransportPolicy: 'relay' });
    const call = await host.startCall(fakeStream('owner'));
    assert.match(call.id, ID_RE);
    assert.equal(call.joined, true);

    const ring = await member.events.next('ring');
    assert.deepStrictEqual(ring.caller.id, host.self.id);
    assert.equal(ring.call.id, call.id);
    const answer = await host.events.next('answer');
    assert.equal(answer.callee.id, member.self.id);
    const { hubPc, guestPc } = await assertLinked(host, member);
    assert.equal(ring.offer.sdp, hubPc.localDescription.sdp);
    assert.equal(answer.answer.sdp, guestPc.localDescription.sdp);

    // The owner's candidates came before the guest answered: buffered, then added.
    await candidatesCrossed(hubPc, guestPc);
    await candidatesCrossed(guestPc, hubPc);

    const servers = await host.iceServers();
    for (const pc of [hubPc, guestPc]) assert.deepStrictEqual(pc.config, { iceServers: servers, iceTransportPolicy: 'relay' });
    assert.deepStrictEqual(hubPc.senders.map((s) => s.track.id), ['owner-audio', 'owner-video']);
    assert.deepStrictEqual(guestPc.senders.map((s) => s.track.id), ['Gus-audio', 'Gus-video']);

    const hubStream = await host.events.next('remote-stream');
    assert.equal(hubStream.attendeeId, member.self.id);
    assert.equal(hubStream.stream.id, `remote-stream-of-pc${hubPc.n}`);
    assert.equal((await member.events.next('remote-stream')).attendeeId, host.self.id);
    assert.deepStrictEqual(host.call.participants.sort(), [host.self.id, member.self.id].sort());
    assert.equal(member.call.id, call.id);
    assert.equal(member.call.joined, true);
  });

  test('a newcomer joining an ongoing call is rung by the owner and joins it', async () => {
    const host = await owner();
    const first = await guest(host, 'First');
    const { id } = await host.startCall(fakeStream('owner'));
    await assertLinked(host, first);

    const newcomer = open(fixture.url, { autoAnswer: true });
    newcomer.setLocalStream(fakeStream('Newcomer'));
    await newcomer.attend(host.workspace.token, { name: 'Newcomer' });
    assert.equal(newcomer.call.id, id, 'attendance-granted shows the call');
    assert.equal(newcomer.call.joined, false);
    assert.equal((await newcomer.events.next('ring')).call.id, id);
    await assertLinked(host, newcomer);
    assert.equal(newcomer.call.joined, true);
    assert.deepStrictEqual(host.call.participants.sort(), [host.self.id, first.self.id, newcomer.self.id].sort());
  });

  test('a call started alone rings the first attendee who joins', async () => {
    const host = await owner();
    const call = await host.startCall(fakeStream('owner'));
    assert.deepStrictEqual([call.id, call.joined], [null, true]);
    const member = await guest(host, 'Late');
    await assertLinked(host, member);
    assert.match(host.call.id, ID_RE);
    assert.equal(member.call.id, host.call.id);
  });

  test('incoming-call: decline sends busy and the owner drops that peer; a late accept gets the early candidates', async () => {
    const host = await owner();
    const decliner = await guest(host, 'Dee', {});
    const accepter = await guest(host, 'Ace', {});
    await host.startCall(fakeStream('owner'));
    const [no, yes] = await Promise.all([decliner.events.next('incoming-call'), accepter.events.next('incoming-call')]);
    assert.equal(no.caller.id, host.self.id);
    assert.equal(host.peerConnection(decliner.self.id).signalingState, 'have-local-offer');
    const declinedPc = host.peerConnection(decliner.self.id);

    await no.decline();
    const busy = await host.events.next('busy');
    assert.deepStrictEqual([busy.callee.id, busy.reason], [decliner.self.id, 'declined']);
    assert.equal(host.peerConnection(decliner.self.id), null);
    assert.equal(declinedPc.closed, true);
    assert.equal(decliner.peerConnection(host.self.id), null);

    // Accept only once the owner's candidates are here: they must wait for the peer, not be lost.
    for (let i = 0; i < 2; i++) await accepter.events.next('icecandidate');
    await yes.accept(fakeStream('Ace2'));
    const { hubPc, guestPc } = await assertLinked(host, accepter);
    assert.deepStrictEqual(guestPc.senders.map((s) => s.track.id), ['Ace2-audio', 'Ace2-video']);
    await candidatesCrossed(hubPc, guestPc);
    await assert.rejects(no.accept(), { code: 'not_found' }, 'a declined ring cannot be accepted');
  });

  test('an unanswered ring times out: the owner gets busy timeout, the callee ring-cancelled', async () => {
    const host = await owner();
    const member = await guest(host, 'Slow', {});
    await host.startCall(fakeStream('owner'));
    const incoming = await member.events.next('incoming-call');
    const busy = await host.events.next('busy', { timeout: 4000 });
    assert.deepStrictEqual([busy.callee.id, busy.reason], [member.self.id, 'timeout']);
    assert.equal(host.peerConnection(member.self.id), null);
    assert.equal((await member.events.next('ring-cancelled')).reason, 'timeout');
    await assert.rejects(incoming.accept(), { code: 'not_found' });
  });

  test("a guest's hangup leaves the call; the owner's hangup ends it for everyone", async () => {
    const host = await owner();
    const stayer = await guest(host, 'Stay');
    const leaver = await guest(host, 'Leave');
    await host.startCall(fakeStream('owner'));
    await assertLinked(host, stayer);
    const { guestPc: leaverPc } = await assertLinked(host, leaver);

    await leaver.hangup();
    assert.equal(leaverPc.closed, true);
    assert.equal(leaver.call.joined, false);
    const busy = await host.events.next('busy');
    assert.deepStrictEqual([busy.callee.id, busy.reason], [leaver.self.id, 'declined']);
    assert.equal(host.peerConnection(leaver.self.id), null);
    assert.ok(host.peerConnection(stayer.self.id), 'the other guest stays');
    assert.deepStrictEqual(host.call.participants.sort(), [host.self.id, stayer.self.id].sort());

    const stayerPc = stayer.peerConnection(host.self.id);
    const hubPc = host.peerConnection(stayer.self.id);
    await host.hangup();
    assert.equal(host.call, null);
    assert.equal(hubPc.closed, true);
    for (const member of [stayer, leaver]) {
      assert.equal((await member.events.next('hangup')).attendee.id, host.self.id);
      assert.equal(member.call, null);
    }
    assert.equal(stayerPc.closed, true);
    assert.equal(stayer.peerConnection(host.self.id), null);
  });
});

describe('calls across reconnects', () => {
  const quick = { autoAnswer: true, reconnect: { minDelayMs: 100, maxDelayMs: 100, jitter: 0 } };

  test('a guest that reconnects asks for an ICE restart and the owner renegotiates', async () => {
    const host = await owner();
    const member = await guest(host, 'Mobile', quick);
    await host.startCall(fakeStream('owner'));
    const { hubPc, guestPc } = await assertLinked(host, member);
    // Linked is not trickled: the first candidates may still be on their way, and those pushed
    // to a guest that is offline are dropped (§4.2). The restart below must bring its own.
    await candidatesCrossed(hubPc, guestPc);
    await candidatesCrossed(guestPc, hubPc);

    member.sockets[0].terminate();
    await member.events.next('reconnected', { timeout: 5000 });
    const asked = await host.events.next('negotiation');
    assert.deepStrictEqual(asked.message, { request: 'offer', iceRestart: true });
    await waitUntil(() => hubPc.signalingState === 'stable' && hubPc.remoteDescription.sdp.includes('ice-restart'),
      { what: "the owner to take the guest's answer to its ICE-restart offer" });
    assert.deepStrictEqual(hubPc.offerOptions.at(-1), { iceRestart: true });
    assert.ok(guestPc.remoteDescription.sdp.includes('ice-restart'));
    assert.equal(guestPc.remoteDescription.sdp, hubPc.localDescription.sdp);
    assert.equal(hubPc.remoteDescription.sdp, guestPc.localDescription.sdp);
    assert.equal(member.peerConnection(host.self.id), guestPc, 'the same peer connection, renegotiated');
    assert.equal(hubPc.generation, 2, 'the restart gathered a second generation of candidates');
    await candidatesCrossed(hubPc, guestPc);
    await candidatesCrossed(guestPc, hubPc);
  });

  test('an owner that reconnects restarts ICE with every participant', async () => {
    const host = await owner(quick);
    const member = await guest(host, 'Steady');
    await host.startCall(fakeStream('owner'));
    const { hubPc, guestPc } = await assertLinked(host, member);

    host.sockets[0].terminate();
    await host.events.next('reconnected', { timeout: 5000 });
    const offer = await member.events.next('negotiation');
    assert.equal(offer.message.description.type, 'offer');
    assert.ok(offer.message.description.sdp.includes('ice-restart'));
    await waitUntil(() => hubPc.signalingState === 'stable' && hubPc.remoteDescription.sdp === guestPc.localDescription.sdp
      && guestPc.remoteDescription.sdp.includes('ice-restart'), { what: 'the ICE restart to complete' });
    assert.deepStrictEqual(host.call.participants.sort(), [host.self.id, member.self.id].sort());
  });

  test('a call that ended while the guest was away ends locally after its re-attend', async () => {
    const host = await owner();
    const member = await guest(host, 'Away', { autoAnswer: true, reconnect: { minDelayMs: 600, maxDelayMs: 600, jitter: 0 } });
    await host.startCall(fakeStream('owner'));
    const { guestPc } = await assertLinked(host, member);
    member.sockets[0].terminate();
    await member.events.next('disconnected');
    await host.hangup(); // the hangup push to the offline guest is dropped (§4.2)
    await member.events.next('reconnected', { timeout: 5000 });
    assert.equal(member.call, null);
    assert.equal(guestPc.closed, true);
    assert.equal(member.events.all('hangup').length, 0, 'the guest never got the hangup push');
  });

  test('a guest that resumes on a new client (page reload) is rung again', async () => {
    const host = await owner();
    const member = await guest(host, 'Reload');
    const { id } = await host.startCall(fakeStream('owner'));
    await assertLinked(host, member);
    const token = member.accessToken;
    await member.close();

    const reloaded = open(fixture.url);
    reloaded.setLocalStream(fakeStream('Reloaded'));
    await reloaded.resume(token);
    assert.deepStrictEqual([reloaded.call.id, reloaded.call.joined], [id, true]);
    assert.equal((await host.events.next('negotiation')).message.request, 'ring');
    await assertLinked(host, reloaded);
  });
});
