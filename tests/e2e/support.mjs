// End-to-end test support: the demo page (web/) in headless Debian Chromium with fake camera and
// microphone, driven through its data-testid handles, against the real server binary. One browser
// per test file; every wait is bounded; browser, pages and temp dirs are cleaned up in hooks.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { sleep, startServer, waitUntil, withTimeout } from '../integration/harness.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
/** Screenshots of the demo in each state land here. E2E_VERBOSE=1 prints each page's console. */
export const ARTIFACTS_DIR = process.env.E2E_ARTIFACTS_DIR ?? path.join(REPO, 'build/e2e');

/** Server settings for calls in a busy browser: nobody's ring or grace period runs out by accident. */
export const E2E_CONFIG = Object.freeze({
  reconnect_grace_seconds: 30,
  ring_timeout_seconds: 30,
  shutdown_drain_seconds: 1,
  // Loopback only: the tests never reach out to the Internet (the default is Google's STUN).
  ice_servers: [{ urls: ['stun:127.0.0.1:9'] }],
});

const CHROMIUM_ARGS = [
  '--use-fake-ui-for-media-stream', // grant camera and microphone without a prompt
  '--use-fake-device-for-media-stream', // a synthetic camera and microphone
  '--allow-loopback-in-peer-connection', // gather candidates on lo: this machine has no other network
];
const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 360, height: 740 };
const UI_TIMEOUT_MS = 15_000;
const MEDIA_TIMEOUT_MS = 30_000;
const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
/** A backstop for a whole test (each of its waits is bounded already). */
export const TEST_TIMEOUT = { timeout: 120_000 };

/** Runs in every page before its scripts: remembers each RTCPeerConnection for getStats(), so the
 * page itself needs no test hook. The SDK reads `RTCPeerConnection` when a client is created. */
function trackPeerConnections() {
  const Native = window.RTCPeerConnection;
  const all = [];
  Object.defineProperty(window, '__e2ePeerConnections', { value: all });
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      all.push(this);
    }
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for a server restarted on the same port). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The browser of a test file: launched in `before` with HOME and TMPDIR in a fresh temp dir,
 * closed in `after`. Contexts opened with `user()` are closed after each test.
 */
export function e2eBrowser() {
  const state = { browser: null, dir: null, users: new Set() };
  before(async () => {
    state.dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-e2e-'));
    await fsp.mkdir(ARTIFACTS_DIR, { recursive: true });
    // Playwright makes the browser profile in os.tmpdir() at launch: put it in the run's dir too.
    const tmpdir = process.env.TMPDIR;
    process.env.TMPDIR = state.dir;
    try {
      state.browser = await chromium.launch({
        executablePath: CHROMIUM_BIN,
        args: CHROMIUM_ARGS,
        env: { ...process.env, HOME: state.dir, TMPDIR: state.dir },
        timeout: LAUNCH_TIMEOUT_MS,
      });
    } finally {
      if (tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpdir;
    }
  });
  afterEach(async () => {
    // Every test also checks that no page threw or hit its Content-Security-Policy.
    const problems = [...state.users].flatMap((u) => u.problems().map((line) => `${u.name}: ${line}`));
    await Promise.all([...state.users].map((u) => u.close()));
    state.users.clear();
    assert.deepStrictEqual(problems, [], 'page errors or CSP violations');
  });
  after(async () => {
    await Promise.all([...state.users].map((u) => u.close()));
    if (state.browser) {
      await withTimeout(state.browser.close(), CLOSE_TIMEOUT_MS, 'the browser to close').catch(() => {});
    }
    if (state.dir) await fsp.rm(state.dir, { recursive: true, force: true });
  });
  return {
    /** A new user (own browser context) on the demo page of `baseUrl`. */
    async user(baseUrl, name, { viewport = DESKTOP, relay = false, hash = '' } = {}) {
      if (!state.browser) throw new Error('the browser did not start (see the before hook)');
      const context = await state.browser.newContext({ viewport });
      const user = new DemoUser(context, name, baseUrl, { relay });
      state.users.add(user);
      await context.addInitScript(trackPeerConnections);
      user.page = await context.newPage();
      user.page.setDefaultTimeout(UI_TIMEOUT_MS);
      user.watch();
      await user.open(hash);
      return user;
    },

    /** A second tab of `user` (same browser context) on the demo page. */
    async tab(user, name) {
      const tab = new DemoUser(user.context, name, user.baseUrl, { relay: user.relay });
      state.users.add(tab);
      tab.page = await user.context.newPage();
      tab.page.setDefaultTimeout(UI_TIMEOUT_MS);
      tab.watch();
      await tab.open();
      return tab;
    },
  };
}

/** One person using the demo page. */
export class DemoUser {
  constructor(context, name, baseUrl, { relay }) {
    this.context = context;
    this.name = name;
    this.baseUrl = baseUrl;
    this.relay = relay;
    /** @type {import('playwright-core').Page} */
    this.page = null;
    this.log = [];
  }

  /** Collects page errors and console output (printed when a test fails, checked for CSP reports). */
  watch() {
    this.page.on('pageerror', (error) => this.log.push(`pageerror: ${error.message}`));
    this.page.on('console', (msg) => this.log.push(`${msg.type()}: ${msg.text()}`));
  }

  /** Console lines that mean the page is broken: uncaught errors and CSP violations. */
  problems() {
    return this.log.filter((line) => line.startsWith('pageerror') || /Content Security Policy|Refused to/i.test(line));
  }

  url(hash = '') {
    return `${this.baseUrl}/demo/${this.relay ? '?relay=1' : ''}${hash}`;
  }

  async open(hash = '') {
    await this.page.goto(this.url(hash));
    await this.waitConnected();
  }

  get(testid) {
    return this.page.getByTestId(testid);
  }

  /** The section of the page now shown: create, join, loading, workspace, replaced. */
  async waitView(view, timeout = UI_TIMEOUT_MS) {
    await this.page.locator(`[data-view="${view}"]:not([hidden])`).waitFor({ timeout });
  }

  async waitConnected(timeout = UI_TIMEOUT_MS) {
    await this.page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout });
  }

  /** Fills and submits the create form; resolves the invite link. */
  async create({ workspace = 'E2E room', pin, name = this.name } = {}) {
    await this.waitView('create');
    await this.get('create-workspace-name').fill(workspace);
    if (pin !== undefined) await this.get('create-pin').fill(pin);
    await this.get('create-your-name').fill(name);
    await this.get('create-submit').click();
    await this.waitView('workspace');
    const invite = await this.get('invite-link').inputValue();
    assert.match(invite, /\/demo\/#invite=[\w.-]+$/, 'the invite token is in the fragment');
    return invite;
  }

  /** Opens the invite link (as a new navigation) and waits for the join form. */
  async openInvite(invite) {
    const hash = new URL(invite).hash;
    await this.page.goto(this.url(hash));
    await this.waitConnected();
    await this.waitView('join');
  }

  /** Fills and submits the join form (the invite link must be open). */
  async submitJoin({ name = this.name, pin } = {}) {
    await this.get('join-your-name').fill(name);
    await this.get('join-pin').fill(pin ?? '');
    await this.get('join-submit').click();
  }

  async join(invite, options) {
    await this.openInvite(invite);
    await this.submitJoin(options);
    await this.waitView('workspace');
  }

  /** This user's attendee id (its row in the attendee list is marked data-self). */
  async selfId() {
    const row = this.page.locator('[data-testid="attendee-list"] li[data-self="true"]');
    const testid = await row.getAttribute('data-testid');
    return testid.replace(/^attendee-/, '');
  }

  /** Waits until the attendee row of `id` has all the given data attributes (online, mic, cam). */
  async waitAttendee(id, attrs, timeout = UI_TIMEOUT_MS) {
    const selector = Object.entries(attrs).map(([k, v]) => `[data-${k}="${v}"]`).join('');
    await this.page.locator(`[data-testid="attendee-${id}"]${selector}`).waitFor({ timeout });
  }

  /** The shown message's `{code, kind, text}`, once one with `code` is visible. */
  async waitMessage(code, timeout = UI_TIMEOUT_MS) {
    const box = this.page.locator(`[data-testid="message"][data-code="${code}"]:not([hidden])`);
    try {
      await box.waitFor({ timeout });
    } catch (error) {
      const shown = await this.get('message')
        .evaluate((el) => `${el.hidden ? '(hidden) ' : ''}${el.dataset.code}: ${el.textContent}`);
      const log = this.log.slice(-20).join('\n');
      throw new Error(`message ${code} not shown within ${timeout} ms; the page shows ${shown}\n${log}`, { cause: error });
    }
    return box.evaluate((el) => ({
      code: el.dataset.code,
      kind: el.dataset.kind,
      text: el.querySelector('p').textContent,
    }));
  }

  /**
   * Video stats of the `<video data-testid=testid>`: the inbound-rtp of the receiver whose track
   * the element shows (`framesDecoded`, `bytesReceived`), what the element itself got
   * (`totalVideoFrames`, `videoWidth`), and the selected ICE pair's local candidate type.
   */
  videoStats(testid) {
    return this.page.evaluate(async (id) => {
      const video = document.querySelector(`[data-testid="${id}"]`);
      const track = video?.srcObject?.getVideoTracks?.()[0];
      if (!track) return null;
      const pc = window.__e2ePeerConnections.find((p) => p.getReceivers().some((r) => r.track === track));
      if (!pc) return null;
      const receiver = pc.getReceivers().find((r) => r.track === track);
      const stats = {
        streamId: video.srcObject.id,
        connectionState: pc.connectionState,
        width: video.videoWidth,
        totalVideoFrames: video.getVideoPlaybackQuality().totalVideoFrames,
        framesDecoded: 0,
        bytesReceived: 0,
        localCandidateType: null,
        remoteCandidateType: null,
      };
      (await receiver.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          stats.framesDecoded = s.framesDecoded ?? 0;
          stats.bytesReceived = s.bytesReceived ?? 0;
        }
      });
      const all = await pc.getStats();
      let pair = null;
      all.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = all.get(s.selectedCandidatePairId);
      });
      if (pair) {
        stats.localCandidateType = all.get(pair.localCandidateId)?.candidateType ?? null;
        stats.remoteCandidateType = all.get(pair.remoteCandidateId)?.candidateType ?? null;
      }
      return stats;
    }, testid);
  }

  /**
   * Waits until the element shows a live video: frames decoded by its receiver and frames
   * presented by the element both grow over `windowMs` (≥ 1 s). Resolves `{before, after}`.
   */
  async waitFrames(testid, { timeout = MEDIA_TIMEOUT_MS, windowMs = 1100 } = {}) {
    const deadline = Date.now() + timeout;
    let last = null;
    for (;;) {
      const first = await this.videoStats(testid);
      if (first && first.framesDecoded > 0) {
        await sleep(windowMs);
        const second = await this.videoStats(testid);
        if (second && second.streamId === first.streamId && second.framesDecoded > first.framesDecoded &&
            second.totalVideoFrames > first.totalVideoFrames && second.width > 0) {
          return { before: first, after: second };
        }
        last = second;
      } else {
        last = first;
      }
      if (Date.now() > deadline) {
        const log = this.log.slice(-20).join('\n');
        throw new Error(`${this.name}: no video flowing on ${testid} within ${timeout} ms; last stats ${
          JSON.stringify(last)}\n${log}`);
      }
      await sleep(250);
    }
  }

  async screenshot(name) {
    await this.page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
  }

  async close() {
    if (process.env.E2E_VERBOSE) console.log(`--- ${this.name}'s console\n${this.log.join('\n')}`);
    const closed = withTimeout(this.context.close(), CLOSE_TIMEOUT_MS, `${this.name}'s browser context to close`);
    await closed.catch(() => {});
  }
}

/** Starts the server binary for e2e tests (production mode, like the harness), see startServer. */
export function startE2eServer({ config = {}, ...options } = {}) {
  return startServer({ config: { ...E2E_CONFIG, ...config }, ...options });
}

/** A workspace with its owner (call started or not) and guests joined through the invite link. */
export async function workspaceWithGuests(browser, baseUrl, options = {}) {
  const { guests = ['Gus'], viewports = [], relay = false, pin } = options;
  const owner = await browser.user(baseUrl, 'Olivia', { relay });
  const invite = await owner.create({ workspace: 'Design review', pin });
  const ownerId = await owner.selfId();
  const members = [];
  for (const [i, name] of guests.entries()) {
    const guest = await browser.user(baseUrl, name, { relay, viewport: viewports[i] });
    await guest.join(invite, { pin });
    guest.id = await guest.selfId();
    await owner.waitAttendee(guest.id, { online: 'true' });
    members.push(guest);
  }
  owner.id = ownerId;
  return { owner, guests: members, invite };
}

/** Waits until `user` shows every attendee of `ids` in its list (and no one else). */
export async function waitAttendeeList(user, ids, timeout = UI_TIMEOUT_MS) {
  await waitUntil(async () => {
    const rows = user.page.locator('[data-testid="attendee-list"] > li');
    const shown = await rows.evaluateAll((lis) => lis.map((li) => li.dataset.testid));
    return shown.length === ids.length && ids.every((id) => shown.includes(`attendee-${id}`));
  }, { timeout, what: `${user.name}'s attendee list to be ${ids.join(', ')}` });
}
