// `make soak`: churns many clients (join, relay, leave, reconnect) against a server it starts on
// loopback for a bounded time, samples the server's RSS, open descriptors and connections, and
// fails unless the idle server after the churn is like the idle server before it: RSS within
// 10%, no more descriptors, no connection, workspace or attendee left, no error, no relay
// message lost (docs/performance.md, "Soak").
//
// Usage: node bench/soak.mjs [--seconds 60] [--clients 1000] [--addresses N] [--interval 10]
//                            [--warmup 5] [--grace 3] [--rate 2] [--out file.json] [--server BIN]
//        --rss-tolerance 1.1: the largest RSS after/before ratio that passes; "off" compares no
//        RSS (sanitizer builds: ASan keeps freed memory in its quarantine, and LeakSanitizer
//        checks for leaks when the server exits, which must be with status 0).
//        --inject fd-leak,lost-message: the tool's self-test (tests/integration/soak.test.mjs):
//        hold three connections past the end, swallow one relay on arrival; the run must fail.
//
// Phases, each run the same way so that "before" and "after" compare like with like:
//   warm-up  every client joins once (owners create one workspace per 5 clients, guests attend
//            with the invite), relays for --warmup seconds, then the guests leave, the owners
//            destroy their workspaces and everyone closes. The server has then seen the full
//            population once (its allocator's high-water mark, its lazily built state), and is
//            idle with no connection and no workspace: the BEFORE reading.
//   churn    the owners create fresh workspaces and every client loops for --seconds: attend,
//            relay `negotiation`/`icecandidate` (~1 KiB, --rate per second) to the other online
//            members of its workspace, toggle its mic now and then, and after 3-15 s (one time
//            in seven 30-60 s) go one of four ways: `leave` (then a fresh `attend`, or
//            `re-attend` as a former member; owners re-attend), close the socket or drop it and
//            `re-attend` within the grace period, or drop it and come back after the grace
//            period expired (a rejoin).
//   finish   every client ends online; each one's roster (the attendees it was granted plus the
//            `attend`/`leave` pushes since) must equal its workspace's members, and the server's
//            `attendees` must agree. The guests leave ("ws kept" reading: workspaces and owners
//            only), the owners destroy, everyone closes, and once the server is idle again: the
//            AFTER reading.
//
// Checks: every reply is the one the request asks for; any `alert`, any push the client did not
// provoke, any close code other than the one its own close or drop produces is an error. A relay
// is sent only to a member that is online and stays online until it has received everything
// acknowledged to it (a client about to go quiesces first: nobody sends to it any more, it
// waits for its own replies and for every message acknowledged to it), so the protocol
// guarantees delivery of every acknowledged relay: each one carries (sender, sequence), and a
// gap, a duplicate, a wrong sender identity or a shortfall at the end is a lost message. The
// server's own counters must agree: relays out = relays received, alerts = 0.
//
// Limits (PROTOCOL.md §10) are the defaults, written out in soakConfig(), none lifted: the
// load keeps under them by itself. Clients are spread over loopback source addresses 127.0.0.2+
// (at most 100 clients per address, under the 200 connections per IP); each address opens at
// most 40 connections/s with a burst of 80 (under 50/s, burst 100); a connection sends at most
// a few messages per second (under 100/s, burst 300); each run creates at most 50 workspaces per
// address (warm-up and churn together; under 60 per IP per hour). Only the reconnect grace period
// is shortened (--grace, default 3 s instead of 30) so that drops past it happen in the run and
// the final idle state is reached quickly.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BENCH_ENV, cpuSeconds, fdCount, freePort, rssKib, sleep, waitForPort } from './server.mjs';
import { Connection } from './ws-client.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const DEFAULTS = Object.freeze({
  seconds: 60,
  clients: 1000,
  addresses: 0, // 0: as few as the per-IP limits allow
  interval: 10,
  warmup: 5,
  grace: 3,
  rate: 2,
  out: null,
  server: process.env.WS_SERVER_BIN ?? path.join(process.env.WS_BENCH_BIN ?? path.join(REPO, 'build/bin'), 'workspaces-server'),
  quiet: false,
  rssTolerance: '1.1', // or "off"
  inject: '', // self-test of the checks: "fd-leak", "lost-message" (comma-separated)
});

const CAPACITY = 5; // max_capacity_of_workspace, the default: one owner and four guests
const PER_ADDRESS_CLIENTS = 100; // max_connections_per_ip 200
const CONNECT_RATE = 40; // per address and second; new_connections_per_ip_per_second 50
const CONNECT_BURST = 80; // new_connections_per_ip_burst 100
const CREATES_PER_ADDRESS = 50; // per run (two phases); workspaces_per_ip_per_hour 60
const MAX_IN_FLIGHT = 4; // relays a client has unanswered at most
const REPLY_TIMEOUT_MS = 10_000;
const QUIESCE_TIMEOUT_MS = 10_000;
// How long a client stays before its next departure: mostly 3-15 s, one in seven 30-60 s (so
// the server's 25 s WebSocket pings are sent and answered, too).
const sessionMs = () => (Math.random() < 0.15 ? rand(30_000, 60_000) : rand(3_000, 15_000));
const FD_TOLERANCE = 0;

/** The server's configuration for the soak; §10 keys at their defaults, written out. */
export function soakConfig(grace) {
  return {
    bind_address: '127.0.0.1',
    max_capacity_of_workspace: CAPACITY,
    reconnect_grace_seconds: grace,
    ping_interval_ms: 25000,
    ping_timeout_ms: 20000,
    // PROTOCOL.md §10, defaults.
    max_connections: 50000,
    max_connections_per_ip: 200,
    new_connections_per_ip_per_second: 50,
    new_connections_per_ip_burst: 100,
    messages_per_second: 100,
    messages_burst: 300,
    bytes_per_second: 262144,
    bytes_burst: 1048576,
    workspaces_per_ip_per_hour: 60,
    allowed_origins: [],
    handshake_timeout_ms: 5000,
  };
}

// ---------------------------------------------------------------- small utilities

const rand = (lo, hi) => lo + Math.random() * (hi - lo);
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const short = (value, max = 300) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
};

/** Waits `ms`, or less if `signal` (a promise) settles first. */
function nap(ms, ...signals) {
  let timer;
  return Promise.race([new Promise((r) => (timer = setTimeout(r, ms))), ...signals]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` every 20 ms; resolves true when it holds, false after `ms`. */
async function until(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** A token bucket: `take()` resolves when a token is available (new connections per address). */
class Bucket {
  #tokens;
  #last = Date.now();
  constructor(rate, burst) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
  }
  async take() {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.#tokens) / this.rate) * 1000));
    }
  }
}

/** Loopback source address number `k` (0-based): 127.0.0.2, ..., 127.0.0.254, 127.0.1.2, ... */
const loopbackAddress = (k) => `127.0.${Math.floor(k / 253)}.${2 + (k % 253)}`;

/** The soft limit on open files of this process (the server inherits it). */
function openFilesLimit() {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

// ---------------------------------------------------------------- the server

/** Fetches /metrics and returns the figures the soak reads (null when it cannot). */
function scrape(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false, headers: { connection: 'close' }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(parseMetrics(body)));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

function parseMetrics(text) {
  const sum = (re) => {
    let total = 0;
    for (const m of text.matchAll(re)) total += Number(m[1]);
    return total;
  };
  return {
    connections: sum(/^workspaces_connections_open\{[^}]*\} (\S+)$/gm),
    workspaces: sum(/^workspaces_workspaces (\S+)$/gm),
    attendees: sum(/^workspaces_attendees (\S+)$/gm),
    online: sum(/^workspaces_attendees_online (\S+)$/gm),
    alerts: sum(/^workspaces_alerts_total\{[^}]*\} (\S+)$/gm),
    alert_lines: [...text.matchAll(/^workspaces_alerts_total\{code="([^"]*)"\} (\S+)$/gm)].map((m) => `${m[1]}=${m[2]}`),
    relays_out: sum(/^workspaces_frames_out_total\{[^}]*event="(?:negotiation|icecandidate)"\} (\S+)$/gm),
  };
}

/** Starts the server on a free loopback port; its output goes to `dir`/server.log. */
async function startServer(bin, config, dir) {
  fs.accessSync(bin, fs.constants.X_OK);
  const port = await freePort();
  const configPath = path.join(dir, 'soak-config.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const logPath = path.join(dir, 'server.log');
  const log = fs.openSync(logPath, 'a');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...BENCH_ENV };
  const child = spawn(bin, ['--config', configPath, '--port', String(port)], { cwd: dir, env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await waitForPort(port, child);
  return {
    port,
    pid: child.pid,
    logPath,
    exited,
    /** SIGTERM by PID, SIGKILL after 15 s; resolves {code, signal}. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 15_000);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
}

// ---------------------------------------------------------------- the soak

/** Runs the soak; resolves the report ({ok, failures, before, after, samples, ...}). */
export async function soak(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const inject = new Set(String(o.inject || '').split(',').filter(Boolean));
  const say = o.quiet ? () => {} : (line) => console.log(line);
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;

  // Addresses: at most PER_ADDRESS_CLIENTS clients and CREATES_PER_ADDRESS creates on each.
  const groups = Math.ceil(o.clients / CAPACITY);
  let addressCount = Math.max(o.addresses, Math.ceil(o.clients / PER_ADDRESS_CLIENTS), Math.ceil((2 * groups) / CREATES_PER_ADDRESS), 1);
  const spread = (n) => {
    const clients = new Array(n).fill(0);
    const owners = new Array(n).fill(0);
    for (let i = 0; i < o.clients; i++) {
      const g = Math.floor(i / CAPACITY);
      const a = (g + (i % CAPACITY)) % n;
      clients[a]++;
      if (i % CAPACITY === 0) owners[a]++;
    }
    return { clients, owners };
  };
  while (Math.max(...spread(addressCount).clients) > PER_ADDRESS_CLIENTS || 2 * Math.max(...spread(addressCount).owners) > CREATES_PER_ADDRESS) addressCount++;
  if (addressCount > 253 * 200) throw new Error('too many clients for the loopback addresses');

  const needFiles = o.clients + 200;
  if (!(o.rate > 0) || !(o.clients >= 1) || !(o.interval > 0)) throw new Error('--rate, --clients and --interval must be positive');
  if (openFilesLimit() < needFiles) {
    throw new Error(`ulimit -n is ${openFilesLimit()}, the soak needs ${needFiles} (make soak raises it to the hard limit)`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-soak-'));
  const config = soakConfig(o.grace);
  const server = await startServer(o.server, config, dir);
  const url = `ws://127.0.0.1:${server.port}/ws`;
  say(`soak: ${o.clients} clients over ${addressCount} addresses (${loopbackAddress(0)}–${loopbackAddress(addressCount - 1)}), ` +
    `${groups} workspaces of ${CAPACITY}, ${o.seconds} s of churn, ${o.rate} relays/s per client, grace ${o.grace} s; server pid ${server.pid} on port ${server.port}`);

  // ---- counters and errors
  const stats = { sent: 0, acked: 0, received: 0, sessions: 0, creates: 0, attends: 0, reattends: 0, leaves: 0, closes: 0, drops: 0, long_drops: 0, destroys: 0, toggles: 0 };
  const errorSamples = [];
  let errorCount = 0;
  const error = (message) => {
    errorCount++;
    if (errorSamples.length < 40) errorSamples.push(`${elapsed().toFixed(1)} s: ${message}`);
  };
  const stopping = { churn: false, server: false };
  let serverGone = false;
  server.exited.then(({ code, signal }) => {
    serverGone = true;
    if (!stopping.server) error(`the server exited during the run (code ${code}, signal ${signal})`);
  });
  /** Entering fails while the server is gone: the run ends instead of retrying for ever. */
  const assertServer = () => {
    if (serverGone) throw new Error('the server is gone');
  };

  // ---- the model: groups (workspaces) of slots (clients), each slot at most one session
  const buckets = Array.from({ length: addressCount }, () => new Bucket(CONNECT_RATE, CONNECT_BURST));
  const allGroups = [];
  const slots = [];
  for (let g = 0; g < groups; g++) {
    const group = { index: g, id: null, invite: null, slots: [], ready: null, setReady: null };
    allGroups.push(group);
    for (let j = 0; j < CAPACITY && g * CAPACITY + j < o.clients; j++) {
      const slot = {
        index: g * CAPACITY + j,
        group,
        owner: j === 0,
        address: (g + j) % addressCount,
        aid: null,
        token: null,
        next: j === 0 ? 'create' : 'attend',
        session: null,
      };
      group.slots.push(slot);
      slots.push(slot);
    }
  }
  const name = (slot) => `${slot.owner ? 'owner' : 'guest'} #${slot.index} (${loopbackAddress(slot.address)})`;
  let sessionKeys = 0;
  let lostInjected = inject.has('lost-message') ? 1 : 0;
  let intervalRelayed = 0;

  const newGroupReady = (group) => {
    group.id = null;
    group.invite = null;
    group.ready = new Promise((r) => (group.setReady = r));
  };
  allGroups.forEach(newGroupReady);

  /** A pushed frame (or a stray reply) arrived on session `s`. */
  function onFrame(s, frame) {
    const who = name(s.slot);
    if (frame.re !== undefined) return error(`${who}: a reply to no pending request: ${short(frame)}`);
    const data = frame.data ?? {};
    switch (frame.event) {
      case 'negotiation':
      case 'icecandidate': {
        const body = frame.event === 'negotiation' ? data.message : data.candidate;
        const tag = body?.soak;
        if (!tag) return error(`${who}: ${frame.event} without the soak tag: ${short(frame)}`);
        if (data.attendee?.id !== tag.aid) return error(`${who}: ${frame.event} from ${tag.aid} names the sender ${data.attendee?.id}`);
        if (frame.event === 'icecandidate' && data.broadcaster?.id !== tag.aid) error(`${who}: icecandidate broadcaster ${data.broadcaster?.id}, sender ${tag.aid}`);
        if (lostInjected > 0 && tag.seq === 3) {
          lostInjected--; // --inject lost-message: pretend this one never arrived
          return;
        }
        const last = s.lastSeqFrom.get(tag.from) ?? 0;
        if (tag.seq !== last + 1) {
          error(`${who}: from ${tag.aid} got relay #${tag.seq} after #${last}` + (tag.seq > last + 1 ? ` (${tag.seq - last - 1} lost)` : ' (duplicate or reordered)'));
        }
        s.lastSeqFrom.set(tag.from, Math.max(last, tag.seq));
        s.inReceived++;
        stats.received++;
        intervalRelayed++;
        return;
      }
      case 'attend':
        if (typeof data.id !== 'string') return error(`${who}: attend push without an id: ${short(frame)}`);
        if (s.roster.has(data.id)) return error(`${who}: attend push for ${data.id}, already a member`);
        s.roster.add(data.id);
        return;
      case 'leave':
        if (!s.roster.delete(data.id)) error(`${who}: leave push for ${data.id}, not a member`);
        return;
      case 'mic-toggle':
      case 'cam-toggle':
        if (!s.roster.has(data.attendee?.id)) error(`${who}: ${frame.event} from ${data.attendee?.id}, not a member`);
        return;
      default:
        return error(`${who}: unexpected ${frame.event}: ${short(frame)}`);
    }
  }

  /** Opens a connection for `slot` and creates, attends or re-attends as `slot.next` says. */
  async function enter(slot) {
    const group = slot.group;
    if (slot.next === 'attend') await group.ready;
    await buckets[slot.address].take();
    let conn;
    try {
      conn = await Connection.open(url, { localAddress: loopbackAddress(slot.address), perMessageDeflate: false, handshakeTimeout: REPLY_TIMEOUT_MS });
    } catch (e) {
      error(`${name(slot)}: connect: ${e.message}`);
      return false;
    }
    const s = {
      key: ++sessionKeys,
      slot,
      conn,
      aid: null,
      roster: new Set(),
      online: false, // relays may go to and from it
      departing: false,
      expectClose: null, // 'close' | 'terminate' once we end it
      dead: null,
      inPending: 0,
      inAcked: 0,
      inReceived: 0,
      outPending: 0,
      lastSeqFrom: new Map(),
      nextSeqTo: new Map(),
    };
    stats.sessions++;
    conn.onFrame = (frame) => onFrame(s, frame);
    // The roster starts from the granted reply, taken as it arrives: the pushes right behind it
    // (an `attend`, a `leave`, a toggle) are handled before `await` below returns.
    conn.onReply = (frame) => {
      if (frame.event === 'created' && typeof frame.data?.attendee?.id === 'string') s.roster.add(frame.data.attendee.id);
      if (frame.event === 'attendance-granted' || frame.event === 're-attendance-granted') {
        for (const id of Object.keys(frame.data?.attendees ?? {})) s.roster.add(id);
      }
    };
    s.dead = conn.closed.then(({ code }) => {
      s.online = false;
      const want = s.expectClose === 'close' ? 1000 : s.expectClose === 'terminate' ? 1006 : null;
      if (want === null) error(`${name(slot)}: the server closed the connection (code ${code})`);
      else if (code !== want) error(`${name(slot)}: closed with ${code} after our ${s.expectClose} (expected ${want})`);
    });
    const requests = {
      create: ['create', { workspace: { name: `soak ${group.index}` }, attendee: { name: `owner ${group.index}` } }, 'created'],
      attend: ['attend', { workspace: { token: group.invite }, attendee: { name: `guest ${slot.index}` } }, 'attendance-granted'],
      're-attend': ['re-attend', { accessToken: slot.token }, 're-attendance-granted'],
    };
    const [event, data, want] = requests[slot.next];
    let reply;
    try {
      reply = await conn.request(event, data, REPLY_TIMEOUT_MS);
    } catch (e) {
      error(`${name(slot)}: ${event}: ${e.message}`);
    }
    const granted = reply?.data;
    if (reply && (reply.event !== want || typeof granted?.accessToken !== 'string' || typeof granted?.attendee?.id !== 'string')) {
      error(`${name(slot)}: ${event}: expected ${want}, got ${short(reply)}`);
      reply = null;
    } else if (reply && slot.next !== 'create' && granted.workspace?.id !== group.id) {
      error(`${name(slot)}: ${event}: granted workspace ${granted.workspace?.id}, not ${group.id}`);
    }
    if (!reply) {
      s.expectClose = 'terminate';
      conn.terminate();
      await s.dead;
      return false;
    }
    stats[{ create: 'creates', attend: 'attends', 're-attend': 'reattends' }[slot.next]]++;
    if (slot.next === 'create') {
      group.id = granted.workspace.id;
      group.invite = granted.workspace.token;
      group.setReady();
    } else {
      if (!Object.hasOwn(granted.attendees ?? {}, granted.attendee.id)) error(`${name(slot)}: ${want} lists the attendees without the attendee itself`);
      if (slot.aid && slot.next === 're-attend' && granted.attendee.id !== slot.aid) error(`${name(slot)}: re-attend granted ${granted.attendee.id}, not ${slot.aid}`);
    }
    s.aid = slot.aid = granted.attendee.id;
    slot.token = granted.accessToken;
    slot.session = s;
    s.online = true;
    pump(s);
    return true;
  }

  /** Sends relays from session `s` at about `o.rate` per second while it is online. */
  function pump(s) {
    const tick = () => {
      if (!s.online || s.departing) return;
      setTimeout(tick, rand(0.5, 1.5) * (1000 / o.rate));
      if (s.outPending >= MAX_IN_FLIGHT) return;
      const slot = s.slot;
      if (Math.random() < 0.02) {
        s.outPending++;
        stats.toggles++;
        s.conn.request('mic-toggle', { accessToken: slot.token, state: Math.random() < 0.5 }, REPLY_TIMEOUT_MS)
          .then((reply) => reply.event === 'ok' || error(`${name(slot)}: mic-toggle: got ${short(reply)}`))
          .catch((e) => error(`${name(slot)}: mic-toggle: ${e.message}`))
          .finally(() => s.outPending--);
        return;
      }
      const targets = slot.group.slots.filter((t) => t !== slot && t.session?.online && !t.session.departing && s.roster.has(t.session.aid));
      if (!targets.length) return;
      const t = pick(targets).session;
      const seq = (s.nextSeqTo.get(t.key) ?? 0) + 1;
      s.nextSeqTo.set(t.key, seq);
      const tag = { from: s.key, aid: s.aid, seq };
      const kind = Math.random() < 0.5 ? 'negotiation' : 'icecandidate';
      const data = kind === 'negotiation'
        ? { accessToken: slot.token, attendee: { id: t.aid }, message: { type: 'offer', sdp: SDP, soak: tag } }
        : { accessToken: slot.token, attendee: { id: t.aid }, candidate: { candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: 0, soak: tag } };
      t.inPending++;
      s.outPending++;
      stats.sent++;
      s.conn.request(kind, data, REPLY_TIMEOUT_MS)
        .then((reply) => {
          if (reply.event === 'ok' && reply.data?.event === kind) {
            t.inAcked++;
            stats.acked++;
          } else {
            error(`${name(slot)}: ${kind} to ${t.aid}: got ${short(reply)}`);
          }
        })
        .catch((e) => error(`${name(slot)}: ${kind} to ${t.aid}: ${e.message}`))
        .finally(() => {
          t.inPending--;
          s.outPending--;
        });
    };
    setTimeout(tick, rand(0, 1000 / o.rate));
  }

  /**
   * Ends `slot`'s session by `how` ('leave', 'close', 'terminate', 'destroy'): first nobody
   * sends to it any more and it waits for its own replies and for every relay acknowledged to it.
   */
  async function depart(slot, how) {
    const s = slot.session;
    s.departing = true;
    const quiet = await until(() => s.outPending === 0 && s.inPending === 0 && s.inReceived >= s.inAcked, QUIESCE_TIMEOUT_MS);
    if (!quiet) {
      error(`${name(slot)}: before ${how}: ${s.inAcked - s.inReceived} acknowledged relays never arrived, ${s.outPending} own requests unanswered`);
    }
    if (how === 'leave' || how === 'destroy') {
      const want = how === 'leave' ? 'left' : 'destroyed';
      try {
        const reply = await s.conn.request(how, { accessToken: slot.token }, REPLY_TIMEOUT_MS);
        if (reply.event !== want || reply.data?.workspace?.id !== slot.group.id) error(`${name(slot)}: ${how}: expected ${want}, got ${short(reply)}`);
      } catch (e) {
        error(`${name(slot)}: ${how}: ${e.message}`);
      }
      stats[how === 'leave' ? 'leaves' : 'destroys']++;
    }
    s.online = false;
    if (how === 'terminate') {
      s.expectClose = 'terminate';
      s.conn.terminate();
    } else {
      s.expectClose = 'close';
      s.conn.close(1000);
    }
    if ((await nap(REPLY_TIMEOUT_MS, s.dead.then(() => true))) !== true) {
      error(`${name(slot)}: the connection did not close within ${REPLY_TIMEOUT_MS} ms of our ${s.expectClose}`);
      s.expectClose = 'terminate';
      s.conn.terminate();
      await s.dead;
    }
    slot.session = null;
  }

  /** After a failed entry (an error already): the way back that always works. */
  const comeBack = (slot) => (!slot.owner ? 'attend' : slot.group.id ? 're-attend' : 'create');

  /** One client's churn loop; returns online once churn stops. */
  async function churn(slot) {
    while (!slot.session) {
      if (!(await enter(slot))) {
        assertServer();
        slot.next = comeBack(slot);
        await sleep(1000);
      }
    }
    while (!stopping.churn) {
      await nap(sessionMs(), slot.session.dead, stoppedChurn);
      if (stopping.churn && slot.session?.online) return;
      let offline;
      if (!slot.session.online) {
        slot.session = null; // closed under it (an error already): come back
        slot.next = 're-attend';
        offline = 0;
      } else {
        const r = Math.random();
        if (r < 0.3) {
          await depart(slot, 'leave');
          // The owner stays owner and comes back with re-attend; a guest comes back as a new
          // attendee, or as the former member with its old token (PROTOCOL.md §4 `leave`).
          slot.next = slot.owner || Math.random() < 0.5 ? 're-attend' : 'attend';
          offline = rand(0, 1000);
        } else if (r < 0.45) {
          await depart(slot, 'close');
          stats.closes++;
          slot.next = 're-attend';
          offline = rand(0, (o.grace * 1000) / 2);
        } else if (r < 0.8) {
          await depart(slot, 'terminate');
          stats.drops++;
          slot.next = 're-attend';
          offline = rand(0, (o.grace * 1000) / 2);
        } else {
          await depart(slot, 'terminate');
          stats.long_drops++;
          slot.next = 're-attend'; // after the grace period: a rejoin, the others get `attend`
          offline = o.grace * 1000 + rand(1000, 3000);
        }
      }
      await sleep(offline);
      while (!slot.session) {
        if (!(await enter(slot))) {
          assertServer();
          slot.next = comeBack(slot);
          await sleep(1000);
        }
      }
    }
  }
  let stopChurn;
  const stoppedChurn = new Promise((r) => (stopChurn = r));

  /** Checks every roster against the model and the server, then guests leave, owners destroy. */
  async function finish() {
    await sleep(1000); // the pushes of the last re-attends
    for (const group of allGroups) {
      const members = new Set(group.slots.map((slot) => slot.aid));
      for (const slot of group.slots) {
        const roster = slot.session?.roster ?? new Set();
        const missing = [...members].filter((id) => !roster.has(id));
        const extra = [...roster].filter((id) => !members.has(id));
        if (missing.length || extra.length) error(`${name(slot)}: roster differs from the members: missing ${missing}, extra ${extra}`);
      }
      const owner = group.slots[0];
      try {
        const reply = await owner.session.conn.request('attendees', { accessToken: owner.token }, REPLY_TIMEOUT_MS);
        const listed = reply.data?.attendees ?? {};
        const ids = Object.keys(listed);
        const offline = ids.filter((id) => listed[id].online !== true);
        if (reply.event !== 'attendees' || ids.length !== members.size || ids.some((id) => !members.has(id)) || offline.length) {
          error(`${name(owner)}: attendees of ${group.id}: ${short(reply)}; expected ${[...members]} online`);
        }
      } catch (e) {
        error(`${name(owner)}: attendees: ${e.message}`);
      }
    }
    await Promise.all(slots.filter((slot) => !slot.owner && slot.session).map((slot) => depart(slot, 'leave')));
    // The workspaces with their owners only: what stays of the churn in them (the former
    // members each keeps, PROTOCOL.md §4 `leave`) shows here, before `destroy` frees it.
    await sleep(1000);
    const kept = await sample('ws kept');
    await Promise.all(allGroups.map((group) => group.slots[0].session && depart(group.slots[0], 'destroy')));
    for (const slot of slots) slot.next = slot.owner ? 'create' : 'attend';
    allGroups.forEach(newGroupReady);
    return kept;
  }

  // ---- sampling
  const samples = [];
  let lastSample = { t: 0, cpu: cpuSeconds(server.pid) ?? 0 };
  let phase = 'start';
  const header = ['time s', 'phase', 'RSS MiB', 'fds', 'conns', 'online', 'relayed', 'relays/s', 'server CPU', 'errors'];
  const widths = [7, 8, 8, 6, 6, 7, 9, 9, 10, 7];
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padStart(widths[i])).join(' | ') + ' |';
  say('');
  say(line(header));
  say('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');

  // Readings are taken one at a time, and descriptors are counted at least 500 ms after the
  // last /metrics scrape ended: the scrape's own connection, closing on the server's side, must
  // never be counted.
  let readings = Promise.resolve();
  let scrapeEnded = 0;
  const serially = (fn) => {
    const done = readings.then(fn);
    readings = done.catch(() => {});
    return done;
  };
  const scrapeNow = async () => {
    try {
      return await scrape(server.port);
    } finally {
      scrapeEnded = Date.now();
    }
  };
  const metricsNow = () => serially(scrapeNow);

  /** Reads the server's RSS, descriptors and CPU, then its /metrics; prints and keeps a row. */
  const sample = (label = phase) => serially(async () => {
    await sleep(Math.max(0, scrapeEnded + 500 - Date.now()));
    const fds = fdCount(server.pid);
    const rss = rssKib(server.pid);
    const cpu = cpuSeconds(server.pid);
    const metrics = await scrapeNow();
    const t = elapsed();
    const row = {
      t: Number(t.toFixed(1)),
      phase: label,
      rss_kib: rss,
      fds,
      connections: metrics?.connections ?? null,
      online: metrics?.online ?? null,
      workspaces: metrics?.workspaces ?? null,
      attendees: metrics?.attendees ?? null,
      relayed: intervalRelayed,
      relays_per_s: Math.round(intervalRelayed / Math.max(t - lastSample.t, 0.001)),
      server_cpu: cpu == null ? null : Number(((cpu - lastSample.cpu) / Math.max(t - lastSample.t, 0.001)).toFixed(2)),
      errors: errorCount,
      metrics,
    };
    intervalRelayed = 0;
    lastSample = { t, cpu: cpu ?? lastSample.cpu };
    samples.push(row);
    say(line([row.t.toFixed(0), label, rss == null ? '-' : (rss / 1024).toFixed(2), fds ?? '-', row.connections ?? '-', row.online ?? '-',
      row.relayed, row.relays_per_s, row.server_cpu ?? '-', errorCount]));
    return row;
  });
  const sampler = setInterval(() => sample().catch(() => {}), o.interval * 1000);

  /** Waits until the server holds no connection and no workspace, then takes a reading. */
  async function idleReading(label) {
    await sleep(2000);
    const deadline = Date.now() + 10_000;
    let m = await metricsNow();
    while ((m?.connections !== 0 || m?.workspaces !== 0) && Date.now() < deadline) {
      await sleep(500);
      m = await metricsNow();
    }
    await sleep(500);
    return sample(label);
  }

  // A run that hangs (a server that stopped answering) ends here, the server killed by its PID.
  const watchdog = setTimeout(() => {
    console.error(`soak: FAIL: not finished within ${o.seconds + 600} s; errors so far: ${errorSamples.slice(0, 5).join(' | ')}`);
    process.kill(server.pid, 'SIGKILL');
    process.exit(1);
  }, (o.seconds + 600) * 1000);

  let before;
  let after;
  let keptBefore;
  let keptAfter;
  const held = [];
  let stopInfo = null;
  try {
    // ---- warm-up: everyone once, relays only; then the idle BEFORE reading
    phase = 'warm-up';
    await sample();
    await Promise.all(slots.map(async (slot) => {
      while (!(await enter(slot))) {
        assertServer();
        await sleep(1000);
      }
    }));
    await sleep(o.warmup * 1000);
    keptBefore = await finish();
    before = await idleReading('before');

    if (inject.has('fd-leak')) {
      // Self-test: three connections held past the AFTER reading look like leaked ones.
      for (let i = 0; i < 3; i++) held.push(await Connection.open(url, { perMessageDeflate: false }));
    }

    // ---- churn
    phase = 'churn';
    // A loop that ends on an error (the server gone) resolves to it, to be thrown below.
    const loops = slots.map((slot) => churn(slot).catch((e) => e));
    await nap(o.seconds * 1000, server.exited);
    stopping.churn = true;
    stopChurn();
    phase = 'finish';
    const ended = await Promise.all(loops);
    const failed = ended.find((e) => e instanceof Error);
    if (failed) throw failed;
    keptAfter = await finish();
    after = await idleReading('after');
  } catch (e) {
    error(`the run stopped: ${e.message}`);
  } finally {
    clearInterval(sampler);
    clearTimeout(watchdog);
    for (const conn of held) conn.terminate();
    for (const slot of slots) slot.session?.conn.terminate();
    stopping.server = true;
    stopInfo = await server.stop();
  }

  // ---- verdict
  const failures = [];
  const check = (ok, what) => {
    if (!ok) failures.push(what);
  };
  check(errorCount === 0, `${errorCount} errors`);
  check(stats.sent === stats.acked && stats.acked === stats.received, `relays: ${stats.sent} sent, ${stats.acked} acknowledged, ${stats.received} received`);
  const m = after?.metrics;
  check(m != null, 'no /metrics reading after the run');
  if (m) {
    check(m.relays_out === stats.received, `the server sent ${m.relays_out} relays, the clients received ${stats.received}`);
    check(m.alerts === 0, `the server sent alerts: ${m.alert_lines.join(', ')}`);
    check(m.connections === 0 && m.workspaces === 0 && m.attendees === 0,
      `after the run the server still has ${m.connections} connections, ${m.workspaces} workspaces, ${m.attendees} attendees`);
  }
  check(before?.metrics?.connections === 0, `before the churn the server had ${before?.metrics?.connections} connections`);
  if (o.rssTolerance !== 'off') {
    const tolerance = Number(o.rssTolerance);
    check(before?.rss_kib && after?.rss_kib && after.rss_kib <= tolerance * before.rss_kib,
      `RSS ${before?.rss_kib} KiB before, ${after?.rss_kib} KiB after (more than ${Math.round((tolerance - 1) * 100)}% growth)`);
  }
  check(before?.fds != null && after?.fds != null && after.fds - before.fds <= FD_TOLERANCE,
    `open descriptors ${before?.fds} before, ${after?.fds} after`);
  check(stopInfo?.code === 0, `the server ended with code ${stopInfo?.code}, signal ${stopInfo?.signal} (SIGTERM at the end must give exit 0)`);
  // Startup warnings (plain HTTP, allowed_origins empty) are expected; after the listening line
  // any warning (a failed accept, say) or error is a failure.
  const logLines = fs.readFileSync(server.logPath, 'utf8').split('\n');
  const listening = logLines.findIndex((l) => /listening on/.test(l));
  const logLevel = (l) => /^\S+\s+(\S+)/.exec(l)?.[1];
  const logProblems = logLines.filter((l, i) => ['error', 'critical'].includes(logLevel(l)) || (i > listening && logLevel(l) === 'warning'));
  check(logProblems.length === 0, `the server logged ${logProblems.length} warnings or errors: ${logProblems.slice(0, 3).map((l) => short(l, 200)).join(' | ')}`);

  const report = {
    ok: failures.length === 0,
    failures,
    when: new Date().toISOString(),
    options: { seconds: o.seconds, clients: o.clients, addresses: addressCount, interval: o.interval, warmup: o.warmup, grace: o.grace, rate: o.rate, inject: [...inject] },
    server_config: config,
    before: before && { rss_kib: before.rss_kib, fds: before.fds, connections: before.connections, workspaces: before.workspaces },
    after: after && { rss_kib: after.rss_kib, fds: after.fds, connections: after.connections, workspaces: after.workspaces },
    workspaces_kept: {
      note: 'informative: RSS with every workspace and its owner still there, guests gone, before destroy',
      warmup_rss_kib: keptBefore?.rss_kib ?? null,
      churn_rss_kib: keptAfter?.rss_kib ?? null,
    },
    rss_ratio: before?.rss_kib && after?.rss_kib ? Number((after.rss_kib / before.rss_kib).toFixed(3)) : null,
    fd_growth: before?.fds != null && after?.fds != null ? after.fds - before.fds : null,
    peak_rss_kib: Math.max(...samples.map((r) => r.rss_kib ?? 0)),
    peak_fds: Math.max(...samples.map((r) => r.fds ?? 0)),
    peak_connections: Math.max(...samples.map((r) => r.connections ?? 0)),
    stats,
    errors: errorCount,
    error_samples: errorSamples,
    server_exit: stopInfo,
    seconds_total: Number(elapsed().toFixed(1)),
    samples: samples.map(({ metrics, ...row }) => row),
  };
  say('');
  say(`before: RSS ${(before?.rss_kib / 1024).toFixed(2)} MiB, ${before?.fds} fds; after: RSS ${(after?.rss_kib / 1024).toFixed(2)} MiB ` +
    `(${report.rss_ratio}×), ${after?.fds} fds (${report.fd_growth >= 0 ? '+' : ''}${report.fd_growth}); peak RSS ${(report.peak_rss_kib / 1024).toFixed(2)} MiB, ` +
    `${report.peak_fds} fds, ${report.peak_connections} connections`);
  say(`with the workspaces and owners kept, guests gone: RSS ${(keptBefore?.rss_kib / 1024).toFixed(2)} MiB after the warm-up, ` +
    `${(keptAfter?.rss_kib / 1024).toFixed(2)} MiB after the churn (informative: former members stay in their workspace until destroy)`);
  say(`sessions ${stats.sessions}: ${stats.creates} create, ${stats.attends} attend, ${stats.reattends} re-attend, ${stats.leaves} leave, ` +
    `${stats.closes} close, ${stats.drops} drop, ${stats.long_drops} drop past grace, ${stats.destroys} destroy; relays ${stats.sent} sent, ` +
    `${stats.received} received; ${stats.toggles} mic toggles; ${errorCount} errors`);
  for (const e of errorSamples.slice(0, 10)) say(`  error: ${e}`);
  say(report.ok ? 'soak: PASS' : `soak: FAIL: ${failures.join('; ')}`);
  if (o.out) {
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    fs.writeFileSync(o.out, JSON.stringify(report, null, 2));
    say(`results: ${o.out}`);
  }
  if (report.ok) fs.rmSync(dir, { recursive: true, force: true });
  else say(`server log kept: ${server.logPath}`);
  return report;
}

// A relay payload of about 1 KiB, as WebRTC's offers and candidates are (the frame with the
// token and the envelope comes to ~1.2 KiB).
const SDP = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${'a=soak-padding-line-of-an-offer\r\n'.repeat(26)}`;
const CANDIDATE = `candidate:842163049 1 udp 1677729535 127.0.0.1 3478 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sOak ${'x'.repeat(880)}`;

/** Parses `--key value` arguments into options (numbers where DEFAULTS has numbers). */
export function parseArgs(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const key = arg.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase()); // --rss-tolerance
    if (!(key in DEFAULTS)) throw new Error(`unknown option ${arg}`);
    if (typeof DEFAULTS[key] === 'boolean') {
      options[key] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value`);
    options[key] = typeof DEFAULTS[key] === 'number' ? Number(value) : value;
    if (typeof DEFAULTS[key] === 'number' && !(options[key] >= 0)) throw new Error(`${arg} takes a number ≥ 0`);
  }
  return options;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const report = await soak(parseArgs(process.argv.slice(2)));
    process.exitCode = report.ok ? 0 : 1;
  } catch (e) {
    console.error(`soak: ${e.message}`);
    process.exitCode = 1;
  }
}
