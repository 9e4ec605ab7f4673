// Workspace lifecycle over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): create, attend, PIN, re-attend, leave, destroy, kick, full, toggles (PROTOCOL.md §4).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client, ID_RE, Member, assertAlert, assertReply, assertTimestamp, createOwner, createWorkspace, decodeJwt,
  join, joinMember, serverFixture, setupWorkspace, testLogsClean, uniquePin, unknownId, waitOnline, withServer,
} from './harness.mjs';

const WORKSPACE_AVATAR = 'https://example.test/workspace.png';
const ATTENDEE_AVATAR = 'https://example.test/attendee.png';
const fixture = serverFixture({
  config: { default_workspace_avatar: WORKSPACE_AVATAR, default_attendee_avatar: ATTENDEE_AVATAR },
});

/** The workspace object of attendance-granted: the created one plus `call`; the invite is checked apart. */
function assertGrantedWorkspace(workspace, created, call = null) {
  const { token, ...rest } = workspace;
  const { token: _, ...want } = created;
  assert.deepStrictEqual(rest, { ...want, call });
  const { typ, wid } = decodeJwt(token).payload;
  assert.deepStrictEqual({ typ, wid }, { typ: 'invite', wid: created.id });
}

/** The attendee object of PROTOCOL.md §4 as a fresh member has it. */
const attendeeObject = (id, name, avatar = ATTENDEE_AVATAR, extra = {}) =>
  ({ id, name, avatar, mic: true, cam: true, online: true, ...extra });

describe('create', () => {
  test('replies created with defaults, server ids, signed tokens and the nonce', async () => {
    const client = await Client.connect(fixture.url);
    const before = Date.now();
    const reply = await client.request('create', { workspace: {}, attendee: {}, nonce: 'n-create' });
    const after = Date.now();
    const data = assertReply(reply, 'created');
    assert.equal(reply.re, 1);
    const { id, created, token } = data.workspace;
    const aid = data.attendee.id;
    assert.match(id, ID_RE);
    assert.match(aid, ID_RE);
    assertTimestamp(created, before, after);
    assert.equal(typeof token, 'string');
    assert.equal(typeof data.accessToken, 'string');
    assert.deepStrictEqual(data, {
      workspace: { id, name: 'Anonymous Workspace', avatar: WORKSPACE_AVATAR, owner: aid, created, token },
      attendee: attendeeObject(aid, 'Anonymous'),
      accessToken: data.accessToken,
      nonce: 'n-create',
    });

    const access = decodeJwt(data.accessToken);
    assert.equal(access.header.alg, 'HS256');
    assert.deepStrictEqual(
      { typ: access.payload.typ, wid: access.payload.wid, aid: access.payload.aid, own: access.payload.own },
      { typ: 'access', wid: id, aid, own: true },
    );
    for (const claim of ['iat', 'exp']) assert.ok(Number.isInteger(access.payload[claim]), `${claim} is an integer`);
    assert.ok(access.payload.exp > access.payload.iat);
    assert.equal(typeof access.payload.jti, 'string');
    const invite = decodeJwt(token);
    assert.equal(invite.header.alg, 'HS256');
    assert.equal(invite.payload.typ, 'invite');
    assert.equal(invite.payload.wid, id);
    assert.ok(Number.isInteger(invite.payload.iat));
  });

  test('keeps the given names and avatars', async () => {
    const client = await Client.connect(fixture.url);
    const data = await createWorkspace(client, {
      name: 'Design review', avatar: 'ws.png', attendeeName: 'Ada', attendeeAvatar: 'ada.png', nonce: 7,
    });
    assert.equal(data.workspace.name, 'Design review');
    assert.equal(data.workspace.avatar, 'ws.png');
    assert.deepStrictEqual(data.attendee, attendeeObject(data.attendee.id, 'Ada', 'ada.png'));
    assert.equal(data.nonce, 7);
  });

  test('draws fresh ids every time', async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const client = await Client.connect(fixture.url);
      const data = await createWorkspace(client);
      ids.add(data.workspace.id).add(data.attendee.id);
      await client.close();
    }
    assert.equal(ids.size, 10);
  });

  test('without an id the named reply comes without re; a string id is echoed as re', async () => {
    const client = await Client.connect(fixture.url);
    client.send('create', { workspace: {}, attendee: {} });
    const created = await client.next('created');
    assert.equal('re' in created, false);
    const owner = new Member(client, created.data);
    const reply = await owner.request('attendees', {}, { id: 'req-α' });
    assert.equal(reply.event, 'attendees');
    assert.equal(reply.re, 'req-α');
  });

  test('create or attend on a connection already bound to a member is a conflict', async () => {
    const owner = await createOwner(fixture.url);
    assertAlert(await owner.client.request('create', { workspace: {}, attendee: {}, nonce: 'c' }),
      { code: 'conflict', event: 'create', nonce: 'c' });
    assertAlert(await owner.client.request('attend', { workspace: { token: owner.workspace.token }, attendee: {} }),
      { code: 'conflict', event: 'attend' });
    // Nothing changed: the owner is still the only member.
    const { attendees } = assertReply(await owner.request('attendees'), 'attendees');
    assert.deepStrictEqual(Object.keys(attendees), [owner.id]);
  });
});

describe('attend', () => {
  test('grants attendance with the member map and tells the others', async () => {
    const owner = await createOwner(fixture.url, { name: 'Team', attendeeName: 'Owner' });
    const { client, granted } = await join(fixture.url, owner.workspace.token, { name: 'Grace', nonce: 'n-attend' });
    const gid = granted.attendee.id;
    assert.match(gid, ID_RE);
    assert.notEqual(gid, owner.id);
    assertGrantedWorkspace(granted.workspace, owner.workspace);
    assert.deepStrictEqual(granted, {
      workspace: granted.workspace,
      attendee: attendeeObject(gid, 'Grace'),
      attendees: {
        [owner.id]: attendeeObject(owner.id, 'Owner'),
        [gid]: attendeeObject(gid, 'Grace'),
      },
      accessToken: granted.accessToken,
      nonce: 'n-attend',
    });
    const access = decodeJwt(granted.accessToken).payload;
    assert.deepStrictEqual([access.typ, access.wid, access.aid, access.own], ['access', owner.workspace.id, gid, false]);

    const pushed = await owner.next('attend');
    assert.equal('re' in pushed, false);
    assert.deepStrictEqual(pushed.data, attendeeObject(gid, 'Grace'));

    // The attendees request agrees with the map of attendance-granted.
    const guest = new Member(client, granted);
    const listed = assertReply(await guest.request('attendees', { nonce: 'n-list' }), 'attendees');
    assert.deepStrictEqual(listed, { attendees: granted.attendees, nonce: 'n-list' });
  });

  test('a PIN-protected workspace wants the right PIN', async () => {
    const pin = uniquePin();
    const owner = await createOwner(fixture.url, { pin });
    const client = await Client.connect(fixture.url);
    const attend = (p, nonce) => client.request('attend', { workspace: { token: owner.workspace.token, pin: p }, attendee: {}, nonce });
    assertAlert(await attend(undefined, 'm'), { code: 'pin_invalid', event: 'attend', nonce: 'm' });
    assertAlert(await attend(`${pin}x`, 'w'), { code: 'pin_invalid', event: 'attend', nonce: 'w' });
    await owner.expectNothing('attend', 100);
    assertReply(await attend(pin), 'attendance-granted');
    await owner.next('attend');
  });

  test('an empty PIN on create means no PIN', async () => {
    const owner = await createOwner(fixture.url, { pin: '' });
    const { granted } = await join(fixture.url, owner.workspace.token);
    assert.equal(granted.workspace.id, owner.workspace.id);
  });

  test('after 5 wrong PINs even the right one is rate limited, for that workspace only', async () => {
    const pin = uniquePin();
    const owner = await createOwner(fixture.url, { pin });
    const other = await createOwner(fixture.url, { pin });
    const client = await Client.connect(fixture.url);
    const attend = (workspace, p) => client.request('attend', { workspace: { token: workspace.token, pin: p }, attendee: {} });
    for (let i = 0; i < 5; i++) {
      assertAlert(await attend(owner.workspace, `wrong-${i}-${pin}`), { code: 'pin_invalid', event: 'attend' });
    }
    const limited = assertAlert(await attend(owner.workspace, pin), { code: 'rate_limited', event: 'attend' });
    assert.ok(limited.retryAfter <= 60, `retryAfter ${limited.retryAfter} within the 1-minute window`);
    // Per workspace: the same IP may still join another workspace with its PIN.
    assertReply(await attend(other.workspace, pin), 'attendance-granted');
  });

  test('a workspace takes 5 members by default; the 6th gets full and close 4001', async () => {
    const { owner, members } = await setupWorkspace(fixture.url, { guests: 4 });
    const client = await Client.connect(fixture.url);
    const reply = await client.request('attend', { workspace: { token: owner.workspace.token }, attendee: {}, nonce: 'f' });
    assert.deepStrictEqual(assertReply(reply, 'full'), { workspace: { id: owner.workspace.id }, capacity: 5, nonce: 'f' });
    assert.equal((await client.waitClosed()).code, 4001);
    await Promise.all(members.map((m) => m.expectNothing('attend', 100)));
  });
});

describe('re-attend', () => {
  test('within the grace period it is silent for the others', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    await guest.client.close();
    await waitOnline(owner, guest.id, false);
    const client = await Client.connect(fixture.url);
    const reply = await client.request('re-attend', { accessToken: guest.token, nonce: 'r' });
    const data = assertReply(reply, 're-attendance-granted');
    assertGrantedWorkspace(data.workspace, owner.workspace);
    assert.deepStrictEqual(data, {
      workspace: data.workspace,
      attendee: attendeeObject(guest.id, 'Guest 1'),
      attendees: {
        [owner.id]: attendeeObject(owner.id, 'Owner'),
        [guest.id]: attendeeObject(guest.id, 'Guest 1'),
      },
      accessToken: data.accessToken,
      nonce: 'r',
    });
    await owner.expectNothing('*', 300);
    const restored = new Member(client, data);
    assertReply(await restored.request('attendees'), 'attendees');
    await waitOnline(owner, guest.id, true);
  });

  test('after the grace period the others got leave, and re-attend announces the attendee again', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    await guest.client.close();
    const leave = await owner.next('leave', { timeout: 4000 }); // reconnect_grace_seconds is 2
    assert.deepStrictEqual(leave.data, guest.brief);
    const client = await Client.connect(fixture.url);
    const data = assertReply(await client.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    assert.equal(data.attendee.id, guest.id);
    const back = await owner.next('attend');
    assert.deepStrictEqual(back.data, attendeeObject(guest.id, 'Guest 1'));
  });

  test('the same attendee re-attending elsewhere replaces the old connection (4002)', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const client = await Client.connect(fixture.url);
    const data = assertReply(await client.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    const replaced = await guest.next('replaced');
    assert.equal(typeof replaced.data.reason, 'string');
    assert.equal((await guest.client.waitClosed()).code, 4002);
    await owner.expectNothing('*', 200);
    // The binding moved to the new connection.
    assertReply(await new Member(client, data).request('attendees'), 'attendees');
  });
});

describe('leave', () => {
  test('replies left, tells the others, and ends the membership until re-attend', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const reply = await guest.request('leave', { nonce: 'l' });
    assert.deepStrictEqual(assertReply(reply, 'left'), { workspace: { id: owner.workspace.id }, nonce: 'l' });
    const pushed = await owner.next('leave');
    assert.equal('re' in pushed, false);
    assert.deepStrictEqual(pushed.data, guest.brief);
    assertAlert(await guest.request('attendees', { nonce: 'x' }), { code: 'forbidden', event: 'attendees', nonce: 'x' });
    assertAlert(await guest.request('mic-toggle', { state: false }), { code: 'forbidden', event: 'mic-toggle' });
    await owner.expectNothing('mic-toggle', 100);

    const again = assertReply(await guest.client.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    assert.equal(again.attendee.id, guest.id);
    assert.deepStrictEqual((await owner.next('attend')).data, attendeeObject(guest.id, 'Guest 1'));
  });

  test('the workspace survives its owner leaving; the owner may re-attend and is still owner', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    assertReply(await owner.request('leave'), 'left');
    assert.deepStrictEqual((await guest.next('leave')).data, owner.brief);
    const client = await Client.connect(fixture.url);
    const data = assertReply(await client.request('re-attend', { accessToken: owner.token }), 're-attendance-granted');
    assert.equal(data.workspace.owner, owner.id);
    await guest.next('attend', { where: (f) => f.data.id === owner.id });
    const back = new Member(client, data);
    assertReply(await back.request('kick', { attendee: { id: guest.id } }), 'kicked');
  });
});

describe('destroy', () => {
  test('only the owner may destroy', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    assertAlert(await guest.request('destroy', { nonce: 'g' }), { code: 'forbidden', event: 'destroy', nonce: 'g' });
    await owner.expectNothing('destroyed', 100);
    assertReply(await owner.request('attendees'), 'attendees');
  });

  test('tells every member, then every token and the invite get destroyed; sockets stay open', async () => {
    const { owner, guests, workspaceId, invite } = await setupWorkspace(fixture.url, { guests: 2 });
    const reply = await owner.request('destroy', { nonce: 'd' });
    assert.deepStrictEqual(assertReply(reply, 'destroyed'), { workspace: { id: workspaceId }, nonce: 'd' });
    for (const guest of guests) {
      const pushed = await guest.next('destroyed');
      assert.equal('re' in pushed, false);
      assert.deepStrictEqual(pushed.data, { workspace: { id: workspaceId } });
    }
    for (const member of [owner, ...guests]) {
      const after = await member.request('attendees', { nonce: 'a' });
      assert.deepStrictEqual(assertReply(after, 'destroyed'), { workspace: { id: workspaceId }, nonce: 'a' });
    }
    const stranger = await Client.connect(fixture.url);
    const attend = await stranger.request('attend', { workspace: { token: invite }, attendee: {}, nonce: 'i' });
    assert.deepStrictEqual(assertReply(attend, 'destroyed'), { workspace: { id: workspaceId }, nonce: 'i' });
    const reattend = await stranger.request('re-attend', { accessToken: guests[0].token });
    assert.deepStrictEqual(assertReply(reattend, 'destroyed').workspace, { id: workspaceId });

    // The members' connections are unbound, not closed: they can start over.
    for (const member of [owner, ...guests]) {
      assert.ok(member.client.isOpen);
      await createWorkspace(member.client);
    }
  });
});

describe('kick', () => {
  test('only the owner kicks, never itself, and only members', async () => {
    const { owner, guests: [a, b] } = await setupWorkspace(fixture.url, { guests: 2 });
    assertAlert(await a.request('kick', { attendee: { id: b.id }, nonce: 'k' }), { code: 'forbidden', event: 'kick', nonce: 'k' });
    assertAlert(await owner.request('kick', { attendee: { id: owner.id } }), { code: 'forbidden', event: 'kick' });
    assertAlert(await owner.request('kick', { attendee: { id: unknownId() } }), { code: 'not_found', event: 'kick' });
    await Promise.all([a, b].map((m) => m.expectNothing('kicked', 100)));
  });

  test('everyone gets kicked, the target is closed with 4003 and its token revoked', async () => {
    const { owner, guests: [target, bystander] } = await setupWorkspace(fixture.url, { guests: 2 });
    const reply = await owner.request('kick', { attendee: { id: target.id }, nonce: 'k' });
    assert.deepStrictEqual(assertReply(reply, 'kicked'), { id: target.id, nonce: 'k' });
    assert.deepStrictEqual((await bystander.next('kicked')).data, { id: target.id });
    assert.deepStrictEqual((await target.next('kicked')).data, { id: target.id });
    assert.equal((await target.client.waitClosed()).code, 4003);
    await bystander.expectNothing('leave', 200);

    const client = await Client.connect(fixture.url);
    assertAlert(await client.request('re-attend', { accessToken: target.token, nonce: 'r' }),
      { code: 'token_revoked', event: 're-attend', nonce: 'r' });
    const { attendees } = assertReply(await owner.request('attendees'), 'attendees');
    assert.deepStrictEqual(Object.keys(attendees).sort(), [owner.id, bystander.id].sort());
  });
});

describe('capacity 2', () => {
  test('counts offline members within grace, and applies to re-attend after leave', async (t) => {
    const server = await withServer(t, { config: { max_capacity_of_workspace: 2 } });
    const { owner, guests: [guest] } = await setupWorkspace(server.url);
    const attend = async () => {
      const client = await Client.connect(server.url);
      const reply = await client.request('attend', { workspace: { token: owner.workspace.token }, attendee: {} });
      return { client, reply };
    };
    const third = await attend();
    assert.deepStrictEqual(assertReply(third.reply, 'full'), { workspace: { id: owner.workspace.id }, capacity: 2 });
    assert.equal((await third.client.waitClosed()).code, 4001);

    // The guest drops: still a member within the grace period, so the workspace is still full.
    await guest.client.close();
    await waitOnline(owner, guest.id, false);
    assertReply((await attend()).reply, 'full');

    // The guest comes back and leaves; a newcomer takes the seat; the guest's re-attend finds it full.
    const back = await Client.connect(server.url);
    const data = assertReply(await back.request('re-attend', { accessToken: guest.token }), 're-attendance-granted');
    assertReply(await new Member(back, data).request('leave'), 'left');
    assertReply((await attend()).reply, 'attendance-granted');
    const again = await Client.connect(server.url);
    assertReply(await again.request('re-attend', { accessToken: guest.token }), 'full');
    assert.equal((await again.waitClosed()).code, 4001);
  });
});

describe('mic-toggle, cam-toggle, attendees, refresh', () => {
  test('toggles reach the others, are acknowledged only with an id, and show in attendees', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const ok = await guest.request('mic-toggle', { state: false, nonce: 'm' });
    assert.deepStrictEqual(assertReply(ok, 'ok'), { event: 'mic-toggle', nonce: 'm' });
    const mic = await owner.next('mic-toggle');
    assert.equal('re' in mic, false);
    assert.deepStrictEqual(mic.data, { attendee: { id: guest.id }, state: false });

    guest.send('cam-toggle', { state: false });
    assert.deepStrictEqual((await owner.next('cam-toggle')).data, { attendee: { id: guest.id }, state: false });
    await guest.expectNothing('*', 200);

    const muted = attendeeObject(guest.id, 'Guest 1', ATTENDEE_AVATAR, { mic: false, cam: false });
    const late = await joinMember(fixture.url, owner.workspace.token, { name: 'Late' });
    const { attendees } = assertReply(await late.request('attendees'), 'attendees');
    assert.deepStrictEqual(attendees[guest.id], muted);
    const { granted } = await join(fixture.url, owner.workspace.token);
    assert.deepStrictEqual(granted.attendees[guest.id], muted);

    guest.send('mic-toggle', { state: true }, 'again');
    assert.deepStrictEqual((await guest.next('ok')).data, { event: 'mic-toggle' });
    assert.deepStrictEqual((await owner.next('mic-toggle')).data, { attendee: { id: guest.id }, state: true });
  });

  test('refresh returns a different, working token; the old one keeps working', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    const data = assertReply(await owner.request('refresh', { nonce: 'f' }), 'token-refreshed');
    assert.deepStrictEqual(Object.keys(data).sort(), ['accessToken', 'nonce']);
    assert.equal(data.nonce, 'f');
    assert.notEqual(data.accessToken, owner.token);
    const [before, after] = [owner.token, data.accessToken].map((t) => decodeJwt(t).payload);
    assert.notEqual(after.jti, before.jti);
    assert.deepStrictEqual([after.typ, after.wid, after.aid, after.own], ['access', before.wid, before.aid, true]);
    assertReply(await owner.client.request('attendees', { accessToken: data.accessToken }), 'attendees');
    assertReply(await owner.request('attendees'), 'attendees');
    // A reconnect can use the refreshed token.
    const client = await Client.connect(fixture.url);
    assertReply(await client.request('re-attend', { accessToken: data.accessToken }), 're-attendance-granted');
  });
});

describe('iceservers', () => {
  test('production mode wants a token, then lists RTCIceServers', async () => {
    const owner = await createOwner(fixture.url);
    assertAlert(await owner.client.request('iceservers', {}), { code: 'token_missing', event: 'iceservers' });
    const reply = await owner.request('iceservers');
    const servers = assertReply(reply, 'iceservers');
    assert.ok(Array.isArray(servers) && servers.length > 0, `iceservers is a non-empty array: ${JSON.stringify(servers)}`);
    for (const server of servers) {
      const urls = [server.urls].flat();
      assert.ok(urls.length > 0 && urls.every((u) => /^(stun|stuns|turn|turns):/.test(u)), JSON.stringify(server));
    }
  });

  test('development mode answers anyone with Google STUN', async (t) => {
    const server = await withServer(t, { env: { DEVELOPMENT: 'true' } });
    const client = await Client.connect(server.url);
    const reply = await client.request('iceservers', {});
    assert.deepStrictEqual(assertReply(reply, 'iceservers'), [{
      urls: [0, 1, 2, 3, 4].map((n) => `stun:stun${n || ''}.l.google.com:19302`),
    }]);
  });
});

testLogsClean(fixture);
