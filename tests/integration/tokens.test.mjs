// Access and invite tokens over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): signature, alg, expiry, kinds, revocation, order of checks (PROTOCOL.md §2, §3).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  Client, assertAlert, assertReply, decodeJwt, serverFixture, setupWorkspace, signJwt, testLogsClean, unknownId,
} from './harness.mjs';

const fixture = serverFixture();

const now = () => Math.floor(Date.now() / 1000);
const jti = () => randomBytes(12).toString('hex');

/** A token signed by the test with the server's MAGICK_TOKEN (the secret's text as UTF-8 bytes). */
const forge = (payload, options) => signJwt(payload, fixture.server.env.MAGICK_TOKEN, options);

/** The member's own claims with `changes`, freshly signed. */
const reclaim = (member, changes = {}, options) => forge({ ...decodeJwt(member.token).payload, jti: jti(), ...changes }, options);

/** Swaps one character of a base64url segment for another valid one. */
function flipFirstChar(segment) {
  return (segment[0] === 'A' ? 'B' : 'A') + segment.slice(1);
}

describe('access tokens', () => {
  test('missing, garbage and malformed tokens', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    const ask = (accessToken, nonce = 't') => owner.client.request('attendees', { accessToken, nonce });
    assertAlert(await owner.client.request('attendees', { nonce: 'm' }), { code: 'token_missing', event: 'attendees', nonce: 'm' });
    for (const garbage of ['not-a-jwt', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9..', `${owner.token}x`, owner.token.split('.').slice(0, 2).join('.')]) {
      assertAlert(await ask(garbage), { code: 'token_invalid', event: 'attendees', nonce: 't' });
    }
    // The real token still works on the same connection.
    assertReply(await ask(owner.token), 'attendees');
  });

  test('a tampered payload or signature is token_invalid', async () => {
    const { guests: [guest] } = await setupWorkspace(fixture.url);
    const [header, payload, signature] = guest.token.split('.');
    const claims = decodeJwt(guest.token).payload;
    const promoted = Buffer.from(JSON.stringify({ ...claims, own: true })).toString('base64url');
    for (const token of [`${header}.${promoted}.${signature}`, `${header}.${payload}.${flipFirstChar(signature)}`]) {
      assertAlert(await guest.request('destroy', { accessToken: token }), { code: 'token_invalid', event: 'destroy' });
    }
    assertReply(await guest.request('attendees'), 'attendees');
  });

  test('alg none, HS512 and a wrong secret are token_invalid', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    const claims = { ...decodeJwt(owner.token).payload, jti: jti() };
    const tokens = {
      none: signJwt(claims, '', { alg: 'none' }),
      noneWithSignature: `${signJwt(claims, '', { alg: 'none' })}${owner.token.split('.')[2]}`,
      HS512: forge(claims, { alg: 'HS512' }),
      wrongSecret: signJwt(claims, randomBytes(32).toString('hex')),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const reply = await owner.client.request('attendees', { accessToken: token, nonce: name });
      assertAlert(reply, { code: 'token_invalid', event: 'attendees', nonce: name });
    }
  });

  test('a token the test signs with MAGICK_TOKEN is accepted; with exp in the past it is token_expired', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    assertReply(await owner.request('attendees', { accessToken: reclaim(owner) }), 'attendees');
    const expired = reclaim(owner, { iat: now() - 3600, exp: now() - 60 });
    assertAlert(await owner.request('attendees', { accessToken: expired, nonce: 'e' }),
      { code: 'token_expired', event: 'attendees', nonce: 'e' });
    const client = await Client.connect(fixture.url);
    assertAlert(await client.request('re-attend', { accessToken: expired }), { code: 'token_expired', event: 're-attend' });
  });

  test('a signed token for an unknown workspace gets destroyed', async () => {
    const { owner } = await setupWorkspace(fixture.url, { guests: 0 });
    const wid = unknownId();
    const reply = await owner.request('attendees', { accessToken: reclaim(owner, { wid }), nonce: 'w' });
    assert.deepStrictEqual(assertReply(reply, 'destroyed'), { workspace: { id: wid }, nonce: 'w' });
  });
});

describe('invite versus access tokens', () => {
  test('an invite is not an access token, an access token is not an invite', async () => {
    const { owner, invite } = await setupWorkspace(fixture.url, { guests: 0 });
    assertAlert(await owner.request('attendees', { accessToken: invite }), { code: 'token_invalid', event: 'attendees' });
    const client = await Client.connect(fixture.url);
    assertAlert(await client.request('re-attend', { accessToken: invite }), { code: 'token_invalid', event: 're-attend' });
    assertAlert(await client.request('attend', { workspace: { token: owner.token }, attendee: {}, nonce: 'a' }),
      { code: 'token_invalid', event: 'attend', nonce: 'a' });
    assertAlert(await client.request('attend', { workspace: {}, attendee: {} }), { code: 'token_missing', event: 'attend' });
    assertAlert(await client.request('attend', { workspace: { token: 'garbage' }, attendee: {} }), { code: 'token_invalid', event: 'attend' });
    const wrongKind = forge({ typ: 'access', wid: owner.workspace.id, iat: now() });
    assertAlert(await client.request('attend', { workspace: { token: wrongKind }, attendee: {} }), { code: 'token_invalid', event: 'attend' });
    await owner.expectNothing('attend', 100);
    // A self-signed invite for the workspace is a valid invite.
    const selfSigned = forge({ typ: 'invite', wid: owner.workspace.id, iat: now() });
    assertReply(await client.request('attend', { workspace: { token: selfSigned }, attendee: {} }), 'attendance-granted');
  });
});

describe('order of checks (§2)', () => {
  test('token problems come before field problems and unknown events before tokens', async () => {
    const { owner, guests: [guest] } = await setupWorkspace(fixture.url);
    const expired = reclaim(owner, { iat: now() - 3600, exp: now() - 60 });
    const badFields = { state: 'not-a-bool' };
    const cases = [
      { data: badFields, code: 'token_missing' },
      { data: { ...badFields, accessToken: 'garbage' }, code: 'token_invalid' },
      { data: { ...badFields, accessToken: expired }, code: 'token_expired' },
    ];
    for (const { data, code } of cases) {
      assertAlert(await owner.client.request('mic-toggle', data), { code, event: 'mic-toggle' });
    }
    assertAlert(await owner.client.request('no-such-event', { accessToken: 'garbage' }), { code: 'unknown_event', event: 'no-such-event' });
    // Unbound connection before fields; role before fields; role before targets; fields before targets.
    const fresh = await Client.connect(fixture.url);
    assertAlert(await fresh.request('mic-toggle', { accessToken: guest.token, ...badFields }), { code: 'forbidden', event: 'mic-toggle' });
    assertAlert(await guest.request('kick', { attendee: { id: 5 } }), { code: 'forbidden', event: 'kick' });
    assertAlert(await guest.request('kick', { attendee: { id: unknownId() } }), { code: 'forbidden', event: 'kick' });
    assertAlert(await owner.request('kick', { attendee: { id: 5 } }), { code: 'bad_request', event: 'kick', field: 'attendee.id' });
  });

  test('token_revoked beats binding and fields; destroyed beats binding and role', async () => {
    const { owner, guests: [kicked, other] } = await setupWorkspace(fixture.url, { guests: 2 });
    assertReply(await owner.request('kick', { attendee: { id: kicked.id } }), 'kicked');
    const client = await Client.connect(fixture.url);
    // Revoked, on an unbound connection with bad fields: token_revoked wins.
    assertAlert(await client.request('mic-toggle', { accessToken: kicked.token, state: 'x' }), { code: 'token_revoked', event: 'mic-toggle' });
    assertReply(await owner.request('destroy'), 'destroyed');
    // Workspace gone, on an unbound connection, not the owner: destroyed wins.
    const reply = await client.request('kick', { accessToken: other.token, attendee: { id: owner.id } });
    assertReply(reply, 'destroyed');
  });
});

testLogsClean(fixture);
