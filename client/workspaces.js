// Workspaces JavaScript SDK: the native /ws signaling protocol (docs/protocol.md) as promises and
// events, with reconnect + re-attend, and star-topology calls on RTCPeerConnection. No dependencies.

/**
 * @typedef {{id: string, name: string, avatar: string, mic: boolean, cam: boolean, online: boolean}} Attendee
 * @typedef {{id: string, name: string, avatar: string, owner: string, created: number, token: string,
 *   call?: ServerCall | null}} Workspace
 * @typedef {{id: string, started: number, participants: string[]}} ServerCall
 * @typedef {{id: string | null, started: number | null, participants: string[], joined: boolean}} CallState
 * @typedef {'connecting' | 'open' | 'reconnecting' | 'closed'} ConnectionState
 * @typedef {{minDelayMs?: number, maxDelayMs?: number, jitter?: number}} ReconnectOptions
 * @typedef {{
 *   WebSocket?: any, RTCPeerConnection?: any, reconnect?: ReconnectOptions | false,
 *   requestTimeoutMs?: number, autoAnswer?: boolean, iceTransportPolicy?: 'all' | 'relay',
 *   autoRefresh?: boolean}} ClientOptions
 */

/** Close codes after which reconnecting would be wrong or futile (PROTOCOL.md §2). */
const FATAL_CLOSE_CODES = new Map([
  [1007, 'invalid_utf8'],
  [1008, 'policy'],
  [1009, 'too_large'],
  [4001, 'full'],
  [4002, 'replaced'],
  [4003, 'kicked'],
]);
/** Re-attend refusals that mean the session is over; any other failure is retried. */
const SESSION_GONE_CODES = new Set(['token_missing', 'token_invalid', 'token_expired', 'token_revoked', 'forbidden']);
const WS_OPEN = 1;
/** TURN credentials live for hours; five minutes of reuse saves a round trip per peer. */
const ICE_CACHE_MS = 5 * 60_000;
/** Candidates that arrive before their ring is answered; bounded so a chatty peer cannot grow us. */
const MAX_EARLY_CANDIDATES = 200;
/** setTimeout overflows past 2^31-1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/** A failed request: an `alert` from the server, or a local condition (`timeout`, `disconnected`, ...). */
export class WorkspacesError extends Error {
  /** @param {{code: string, message?: string, field?: string, retryAfter?: number, event?: string}} data */
  constructor({ code, message, field, retryAfter, event }) {
    super(message || code);
    this.name = 'WorkspacesError';
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.event = event;
  }
}

const fail = (code, message, event) => new WorkspacesError({ code, message, event });

/** A tiny event emitter; one argument per event. A throwing listener is rethrown asynchronously so
 * it surfaces loudly without leaving the SDK half-way through a state change. */
class Emitter {
  /** @type {Map<string, Set<Function & {original?: Function}>>} */
  #listeners = new Map();

  /** Adds `fn` for `event`; returns a function that removes it. */
  on(event, fn) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of set) if (listener === fn || listener.original === fn) set.delete(listener);
  }

  once(event, fn) {
    /** @type {((value: any) => void) & {original?: Function}} */
    const wrapper = (value) => {
      this.off(event, wrapper);
      fn(value);
    };
    wrapper.original = fn;
    return this.on(event, wrapper);
  }

  /** @protected */
  emit(event, value) {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) {
      try {
        fn(value);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

/** Copy of `object` without undefined values, so optional fields are really absent on the wire. */
const defined = (object) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));

/** `{type, sdp}` of an RTCSessionDescription (plain objects survive JSON on every browser). */
const plainDescription = (d) => ({ type: d.type, sdp: d.sdp });

/** The `exp` claim (seconds) of a JWT, or null; the SDK only reads it to schedule `refresh`. */
function jwtExpiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(part)).exp;
    return Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}

/** A timer that does not keep Node alive (browsers return a number, which has no unref). */
function backgroundTimer(fn, ms) {
  const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  /** @type {any} */ (timer).unref?.();
  return timer;
}

/**
 * One signaling connection to a Workspaces server and at most one attendee session on it.
 * Create it with the `/ws` URL; it connects at once and keeps reconnecting until `close()`.
 */
export class WorkspacesClient extends Emitter {
  #url;
  #opts;
  #WebSocket;
  #RTCPeerConnection;

  // Connection.
  /** @type {any} the current WebSocket, or null between connections */
  #ws = null;
  /** @type {ConnectionState} */
  #state = 'connecting';
  #everOpened = false;
  #closedByUser = false;
  /** Why the connection ended for good (kicked, full, replaced, ...); no reconnect once set. */
  #terminal = null;
  #attempt = 0;
  #reconnectTimer = null;
  /** `retryAfter` of the last `server-shutdown`: the next reconnect waits that long. */
  #shutdownRetryAfter = null;
  #nextId = 1;
  /** @type {Map<number, {event: string, resolve: Function, reject: Function, timer: any, apply?: Function}>} */
  #pending = new Map();

  // Session.
  #token = null;
  /** @type {Workspace | null} */
  #workspace = null;
  #selfId = null;
  /** @type {Map<string, Attendee>} */
  #attendees = new Map();
  #refreshTimer = null;

  // Calls.
  /** @type {{id: string | null, started: number | null, participants: Set<string>, joined: boolean} | null} */
  #call = null;
  /** @type {Map<string, any>} attendee id -> peer record (see #newPeer) */
  #peers = new Map();
  /** @type {Map<string, any>} caller id -> ring data not yet answered */
  #pendingRings = new Map();
  /** @type {Map<string, any[]>} sender id -> candidates that came before we had a peer for it */
  #earlyCandidates = new Map();
  #localStream = null;
  #mic = true;
  #cam = true;
  #ice = null;

  /** @type {Record<string, (data: any) => void>} one small handler per pushed event */
  #handlers = {
    attend: (d) => this.#onAttend(d),
    leave: (d) => this.#onGone(d.id),
    kicked: (d) => (d.id === this.#selfId ? this.#onSessionLost('kicked') : this.#onGone(d.id)),
    destroyed: (d) => this.#onDestroyed(d),
    replaced: () => this.#onSessionLost('replaced'),
    'mic-toggle': (d) => this.#patchAttendee(d.attendee?.id, { mic: d.state }),
    'cam-toggle': (d) => this.#patchAttendee(d.attendee?.id, { cam: d.state }),
    'server-shutdown': (d) => (this.#shutdownRetryAfter = Number(d.retryAfter) || 1),
    ring: (d) => this.#onRing(d),
    'ring-cancelled': (d) => this.#forgetRing(d.caller?.id),
    answer: (d) => this.#onAnswer(d),
    busy: (d) => this.#onBusy(d),
    hangup: () => this.#endCall(),
    icecandidate: (d) => this.#onIceCandidate(d),
    negotiation: (d) => this.#onNegotiation(d),
  };

  /**
   * @param {string} url the native endpoint, `ws(s)://host[:port]/ws`
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (!this.#WebSocket) throw new TypeError('no WebSocket class: pass options.WebSocket (in Node, the ws package)');
    this.#RTCPeerConnection = options.RTCPeerConnection ?? globalThis.RTCPeerConnection ?? null;
    this.#opts = {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      autoAnswer: Boolean(options.autoAnswer),
      iceTransportPolicy: options.iceTransportPolicy,
      autoRefresh: options.autoRefresh ?? true,
      reconnect: options.reconnect === false ? null : { minDelayMs: 500, maxDelayMs: 15_000, jitter: 0.5, ...options.reconnect },
    };
    this.#connect();
  }

  // ------------------------------------------------------------------ state getters

  /** @returns {ConnectionState} */
  get connectionState() {
    return this.#state;
  }

  /** The current workspace, or null when not attended. */
  get workspace() {
    return this.#workspace ? { ...this.#workspace } : null;
  }

  /** This client's attendee, or null when not attended. */
  get self() {
    return this.#attendees.get(this.#selfId) ?? null;
  }

  get isOwner() {
    return Boolean(this.#workspace && this.#workspace.owner === this.#selfId);
  }

  /** The access token of the session (persist it to `resume()` after a page reload). */
  get accessToken() {
    return this.#token;
  }

  /** A copy of the attendee map, id -> attendee. `online` is as of the last attend/attendees reply. */
  get attendees() {
    return new Map(this.#attendees);
  }

  /** @returns {CallState | null} the workspace's call as far as this client knows. */
  get call() {
    const c = this.#call;
    return c && { id: c.id, started: c.started, participants: [...c.participants], joined: c.joined };
  }

  get localStream() {
    return this.#localStream;
  }

  /** The RTCPeerConnection to `attendeeId` (for stats), or null. */
  peerConnection(attendeeId) {
    return this.#peers.get(attendeeId)?.pc ?? null;
  }

  // ------------------------------------------------------------------ requests

  /**
   * Sends any request and resolves with its reply's data (the `accessToken` is added when
   * attended). Rejects with WorkspacesError on `alert`, `full`, `destroyed`, timeout or disconnect.
   */
  request(event, data = {}) {
    return this.#request(event, data);
  }

  /**
   * Creates a workspace; this client becomes its owner and first attendee.
   * @param {{name?: string, pin?: string, avatar?: string}} [workspace]
   * @param {{name?: string, avatar?: string}} [attendee]
   */
  create(workspace = {}, attendee = {}) {
    const data = {
      workspace: defined({ name: workspace.name, pin: workspace.pin, avatar: workspace.avatar }),
      attendee: defined({ name: attendee.name, avatar: attendee.avatar }),
    };
    return this.#request('create', data, { auth: false, apply: (d) => this.#startSession(d) });
  }

  /**
   * Joins the workspace of the invite token.
   * @param {string} inviteToken
   * @param {{pin?: string, name?: string, avatar?: string}} [options]
   */
  attend(inviteToken, { pin, name, avatar } = {}) {
    const data = { workspace: defined({ token: inviteToken, pin }), attendee: defined({ name, avatar }) };
    return this.#request('attend', data, { auth: false, apply: (d) => this.#startSession(d) });
  }

  /** Restores a session from a stored access token (e.g. after a page reload). */
  resume(accessToken) {
    return this.#request('re-attend', { accessToken }, {
      auth: false,
      apply: (d) => {
        this.#startSession(d);
        // A guest that was in the call before the reload asks the owner to ring it again (the owner
        // rejoins with startCall()). Call setLocalStream() before resume() to send media at once.
        const call = this.#call;
        if (call && !this.isOwner && call.participants.has(this.#selfId)) {
          call.joined = true;
          queueMicrotask(() => this.#askOwner({ request: 'ring' }));
        }
      },
    });
  }

  leave() {
    return this.#request('leave', {}, { apply: () => this.#clearSession() });
  }

  /** Owner only: deletes the workspace; everyone, this client included, gets `destroyed`. */
  destroy() {
    return this.#request('destroy', {}, {
      apply: (d) => {
        // The owner's copy is this reply; emit it like everyone else's push.
        if (this.#onDestroyed(d)) this.emit('destroyed', d);
      },
    });
  }

  /** Owner only. The owner's copy of `kicked` is the reply; it is emitted like the others'. */
  kick(attendeeId) {
    return this.#request('kick', { attendee: { id: attendeeId } }, {
      apply: (d) => {
        this.#onGone(d.id);
        this.emit('kicked', { id: d.id });
      },
    });
  }

  /** Fetches the attendee list (with fresh `online` flags) into `attendees`. */
  refreshAttendees() {
    return this.#request('attendees', {}, {
      apply: (d) => {
        this.#attendees = new Map(Object.entries(d.attendees));
        // A toggle sent after this request was answered may be newer than the list: for our
        // own entry the local state is the truth.
        const me = this.#attendees.get(this.#selfId);
        if (me) this.#attendees.set(this.#selfId, { ...me, mic: this.#mic, cam: this.#cam });
        this.emit('attendees', this.attendees);
      },
    }).then(() => this.attendees);
  }

  /** @returns {Promise<Array<{urls: string | string[], username?: string, credential?: string}>>} */
  iceServers() {
    return this.#request('iceservers');
  }

  /** Gets a fresh access token (the old one stays valid until it expires). Scheduled automatically. */
  refreshToken() {
    return this.#request('refresh', {}, {
      apply: (d) => {
        this.#token = d.accessToken;
        this.#scheduleRefresh();
      },
    }).then((d) => d.accessToken);
  }

  /** Enables/disables the local audio tracks and tells the others (`mic-toggle`). */
  setMic(on) {
    this.#mic = Boolean(on);
    for (const track of this.#localStream?.getAudioTracks?.() ?? []) track.enabled = this.#mic;
    return this.#toggle('mic-toggle', { mic: this.#mic });
  }

  /** Enables/disables the local video tracks and tells the others (`cam-toggle`). */
  setCam(on) {
    this.#cam = Boolean(on);
    for (const track of this.#localStream?.getVideoTracks?.() ?? []) track.enabled = this.#cam;
    return this.#toggle('cam-toggle', { cam: this.#cam });
  }

  /**
   * Closes the connection for good: no reconnect, calls end locally. The attendee stays a member
   * for the server's grace period (use `leave()` first to go at once).
   */
  async close() {
    if (this.#state === 'closed') return;
    this.#closedByUser = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    this.#endCall();
    const ws = this.#ws;
    this.#ws = null;
    this.#failPending('closed', 'the client was closed');
    this.#setState('closed');
    if (!ws) return;
    let timer;
    const closed = new Promise((resolve) => {
      ws.addEventListener('close', resolve, { once: true });
      timer = setTimeout(resolve, 2000);
    });
    ws.close(1000);
    await closed;
    clearTimeout(timer);
  }

  /**
   * @param {string} event
   * @param {object} data
   * @param {{auth?: boolean, apply?: (data: any) => void}} [how]
   */
  async #request(event, data, how = {}) {
    const { auth = true, apply } = how;
    await this.#ready(event);
    const payload = auth && this.#token ? { accessToken: this.#token, ...data } : data;
    return this.#send(event, payload, apply);
  }

  /** Resolves when requests may go out: waits for the first connection, fails fast while reconnecting. */
  #ready(event) {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(fail('closed', 'the client is closed', event));
    if (this.#state === 'reconnecting') {
      return Promise.reject(fail('disconnected', 'the connection is down; retry after the reconnected event', event));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(fail('timeout', `not connected within ${this.#opts.requestTimeoutMs} ms`, event));
      }, this.#opts.requestTimeoutMs);
      const off = this.on('state', (state) => {
        if (state === 'connecting') return;
        off();
        clearTimeout(timer);
        if (state === 'open') resolve();
        else reject(fail(state === 'closed' ? 'closed' : 'disconnected', `connection ${state}`, event));
      });
    });
  }

  /** Sends `{event, data, id}` and settles with the frame whose `re` is `id`. `apply` runs
   * synchronously on success, before any later frame is handled, so state is never stale. */
  #send(event, data, apply) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WS_OPEN) return Promise.reject(fail('disconnected', 'not connected', event));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const ms = this.#opts.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(fail('timeout', `no reply to ${event} within ${ms} ms`, event));
      }, ms);
      this.#pending.set(id, { event, resolve, reject, timer, apply });
      ws.send(JSON.stringify({ event, data, id }));
    });
  }

  /** Fire-and-forget relay (ICE candidates, negotiation): signaling is best-effort (PROTOCOL.md
   * §4.2), and everything is renegotiated after a reconnect anyway. */
  #relay(event, data) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WS_OPEN || !this.#token || this.#state !== 'open') return;
    ws.send(JSON.stringify({ event, data: { accessToken: this.#token, ...data } }));
  }

  #settle(pending, { event, data }) {
    if (event === 'alert') return pending.reject(new WorkspacesError({ event: pending.event, ...data }));
    if (event === 'full') {
      // The server closes with 4001 next; that close must not lead to a reconnect.
      this.#terminal = 'full';
      this.emit('full', data);
      return pending.reject(fail('full', `the workspace is full (capacity ${data?.capacity})`, pending.event));
    }
    if (event === 'destroyed' && pending.event !== 'destroy') {
      if (this.#onDestroyed(data)) this.emit('destroyed', data);
      return pending.reject(fail('destroyed', 'the workspace no longer exists', pending.event));
    }
    try {
      pending.apply?.(data);
    } catch (error) {
      return pending.reject(error);
    }
    return pending.resolve(data);
  }

  #failPending(code, message) {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(fail(code, message, pending.event));
    }
  }

  // ------------------------------------------------------------------ connection and reconnect

  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
  }

  /** Opens a socket; the first call throws on a malformed URL (from the constructor). */
  #connect() {
    const ws = new this.#WebSocket(this.#url);
    this.#ws = ws;
    ws.addEventListener('open', () => this.#onOpen(ws));
    ws.addEventListener('message', (e) => ws === this.#ws && this.#onFrame(e.data));
    ws.addEventListener('close', (e) => this.#onClose(ws, e.code, e.reason));
    ws.addEventListener('error', () => {}); // a close event always follows
  }

  async #onOpen(ws) {
    if (ws !== this.#ws) return;
    this.#everOpened = true;
    if (!this.#token) {
      this.#attempt = 0;
      this.#setState('open');
      return;
    }
    const known = new Set(this.#attendees.keys());
    let granted;
    try {
      granted = await this.#send('re-attend', { accessToken: this.#token }, (d) => this.#startSession(d, { resumed: true }));
    } catch (error) {
      if (ws !== this.#ws || error.code === 'full') return; // `full`: the 4001 close follows
      if (error.code !== 'destroyed' && !SESSION_GONE_CODES.has(error.code)) {
        return ws.close(4000, 're-attend failed'); // timeout, rate_limited, internal: retry with backoff
      }
      // The session cannot come back; the connection stays usable for create/attend.
      // (`destroyed` was announced by its own event already.)
      if (error.code !== 'destroyed') {
        this.#onSessionLost(error.code, { keepConnection: true });
        this.emit('error', error);
      }
      this.#setState('open');
      return;
    }
    this.#attempt = 0;
    this.#setState('open');
    this.emit('reconnected', granted);
    this.#resumeCall(granted.workspace.call ?? null, known);
    // Toggles made while the link was down never reached the server.
    const self = this.self;
    if (self && self.mic !== this.#mic) this.#toggle('mic-toggle', { mic: this.#mic }).catch(() => {});
    if (self && self.cam !== this.#cam) this.#toggle('cam-toggle', { cam: this.#cam }).catch(() => {});
  }

  #onFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = null;
    }
    if (!frame || typeof frame !== 'object' || typeof frame.event !== 'string') {
      this.emit('error', fail('bad_frame', 'the server sent a frame that is not a protocol message'));
      return;
    }
    if (frame.re !== undefined) {
      const pending = this.#pending.get(frame.re);
      if (!pending) return; // a reply to a request that already timed out
      this.#pending.delete(frame.re);
      clearTimeout(pending.timer);
      this.#settle(pending, frame);
      return;
    }
    if (frame.event === 'alert') {
      this.emit('error', new WorkspacesError(frame.data ?? { code: 'internal' }));
      return;
    }
    const data = frame.data ?? {};
    this.#handlers[frame.event]?.(data);
    this.emit(frame.event, data);
  }

  #onClose(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#failPending('disconnected', `the connection closed (code ${code})`);
    const terminal = this.#terminal ?? FATAL_CLOSE_CODES.get(code) ?? (this.#opts.reconnect ? null : 'no_reconnect');
    if (terminal) {
      this.#terminal = terminal;
      if (['kicked', 'full', 'replaced'].includes(terminal)) this.#clearSession();
      this.#endCall();
      clearTimeout(this.#refreshTimer);
      this.emit('disconnected', { code, reason, willReconnect: false });
      this.#setState('closed');
      return;
    }
    this.emit('disconnected', { code, reason, willReconnect: true });
    if (this.#everOpened) this.#setState('reconnecting');
    this.#reconnectLater();
  }

  #reconnectLater() {
    this.#reconnectTimer = setTimeout(() => {
      try {
        this.#connect();
      } catch (error) {
        this.emit('error', error);
        this.#reconnectLater();
      }
    }, this.#reconnectDelay());
  }

  /** Jittered exponential backoff; after `server-shutdown`, its `retryAfter` plus jitter (§4.3). */
  #reconnectDelay() {
    const { minDelayMs, maxDelayMs, jitter } = this.#opts.reconnect;
    if (this.#shutdownRetryAfter !== null) {
      // Spread the whole server's clients over [retryAfter, retryAfter * (1 + jitter)].
      const base = this.#shutdownRetryAfter * 1000;
      this.#shutdownRetryAfter = null;
      return base * (1 + jitter * Math.random());
    }
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** this.#attempt++);
    return base * (1 - jitter * Math.random());
  }

  // ------------------------------------------------------------------ session

  /** Adopts a created / attendance-granted / re-attendance-granted reply. */
  #startSession(d, { resumed = false } = {}) {
    this.#token = d.accessToken ?? this.#token;
    this.#workspace = { ...d.workspace };
    this.#selfId = d.attendee.id;
    this.#attendees = new Map(Object.entries(d.attendees ?? { [d.attendee.id]: d.attendee }));
    this.#scheduleRefresh();
    if (!resumed) {
      // A fresh session: the server's stored toggles win over our defaults.
      this.#mic = d.attendee.mic !== false;
      this.#cam = d.attendee.cam !== false;
      this.#applyToggles();
      this.#adoptCall(d.workspace.call ?? null);
    }
    this.emit('attendees', this.attendees);
  }

  #clearSession() {
    clearTimeout(this.#refreshTimer);
    this.#endCall();
    const had = this.#token !== null;
    this.#token = null;
    this.#ice = null; // TURN credentials name the attendee
    this.#workspace = null;
    this.#selfId = null;
    this.#attendees = new Map();
    if (had) this.emit('attendees', this.attendees);
  }

  /** Kicked, replaced, or a re-attend refused: the session is gone. */
  #onSessionLost(reason, { keepConnection = false } = {}) {
    if (!keepConnection) this.#terminal = reason;
    this.#clearSession();
  }

  /** The workspace is gone (push, reply to destroy(), or `destroyed` instead of a reply). */
  #onDestroyed(d) {
    if (!this.#workspace || d?.workspace?.id !== this.#workspace.id) return false;
    this.#clearSession();
    return true;
  }

  #scheduleRefresh() {
    clearTimeout(this.#refreshTimer);
    const exp = this.#opts.autoRefresh && this.#token ? jwtExpiry(this.#token) : null;
    if (!exp) return;
    // At 80% of the remaining lifetime: early enough to survive a reconnect storm.
    const ms = (exp * 1000 - Date.now()) * 0.8;
    this.#refreshTimer = backgroundTimer(() => {
      if (this.#state === 'open') this.refreshToken().catch((error) => this.emit('error', error));
    }, ms);
  }

  #onAttend(a) {
    this.#attendees.set(a.id, a);
    this.emit('attendees', this.attendees);
    // The owner's client rings newcomers into an ongoing call (PROTOCOL.md §4, attend). A member
    // back after its grace period is new to the server too: its old peer is useless.
    if (this.isOwner && this.#call?.joined && a.id !== this.#selfId) this.#ringSafely(a.id);
  }

  /** Someone left or was kicked: forget them and their media. */
  #onGone(id) {
    if (id === undefined) return;
    this.#attendees.delete(id);
    this.#closePeer(id);
    this.#forgetRing(id);
    if (this.#call?.participants.delete(id)) this.emit('call', this.call);
    this.emit('attendees', this.attendees);
  }

  #patchAttendee(id, patch) {
    const a = this.#attendees.get(id);
    if (!a) return;
    this.#attendees.set(id, { ...a, ...patch });
    this.emit('attendees', this.attendees);
  }

  async #toggle(event, patch) {
    if (!this.#token) return;
    this.#patchAttendee(this.#selfId, patch);
    await this.#request(event, { state: Object.values(patch)[0] });
  }

  #applyToggles() {
    for (const t of this.#localStream?.getAudioTracks?.() ?? []) t.enabled = this.#mic;
    for (const t of this.#localStream?.getVideoTracks?.() ?? []) t.enabled = this.#cam;
  }

  // ------------------------------------------------------------------ calls
  //
  // Star topology (PROTOCOL.md §4.1): the owner is the hub and holds one RTCPeerConnection per
  // participant; a guest holds one, to the owner. The owner is always the offerer: `ring` carries
  // the first offer, later offers (ICE restarts, track changes) go as `negotiation` messages, and a
  // guest that needs one asks for it. One offerer means no glare, which matters because relays to
  // an offline member are dropped silently (§4.2) and perfect negotiation assumes delivery.
  //
  // `negotiation.message` is opaque to the server; this SDK sends:
  //   {description: {type: 'offer'|'answer', sdp}, seq}   owner <-> guest, seq pairs an answer
  //                                                        with its offer (stale answers dropped)
  //   {request: 'offer', iceRestart: boolean}             guest -> owner: renegotiate my PC
  //   {request: 'ring'}                                    guest -> owner: I lost my PC, ring me

  /** The stream sent to peers from now on; tracks of an ongoing call are swapped in place. */
  setLocalStream(stream) {
    this.#localStream = stream ?? null;
    this.#applyToggles();
    for (const peer of this.#peers.values()) this.#syncTracks(peer);
  }

  /**
   * Owner only: starts (or rejoins) the workspace's call and rings every other online attendee
   * with an SDP offer; attendees who join later are rung automatically. Resolves once the rings
   * are sent; answers arrive as `peer-state`, `remote-stream` and `call` events.
   * @returns {Promise<CallState>}
   */
  async startCall(localStream) {
    if (!this.#token) throw fail('not_attended', 'attend a workspace first', 'ring');
    if (!this.isOwner) throw fail('forbidden', 'only the owner starts calls', 'ring');
    if (localStream !== undefined) this.setLocalStream(localStream);
    const c = this.#call;
    this.#call = {
      id: c?.id ?? null,
      started: c?.started ?? null,
      participants: new Set([...(c?.participants ?? []), this.#selfId]),
      joined: true,
    };
    this.emit('call', this.call);
    const callees = [...this.#attendees.values()].filter((a) => a.id !== this.#selfId && a.online && !this.#peers.has(a.id));
    // Rings without a call id go out together: the server handles one connection's frames in
    // order, so the first starts the call and the others join it.
    const results = await Promise.allSettled(callees.map((a) => this.#ring(a.id)));
    for (const r of results) if (r.status === 'rejected') this.emit('error', r.reason);
    return this.call;
  }

  /** Owner: ends the call for everyone (`hangup`). Guest: leaves the call (`busy`). */
  async hangup() {
    const c = this.#call;
    if (!c?.joined) return;
    const ignoreGone = (error) => {
      if (!['not_found', 'forbidden'].includes(error.code)) throw error; // the call was over already
    };
    if (this.isOwner) {
      this.#endCall();
      if (c.id) await this.#request('hangup', { call: { id: c.id } }).catch(ignoreGone);
      return;
    }
    this.#closePeers();
    c.joined = false;
    c.participants.delete(this.#selfId);
    this.emit('call', this.call);
    if (c.id) await this.#request('busy', { call: { id: c.id } }).catch(ignoreGone);
  }

  /** Owner side: a new peer and an offer to `calleeId` in a `ring`. */
  async #ring(calleeId) {
    const config = await this.#rtcConfig();
    if (!this.#call?.joined) return;
    this.#closePeer(calleeId);
    const peer = this.#newPeer(calleeId, config, { hub: true });
    this.emit('peer-state', { attendeeId: calleeId, state: 'ringing' });
    await peer.run(async () => {
      this.#addLocalTracks(peer.pc, { offerer: true });
      const offer = await peer.pc.createOffer();
      await peer.pc.setLocalDescription(offer);
      const callId = this.#call?.id;
      const data = defined({ callee: { id: calleeId }, offer: plainDescription(offer), call: callId ? { id: callId } : undefined });
      await this.#request('ring', data, {
        apply: (d) => {
          if (!this.#call || this.#call.id) return;
          this.#call.id = d.call.id;
          this.#call.started = Date.now();
          this.emit('call', this.call);
        },
      });
    }).catch((error) => {
      if (this.#peers.get(calleeId) === peer) this.#closePeer(calleeId);
      throw error;
    });
  }

  #ringSafely(id) {
    this.#ring(id).catch((error) => this.emit('error', error));
  }

  /** Guest side: a ring. A re-ring of the call we are in (the owner rebuilt its side) is taken at
   * once; otherwise autoAnswer, or the app decides through `incoming-call`. */
  #onRing(d) {
    const callerId = d.caller?.id;
    const c = this.#call;
    const rejoin = Boolean(c?.joined && c.id === d.call?.id);
    if (c?.id !== d.call?.id) {
      // A new call: whatever we had belongs to one that ended without us hearing of it.
      this.#closePeers();
      this.#call = { id: d.call.id, started: null, participants: new Set([callerId]), joined: false };
      this.emit('call', this.call);
    }
    this.#pendingRings.set(callerId, d);
    if (rejoin || this.#opts.autoAnswer) {
      this.#accept(d).catch((error) => this.emit('error', error));
      return;
    }
    this.emit('incoming-call', {
      call: d.call,
      caller: d.caller,
      accept: (stream) => this.#accept(d, stream),
      decline: () => this.#decline(d),
    });
  }

  async #accept(d, stream) {
    const callerId = d.caller.id;
    const stale = () => this.#pendingRings.get(callerId) !== d || this.#call?.id !== d.call.id;
    if (stale()) throw fail('not_found', 'this ring is no longer pending', 'answer');
    if (stream !== undefined) this.setLocalStream(stream);
    const config = await this.#rtcConfig();
    if (stale()) throw fail('not_found', 'this ring is no longer pending', 'answer');
    this.#pendingRings.delete(callerId);
    this.#closePeer(callerId);
    const peer = this.#newPeer(callerId, config, { hub: false });
    this.#call.joined = true;
    this.#call.participants.add(this.#selfId);
    this.emit('call', this.call);
    await peer.run(async () => {
      await peer.pc.setRemoteDescription(d.offer);
      // After the offer, so addTrack reuses the offered transceivers.
      this.#addLocalTracks(peer.pc, { offerer: false });
      await this.#remoteDescriptionSet(peer);
      const answer = await peer.pc.createAnswer();
      await peer.pc.setLocalDescription(answer);
      await this.#request('answer', { caller: { id: callerId }, answer: plainDescription(answer), call: { id: d.call.id } });
      peer.established = true;
    }).catch((error) => {
      if (this.#peers.get(callerId) === peer) this.#closePeer(callerId);
      throw error;
    });
  }

  async #decline(d) {
    if (this.#pendingRings.get(d.caller.id) !== d) return;
    this.#forgetRing(d.caller.id);
    await this.#request('busy', { call: { id: d.call.id } });
  }

  #forgetRing(callerId) {
    this.#pendingRings.delete(callerId);
    this.#earlyCandidates.delete(callerId);
  }

  /** Owner side: the callee's SDP answer to our ring. */
  #onAnswer(d) {
    const id = d.callee?.id;
    const peer = this.#peers.get(id);
    if (!peer || !this.#call || d.call?.id !== this.#call.id) return;
    this.#call.participants.add(id);
    this.emit('call', this.call);
    peer.run(async () => {
      if (peer.pc.signalingState !== 'have-local-offer') return;
      await peer.pc.setRemoteDescription(d.answer);
      await this.#remoteDescriptionSet(peer);
      peer.established = true;
    }).catch((error) => this.emit('error', error));
  }

  /** Declined, timed out, offline or gone (owner), or another guest dropping out (everyone). */
  #onBusy(d) {
    const id = d.callee?.id;
    if (this.isOwner) this.#closePeer(id);
    if (this.#call?.participants.delete(id)) this.emit('call', this.call);
  }

  #endCall() {
    this.#closePeers();
    this.#pendingRings.clear();
    this.#earlyCandidates.clear();
    if (!this.#call) return;
    this.#call = null;
    this.emit('call', null);
  }

  /** The call as the server shows it to a client that is not (yet) in it. */
  #adoptCall(serverCall) {
    this.#closePeers();
    const had = this.#call !== null;
    this.#call = serverCall
      ? { id: serverCall.id, started: serverCall.started, participants: new Set(serverCall.participants), joined: false }
      : null;
    if (had || serverCall) this.emit('call', this.call);
  }

  /** After a reconnect: end a call that ended meanwhile, else renegotiate (§4.2: clients
   * renegotiate after re-attendance-granted) and ring whoever joined while we were away. */
  #resumeCall(serverCall, known) {
    const c = this.#call;
    if (!c?.joined) return this.#adoptCall(serverCall);
    if (c.id && serverCall?.id !== c.id) return this.#endCall();
    if (serverCall) {
      c.id = serverCall.id;
      c.started = serverCall.started;
      c.participants = new Set([...serverCall.participants, this.#selfId]);
    }
    this.emit('call', this.call);
    if (this.isOwner) {
      for (const peer of this.#peers.values()) if (peer.established) this.#offer(peer, { iceRestart: true });
      for (const a of this.#attendees.values()) {
        if (a.online && a.id !== this.#selfId && !this.#peers.has(a.id) && !known.has(a.id)) this.#ringSafely(a.id);
      }
    } else if (this.#peers.size > 0) {
      this.#askOwner({ request: 'offer', iceRestart: true });
    } else {
      this.#askOwner({ request: 'ring' });
    }
  }

  #askOwner(message) {
    const owner = this.#workspace?.owner;
    if (owner) this.#relay('negotiation', { attendee: { id: owner }, message });
  }

  #onNegotiation(d) {
    const from = d.attendee?.id;
    const message = d.message ?? {};
    if (message.request) return this.#onOfferRequest(from, message);
    const peer = this.#peers.get(from);
    if (!peer || !message.description) return;
    peer.run(() => this.#applyNegotiation(peer, message)).catch((error) => this.emit('error', error));
  }

  async #applyNegotiation(peer, { description, seq }) {
    const pc = peer.pc;
    if (description.type === 'offer' && !peer.hub) {
      await pc.setRemoteDescription(description);
      await this.#remoteDescriptionSet(peer);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.#relay('negotiation', { attendee: { id: peer.id }, message: { description: plainDescription(answer), seq } });
    } else if (description.type === 'answer' && peer.hub && seq === peer.seq && pc.signalingState === 'have-local-offer') {
      await pc.setRemoteDescription(description);
      await this.#remoteDescriptionSet(peer);
    }
  }

  /** Owner side: a guest asks for a fresh offer on its PC, or to be rung again. */
  #onOfferRequest(from, message) {
    if (!this.isOwner || !this.#call?.joined || !this.#attendees.has(from) || from === this.#selfId) return;
    const peer = this.#peers.get(from);
    if (message.request === 'offer' && peer?.established) this.#offer(peer, { iceRestart: Boolean(message.iceRestart) });
    else if (message.request === 'ring' || !peer) this.#ringSafely(from);
  }

  /** Owner side: a new offer on an established peer, sent as `negotiation`. */
  #offer(peer, { iceRestart }) {
    peer.run(async () => {
      const pc = peer.pc;
      // The previous offer may have died with a dropped link: start again from stable.
      if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
      const offer = await pc.createOffer({ iceRestart });
      await pc.setLocalDescription(offer);
      peer.seq += 1;
      this.#relay('negotiation', { attendee: { id: peer.id }, message: { description: plainDescription(offer), seq: peer.seq } });
    }).catch((error) => this.emit('error', error));
  }

  #onIceCandidate(d) {
    const from = d.attendee?.id;
    const peer = this.#peers.get(from);
    if (!peer) {
      // The owner trickles candidates right after its offer, often before we answer the ring.
      const list = this.#earlyCandidates.get(from) ?? [];
      if (list.length < MAX_EARLY_CANDIDATES) list.push(d.candidate);
      this.#earlyCandidates.set(from, list);
      return;
    }
    peer.run(async () => {
      if (peer.remoteSet) await this.#addCandidate(peer, d.candidate);
      else peer.candidates.push(d.candidate);
    });
  }

  async #remoteDescriptionSet(peer) {
    peer.remoteSet = true;
    const queued = [...(this.#earlyCandidates.get(peer.id) ?? []), ...peer.candidates];
    this.#earlyCandidates.delete(peer.id);
    peer.candidates = [];
    for (const candidate of queued) await this.#addCandidate(peer, candidate);
  }

  async #addCandidate(peer, candidate) {
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch {
      // A candidate of an earlier ICE generation or an abandoned ring: useless, not an error.
    }
  }

  /** A peer record: the RTCPeerConnection plus what signaling needs. `run` serialises every
   * signaling step on this peer, so answers, offers and candidates apply in arrival order. */
  #newPeer(id, config, { hub }) {
    if (!this.#RTCPeerConnection) throw fail('unsupported', 'no RTCPeerConnection: pass options.RTCPeerConnection');
    const pc = new this.#RTCPeerConnection(config);
    const peer = {
      id, pc, hub, seq: 0, remoteSet: false, established: false, closed: false, candidates: [], streams: new Set(),
      chain: Promise.resolve(),
      run(fn) {
        const result = peer.chain.then(() => (peer.closed ? undefined : fn()));
        peer.chain = result.catch(() => {});
        return result;
      },
    };
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && !peer.closed) {
        this.#relay('icecandidate', { attendee: { id }, candidate: e.candidate.toJSON?.() ?? e.candidate });
      }
    });
    pc.addEventListener('track', (e) => this.#onTrack(peer, e));
    pc.addEventListener('connectionstatechange', () => {
      if (peer.closed) return;
      this.emit('peer-state', { attendeeId: id, state: pc.connectionState });
      if (pc.connectionState === 'failed' && peer.established) this.#renegotiate(peer, true);
    });
    // Only after the first exchange: before it, ring/answer carry the descriptions.
    pc.addEventListener('negotiationneeded', () => peer.established && !peer.closed && this.#renegotiate(peer, false));
    this.#peers.set(id, peer);
    return peer;
  }

  #renegotiate(peer, iceRestart) {
    if (peer.hub) this.#offer(peer, { iceRestart });
    else this.#askOwner({ request: 'offer', iceRestart });
  }

  #onTrack(peer, e) {
    let stream = e.streams?.[0];
    if (!stream && typeof MediaStream === 'function') stream = new MediaStream([e.track]);
    if (!stream || peer.closed || peer.streams.has(stream.id)) return;
    peer.streams.add(stream.id);
    this.emit('remote-stream', { attendeeId: peer.id, stream });
  }

  #closePeer(id) {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    peer.closed = true;
    peer.pc.close();
    this.emit('peer-state', { attendeeId: id, state: 'closed' });
  }

  #closePeers() {
    for (const id of [...this.#peers.keys()]) this.#closePeer(id);
  }

  #addLocalTracks(pc, { offerer }) {
    const stream = this.#localStream;
    const tracks = stream?.getTracks?.() ?? [];
    for (const track of tracks) pc.addTrack(track, stream);
    // An offer without m-lines receives nothing: a hub without camera or mic still wants both.
    if (!offerer) return;
    for (const kind of ['audio', 'video']) {
      if (!tracks.some((t) => t.kind === kind)) pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  /** A new local stream during a call: same-kind senders swap tracks (no renegotiation); a new
   * kind is added (negotiationneeded then renegotiates). */
  #syncTracks(peer) {
    const stream = this.#localStream;
    const senders = peer.pc.getSenders?.() ?? [];
    for (const track of stream?.getTracks?.() ?? []) {
      const sender = senders.find((s) => s.track?.kind === track.kind);
      if (sender) sender.replaceTrack(track).catch((error) => this.emit('error', error));
      else peer.pc.addTrack(track, stream);
    }
  }

  async #rtcConfig() {
    if (!this.#ice || Date.now() - this.#ice.at > ICE_CACHE_MS) {
      const entry = {
        at: Date.now(),
        servers: this.iceServers().catch((error) => {
          // Host candidates still work on a LAN; say why TURN is missing and retry next time.
          this.emit('error', error);
          if (this.#ice === entry) this.#ice = null;
          return [];
        }),
      };
      this.#ice = entry;
    }
    const iceServers = await this.#ice.servers;
    return defined({ iceServers, iceTransportPolicy: this.#opts.iceTransportPolicy });
  }
}
