// Integration-test harness: runs the real server binary, speaks the native /ws protocol
// (PROTOCOL.md §2) or Socket.IO (§7, with the real socket.io-client v4 or v2) over real sockets,
// and bounds every wait so a broken server fails fast. WS_TRANSPORT (native, eio4, eio3) picks
// the transport of every Client; tests/integration/eio4/ and eio3/ rerun the suites with it.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io as ioV4 } from 'socket.io-client';
import ioV2 from 'sio2';
import WebSocket from 'ws';

/** The transport every Client of this process speaks: 'native' (/ws), 'eio4' or 'eio3' (/socket.io/). */
export const TRANSPORT = process.env.WS_TRANSPORT ?? 'native';
if (!['native', 'eio4', 'eio3'].includes(TRANSPORT)) throw new Error(`unknown WS_TRANSPORT ${TRANSPORT}`);
/** Test options for a test that exercises the native framing itself (raw frames, ids, ping frames). */
export const nativeOnly = TRANSPORT === 'native' ? {} : { skip: `native framing only (${TRANSPORT} runs the Socket.IO equivalents)` };

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_BIN = process.env.WS_SERVER_BIN ?? path.join(REPO, 'build/bin/workspaces-server');

/** Workspace, attendee and call ids (PROTOCOL.md §3, WORKSPACE_ID_LEN 10). */
export const ID_RE = /^_[A-Za-z0-9]{10}$/;
/** The line the server prints once it accepts connections. */
const LISTENING_RE = /listening on (https?):\/\/\S*:(\d+)/; // the host may be IPv6 ("::1")
const START_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5_000;
const NEXT_TIMEOUT_MS = 3_000;

/** Small timers keep the suite fast; tests override per server. */
export const DEFAULT_CONFIG = Object.freeze({
  bind_address: '127.0.0.1',
  reconnect_grace_seconds: 2,
  ring_timeout_seconds: 2,
  ping_interval_ms: 25000,
  ping_timeout_ms: 20000,
  shutdown_drain_seconds: 1,
  pin_max_failures: 5,
  // Every test connects from 127.0.0.1; the default 60 creates per hour would throttle the suite.
  workspaces_per_ip_per_hour: 1000,
  // The native suites run the server on one I/O thread (no strands, everything inline), the
  // Socket.IO reruns on two (a strand per connection and one for the Engine): both ways are
  // tested whatever the machine's core count.
  io_threads: TRANSPORT === 'native' ? 1 : 2,
});

// ---------------------------------------------------------------- small utilities

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves like `promise`, or rejects after `ms` naming `what` (a string or a function giving one). */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const label = typeof what === 'function' ? what() : what;
      reject(new Error(`timed out after ${ms} ms waiting for ${label}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The first of `promises` to settle, or `{timedOut: true}` after `ms` (the timer is cleared either way). */
function firstOf(promises, ms) {
  return withTimeout(Promise.race(promises), ms, 'nothing').catch((error) => {
    if (error.message.startsWith('timed out')) return { timedOut: true };
    throw error;
  });
}

/** Polls `predicate` (sync or async) until it is truthy; bounded. `what`: a string or a function giving one. */
export async function waitUntil(predicate, { timeout = 3000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(interval);
  }
}

/** One frame, shortened for failure messages (avatars can be 16 KiB). */
export function fmt(value, max = 400) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;
}

/** Copy of `object` without its undefined values (so optional fields are really absent). */
export function defined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

/** A distinctive PIN, so the log-leak check cannot match it by accident. */
export const uniquePin = () => `pin-${randomBytes(6).toString('hex')}`;

/** A well-formed id that the server never issued (chance of collision negligible). */
export const unknownId = () => `_${randomBytes(8).toString('hex').slice(0, 10)}`;

// ---------------------------------------------------------------- secrets seen (log-leak check)

/** Every access/invite token received and every PIN sent in this test process. */
const secretsSeen = new Set();

function rememberReceived(value) {
  if (Array.isArray(value)) return value.forEach(rememberReceived);
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    if ((key === 'accessToken' || key === 'token') && typeof v === 'string' && v.length >= 16) {
      secretsSeen.add(v);
    } else {
      rememberReceived(v);
    }
  }
}

function rememberSent(frame) {
  const pin = frame?.data?.workspace?.pin;
  // Short PINs could appear in a log by coincidence (a port, a timestamp): only track long ones.
  if (typeof pin === 'string' && pin.length >= 8) secretsSeen.add(pin);
}

/** Asserts the server's output contains neither its secrets nor any token or PIN seen. */
export function assertLogsClean(server) {
  const logs = server.logs();
  const checks = [
    ['the MAGICK_TOKEN value', server.env.MAGICK_TOKEN],
    ['the SALT_STRING value', server.env.SALT_STRING],
    ...[...secretsSeen].map((s) => [`a token or PIN (${s.slice(0, 12)}...)`, s]),
  ];
  for (const [what, value] of checks) {
    if (value) assert.ok(!logs.includes(value), `server logs contain ${what}`);
  }
}

/** Declares the closing test of a suite: the fixture server's logs leak nothing. */
export function testLogsClean(fixture) {
  test('server logs leak no secret, token or PIN', () => assertLogsClean(fixture.server));
}

// ---------------------------------------------------------------- server process

const liveServers = new Set();
// Last line of defence: never leave a server behind, even if a hook did not run.
process.on('exit', () => {
  for (const server of liveServers) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Throws at once when the server binary is missing (so a suite fails fast, not after timeouts). */
export function assertBinary() {
  try {
    fs.accessSync(SERVER_BIN, fs.constants.X_OK);
  } catch {
    throw new Error(`server binary not found at ${SERVER_BIN} (build it first, or set WS_SERVER_BIN)`);
  }
}

function makeEnv(overrides) {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    MAGICK_TOKEN: randomBytes(32).toString('hex'),
    SALT_STRING: randomBytes(24).toString('hex'),
    DEVELOPMENT: 'false',
    ...overrides,
  };
  return defined(env);
}

/**
 * Spawns the server in a fresh temp dir with `config.json` = DEFAULT_CONFIG + `config`
 * (or the literal `configText`). Resolves once it prints its listening line with
 * `{port, url, httpUrl, proc, pid, env, dir, logs(), stop(signal), kill()}`; `url` is the
 * native endpoint `ws(s)://127.0.0.1:PORT/ws`. With `expectExit`, resolves `{code, signal,
 * output, env}` once the process exits instead (and rejects if it starts). `nofile` runs it with
 * RLIMIT_NOFILE soft = hard = `nofile` (through prlimit(1), which execs it: same pid).
 */
export async function startServer({ env = {}, config = {}, configText, args = [], expectExit = false, nofile } = {}) {
  assertBinary();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-it-'));
  const configPath = path.join(dir, 'config.json');
  await fsp.writeFile(configPath, configText ?? JSON.stringify({ ...DEFAULT_CONFIG, ...config }, null, 2));
  const fullEnv = makeEnv(env);
  const argv = ['--config', configPath, '--port', '0', ...args];
  const [command, commandArgs] = nofile ? ['prlimit', [`--nofile=${nofile}:${nofile}`, SERVER_BIN, ...argv]] : [SERVER_BIN, argv];
  const proc = spawn(command, commandArgs, {
    cwd: dir,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('error', (error) => resolve((exitInfo ??= { code: null, signal: null, error })));
    proc.once('close', (code, signal) => resolve((exitInfo ??= { code, signal })));
  });
  const listening = new Promise((resolve) => {
    const onData = (chunk) => {
      output += chunk;
      const match = LISTENING_RE.exec(output);
      if (match) resolve(match);
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', onData);
    }
  });
  const handle = { pid: proc.pid };
  liveServers.add(handle);
  const cleanup = async () => {
    liveServers.delete(handle);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const forceKill = async () => {
    if (!exitInfo) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await withTimeout(exited, 5000, `server pid ${proc.pid} to die`).finally(cleanup);
  };

  if (expectExit) {
    const outcome = await firstOf([exited.then((info) => ({ info })), listening.then(() => ({ started: true }))], EXIT_TIMEOUT_MS);
    if (!outcome.info) {
      await forceKill();
      const why = outcome.started ? 'started listening' : `did not exit within ${EXIT_TIMEOUT_MS} ms`;
      throw new Error(`expected the server to refuse to start, but it ${why}; output:\n${output}`);
    }
    await cleanup();
    return { code: outcome.info.code, signal: outcome.info.signal, output, env: fullEnv };
  }

  const outcome = await firstOf([listening.then((match) => ({ match })), exited.then((info) => ({ info }))], START_TIMEOUT_MS);
  if (!outcome.match) {
    await forceKill();
    const why = outcome.info
      ? `exited (code ${outcome.info.code}, signal ${outcome.info.signal}${outcome.info.error ? `, ${outcome.info.error.message}` : ''})`
      : `printed no "listening on" line within ${START_TIMEOUT_MS} ms`;
    throw new Error(`server ${why}; output:\n${output}`);
  }
  const [, scheme, portText] = outcome.match;
  const port = Number(portText);
  const wsScheme = scheme === 'https' ? 'wss' : 'ws';
  return {
    port,
    scheme,
    url: `${wsScheme}://127.0.0.1:${port}/ws`,
    httpUrl: `${scheme}://127.0.0.1:${port}`,
    proc,
    pid: proc.pid,
    env: fullEnv,
    dir,
    logs: () => output,
    get running() {
      return !exitInfo;
    },
    /** Sends `signal` and resolves `{code, signal}` when the process has exited (bounded). */
    async stop(signal = 'SIGTERM') {
      if (!exitInfo) process.kill(proc.pid, signal);
      try {
        const info = await withTimeout(exited, EXIT_TIMEOUT_MS, `server to exit after ${signal}`);
        await cleanup();
        return { code: info.code, signal: info.signal };
      } catch (error) {
        await forceKill();
        throw error;
      }
    },
    kill: forceKill,
  };
}

/** startServer + kill it when test `t` ends. */
export async function withServer(t, options) {
  const server = await startServer(options);
  t.after(() => server.kill());
  return server;
}

/**
 * One server shared by the tests of a file: started in `before`, killed in `after`; the
 * clients a test opened are closed after it. Read `fixture.server` / `fixture.url` in tests.
 */
export function serverFixture(options = {}) {
  let server = null;
  before(async () => {
    server = await startServer(options);
  });
  afterEach(closeAllClients);
  after(async () => {
    await closeAllClients();
    await server?.kill();
  });
  const get = () => {
    if (!server) throw new Error('the fixture server did not start (see the before hook)');
    return server;
  };
  return {
    get server() {
      return get();
    },
    get url() {
      return get().url;
    },
  };
}

// ---------------------------------------------------------------- native protocol client

const openClients = new Set();

/** Closes every client still open (between tests). */
export async function closeAllClients() {
  await Promise.all([...openClients].map((client) => client.close()));
}

const matches = (frame, event) => event === '*' || frame.event === event;

/**
 * A `/ws` client. Frames are routed: a frame whose `re` a pending request() awaits goes
 * to it; else to the oldest matching next(); else into the inbox for a later next().
 */
export class Client {
  #ws;
  #inbox = [];
  #waiters = [];
  #replies = new Map();
  #watchers = new Set();
  #nextId = 1;
  #closeInfo = null;
  /** Every frame received, in order (for failure messages). */
  seen = [];
  errors = [];
  pings = 0;
  /** Resolves `{code, reason}` when the connection closes. */
  closed;

  /**
   * Opens a connection; rejects within `timeout` on any failure. Extra options go to ws. `url` is
   * the native endpoint; with `transport` (default TRANSPORT) 'eio4' or 'eio3' the client is a
   * socket.io-client (v4 or v2) on the same server's /socket.io/ with transports: ['websocket'].
   */
  static async connect(url, { timeout = REQUEST_TIMEOUT_MS, transport = TRANSPORT, ...options } = {}) {
    if (transport !== 'native') return SocketIoClient.connect(url, { timeout, transport, ...options });
    const ws = new WebSocket(url, { handshakeTimeout: timeout, ...options });
    const client = new Client(ws);
    const opened = new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`closed with ${code} during the handshake`)));
    });
    try {
      await withTimeout(opened, timeout, `WebSocket connection to ${url}`);
    } catch (error) {
      ws.terminate();
      throw new Error(`cannot connect to ${url}: ${error.message}`);
    }
    return client;
  }

  /** `ws`: a ws WebSocket (native), or null when a subclass moves the frames (_link*). */
  constructor(ws) {
    this.#ws = ws;
    openClients.add(this);
    let resolveClosed;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    this._closedWith = (code, reason) => {
      if (this.#closeInfo) return;
      this.#closeInfo = { code, reason };
      openClients.delete(this);
      this.#failPending();
      resolveClosed(this.#closeInfo);
    };
    if (!ws) return;
    ws.on('error', (error) => this.errors.push(error));
    ws.on('ping', () => this.pings++);
    ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    ws.once('close', (code, reason) => this._closedWith(code, reason.toString()));
  }

  get isOpen() {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Which wire this client speaks. */
  get transport() {
    return 'native';
  }

  /** Sends `{event, data, id?}` as one JSON text frame. */
  send(event, data, id) {
    const frame = id === undefined ? { event, data } : { event, data, id };
    rememberSent(frame);
    this._sendFrame(frame);
  }

  _sendFrame(frame) {
    this.#ws.send(JSON.stringify(frame));
  }

  /** Sends bytes as they are; `binary:false` with a Buffer makes a text frame of raw bytes. */
  sendRaw(payload, { binary = false } = {}) {
    this.#ws.send(payload, { binary });
  }

  /** Sends a request with an `id` (auto-assigned unless given) and resolves its direct reply frame. */
  async request(event, data, { id, timeout = REQUEST_TIMEOUT_MS } = {}) {
    const rid = id ?? this.#nextId++;
    if (this.#closeInfo) throw new Error(`cannot send ${event}: ${this.#describeClose()}`);
    const reply = new Promise((resolve, reject) => this.#replies.set(rid, { event, resolve, reject }));
    this.send(event, data, rid);
    try {
      return await withTimeout(reply, timeout, () => `the reply to ${event} (id ${fmt(rid)}); ${this.#describeSeen()}`);
    } finally {
      this.#replies.delete(rid);
    }
  }

  /** Resolves the next frame of `event` ('*' = any) not consumed yet, matching `where(frame)`. */
  async next(event, { timeout = NEXT_TIMEOUT_MS, where = () => true } = {}) {
    const index = this.#inbox.findIndex((frame) => matches(frame, event) && where(frame));
    if (index >= 0) return this.#inbox.splice(index, 1)[0];
    if (this.#closeInfo) throw new Error(`no ${event} frame: ${this.#describeClose()}; ${this.#describeSeen()}`);
    let waiter;
    const arrived = new Promise((resolve, reject) => {
      waiter = { event, where, resolve, reject };
      this.#waiters.push(waiter);
    });
    try {
      return await withTimeout(arrived, timeout, () => `a ${event} frame; ${this.#describeSeen()}`);
    } finally {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }

  /** Asserts no `event` frame ('*' = any) is waiting now or arrives within `ms`. */
  async expectNothing(event, ms = 300) {
    const pending = this.#inbox.filter((frame) => matches(frame, event));
    assert.equal(pending.length, 0, `unexpected ${event} frame(s): ${fmt(pending)}`);
    const watcher = { event, hits: [] };
    this.#watchers.add(watcher);
    await sleep(ms);
    this.#watchers.delete(watcher);
    assert.equal(watcher.hits.length, 0, `unexpected ${event} frame(s) within ${ms} ms: ${fmt(watcher.hits)}`);
  }

  /** Resolves `{code, reason}` once the server closes the connection (bounded). */
  waitClosed(timeout = NEXT_TIMEOUT_MS) {
    return withTimeout(this.closed, timeout, () => `the server to close the connection; ${this.#describeSeen()}`);
  }

  /** Closes the connection (normal closure); terminates it if the close handshake stalls. */
  async close() {
    if (this.#closeInfo) return this.#closeInfo;
    this._startClose();
    try {
      return await withTimeout(this.closed, 2000, 'the close handshake');
    } catch {
      this._terminate();
      return withTimeout(this.closed, 2000, 'the socket to terminate');
    }
  }

  _startClose() {
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else this.#ws.close(1000);
  }

  _terminate() {
    this.#ws.terminate();
  }

  #receive(data, isBinary) {
    const text = data.toString('utf8');
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = { event: '<not json>', raw: text, binary: isBinary };
    }
    this._deliver(frame);
  }

  /** Routes one decoded frame `{event, data, re?}`. */
  _deliver(frame) {
    this.seen.push(frame);
    rememberReceived(frame);
    for (const watcher of this.#watchers) if (matches(frame, watcher.event)) watcher.hits.push(frame);
    if (frame.re !== undefined && this.#replies.has(frame.re)) {
      this.#replies.get(frame.re).resolve(frame);
      this.#replies.delete(frame.re);
      return;
    }
    const waiter = this.#waiters.find((w) => matches(frame, w.event) && w.where(frame));
    if (waiter) {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(frame);
      return;
    }
    this.#inbox.push(frame);
  }

  #failPending() {
    const why = `${this.#describeClose()}; ${this.#describeSeen()}`;
    for (const { event, reject } of this.#replies.values()) reject(new Error(`no reply to ${event}: ${why}`));
    this.#replies.clear();
    for (const waiter of this.#waiters) waiter.reject(new Error(`no ${waiter.event} frame: ${why}`));
    this.#waiters = [];
  }

  #describeClose() {
    const { code, reason } = this.#closeInfo;
    return `the connection closed (code ${code}${reason ? `, reason "${reason}"` : ''})`;
  }

  #describeSeen() {
    return this.seen.length ? `frames seen: ${this.seen.slice(-8).map((f) => fmt(f, 200)).join(' | ')}` : 'no frames seen';
  }
}

/** The Socket.IO base URL (http[s]://host:port) of a server given by its native `url`. */
export function socketIoBase(url) {
  const u = new URL(url);
  return `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
}

/**
 * A Client over /socket.io/ with the real socket.io-client (v4 for 'eio4', v2 for 'eio3'),
 * transports: ['websocket'], reconnection off. A request with an `id` is emitted with an ack
 * callback; the ack `["<event>", data]` is delivered as `{event, data, re: id}`, events as
 * `{event, data}`, so tests read the same frames as on /ws. `closed` resolves with the
 * WebSocket close code the server sent (read from the underlying ws socket).
 */
export class SocketIoClient extends Client {
  /** The socket.io-client Socket. */
  socket;
  #transport;
  /** Socket.IO `disconnect` reasons seen (e.g. 'io server disconnect'). */
  disconnects = [];

  static async connect(url, { timeout = REQUEST_TIMEOUT_MS, transport = 'eio4', ca, sioOptions = {} } = {}) {
    const make = transport === 'eio3' ? ioV2 : ioV4;
    const socket = make(socketIoBase(url), {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout,
      ...(ca ? { ca } : {}),
      ...sioOptions,
    });
    const client = new SocketIoClient(socket, transport);
    const connected = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', (error) => reject(error instanceof Error ? error : new Error(String(error))));
      socket.once('error', (error) => reject(error instanceof Error ? error : new Error(String(error))));
    });
    try {
      await withTimeout(connected, timeout, `Socket.IO (${transport}) connection to ${socketIoBase(url)}`);
    } catch (error) {
      socket.close();
      client._closedWith(1006, '');
      throw new Error(`cannot connect to ${socketIoBase(url)} over ${transport}: ${error.message}`);
    }
    client.#watchEngine();
    return client;
  }

  constructor(socket, transport) {
    super(null);
    this.socket = socket;
    this.#transport = transport;
    // v4 has onAny; v2 does not, so its packet handler is wrapped (it sees every event).
    if (typeof socket.onAny === 'function') {
      socket.onAny((event, data) => this._deliver({ event, data }));
    } else {
      const onevent = socket.onevent;
      socket.onevent = (packet) => {
        const [event, data] = packet.data ?? [];
        this._deliver({ event, data });
        onevent.call(socket, packet);
      };
    }
    socket.on('disconnect', (reason) => this.disconnects.push(reason));
  }

  /** Follows the engine's WebSocket: its close code, and pings (v4 engine 'ping'). */
  #watchEngine() {
    const engine = this.socket.io.engine;
    engine.on('ping', () => this.pings++);
    const ws = engine.transport?.ws;
    if (ws && typeof ws.on === 'function') {
      ws.on('close', (code, reason) => this._closedWith(code, reason.toString()));
    } else {
      engine.on('close', () => this._closedWith(1006, ''));
    }
  }

  get transport() {
    return this.#transport;
  }

  get isOpen() {
    return this.socket.connected;
  }

  _sendFrame(frame) {
    if (frame.id === undefined) {
      this.socket.emit(frame.event, frame.data);
      return;
    }
    this.socket.emit(frame.event, frame.data, (event, data) => this._deliver({ event, data, re: frame.id }));
  }

  /** Sends `text` as the payload of a Socket.IO EVENT packet, as it is: `42<text>` on the wire. */
  sendRaw(text) {
    if (typeof text !== 'string') throw new Error('sendRaw over Socket.IO takes text (binary frames are native only)');
    this.socket.io.engine.write(`2${text}`);
  }

  _startClose() {
    this.socket.close();
  }

  _terminate() {
    this.socket.io.engine?.transport?.ws?.terminate?.();
    this._closedWith(1006, '');
  }
}

/**
 * An Engine.IO client written by hand on a ws socket, for the malformed-packet and heartbeat
 * tests: `packets` collects every text packet, `next(pred)` awaits one.
 */
export class RawEngineIo {
  packets = [];
  #waiters = [];
  closed;

  static async connect(url, { eio = 4, timeout = REQUEST_TIMEOUT_MS } = {}) {
    const base = socketIoBase(url).replace(/^http/, 'ws');
    const ws = new WebSocket(`${base}/socket.io/?EIO=${eio}&transport=websocket`, { handshakeTimeout: timeout });
    const raw = new RawEngineIo(ws);
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }), timeout, 'the Engine.IO WebSocket');
    return raw;
  }

  constructor(ws) {
    this.ws = ws;
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const text = data.toString('utf8');
      this.packets.push(text);
      const waiter = this.#waiters.find((w) => w.pred(text));
      if (waiter) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        waiter.resolve(text);
      }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(packet) {
    this.ws.send(packet);
  }

  /** The first packet (already received or coming) for which `pred(text)` holds; bounded. */
  next(pred, timeout = NEXT_TIMEOUT_MS) {
    const test = typeof pred === 'string' ? (t) => t.startsWith(pred) : pred;
    const found = this.packets.find(test);
    if (found !== undefined) {
      this.packets.splice(this.packets.indexOf(found), 1);
      return Promise.resolve(found);
    }
    let waiter;
    const arrived = new Promise((resolve) => {
      waiter = { pred: (t) => test(t) && (this.packets.splice(this.packets.indexOf(t), 1), true), resolve };
      this.#waiters.push(waiter);
    });
    return withTimeout(arrived, timeout, () => `an Engine.IO packet; seen: ${fmt(this.packets)}`).finally(() => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    });
  }

  waitClosed(timeout = NEXT_TIMEOUT_MS) {
    return withTimeout(this.closed, timeout, () => `the server to close; seen: ${fmt(this.packets)}`);
  }

  close() {
    this.ws.terminate();
  }
}

// ---------------------------------------------------------------- assertions on replies

const ALERT_KEYS = new Set(['code', 'message', 'event', 'nonce', 'retryAfter', 'field']);

/**
 * Asserts `frame` is an `alert` with `code`. Each of `event`, `nonce`, `field` given in
 * `expected` is compared exactly (an explicit `undefined` means "absent"); `re` likewise.
 * Returns the alert data.
 */
export function assertAlert(frame, expected) {
  const { re, ...want } = expected;
  assert.equal(frame?.event, 'alert', `expected alert ${want.code}, got ${fmt(frame)}`);
  const { data } = frame;
  assert.equal(data.code, want.code, `alert code (alert: ${fmt(data)})`);
  assert.equal(typeof data.message, 'string', 'alert.message is a string');
  assert.ok(data.message.length > 0, 'alert.message is not empty');
  assert.ok(!/\n\s*at |\.[ch]pp:\d+|std::/.test(data.message), `alert.message leaks internals: ${data.message}`);
  for (const key of Object.keys(data)) assert.ok(ALERT_KEYS.has(key), `unexpected alert field "${key}": ${fmt(data)}`);
  for (const key of ['event', 'nonce', 'field']) {
    if (key in want) assert.deepStrictEqual(data[key], want[key], `alert.${key} (alert: ${fmt(data)})`);
  }
  if ('re' in expected) assert.deepStrictEqual(frame.re, re, 'alert re');
  if (data.code === 'rate_limited') {
    assert.ok(Number.isInteger(data.retryAfter) && data.retryAfter >= 1, `retryAfter ${data.retryAfter}`);
  }
  return data;
}

/** Asserts `frame` is the named reply `event` and returns its data. */
export function assertReply(frame, event) {
  assert.equal(frame?.event, event, `expected ${event}, got ${fmt(frame)}`);
  return frame.data;
}

/** A timestamp the server set between `before` and `after` (ms since the epoch, 1 s slack). */
export function assertTimestamp(value, beforeMs, afterMs) {
  assert.ok(Number.isInteger(value), `timestamp ${value} is an integer`);
  assert.ok(value >= beforeMs - 1000 && value <= afterMs + 1000, `timestamp ${value} within [${beforeMs}, ${afterMs}]`);
}

// ---------------------------------------------------------------- workspace helpers

/** Sends `create` and returns the `created` data. */
export async function createWorkspace(client, { pin, name, avatar, attendeeName, attendeeAvatar, nonce } = {}) {
  const reply = await client.request(
    'create',
    defined({ workspace: defined({ name, pin, avatar }), attendee: defined({ name: attendeeName, avatar: attendeeAvatar }), nonce }),
  );
  return assertReply(reply, 'created');
}

/** Opens a connection, attends with the invite `token`, returns `{client, granted}`. */
export async function join(url, token, { pin, name, avatar, nonce, ca } = {}) {
  const client = await Client.connect(url, { ca });
  const reply = await client.request(
    'attend',
    defined({ workspace: defined({ token, pin }), attendee: defined({ name, avatar }), nonce }),
  );
  return { client, granted: assertReply(reply, 'attendance-granted') };
}

/** An attendee bound to its connection: requests carry its access token automatically. */
export class Member {
  constructor(client, data) {
    this.client = client;
    this.workspace = data.workspace;
    this.attendee = data.attendee;
    this.id = data.attendee.id;
    this.token = data.accessToken;
  }

  /** `{id, name, avatar}` as other members see it in leave/ring/answer/busy/negotiation. */
  get brief() {
    const { id, name, avatar } = this.attendee;
    return { id, name, avatar };
  }

  request(event, data = {}, options) {
    return this.client.request(event, { accessToken: this.token, ...data }, options);
  }

  send(event, data = {}, id) {
    this.client.send(event, { accessToken: this.token, ...data }, id);
  }

  next(event, options) {
    return this.client.next(event, options);
  }

  expectNothing(event, ms) {
    return this.client.expectNothing(event, ms);
  }
}

/** Creates a workspace on a fresh connection; returns the owner as a Member. */
export async function createOwner(url, options = {}) {
  const client = await Client.connect(url, { ca: options.ca });
  return new Member(client, await createWorkspace(client, options));
}

/** Joins with the invite `token`; returns the guest as a Member. */
export async function joinMember(url, token, options = {}) {
  const { client, granted } = await join(url, token, options);
  return new Member(client, granted);
}

/**
 * A workspace with an owner and `guests` guests ("Guest 1", ...). Each member's `attend`
 * notifications about later joiners are consumed (and checked), so inboxes start empty.
 */
export async function setupWorkspace(url, { guests = 1, pin, ...options } = {}) {
  const owner = await createOwner(url, { pin, attendeeName: 'Owner', ...options });
  const members = [owner];
  for (let i = 1; i <= guests; i++) {
    const guest = await joinMember(url, owner.workspace.token, { pin, name: `Guest ${i}` });
    await Promise.all(members.map((m) => m.next('attend', { where: (f) => f.data?.id === guest.id })));
    members.push(guest);
  }
  return { owner, guests: members.slice(1), members, invite: owner.workspace.token, workspaceId: owner.workspace.id };
}

/** A fresh client can still create a workspace: the server keeps serving. */
export async function assertServes(url, options = {}) {
  const client = await Client.connect(url, options);
  try {
    const created = await createWorkspace(client);
    assert.match(created.workspace.id, ID_RE);
  } finally {
    await client.close();
  }
}

/** Waits until `observer` sees attendee `id` with `online` as given (via the attendees request). */
export async function waitOnline(observer, id, online) {
  await waitUntil(
    async () => {
      const reply = await observer.request('attendees');
      return reply.event === 'attendees' && reply.data.attendees[id]?.online === online;
    },
    { what: `attendee ${id} online:${online}` },
  );
}

// ---------------------------------------------------------------- tokens

/** Splits a JWT into its decoded header and payload and its signature text. */
export function decodeJwt(token) {
  const [header, payload, signature] = token.split('.');
  const json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return { header: json(header), payload: json(payload), signature };
}

/** Signs a JWT with `secret` (HS256/384/512; 'none' gives an empty signature). */
export function signJwt(payload, secret, { alg = 'HS256', header = {} } = {}) {
  const encode = (object) => Buffer.from(JSON.stringify(object)).toString('base64url');
  const input = `${encode({ alg, typ: 'JWT', ...header })}.${encode(payload)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const signature = hash ? createHmac(hash, secret).update(input).digest('base64url') : '';
  return `${input}.${signature}`;
}

// ---------------------------------------------------------------- HTTP and TLS

/** One HTTP(S) request without keep-alive; resolves `{status, headers, body}` (bounded). */
export function httpRequest(url, { method = 'GET', ca, headers = {}, timeout = REQUEST_TIMEOUT_MS } = {}) {
  const transport = url.startsWith('https:') ? https : http;
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = transport.request(url, { method, ca, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.setTimeout(timeout, () => req.destroy(new Error(`${method} ${url}: socket timeout`)));
      req.on('error', reject);
      req.end();
    }),
    timeout + 500,
    `${method} ${url}`,
  );
}

const execFileAsync = promisify(execFile);

/** A throwaway self-signed certificate for 127.0.0.1/localhost in a new temp dir. */
export async function makeCert() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-cert-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await execFileAsync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '1', '-keyout', key, '-out', cert],
    { timeout: 20_000 },
  );
  return { dir, key, cert, pem: await fsp.readFile(cert, 'utf8'), remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}
