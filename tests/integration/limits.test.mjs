// Size limits and abusive connections over every transport (WS_TRANSPORT; eio4/ and eio3/ rerun this file over Socket.IO): names, avatars, PINs, frame size, UTF-8, bad-frame flood (PROTOCOL.md §2).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  Client, assertAlert, assertReply, assertServes, createWorkspace, join, nativeOnly, serverFixture, setupWorkspace, testLogsClean,
} from './harness.mjs';

const fixture = serverFixture();
afterEach(() => assertServes(fixture.url));

const EMOJI = '😀'; // one code point, two UTF-16 units, four UTF-8 bytes
const KIB16 = 16 * 1024;

/** Sends `create` with `workspace`/`attendee` fields on a fresh connection; returns the reply. */
async function create(workspace, attendee = {}) {
  const client = await Client.connect(fixture.url);
  return client.request('create', { workspace, attendee, nonce: 'lim' });
}

describe('field sizes', () => {
  const cases = [
    { name: '64 ASCII characters', value: 'n'.repeat(64), ok: true },
    { name: '65 ASCII characters', value: 'n'.repeat(65), ok: false },
    { name: '64 two-byte characters', value: 'é'.repeat(64), ok: true },
    { name: '64 emoji (128 UTF-16 units, 256 bytes)', value: EMOJI.repeat(64), ok: true },
    { name: '65 emoji', value: EMOJI.repeat(65), ok: false },
  ];
  for (const { name, value, ok } of cases) {
    for (const field of ['workspace.name', 'attendee.name', 'workspace.pin']) {
      test(`${field} of ${name} is ${ok ? 'accepted' : 'too_large'}`, async () => {
        const [object, key] = field.split('.');
        const fields = { workspace: {}, attendee: {} };
        fields[object][key] = value;
        const reply = await create(fields.workspace, fields.attendee);
        if (ok) {
          const created = assertReply(reply, 'created');
          if (key === 'name') assert.equal(created[object].name, value);
        } else {
          assertAlert(reply, { code: 'too_large', event: 'create', field, nonce: 'lim' });
        }
      });
    }
  }

  test('a 64-code-point PIN protects the workspace; attend checks name and PIN sizes too', async () => {
    const pin = EMOJI.repeat(32) + 'p'.repeat(32);
    const { owner, invite } = await setupWorkspace(fixture.url, { guests: 0, pin });
    const { granted } = await join(fixture.url, invite, { pin, name: 'a'.repeat(64) });
    assert.equal(granted.attendee.name, 'a'.repeat(64));
    await owner.next('attend');
    const client = await Client.connect(fixture.url);
    assertAlert(await client.request('attend', { workspace: { token: invite, pin }, attendee: { name: 'a'.repeat(65) } }),
      { code: 'too_large', event: 'attend', field: 'attendee.name' });
    assertAlert(await client.request('attend', { workspace: { token: invite, pin: `${pin}x` }, attendee: {} }),
      { code: 'too_large', event: 'attend', field: 'workspace.pin' });
    await owner.expectNothing('attend', 100);
  });

  for (const field of ['workspace.avatar', 'attendee.avatar']) {
    test(`${field} of 16 KiB is accepted, one byte more is too_large`, async () => {
      const [object] = field.split('.');
      const fields = (avatar) => ({ workspace: {}, attendee: {}, [object]: { avatar } });
      const exact = fields('a'.repeat(KIB16 - 2) + 'é'); // 16384 bytes, 16383 characters
      const created = assertReply(await create(exact.workspace, exact.attendee), 'created');
      assert.equal(created[object].avatar.length, KIB16 - 1);
      const over = fields('a'.repeat(KIB16 - 1) + 'é'); // 16385 bytes
      assertAlert(await create(over.workspace, over.attendee), { code: 'too_large', event: 'create', field });
    });
  }
});

describe('connection-level limits', () => {
  test('a frame of exactly 65536 bytes is read; one byte more closes with 1009', nativeOnly, async () => {
    const client = await Client.connect(fixture.url);
    const frame = (size) => {
      const head = '{"event":"create","data":{"workspace":{},"attendee":{"avatar":"';
      const tail = '"}}}';
      return head + 'a'.repeat(size - head.length - tail.length) + tail;
    };
    assert.equal(Buffer.byteLength(frame(65536)), 65536);
    client.sendRaw(frame(65536));
    assertAlert(await client.next('alert'), { code: 'too_large', event: 'create', field: 'attendee.avatar' });
    client.sendRaw(frame(65537));
    assert.equal((await client.waitClosed()).code, 1009);
  });

  test('a much larger frame closes with 1009', async () => {
    const client = await Client.connect(fixture.url);
    client.sendRaw(JSON.stringify({ event: 'create', data: { workspace: { name: 'x'.repeat(200_000) }, attendee: {} } }));
    assert.equal((await client.waitClosed()).code, 1009);
  });

  test('invalid UTF-8 in a text frame closes with 1007', nativeOnly, async () => {
    const client = await Client.connect(fixture.url);
    client.sendRaw(Buffer.concat([Buffer.from('{"event":"create","data":{"workspace":{"name":"'),
      Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"},"attendee":{}}}')]), { binary: false });
    assert.equal((await client.waitClosed()).code, 1007);
  });

  test('20 bad frames are answered; the 21st within 10 s closes with 1008', async () => {
    const client = await Client.connect(fixture.url);
    for (let i = 0; i < 20; i++) client.sendRaw(`not json ${i}`);
    for (let i = 0; i < 20; i++) assertAlert(await client.next('alert'), { code: 'bad_request' });
    assert.ok(client.isOpen, 'still open after 20 bad frames');
    await createWorkspace(client);
    client.send('no-such-event', {});
    assert.equal((await client.waitClosed()).code, 1008);
  });

  test('auth failures do not count as bad frames', async () => {
    const client = await Client.connect(fixture.url);
    for (let i = 0; i < 25; i++) {
      assertAlert(await client.request('attendees', { accessToken: `garbage-${i}` }), { code: 'token_invalid', event: 'attendees' });
    }
    assert.ok(client.isOpen);
    await createWorkspace(client);
  });
});

testLogsClean(fixture);
