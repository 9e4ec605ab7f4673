// End-to-end: the demo page's call relay-only (?relay=1 -> iceTransportPolicy 'relay') through a
// real coturn, with TURN REST credentials from the server in production mode (TURN_SECRET +
// turn_urls). Every remote video decodes frames over a selected pair whose local candidate is relay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCoturn } from '../integration/coturn.mjs';
import { sleep } from '../integration/harness.mjs';
import { e2eBrowser, startE2eServer, TEST_TIMEOUT, workspaceWithGuests } from './support.mjs';

/** How long a relay-only call with refused credentials is watched for media that must not come. */
const NEGATIVE_WATCH_MS = 8000;

const browser = e2eBrowser();
let coturn;
let server;

/** A production-mode server whose only ICE source is the TURN REST provider, signing with `secret`. */
function serverFor(turn, secret) {
  return startE2eServer({
    env: { TURN_SECRET: secret, DEVELOPMENT: 'false' },
    config: { turn_urls: [`turn:127.0.0.1:${turn.port}?transport=udp`], ice_servers: undefined, turn_ttl_seconds: 600 },
  });
}

before(async () => {
  coturn = await startCoturn();
  server = await serverFor(coturn, coturn.secret);
});
after(async () => {
  await server?.kill();
  await coturn?.stop();
});

test('owner and two guests, relay only through coturn: video flows, every selected pair is relay', TEST_TIMEOUT, async () => {
  const { owner, guests } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus', 'Pia'], relay: true });
  await owner.get('start-call').click();
  const views = [
    ...guests.map((g) => [g, `video-remote-${owner.id}`]),
    ...guests.map((g) => [owner, `video-remote-${g.id}`]),
  ];
  for (const [user, tile] of views) {
    let stats;
    try {
      ({ after: stats } = await user.waitFrames(tile));
    } catch (error) {
      error.message += `\ncoturn log:\n${(await coturn.logs()).split('\n').slice(-30).join('\n')}`;
      throw error;
    }
    assert.equal(stats.localCandidateType, 'relay', `${user.name} ${tile}: ${JSON.stringify(stats)}`);
    assert.equal(stats.remoteCandidateType, 'relay', `${user.name} ${tile}: ${JSON.stringify(stats)}`);
  }
  const policies = await owner.page.evaluate(() =>
    window.__e2ePeerConnections.map((pc) => pc.getConfiguration().iceTransportPolicy));
  assert.deepStrictEqual(new Set(policies), new Set(['relay']), 'the page passed ?relay=1 on to the SDK');
});

test('negative control: with a TURN secret coturn does not share, the relay-only call gets no media', TEST_TIMEOUT, async () => {
  const wrong = await serverFor(coturn, `${coturn.secret}-wrong`);
  try {
    const { owner, guests: [guest] } = await workspaceWithGuests(browser, wrong.httpUrl, { guests: ['Gus'], relay: true });
    await owner.get('start-call').click();
    await guest.page.locator(`[data-testid="tile-${owner.id}"]`).waitFor();
    await sleep(NEGATIVE_WATCH_MS);
    const stats = await guest.videoStats(`video-remote-${owner.id}`);
    assert.ok(!stats || stats.framesDecoded === 0, `no frame may arrive without a relay: ${JSON.stringify(stats)}`);
    assert.notEqual(await guest.get(`tile-${owner.id}`).getAttribute('data-peer-state'), 'connected');
    assert.match(await coturn.logs(), /check_stun_auth: Cannot find credentials/, 'coturn refused the credentials');
  } finally {
    await wrong.kill();
  }
});
