// Type declarations for workspaces.js, the Workspaces signaling SDK (see README.md).

export interface Attendee {
  id: string;
  name: string;
  avatar: string;
  mic: boolean;
  cam: boolean;
  online: boolean;
}

/** `{id, name, avatar}` as pushed in ring/answer/busy/negotiation/leave. */
export interface AttendeeBrief {
  id: string;
  name: string;
  avatar: string;
}

/** The call as the server stores it (`workspace.call`). */
export interface ServerCall {
  id: string;
  /** Milliseconds since the epoch. */
  started: number;
  /** Attendee ids, owner included. */
  participants: string[];
}

export interface Workspace {
  id: string;
  name: string;
  avatar: string;
  /** The owner's attendee id. */
  owner: string;
  /** Milliseconds since the epoch. */
  created: number;
  /** The shareable invite token. */
  token: string;
  call?: ServerCall | null;
}

/** The workspace's call as this client knows it. */
export interface CallState {
  /** Null until the server assigned one (an owner alone in a started call). */
  id: string | null;
  started: number | null;
  participants: string[];
  /** Whether this client takes part (owner: after startCall; guest: after accepting). */
  joined: boolean;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface ReconnectOptions {
  /** First delay; doubles per failed attempt. Default 500. */
  minDelayMs?: number;
  /** Cap of the delay. Default 15000. */
  maxDelayMs?: number;
  /** 0..1: backoff delays are drawn from [delay * (1 - jitter), delay]; after server-shutdown,
   * from [retryAfter, retryAfter * (1 + jitter)]. Default 0.5. */
  jitter?: number;
}

export interface ClientOptions {
  /** WebSocket class; default globalThis.WebSocket (in Node, pass the ws package's). */
  WebSocket?: unknown;
  /** RTCPeerConnection class; default globalThis.RTCPeerConnection. Needed for calls only. */
  RTCPeerConnection?: unknown;
  /** Reconnect backoff, or false to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Per request, and for the first connection. Default 10000. */
  requestTimeoutMs?: number;
  /** Answer rings at once with `localStream` (else: the `incoming-call` event). Default false. */
  autoAnswer?: boolean;
  /** Passed to every RTCPeerConnection. */
  iceTransportPolicy?: 'all' | 'relay';
  /** Refresh the access token at 80% of its remaining lifetime. Default true. */
  autoRefresh?: boolean;
}

/** Reply data of create / attend / resume. */
export interface Granted {
  workspace: Workspace;
  attendee: Attendee;
  /** Absent in `created` (the owner is alone). */
  attendees?: Record<string, Attendee>;
  accessToken: string;
}

export interface IncomingCall {
  call: { id: string };
  caller: AttendeeBrief;
  /** Answers with `stream` (default: the client's localStream). */
  accept(stream?: MediaStream | null): Promise<void>;
  /** Declines (`busy`). */
  decline(): Promise<void>;
}

export type PeerState = 'ringing' | 'closed' | RTCPeerConnectionState;

export interface ClientEvents {
  // SDK events
  state: ConnectionState;
  attendees: Map<string, Attendee>;
  reconnected: Granted;
  disconnected: { code: number; reason: string; willReconnect: boolean };
  error: WorkspacesError | Error;
  call: CallState | null;
  'incoming-call': IncomingCall;
  'remote-stream': { attendeeId: string; stream: MediaStream };
  'peer-state': { attendeeId: string; state: PeerState };
  full: { workspace: { id: string }; capacity: number };
  // protocol pushes (docs/protocol.md §4)
  attend: Attendee;
  leave: AttendeeBrief;
  kicked: { id: string };
  destroyed: { workspace: { id: string } };
  replaced: { reason?: string };
  'mic-toggle': { attendee: { id: string }; state: boolean };
  'cam-toggle': { attendee: { id: string }; state: boolean };
  'server-shutdown': { retryAfter: number };
  ring: { workspace: { id: string }; caller: AttendeeBrief; offer: RTCSessionDescriptionInit; call: { id: string }; nonce?: string | number };
  'ring-cancelled': { workspace: { id: string }; caller: { id: string }; call: { id: string }; reason: string };
  answer: { workspace: { id: string }; callee: AttendeeBrief; answer: RTCSessionDescriptionInit; call: { id: string }; nonce?: string | number };
  busy: { workspace: { id: string }; callee: AttendeeBrief; call: { id: string }; reason: 'declined' | 'timeout' | 'offline' | 'gone' };
  hangup: { attendee: { id: string }; call: { id: string } };
  icecandidate: { attendee: { id: string }; broadcaster: { id: string }; candidate: RTCIceCandidateInit };
  negotiation: { attendee: AttendeeBrief; message: unknown };
}

/** A failed request: a server `alert`, or local: timeout, disconnected, closed, full, destroyed,
 * not_attended, forbidden (startCall by a guest), not_found (a stale ring), unsupported. */
export class WorkspacesError extends Error {
  constructor(data: { code: string; message?: string; field?: string; retryAfter?: number; event?: string });
  readonly name: 'WorkspacesError';
  code: string;
  /** Dotted path of the faulty field (bad_request, too_large). */
  field?: string;
  /** Seconds (rate_limited). */
  retryAfter?: number;
  /** The request's event. */
  event?: string;
}

export class WorkspacesClient {
  /** Connects at once to `url` (`ws(s)://host[:port]/ws`); throws on a malformed URL. */
  constructor(url: string, options?: ClientOptions);

  readonly connectionState: ConnectionState;
  readonly workspace: Workspace | null;
  readonly self: Attendee | null;
  readonly isOwner: boolean;
  readonly accessToken: string | null;
  /** A copy; `online` is as of the last attend/attendees reply (going offline is not pushed). */
  readonly attendees: Map<string, Attendee>;
  readonly call: CallState | null;
  readonly localStream: MediaStream | null;
  peerConnection(attendeeId: string): RTCPeerConnection | null;

  on<E extends keyof ClientEvents>(event: E, fn: (value: ClientEvents[E]) => void): () => void;
  on(event: string, fn: (value: any) => void): () => void;
  once<E extends keyof ClientEvents>(event: E, fn: (value: ClientEvents[E]) => void): () => void;
  once(event: string, fn: (value: any) => void): () => void;
  off(event: string, fn: (value: any) => void): void;

  /** Any request; resolves with the reply's data (accessToken added when attended). */
  request(event: string, data?: Record<string, unknown>): Promise<any>;
  create(workspace?: { name?: string; pin?: string; avatar?: string }, attendee?: { name?: string; avatar?: string }): Promise<Granted>;
  attend(inviteToken: string, options?: { pin?: string; name?: string; avatar?: string }): Promise<Granted>;
  /** re-attend with a stored access token (page reload). */
  resume(accessToken: string): Promise<Granted>;
  leave(): Promise<{ workspace: { id: string } }>;
  destroy(): Promise<{ workspace: { id: string } }>;
  kick(attendeeId: string): Promise<{ id: string }>;
  /** The `attendees` request: refreshes `attendees` (with current `online` flags). */
  refreshAttendees(): Promise<Map<string, Attendee>>;
  iceServers(): Promise<IceServer[]>;
  /** The `refresh` request; resolves with the new access token. */
  refreshToken(): Promise<string>;
  setMic(on: boolean): Promise<void>;
  setCam(on: boolean): Promise<void>;
  /** Ends the connection for good (no leave: the attendee stays a member for the grace period). */
  close(): Promise<void>;

  setLocalStream(stream: MediaStream | null): void;
  /** Owner only: rings every other online attendee; newcomers are rung automatically. */
  startCall(localStream?: MediaStream | null): Promise<CallState>;
  /** Owner: ends the call for all. Guest: leaves it. */
  hangup(): Promise<void>;
}
