// End-to-end: the signaling server restarts during a call on the demo page. It keeps its state in
// json_storage_file and signs with the same MAGICK_TOKEN/SALT_STRING, and the new process listens
// on the same port. Peer-to-peer media never stops; the pages show "Reconnecting…", then re-attend
// and are connected again with their attendee list intact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { e2eBrowser, freePort, startE2eServer, TEST_TIMEOUT, waitAttendeeList, workspaceWithGuests } from './support.mjs';

const RECONNECT_TIMEOUT_MS = 30_000;
const browser = e2eBrowser();
let dir;
let port;
let server;
const env = { MAGICK_TOKEN: randomBytes(32).toString('hex'), SALT_STRING: randomBytes(24).toString('hex') };

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-e2e-state-'));
  port = await freePort();
});
after(async () => {
  await server?.kill();
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

/** A server on `port` with the state file of this run (the later --port wins over the harness's 0). */
function start() {
  const config = { json_storage_file: path.join(dir, 'state.jsonl') };
  return startE2eServer({ env, config, args: ['--port', String(port)] });
}

test('the server restarts during a call: media flows on, then signaling and the attendee list come back', TEST_TIMEOUT, async () => {
  server = await start();
  assert.equal(server.port, port);
  const { owner, guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
  await owner.get('start-call').click();
  const ownerTile = `video-remote-${guest.id}`;
  const guestTile = `video-remote-${owner.id}`;
  const before = { owner: await owner.waitFrames(ownerTile), guest: await guest.waitFrames(guestTile) };

  // SIGTERM: server-shutdown to everyone, a 1 s drain, close 1012, exit 0.
  const stopped = await server.stop('SIGTERM');
  assert.deepStrictEqual(stopped, { code: 0, signal: null });
  for (const user of [owner, guest]) {
    await user.page.locator('[data-testid="connection-state"][data-state="reconnecting"]').waitFor();
    await user.get('reconnecting').waitFor();
    assert.match(await user.get('reconnecting-text').textContent(), /The server is restarting\. Reconnecting…/);
  }
  await guest.screenshot('reconnecting');

  // No server at all: the call is peer to peer, so video goes on (on the very same streams).
  const during = { owner: await owner.waitFrames(ownerTile), guest: await guest.waitFrames(guestTile) };
  assert.equal(during.owner.after.streamId, before.owner.after.streamId);
  assert.equal(during.guest.after.streamId, before.guest.after.streamId);
  // A mute while the link is down shows at once locally; the SDK tells the others after re-attending.
  await guest.get('mute-mic').click();
  await guest.waitAttendee(guest.id, { mic: 'off' });

  server = await start();
  for (const user of [owner, guest]) {
    await user.waitConnected(RECONNECT_TIMEOUT_MS);
    await user.get('reconnecting').waitFor({ state: 'hidden' });
    await waitAttendeeList(user, [owner.id, guest.id]);
    // Everyone is back online (the page polls the list: the server does not push "offline").
    await user.waitAttendee(owner.id, { online: 'true', owner: 'true' });
    await user.waitAttendee(guest.id, { online: 'true' });
    assert.equal(await user.get(`attendee-name-${owner.id}`).textContent(), 'Olivia');
    assert.equal(await user.get(`attendee-name-${guest.id}`).textContent(), 'Gus');
    await user.page.locator('[data-testid="call-status"][data-call="joined"]').waitFor();
  }
  assert.equal(await owner.get('role').textContent(), 'Owner');
  await owner.waitAttendee(guest.id, { mic: 'off' });

  // After the re-attend the SDK renegotiated (ICE restart) on the same peer connections.
  const later = { owner: await owner.waitFrames(ownerTile), guest: await guest.waitFrames(guestTile) };
  assert.equal(later.owner.after.streamId, before.owner.after.streamId);
  assert.equal(later.guest.after.streamId, before.guest.after.streamId);
  assert.match(server.logs(), /listening on/);
});
