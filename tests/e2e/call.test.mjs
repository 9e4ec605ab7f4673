// End-to-end: calls through the demo page (web/) in headless Chromium over the real server, on
// loopback host candidates. An owner and two guests see each other's video; mic and camera states
// show on the others; a guest who reloads its page re-attends and gets its video back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertLogsClean } from '../integration/harness.mjs';
import { e2eBrowser, PHONE, startE2eServer, TEST_TIMEOUT, waitAttendeeList, workspaceWithGuests } from './support.mjs';

const browser = e2eBrowser();
let server;
before(async () => {
  server = await startE2eServer();
});
after(async () => {
  await server?.kill();
});

describe('calls on the demo page', () => {
  test('owner and two guests: everyone gets live video, mic and camera states show on the others', TEST_TIMEOUT, async () => {
    const owner = await browser.user(server.httpUrl, 'Olivia');
    await owner.waitView('create');
    await owner.screenshot('create-form');
    const phone = await browser.user(server.httpUrl, 'Pia', { viewport: PHONE });
    await phone.screenshot('create-form-phone');

    const invite = await owner.create({ workspace: 'Design review' });
    owner.id = await owner.selfId();
    const gus = await browser.user(server.httpUrl, 'Gus');
    await gus.openInvite(invite);
    await gus.screenshot('join-form');
    await gus.submitJoin();
    await gus.waitView('workspace');
    gus.id = await gus.selfId();
    await phone.openInvite(invite);
    await phone.screenshot('join-form-phone');
    await phone.submitJoin();
    await phone.waitView('workspace');
    phone.id = await phone.selfId();
    const everyone = [owner, gus, phone];
    for (const user of everyone) await waitAttendeeList(user, [owner.id, gus.id, phone.id]);
    assert.equal(await owner.get(`attendee-name-${gus.id}`).textContent(), 'Gus');
    assert.equal(await phone.get('role').textContent(), 'Guest');
    assert.ok(await gus.get('start-call').isHidden(), 'only the owner starts calls');

    await owner.get('start-call').click();
    await owner.get('end-call').waitFor();
    // Every guest gets the owner's video; the owner (the hub) gets every guest's.
    for (const guest of [gus, phone]) {
      const { after: stats } = await guest.waitFrames(`video-remote-${owner.id}`);
      assert.equal(stats.localCandidateType, 'host');
      await owner.waitFrames(`video-remote-${guest.id}`);
    }
    for (const user of everyone) await user.page.locator('[data-testid="call-status"][data-call="joined"]').waitFor();

    // Gus mutes his microphone, the owner turns her camera off: the others see both.
    await gus.get('mute-mic').click();
    assert.equal(await gus.get('mute-mic').getAttribute('aria-pressed'), 'true');
    await owner.get('mute-cam').click();
    for (const user of [owner, phone]) await user.waitAttendee(gus.id, { mic: 'off', cam: 'on' });
    for (const user of [gus, phone]) {
      await user.waitAttendee(owner.id, { cam: 'off', mic: 'on' });
      await user.page.locator(`[data-testid="tile-${owner.id}"][data-cam="off"]`).waitFor();
    }
    await owner.screenshot('call-camera-off');
    await owner.get('mute-cam').click();
    for (const user of [gus, phone]) await user.waitAttendee(owner.id, { cam: 'on' });
    await owner.screenshot('call-desktop');
    await phone.screenshot('call-phone');

    // The owner ends the call: the guests' remote tiles go, the workspace stays.
    await owner.get('end-call').click();
    for (const guest of [gus, phone]) {
      await guest.page.locator('[data-testid="call-status"][data-call="none"]').waitFor();
      await guest.get(`video-remote-${owner.id}`).waitFor({ state: 'detached' });
    }
    await owner.get('start-call').waitFor();
    assertLogsClean(server);
  });

  test('a guest reloads its page during the call: it re-attends as itself and video flows again', TEST_TIMEOUT, async () => {
    const { owner, guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    await owner.get('start-call').click();
    await guest.waitFrames(`video-remote-${owner.id}`);
    const hubBefore = await owner.waitFrames(`video-remote-${guest.id}`);

    await guest.page.reload();
    await guest.waitView('workspace');
    assert.equal(await guest.selfId(), guest.id, 'the same attendee (re-attend, not a new attend)');
    await guest.waitFrames(`video-remote-${owner.id}`);
    // The owner rang the reloaded guest again: the owner's tile shows the new page's camera stream.
    const hubAfter = await owner.waitFrames(`video-remote-${guest.id}`);
    assert.notEqual(hubAfter.after.streamId, hubBefore.after.streamId);
    await owner.waitAttendee(guest.id, { online: 'true' });
    await waitAttendeeList(owner, [owner.id, guest.id]);
    await guest.page.locator('[data-testid="call-status"][data-call="joined"]').waitFor();
  });

  test('the owner reloads its page during the call: it rejoins the call and rings the guest again', TEST_TIMEOUT, async () => {
    const { owner, guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    await owner.get('start-call').click();
    const before = await guest.waitFrames(`video-remote-${owner.id}`);
    await owner.waitFrames(`video-remote-${guest.id}`);

    await owner.page.reload();
    await owner.waitView('workspace');
    assert.equal(await owner.selfId(), owner.id);
    assert.equal(await owner.get('role').textContent(), 'Owner');
    await owner.get('end-call').waitFor();
    await owner.waitFrames(`video-remote-${guest.id}`);
    // The guest's tile now shows the camera stream of the owner's new page.
    const after = await guest.waitFrames(`video-remote-${owner.id}`, { timeout: 30_000 });
    assert.notEqual(after.after.streamId, before.after.streamId);
  });
});
