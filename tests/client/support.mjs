// Test support for the JavaScript SDK (client/workspaces.js): SDK clients on the ws package, an
// event recorder with bounded waits, a fake RTCPeerConnection that follows the JSEP state machine
// closely enough to check the signaling choreography, and fake media streams.
import { afterEach } from 'node:test';
import WebSocket from 'ws';
import { WorkspacesClient } from '../../client/workspaces.js';
import { withTimeout } from '../integration/harness.mjs';

/** Every event the SDK emits (its own and the protocol's pushes). */
const EVENTS = [
  'state', 'attendees', 'reconnected', 'disconnected', 'error', 'call', 'incoming-call', 'remote-stream',
  'peer-state', 'full', 'attend', 'leave', 'kicked', 'destroyed', 'replaced', 'mic-toggle', 'cam-toggle',
  'server-shutdown', 'ring', 'ring-cancelled', 'answer', 'busy', 'hangup', 'icecandidate', 'negotiation',
];

/** A WebSocket class that remembers its instances, so a test can kill the SDK's socket. */
export function trackedWebSocket() {
  const sockets = [];
  class TrackedWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.createdAt = Date.now();
      sockets.push(this);
    }
  }
  return { WebSocket: TrackedWebSocket, sockets };
}

/**
 * `open(url, options)` makes an SDK client on ws with the fake RTCPeerConnection, short timers and
 * a socket list (`client.sockets`); every client is closed after each test.
 */
export function sdkClients() {
  const clients = new Set();
  afterEach(async () => {
    await Promise.all([...clients].map((c) => c.close()));
    clients.clear();
  });
  return function open(url, options = {}) {
    const tracked = trackedWebSocket();
    const client = new WorkspacesClient(url, {
      WebSocket: tracked.WebSocket,
      RTCPeerConnection: FakePeerConnection,
      requestTimeoutMs: 5000,
      reconnect: { minDelayMs: 50, maxDelayMs: 400, jitter: 0.2 },
      ...options,
    });
    client.sockets = tracked.sockets;
    client.events = watch(client);
    clients.add(client);
    return client;
  };
}

/**
 * Records every event of `client`. `next(name, {where, timeout})` resolves the first recorded,
 * not yet consumed value of `name` matching `where`, waiting (bounded) when there is none yet.
 */
export function watch(client) {
  const log = [];
  const waiters = new Set();
  for (const name of EVENTS) {
    client.on(name, (value) => {
      const entry = { name, value, at: Date.now(), used: false };
      log.push(entry);
      for (const w of waiters) {
        if (!entry.used && w.name === name && w.where(value)) {
          entry.used = true;
          waiters.delete(w);
          w.resolve(value);
        }
      }
    });
  }
  const describe = () => log.slice(-15).map((e) => e.name).join(', ') || 'none';
  return {
    log,
    /** Every value emitted for `name` so far. */
    all: (name) => log.filter((e) => e.name === name).map((e) => e.value),
    /** When `name` was first emitted (ms since the epoch), or undefined. */
    firstAt: (name, where = () => true) => log.find((e) => e.name === name && where(e.value))?.at,
    next(name, { where = () => true, timeout = 3000 } = {}) {
      const found = log.find((e) => !e.used && e.name === name && where(e.value));
      if (found) {
        found.used = true;
        return Promise.resolve(found.value);
      }
      const waiter = { name, where };
      const arrived = new Promise((resolve) => {
        waiter.resolve = resolve;
        waiters.add(waiter);
      });
      return withTimeout(arrived, timeout, () => `the "${name}" event; recent events: ${describe()}`)
        .finally(() => waiters.delete(waiter));
    },
  };
}

/** Waits for `client.connectionState === state` (bounded). */
export async function waitState(client, state, timeout = 3000) {
  if (client.connectionState === state) return;
  await client.events.next('state', { where: (s) => s === state, timeout });
}

// ---------------------------------------------------------------- fake media

/** A MediaStream stand-in: one audio and one video track with `enabled`. */
export function fakeStream(id = 'local') {
  const tracks = [
    { kind: 'audio', id: `${id}-audio`, enabled: true },
    { kind: 'video', id: `${id}-video`, enabled: true },
  ];
  return {
    id,
    getTracks: () => [...tracks],
    getAudioTracks: () => tracks.filter((t) => t.kind === 'audio'),
    getVideoTracks: () => tracks.filter((t) => t.kind === 'video'),
  };
}

let pcCount = 0;

/**
 * An RTCPeerConnection stand-in. It enforces the JSEP signaling states (an answer without an offer
 * throws, as in a browser), records every description and candidate, "gathers" two candidates per
 * setLocalDescription (then the null end-of-candidates), fires `track` on the first remote
 * description and goes `connected` once both descriptions are in and the state is stable.
 */
export class FakePeerConnection extends EventTarget {
  static instances = [];

  constructor(config) {
    super();
    this.n = ++pcCount;
    this.config = config;
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.stableLocal = null;
    this.senders = [];
    this.transceivers = [];
    /** Remote candidates given to addIceCandidate. */
    this.candidates = [];
    /** Local candidates this connection "gathered" and emitted. */
    this.gathered = [];
    /** Every description set: ['local'|'remote', type, sdp]. */
    this.history = [];
    this.offerOptions = [];
    this.closed = false;
    this.generation = 0;
    FakePeerConnection.instances.push(this);
  }

  addTrack(track, stream) {
    const sender = { track, replaceTrack: async (t) => void (sender.track = t) };
    this.senders.push(sender);
    this.streams = [...new Set([...(this.streams ?? []), stream])];
    return sender;
  }

  getSenders() {
    return [...this.senders];
  }

  addTransceiver(kind, init = {}) {
    this.transceivers.push({ kind, ...init });
    return {};
  }

  async createOffer(options = {}) {
    this.#open();
    this.offerOptions.push(options);
    const restart = options.iceRestart ? ' ice-restart' : '';
    return { type: 'offer', sdp: `offer from pc${this.n} #${this.offerOptions.length}${restart}` };
  }

  async createAnswer() {
    this.#open();
    if (this.signalingState !== 'have-remote-offer') throw new Error(`createAnswer in state ${this.signalingState}`);
    return { type: 'answer', sdp: `answer from pc${this.n} to [${this.remoteDescription.sdp}]` };
  }

  async setLocalDescription(desc) {
    this.#open();
    this.history.push(['local', desc.type, desc.sdp]);
    if (desc.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer') throw new Error(`rollback in state ${this.signalingState}`);
      this.signalingState = 'stable';
      this.localDescription = this.stableLocal;
      return;
    }
    if (desc.type === 'offer') {
      if (this.signalingState !== 'stable') throw new Error(`local offer in state ${this.signalingState}`);
      this.signalingState = 'have-local-offer';
    } else if (desc.type === 'answer') {
      if (this.signalingState !== 'have-remote-offer') throw new Error(`local answer in state ${this.signalingState}`);
      this.signalingState = 'stable';
    } else {
      throw new Error(`bad description type ${desc.type}`);
    }
    this.localDescription = { type: desc.type, sdp: desc.sdp };
    if (this.signalingState === 'stable') this.stableLocal = this.localDescription;
    this.#gather();
    this.#maybeConnect();
  }

  async setRemoteDescription(desc) {
    this.#open();
    this.history.push(['remote', desc.type, desc.sdp]);
    if (desc.type === 'offer') {
      if (this.signalingState !== 'stable') throw new Error(`remote offer in state ${this.signalingState}`);
      this.signalingState = 'have-remote-offer';
    } else if (desc.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new Error(`remote answer in state ${this.signalingState}`);
      this.signalingState = 'stable';
    } else {
      throw new Error(`bad description type ${desc.type}`);
    }
    const first = this.remoteDescription === null;
    this.remoteDescription = { type: desc.type, sdp: desc.sdp };
    if (first) {
      const stream = { id: `remote-stream-of-pc${this.n}` };
      setTimeout(() => !this.closed && this.dispatchEvent(Object.assign(new Event('track'), { streams: [stream], track: {} })));
    }
    this.#maybeConnect();
  }

  async addIceCandidate(candidate) {
    this.#open();
    if (!this.remoteDescription) throw new Error('addIceCandidate before a remote description');
    this.candidates.push(candidate);
  }

  close() {
    this.closed = true;
    this.signalingState = 'closed';
    this.connectionState = 'closed';
  }

  #open() {
    if (this.closed) throw new Error('the connection is closed');
  }

  #gather() {
    const generation = ++this.generation;
    setTimeout(() => {
      if (this.closed) return;
      for (const i of [1, 2]) {
        const init = { candidate: `candidate:pc${this.n} generation ${generation} number ${i}`, sdpMid: '0', sdpMLineIndex: 0 };
        this.gathered.push(init);
        this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { ...init, toJSON: () => ({ ...init }) } }));
      }
      this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: null }));
    }, 5);
  }

  #maybeConnect() {
    if (this.signalingState !== 'stable' || !this.localDescription || !this.remoteDescription) return;
    if (this.connectionState === 'connected') return;
    setTimeout(() => {
      if (this.closed || this.connectionState === 'connected') return;
      this.connectionState = 'connected';
      this.dispatchEvent(new Event('connectionstatechange'));
    }, 5);
  }
}
