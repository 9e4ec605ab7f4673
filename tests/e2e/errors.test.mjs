// End-to-end: what the demo page tells people when things go wrong: a wrong PIN (and the rate limit
// behind it), a broken invite link, a full workspace, being kicked, a deleted workspace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { e2eBrowser, PHONE, startE2eServer, TEST_TIMEOUT, waitAttendeeList, workspaceWithGuests } from './support.mjs';

const CAPACITY = 2;
const browser = e2eBrowser();
let server;
before(async () => {
  server = await startE2eServer({ config: { max_capacity_of_workspace: CAPACITY, pin_max_failures: 2 } });
});
after(async () => {
  await server?.kill();
});

describe('messages on the demo page', () => {
  test('a wrong PIN says so and points at the field; the right PIN gets in', TEST_TIMEOUT, async () => {
    const owner = await browser.user(server.httpUrl, 'Olivia');
    const invite = await owner.create({ pin: 'open-sesame-42' });
    const guest = await browser.user(server.httpUrl, 'Gus', { viewport: PHONE });
    await guest.openInvite(invite);
    await guest.submitJoin({ pin: 'wrong-pin' });
    const message = await guest.waitMessage('pin_invalid');
    assert.match(message.text, /Wrong PIN/);
    assert.equal(message.kind, 'error');
    assert.equal(await guest.get('join-pin').getAttribute('aria-invalid'), 'true');
    await guest.waitView('join');
    await guest.screenshot('error-message');

    await guest.submitJoin({ pin: 'open-sesame-42' });
    await guest.waitView('workspace');
    assert.ok(await guest.get('message').isHidden(), 'the old message is gone');
  });

  test('too many wrong PINs: rate_limited with the seconds to wait', TEST_TIMEOUT, async () => {
    const owner = await browser.user(server.httpUrl, 'Olivia');
    const invite = await owner.create({ pin: 'open-sesame-42' });
    const guest = await browser.user(server.httpUrl, 'Gus');
    await guest.openInvite(invite);
    for (let i = 0; i < 2; i++) {
      await guest.submitJoin({ pin: `wrong-${i}` });
      await guest.waitMessage('pin_invalid');
      await guest.get('join-submit').waitFor({ state: 'visible' });
      await guest.page.locator('[data-testid="join-submit"]:not([disabled])').waitFor();
    }
    await guest.submitJoin({ pin: 'wrong-again' });
    const message = await guest.waitMessage('rate_limited');
    assert.match(message.text, /^Too many attempts\. Try again in \d+ seconds?\.$/);
  });

  test('a broken invite link: token_invalid', TEST_TIMEOUT, async () => {
    const guest = await browser.user(server.httpUrl, 'Gus', { hash: '#invite=not-a-token' });
    await guest.waitView('join');
    await guest.submitJoin();
    const message = await guest.waitMessage('token_invalid');
    assert.match(message.text, /not valid/);
  });

  test(`a full workspace (capacity ${CAPACITY}): the next person is told, and stays on the join form`, TEST_TIMEOUT, async () => {
    const { owner, guests: [guest], invite } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    const late = await browser.user(server.httpUrl, 'Lena');
    await late.openInvite(invite);
    await late.submitJoin();
    const message = await late.waitMessage('full');
    assert.match(message.text, new RegExp(`full \\(${CAPACITY} people at most\\)`));
    await late.waitView('join');
    assert.equal(await owner.page.locator('[data-testid="attendee-list"] > li').count(), CAPACITY);
    // When a place frees up, the same page gets in (the SDK client closed by `full` was replaced).
    await owner.get(`kick-${guest.id}`).click();
    await waitAttendeeList(owner, [owner.id]);
    await late.submitJoin();
    await late.waitView('workspace');
  });

  test('the owner kicks a guest: the guest is told and its session is gone, the others lose it', TEST_TIMEOUT, async () => {
    const { owner, guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    await owner.get(`kick-${guest.id}`).click();
    const message = await guest.waitMessage('kicked');
    assert.match(message.text, /removed you/);
    await guest.waitView('create');
    assert.equal(new URL(guest.page.url()).hash, '', 'the invite left the address bar');
    await owner.waitMessage('removed');
    await waitAttendeeList(owner, [owner.id]);
    assert.ok(await guest.get('tile-local').isHidden());
    // A reload does not bring the session back: its token was revoked and forgotten.
    await guest.page.reload();
    await guest.waitView('create');
    await guest.waitConnected();
  });

  test('the owner deletes the workspace (two clicks): everyone is told', TEST_TIMEOUT, async () => {
    const { owner, guests: [guest], invite } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    await owner.get('destroy').click();
    assert.equal(await owner.get('destroy').getAttribute('data-armed'), 'true', 'the first click only arms it');
    await owner.get('destroy').click();
    assert.match((await owner.waitMessage('destroyed_by_you')).text, /You deleted the workspace/);
    assert.match((await guest.waitMessage('destroyed')).text, /The owner deleted this workspace/);
    // The old invite link now leads nowhere.
    const late = await browser.user(server.httpUrl, 'Lena');
    await late.openInvite(invite);
    await late.submitJoin();
    assert.match((await late.waitMessage('destroyed')).text, /no longer exists/);
    await owner.waitView('create');
    await guest.waitView('create');
  });

  test('the session opened in a second tab: the first tab is told (replaced) and can take it back', TEST_TIMEOUT, async () => {
    const { guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    // A duplicated tab starts with a copy of the first one's sessionStorage, hence its access token.
    const token = await guest.page.evaluate(() => Object.values({ ...sessionStorage })[0]);
    const second = await browser.tab(guest, 'Gus (second tab)');
    await second.page.evaluate((t) => sessionStorage.setItem('workspaces-demo:access-token', t), token);
    await second.page.reload();
    await second.waitView('workspace');
    assert.equal(await second.selfId(), guest.id);
    assert.equal((await guest.waitMessage('replaced')).kind, 'info');
    await guest.waitView('replaced');
    await guest.get('take-over').click();
    await guest.waitView('workspace');
    await second.waitMessage('replaced');
    await second.waitView('replaced');
  });

  test('a guest leaves: it is told, and the others lose it from the list', TEST_TIMEOUT, async () => {
    const { owner, guests: [guest] } = await workspaceWithGuests(browser, server.httpUrl, { guests: ['Gus'] });
    await guest.get('leave').click();
    assert.equal((await guest.waitMessage('left')).kind, 'info');
    await guest.waitView('create');
    await waitAttendeeList(owner, [owner.id]);
  });
});
