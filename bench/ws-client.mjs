// The few native-protocol client calls the load scripts share.
import WebSocket from 'ws';

/** Opens a WebSocket to `url`; `options` go to `ws` as they are (e.g. `localAddress`). */
export function open(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed with ${code} during the handshake`)));
  });
}

/** Sends a request and resolves its direct reply (matched by id; pushes are skipped). */
export function request(ws, event, data) {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve) => {
    const onMessage = (m) => {
      const frame = JSON.parse(m);
      if (frame.re !== id) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ event, data, id }));
  });
}

/**
 * One native connection with a single message listener, for scripts that keep many requests
 * in flight: a reply is matched to its request by `id` (PROTOCOL.md §2), every other frame
 * goes to `onFrame`. `closed` resolves with the close code and reason once the socket is gone.
 */
export class Connection {
  /** Called with every frame that is not the reply to a pending request (pushes, stray replies). */
  onFrame = () => {};
  /**
   * Called with every reply before its request's promise resolves: frames that arrive together
   * are handled in one go, so a push right behind a reply reaches `onFrame` before the code
   * awaiting the reply runs; state the pushes depend on must be taken from the reply here.
   */
  onReply = () => {};
  /** The last socket error, if any (the close code says what happened). */
  error = null;
  closed;
  #nextId = 1;
  #pending = new Map(); // id -> {resolve, reject, timer}

  /** Opens `url` with `ws` `options` (e.g. `localAddress`); rejects on a refused upgrade. */
  static async open(url, options = {}) {
    return new Connection(await open(url, options));
  }

  constructor(ws) {
    this.ws = ws;
    ws.on('error', (error) => (this.error = error));
    ws.on('message', (data, isBinary) => {
      let frame;
      try {
        frame = isBinary ? null : JSON.parse(data);
      } catch {
        frame = null;
      }
      if (frame === null || typeof frame !== 'object') {
        this.onFrame({ event: '<not a JSON object>', data: String(data).slice(0, 200) });
        return;
      }
      const waiter = frame.re !== undefined ? this.#pending.get(frame.re) : undefined;
      if (!waiter) return this.onFrame(frame);
      this.#pending.delete(frame.re);
      clearTimeout(waiter.timer);
      this.onReply(frame);
      waiter.resolve(frame);
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        for (const [id, waiter] of this.#pending) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`connection closed (code ${code}) before the reply to request ${id}`));
        }
        this.#pending.clear();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  /** Sends `{event, data, id}`; resolves the direct reply, rejects on close or after `timeoutMs`. */
  request(event, data, timeoutMs = 10_000) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no reply to ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ event, data, id }), (error) => {
        if (!error || !this.#pending.has(id)) return;
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** Requests sent and not answered yet. */
  get inFlight() {
    return this.#pending.size;
  }

  /** Starts the closing handshake with `code`. */
  close(code = 1000) {
    this.ws.close(code);
  }

  /** Drops the TCP connection without a closing handshake (a client vanishing). */
  terminate() {
    this.ws.terminate();
  }
}
