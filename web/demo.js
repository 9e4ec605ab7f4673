// The Workspaces demo page: create or join a workspace, see who is there, and hold a video call,
// on the SDK served at /sdk/workspaces.js. The page's Content-Security-Policy forbids inline
// scripts and style attributes, so every visual state is a class, a data attribute or `hidden`.
import { WorkspacesClient, WorkspacesError } from '/sdk/workspaces.js';

// URL parameters. The invite token travels in the fragment (`/demo/#invite=<token>`): a fragment is
// never sent to a server, so the token stays out of access logs and Referer headers.
//   ?relay=1   makes every RTCPeerConnection relay-only (`iceTransportPolicy: 'relay'`), so media
//              must flow through the TURN server that `iceservers` hands out. The e2e tests use it
//              to prove the TURN path; people can use it to check their TURN setup.
const params = new URLSearchParams(location.search);
const ICE_TRANSPORT_POLICY = params.get('relay') === '1' ? 'relay' : undefined;

/** The access token, per tab: a reload resumes the session, a new tab starts afresh. */
const SESSION_KEY = 'workspaces-demo:access-token';
/** The last name typed, to prefill the forms next time. */
const NAME_KEY = 'workspaces-demo:name';
/** The server does not push "went offline" (protocol §11): poll the attendee list for fresh flags. */
const ATTENDEES_POLL_MS = 4000;
const RESUME_RETRY_MS = 2000;
const DESTROY_CONFIRM_MS = 4000;
const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 } };
/** Failures of a resume that say nothing about the session: keep the token and try again. */
const TRANSIENT_CODES = new Set(['timeout', 'disconnected', 'closed', 'rate_limited', 'internal', 'unavailable']);

// ------------------------------------------------------------------ human messages

const FIELD_NAMES = {
  'workspace.name': 'The workspace name',
  'workspace.pin': 'The PIN',
  'workspace.token': 'The invite link',
  'workspace.avatar': "The workspace's picture",
  'attendee.name': 'Your name',
  'attendee.avatar': 'Your picture',
};
const LIMITS = { 'workspace.name': 64, 'workspace.pin': 64, 'attendee.name': 64 };

const fieldName = (field) => FIELD_NAMES[field] ?? 'Something you entered';
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One sentence per alert code of the protocol (§5), per SDK code, and per page event. */
const MESSAGES = {
  token_missing: 'Your session is missing. Open the invite link again to join.',
  token_invalid: 'This invite link or session is not valid. Check that you copied the whole link.',
  token_expired: 'Your session has expired. Open the invite link again to rejoin.',
  token_revoked: 'You were removed from this workspace, so this session no longer works.',
  pin_invalid: 'Wrong PIN. Check it with the person who invited you.',
  rate_limited: (e) =>
    `Too many attempts. Try again in ${Number.isFinite(e?.retryAfter) ? plural(e.retryAfter, 'second') : 'a moment'}.`,
  not_found: 'That person or call is not here any more.',
  forbidden: 'You cannot do that here: only the owner can, or you are no longer a member.',
  conflict: 'You are already in a workspace in this tab. Leave it first.',
  bad_request: (e) => `${fieldName(e?.field)} is not valid. Please check it.`,
  too_large: (e) =>
    (LIMITS[e?.field]
      ? `${fieldName(e.field)} is too long (${LIMITS[e.field]} characters at most).`
      : `${fieldName(e?.field)} is too large.`),
  unknown_event: 'The server did not understand this page. Reload it to get the current version.',
  unavailable: 'The service is temporarily unavailable. Try again in a moment.',
  internal: 'Something went wrong on the server. Please try again.',
  full: () => {
    const most = ui.capacity ? ` (${plural(ui.capacity, 'person', 'people')} at most)` : '';
    return `This workspace is full${most}. Try again when someone leaves.`;
  },
  kicked: 'The owner removed you from the workspace.',
  // The push (no error) is the owner deleting it; a refused attend or resume may also be an expiry.
  destroyed: (e) =>
    (e instanceof WorkspacesError ? 'This workspace no longer exists.' : 'The owner deleted this workspace.'),
  destroyed_by_you: 'You deleted the workspace. Everyone in it was told.',
  replaced: 'This session is now open in another tab or window.',
  left: 'You left the workspace.',
  removed: (d) => `${d.name} was removed from the workspace.`,
  timeout: 'The server did not answer in time. Check your connection and try again.',
  disconnected: 'You are offline right now. Wait until the connection is back, then try again.',
  closed: 'The connection was closed. Please try again.',
  not_attended: 'Join a workspace first.',
  unsupported: 'This browser cannot make video calls (it has no WebRTC).',
  unreachable: 'Cannot reach the server. Retrying…',
  media_denied: 'Camera and microphone are blocked, so the others will not see or hear you. You can still watch and listen.',
  media_missing: 'No camera or microphone found, so the others will not see or hear you. You can still watch and listen.',
  media_insecure: 'Camera and microphone need a secure page (HTTPS). You can still watch and listen.',
  copy_failed: 'Copying is blocked here: the link is selected, press Ctrl+C (or ⌘C) to copy it.',
};

/** A person's sentence for `code` (an error's, or a page event's). */
function messageFor(code, error) {
  const entry = MESSAGES[code];
  if (typeof entry === 'function') return entry(error);
  if (entry) return entry;
  return error?.message ? `Something went wrong: ${error.message}` : 'Something went wrong. Please try again.';
}

// ------------------------------------------------------------------ DOM helpers

/** The element with `data-testid` = `id` (the test ids double as the page's own handles). */
const $ = (id) => document.querySelector(`[data-testid="${CSS.escape(id)}"]`);

const ICON_PATHS = {
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3c0 3-2.5 5.1-5.3 5.1S6.7 14 6.7 11H5c0 3.4 2.7 6.2 6 6.7V21h2v-3.3c3.3-.5 6-3.3 6-6.7h-1.7z',
  'mic-off': 'M19 11h-1.7c0 .7-.2 1.4-.4 2.1l1.2 1.2c.6-1 .9-2.1.9-3.3zm-4 .2V5a3 3 0 0 0-6 0v.2l6 6zM4.3 3 3 4.3l6 6v.7a3 3 0 0 0 3.7 2.9l1.6 1.7c-.7.3-1.5.5-2.3.5-2.8 0-5.3-2.1-5.3-5.1H5c0 3.4 2.7 6.2 6 6.7V21h2v-3.3c.9-.1 1.8-.5 2.5-.9l4.2 4.2 1.3-1.3L4.3 3z',
  cam: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11l-4 4z',
  'cam-off': 'M21 6.5l-4 4V7a1 1 0 0 0-1-1H9.8L21 17.2V6.5zM3.3 2 2 3.3 4.7 6H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12c.2 0 .4-.1.5-.2l3.2 3.2 1.3-1.3L3.3 2z',
  phone: 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1A17 17 0 0 1 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1l-2.3 2.2z',
  'phone-off': 'M12 9c-1.6 0-3.2.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.7 1.9-.2.2-.4.3-.7.3s-.5-.1-.7-.3L.3 13.1a1 1 0 0 1 0-1.4C3.3 8.8 7.5 7 12 7s8.7 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.5 2.5c-.2.2-.4.3-.7.3s-.5-.1-.7-.3c-.8-.7-1.7-1.4-2.7-1.9-.3-.2-.6-.5-.6-.9V9.7C15.2 9.3 13.6 9 12 9z',
  leave: 'M10.1 15.6 11.5 17l5-5-5-5-1.4 1.4 2.6 2.6H3v2h9.7l-2.6 2.6zM19 3H5a2 2 0 0 0-2 2v4h2V5h14v14H5v-4H3v4a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2z',
  trash: 'M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z',
};

/** An inline SVG icon (inline SVG is markup, not style, so the CSP allows it). */
function icon(name, { off = false, label } = {}) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', off ? 'icon off' : 'icon');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = label;
    svg.append(title);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', ICON_PATHS[name]);
  svg.append(path);
  return svg;
}

/** Sets a control button's icon and label. */
function setButton(button, iconName, label) {
  const text = document.createElement('span');
  text.className = 'label';
  text.textContent = label;
  button.replaceChildren(icon(iconName), text);
}

/** The first letter of a name, for avatar circles. */
const initial = (name) => ([...(name ?? '').trim()][0] ?? '?').toUpperCase();

/** Mic and camera icons for an attendee (both the list and the tiles use them). */
function deviceFlags(attendee) {
  return [
    icon(attendee.mic ? 'mic' : 'mic-off', { off: !attendee.mic, label: `Microphone ${attendee.mic ? 'on' : 'off'}` }),
    icon(attendee.cam ? 'cam' : 'cam-off', { off: !attendee.cam, label: `Camera ${attendee.cam ? 'on' : 'off'}` }),
  ];
}

// ------------------------------------------------------------------ page state

const ui = {
  /** @type {WorkspacesClient | null} */
  client: null,
  view: 'loading',
  /** Remembered apart from the SDK, which forgets who we were as soon as a session ends. */
  selfId: null,
  wasOwner: false,
  /** @type {MediaStream | null} */
  media: null,
  /** `capacity` of the last `full` event. */
  capacity: null,
  shuttingDown: false,
  pollTimer: null,
  resumeTimer: null,
  destroyTimer: null,
  /** @type {Map<string, {figure: HTMLElement, video: HTMLVideoElement, unmute: HTMLElement, state: string}>} */
  tiles: new Map(),
};

function showView(view) {
  ui.view = view;
  for (const section of document.querySelectorAll('[data-view]')) section.hidden = section.dataset.view !== view;
  renderConnection();
}

/** Shows one message (a new one replaces the last); `kind` is 'error' or 'info'. */
function showMessage(code, { kind = 'error', error } = {}) {
  const box = $('message');
  box.dataset.code = code;
  box.dataset.kind = kind;
  $('message-text').textContent = messageFor(code, error);
  box.hidden = false;
}

function clearMessage() {
  const box = $('message');
  box.hidden = true;
  delete box.dataset.code;
}

function showError(error) {
  showMessage(error?.code ?? 'internal', { error });
}

function inviteFromHash() {
  return new URLSearchParams(location.hash.slice(1)).get('invite');
}

function inviteUrl(token) {
  return `${location.origin}/demo/#invite=${encodeURIComponent(token)}`;
}

// ------------------------------------------------------------------ the SDK client

/** The current client; a new one when the last ended for good (kicked, full, replaced). */
function ensureClient() {
  if (ui.client && ui.client.connectionState !== 'closed') return ui.client;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = new WorkspacesClient(`${scheme}://${location.host}/ws`, {
    autoAnswer: true, // the demo's guests join the owner's call at once
    iceTransportPolicy: ICE_TRANSPORT_POLICY,
  });
  ui.client = client;
  const on = (event, fn) => client.on(event, (value) => client === ui.client && fn(value, client));
  on('state', onState);
  on('attendees', renderWorkspace);
  on('call', renderWorkspace);
  on('reconnected', onReconnected);
  on('remote-stream', ({ attendeeId, stream }) => attachStream(tileFor(attendeeId), stream));
  on('peer-state', onPeerState);
  on('kicked', ({ id }) => id === ui.selfId && endSession('kicked'));
  on('destroyed', () =>
    endSession(ui.wasOwner ? 'destroyed_by_you' : 'destroyed', { kind: ui.wasOwner ? 'info' : 'error' }));
  on('replaced', onReplaced);
  on('full', ({ capacity }) => (ui.capacity = capacity));
  on('server-shutdown', () => {
    ui.shuttingDown = true;
    renderConnection();
  });
  on('error', onBackgroundError);
  on('disconnected', onDisconnected);
  renderConnection();
  return client;
}

/** The client with the local media set: call before create/attend/resume so rings are answered with it. */
async function preparedClient() {
  const client = ensureClient();
  await ensureMedia();
  client.setLocalStream(ui.media);
  return client;
}

function onState(state, client) {
  if (state === 'open') ui.shuttingDown = false;
  renderConnection();
  // A client closed for good (kicked, full, replaced, a policy close) cannot be reused; a fresh one
  // shows "Connected" again and serves the next create or join.
  if (state === 'closed') setTimeout(() => client === ui.client && ensureClient(), 0);
}

function onReconnected(_granted, client) {
  saveSession(client);
  renderWorkspace();
  refreshAttendees();
}

/** Alerts and failures nobody awaited (background rings, a refused re-attend, ...). */
function onBackgroundError(error, client) {
  if (!(error instanceof WorkspacesError)) {
    console.warn('workspaces:', error); // WebRTC hiccups the SDK recovers from by renegotiating
    return;
  }
  // `disconnected`: the SDK resends after the reconnect. A ring to someone who just left: harmless.
  if (error.code === 'disconnected' || (error.event === 'ring' && error.code === 'not_found')) return;
  if (ui.view === 'workspace' && !client.workspace) {
    // The SDK refused to bring the session back (kicked while away, token expired, ...).
    endSession(error.code, { error, keepInvite: true });
    return;
  }
  showError(error);
}

/** Close codes that end a client for good (protocol §2), as page messages. */
const FINAL_CLOSES = { 4001: 'full', 4002: 'replaced', 4003: 'kicked' };

/** A close without reconnect while the page still shows the workspace: `kicked` and `replaced`
 * were handled by their events; this catches the rest (`full` on a re-join, a policy close). */
function onDisconnected({ code, willReconnect }) {
  if (willReconnect || ui.view !== 'workspace') return;
  endSession(FINAL_CLOSES[code] ?? 'closed', { keepInvite: true });
}

function onReplaced() {
  stopSession();
  showMessage('replaced', { kind: 'info' });
  showView('replaced');
}

function saveSession(client = ui.client) {
  const token = client?.accessToken;
  if (token && sessionStorage.getItem(SESSION_KEY) !== token) sessionStorage.setItem(SESSION_KEY, token);
}

function startPolling() {
  clearInterval(ui.pollTimer);
  ui.pollTimer = setInterval(refreshAttendees, ATTENDEES_POLL_MS);
}

function refreshAttendees() {
  const client = ui.client;
  if (client?.connectionState === 'open' && client.workspace) client.refreshAttendees().catch(() => {});
}

// ------------------------------------------------------------------ media

/** Camera and microphone, or whatever of them exists; null (with a message) when none can be had. */
async function ensureMedia() {
  if (ui.media) return ui.media;
  if (!navigator.mediaDevices?.getUserMedia) {
    showMessage('media_insecure', { kind: 'info' });
    return null;
  }
  const attempts = [{ audio: true, video: VIDEO_CONSTRAINTS }, { video: VIDEO_CONSTRAINTS }, { audio: true }];
  for (const constraints of attempts) {
    try {
      ui.media = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (error) {
      if (error.name === 'NotAllowedError' || error.name === 'SecurityError') {
        showMessage('media_denied', { kind: 'info' });
        return null;
      }
      // NotFoundError, NotReadableError, OverconstrainedError: try with fewer devices.
    }
  }
  if (!ui.media) showMessage('media_missing', { kind: 'info' });
  const video = /** @type {HTMLVideoElement} */ ($('video-local'));
  video.srcObject = ui.media;
  return ui.media;
}

function stopMedia() {
  for (const track of ui.media?.getTracks() ?? []) track.stop();
  ui.media = null;
  /** @type {HTMLVideoElement} */ ($('video-local')).srcObject = null;
  if (ui.client && ui.client.connectionState !== 'closed') ui.client.setLocalStream(null);
}

// ------------------------------------------------------------------ sessions

function enterWorkspace(client) {
  ui.selfId = client.self.id;
  ui.wasOwner = client.isOwner;
  saveSession(client);
  showView('workspace');
  startPolling();
  renderWorkspace();
}

/** Forgets the session on this page: polling, tiles, camera. */
function stopSession() {
  clearInterval(ui.pollTimer);
  clearTimeout(ui.resumeTimer);
  for (const id of [...ui.tiles.keys()]) removeTile(id);
  stopMedia();
  ui.selfId = null;
  ui.wasOwner = false;
}

/** The session is over (kicked, destroyed, left, refused): say why and go back to a form. */
function endSession(code, { kind = 'error', error, keepInvite = false } = {}) {
  sessionStorage.removeItem(SESSION_KEY);
  stopSession();
  showMessage(code, { kind, error });
  goHome({ keepInvite });
}

/** The join form for an invite link, else the create form (and the invite leaves the address). */
function goHome({ keepInvite }) {
  if (keepInvite && inviteFromHash()) {
    showView('join');
    return;
  }
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  showView('create');
}

/** After a reload: the stored token brings the session (and a guest's place in the call) back. */
async function resumeSession(token) {
  clearTimeout(ui.resumeTimer);
  showView('loading');
  const client = await preparedClient();
  try {
    await client.resume(token);
  } catch (error) {
    if (TRANSIENT_CODES.has(error.code)) {
      $('loading-text').textContent = messageFor('unreachable');
      const delay = error.code === 'rate_limited' ? (error.retryAfter ?? 2) * 1000 : RESUME_RETRY_MS;
      ui.resumeTimer = setTimeout(() => resumeSession(token), delay);
      return;
    }
    endSession(error.code, { error, keepInvite: true });
    return;
  }
  enterWorkspace(client);
  // The owner's call survives its reload on the server; rejoining rings everyone again.
  if (client.isOwner && client.call && !client.call.joined) client.startCall(ui.media ?? undefined).catch(showError);
}

/** Runs a form's action with its button disabled; a failure becomes the message. */
async function submitting(form, action) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  clearMessage();
  for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
  try {
    await action();
  } catch (error) {
    showError(error);
    markField(form, error);
  } finally {
    button.disabled = false;
  }
}

/** Points at the field an error is about (a wrong PIN, a name too long). */
function markField(form, error) {
  const name = error?.code === 'pin_invalid' ? 'pin' : FIELD_INPUTS[error?.field];
  const input = name && form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) return;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  input.select();
}

/** Protocol field paths (`alert.field`) -> the form inputs they come from. */
const FIELD_INPUTS = { 'workspace.pin': 'pin', 'attendee.name': 'name', 'workspace.name': 'workspace' };

const optional = (value) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

async function onCreate(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const fields = new FormData(form);
  await submitting(form, async () => {
    const client = await preparedClient();
    const name = optional(fields.get('name'))?.trim();
    const workspace = { name: optional(fields.get('workspace'))?.trim(), pin: optional(fields.get('pin')) };
    await client.create(workspace, { name });
    if (name) localStorage.setItem(NAME_KEY, name);
    form.elements.namedItem('pin').value = '';
    enterWorkspace(client);
  });
}

async function onJoin(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.currentTarget);
  const fields = new FormData(form);
  const invite = inviteFromHash();
  if (!invite) {
    showMessage('token_missing');
    return;
  }
  await submitting(form, async () => {
    const client = await preparedClient();
    const name = optional(fields.get('name'))?.trim();
    await client.attend(invite, { name, pin: optional(fields.get('pin')) });
    if (name) localStorage.setItem(NAME_KEY, name);
    form.elements.namedItem('pin').value = '';
    enterWorkspace(client);
  });
}

// ------------------------------------------------------------------ workspace actions

/** Runs a button's action once at a time; a failure becomes the message. */
async function busy(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function inSession() {
  return ui.client?.workspace ? ui.client : null;
}

/**
 * You as the others see you. Your mic and camera come from your tracks' `enabled` flags, which the
 * SDK sets on every toggle: its `self` can show an older state, because an `attendees` reply asked
 * for before a toggle replaces the whole map, your own entry included (an SDK issue).
 */
function selfState(client) {
  const self = client.self;
  const audio = ui.media?.getAudioTracks()[0];
  const video = ui.media?.getVideoTracks()[0];
  return { ...self, mic: audio ? audio.enabled : self.mic, cam: video ? video.enabled : self.cam };
}

function onToggleMic(event) {
  const client = inSession();
  // setMic switches the tracks at once; while reconnecting the SDK sends the state afterwards.
  if (client) busy(event.currentTarget, () => client.setMic(!selfState(client).mic).catch(ignoreDisconnected));
}

function onToggleCam(event) {
  const client = inSession();
  if (client) busy(event.currentTarget, () => client.setCam(!selfState(client).cam).catch(ignoreDisconnected));
}

function ignoreDisconnected(error) {
  if (error?.code !== 'disconnected') throw error;
}

function onStartCall(event) {
  const client = inSession();
  if (client) busy(event.currentTarget, () => client.startCall(ui.media ?? undefined));
}

function onEndCall(event) {
  const client = inSession();
  if (client) busy(event.currentTarget, () => client.hangup());
}

function onLeave(event) {
  const client = inSession();
  if (!client) return;
  busy(event.currentTarget, async () => {
    await client.leave();
    endSession('left', { kind: 'info' });
  });
}

/** Two clicks: the first arms the button for a few seconds (no blocking confirm() dialog). */
function onDestroy(event) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const client = inSession();
  if (!client) return;
  if (button.dataset.armed !== 'true') {
    button.dataset.armed = 'true';
    setButton(button, 'trash', 'Confirm delete');
    ui.destroyTimer = setTimeout(() => disarmDestroy(button), DESTROY_CONFIRM_MS);
    return;
  }
  disarmDestroy(button);
  busy(button, () => client.destroy());
}

function disarmDestroy(button) {
  clearTimeout(ui.destroyTimer);
  delete button.dataset.armed;
  setButton(button, 'trash', 'Delete');
}

function onKick(attendee, button) {
  const client = inSession();
  if (!client) return;
  busy(button, async () => {
    await client.kick(attendee.id);
    showMessage('removed', { kind: 'info', error: { name: attendee.name } });
  });
}

async function onCopyInvite(event) {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const input = /** @type {HTMLInputElement} */ ($('invite-link'));
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  } catch {
    input.focus();
    input.select();
    showMessage('copy_failed', { kind: 'info' });
  }
}

// ------------------------------------------------------------------ rendering

const CONNECTION_LABELS = {
  connecting: ['connecting', 'Connecting…'],
  open: ['connected', 'Connected'],
  reconnecting: ['reconnecting', 'Reconnecting…'],
  closed: ['closed', 'Offline'],
};

function renderConnection() {
  const [state, label] = CONNECTION_LABELS[ui.client?.connectionState ?? 'connecting'];
  const pill = $('connection-state');
  pill.dataset.state = state;
  pill.textContent = label;
  const banner = $('reconnecting');
  banner.hidden = state !== 'reconnecting';
  const inCall = Boolean(ui.client?.call?.joined);
  const why = ui.shuttingDown ? 'The server is restarting.' : 'Connection lost.';
  $('reconnecting-text').textContent = `${why} Reconnecting…${inCall ? ' Your call goes on meanwhile.' : ''}`;
}

function renderWorkspace() {
  const client = ui.client;
  if (ui.view !== 'workspace' || !client?.workspace) return;
  saveSession(client);
  const workspace = client.workspace;
  $('workspace-name').textContent = workspace.name;
  $('role').textContent = client.isOwner ? 'Owner' : 'Guest';
  const invite = /** @type {HTMLInputElement} */ ($('invite-link'));
  invite.value = inviteUrl(workspace.token);
  renderPeople(client);
  renderControls(client);
  renderCallStatus(client);
  renderTiles(client);
}

function renderPeople(client) {
  const attendees = [...client.attendees.values()].map((a) => (a.id === ui.selfId ? selfState(client) : a));
  const owner = client.workspace.owner;
  // The owner first, then you, then everyone else as they came.
  const rank = (a) => (a.id === owner ? 0 : a.id === ui.selfId ? 1 : 2);
  attendees.sort((a, b) => rank(a) - rank(b));
  $('attendee-list').replaceChildren(...attendees.map((a) => personItem(client, a, owner)));
  const online = attendees.filter((a) => a.online).length;
  $('attendee-count').textContent = `${online} of ${attendees.length} online`;
}

function personItem(client, a, owner) {
  const li = document.createElement('li');
  li.dataset.testid = `attendee-${a.id}`;
  li.dataset.online = String(Boolean(a.online));
  li.dataset.mic = a.mic ? 'on' : 'off';
  li.dataset.cam = a.cam ? 'on' : 'off';
  if (a.id === owner) li.dataset.owner = 'true';
  if (a.id === ui.selfId) li.dataset.self = 'true';

  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.textContent = initial(a.name);
  const who = document.createElement('span');
  who.className = 'who';
  const name = document.createElement('span');
  name.className = 'name';
  name.dataset.testid = `attendee-name-${a.id}`;
  name.textContent = a.name;
  const status = document.createElement('span');
  status.className = 'status';
  status.dataset.testid = `attendee-status-${a.id}`;
  status.textContent = [a.id === owner && 'owner', a.id === ui.selfId && 'you', a.online ? 'online' : 'offline']
    .filter(Boolean).join(' · ');
  who.append(name, status);
  const flags = document.createElement('span');
  flags.className = 'flags';
  flags.append(...deviceFlags(a));
  li.append(avatar, who, flags);

  if (client.isOwner && a.id !== ui.selfId) {
    const kick = document.createElement('button');
    kick.type = 'button';
    kick.className = 'kick';
    kick.dataset.testid = `kick-${a.id}`;
    kick.textContent = 'Kick';
    kick.setAttribute('aria-label', `Remove ${a.name} from the workspace`);
    kick.addEventListener('click', () => onKick(a, kick));
    li.append(kick);
  }
  return li;
}

function renderControls(client) {
  const self = selfState(client);
  const mic = $('mute-mic');
  mic.setAttribute('aria-pressed', String(!self.mic));
  setButton(mic, self.mic ? 'mic' : 'mic-off', self.mic ? 'Mute' : 'Unmute');
  const cam = $('mute-cam');
  cam.setAttribute('aria-pressed', String(!self.cam));
  setButton(cam, self.cam ? 'cam' : 'cam-off', self.cam ? 'Stop video' : 'Start video');
  const joined = Boolean(client.call?.joined);
  $('start-call').hidden = !client.isOwner || joined;
  $('end-call').hidden = !client.isOwner || !joined;
  $('destroy').hidden = !client.isOwner;
  setButton($('start-call'), 'phone', 'Start call');
  setButton($('end-call'), 'phone-off', 'End call');
  setButton($('leave'), 'leave', 'Leave');
  if ($('destroy').dataset.armed !== 'true') setButton($('destroy'), 'trash', 'Delete');
}

function renderCallStatus(client) {
  const call = client.call;
  const others = [...client.attendees.values()].filter((a) => a.id !== ui.selfId);
  let text;
  if (client.isOwner) {
    const inCall = call?.participants.filter((id) => id !== ui.selfId).length ?? 0;
    if (call?.joined) {
      text = inCall ? `In a call with ${plural(inCall, 'person', 'people')}.` : 'Call started. People are rung as they come.';
    } else {
      text = others.length ? 'No call yet. Start one to see each other.' : 'Share the invite link, then start a call.';
    }
  } else if (call?.joined) {
    text = 'You are in the call.';
  } else {
    text = call ? 'A call is on. Connecting you…' : 'Waiting for the owner to start a call.';
  }
  const status = $('call-status');
  status.textContent = text;
  status.dataset.call = call?.joined ? 'joined' : call ? 'on' : 'none';
}

function renderTiles(client) {
  const self = selfState(client);
  const local = $('tile-local');
  local.hidden = !ui.media;
  local.dataset.cam = self.cam && ui.media?.getVideoTracks().length ? 'on' : 'off';
  $('local-initial').textContent = initial(self.name);
  local.querySelector('.tile-flags').replaceChildren(...deviceFlags(self));
  local.querySelector('.tile-name').textContent = `${self.name} (you)`;

  if (!client.call?.joined) {
    for (const id of [...ui.tiles.keys()]) removeTile(id);
    return;
  }
  const attendees = client.attendees;
  for (const [id, tile] of ui.tiles) {
    const a = attendees.get(id);
    if (!a) {
      removeTile(id);
      continue;
    }
    renderTile(tile, a);
  }
}

function renderTile(tile, attendee) {
  tile.figure.dataset.cam = attendee.cam ? 'on' : 'off';
  tile.figure.querySelector('.avatar').textContent = initial(attendee.name);
  tile.figure.querySelector('.tile-name').textContent = attendee.name;
  tile.figure.querySelector('.tile-flags').replaceChildren(...deviceFlags(attendee));
}

// ------------------------------------------------------------------ video tiles

const PEER_STATE_LABELS = {
  ringing: 'Ringing…',
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: '',
  disconnected: 'Reconnecting…',
  failed: 'Connection lost, retrying…',
};

/** The tile of a remote attendee, made on first use. */
function tileFor(attendeeId) {
  const existing = ui.tiles.get(attendeeId);
  if (existing) return existing;
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById('tile-template'));
  const figure = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
  figure.dataset.testid = `tile-${attendeeId}`;
  const video = figure.querySelector('video');
  video.dataset.testid = `video-remote-${attendeeId}`;
  const unmute = figure.querySelector('.unmute');
  unmute.dataset.testid = `unmute-${attendeeId}`;
  const tile = { figure, video, unmute, state: 'new' };
  unmute.addEventListener('click', () => {
    video.muted = false;
    unmute.hidden = true;
    video.play().catch(() => {});
  });
  ui.tiles.set(attendeeId, tile);
  $('video-grid').append(figure);
  const attendee = ui.client?.attendees.get(attendeeId);
  if (attendee) renderTile(tile, attendee);
  else figure.querySelector('.tile-name').textContent = 'Guest';
  return tile;
}

function removeTile(attendeeId) {
  const tile = ui.tiles.get(attendeeId);
  if (!tile) return;
  ui.tiles.delete(attendeeId);
  tile.video.srcObject = null;
  tile.figure.remove();
}

function attachStream(tile, stream) {
  if (tile.video.srcObject === stream) return;
  tile.video.srcObject = stream;
  tile.video.play().catch((error) => {
    if (error.name !== 'NotAllowedError') return; // AbortError: a newer stream took over
    // Sound needs a user gesture first (e.g. after a reload): play muted and offer the sound.
    tile.video.muted = true;
    tile.unmute.hidden = false;
    tile.video.play().catch(() => {});
  });
}

function onPeerState({ attendeeId, state }) {
  if (state === 'closed') {
    removeTile(attendeeId);
    return;
  }
  const tile = tileFor(attendeeId);
  tile.state = state;
  tile.figure.dataset.peerState = state;
  tile.figure.querySelector('.tile-state').textContent = PEER_STATE_LABELS[state] ?? '';
}

// ------------------------------------------------------------------ start

function onHashChange() {
  if (ui.view === 'create' && inviteFromHash()) showView('join');
  else if (ui.view === 'join' && !inviteFromHash()) showView('create');
}

function init() {
  $('create-form').addEventListener('submit', onCreate);
  $('join-form').addEventListener('submit', onJoin);
  $('message-dismiss').addEventListener('click', clearMessage);
  $('copy-invite').addEventListener('click', onCopyInvite);
  $('mute-mic').addEventListener('click', onToggleMic);
  $('mute-cam').addEventListener('click', onToggleCam);
  $('start-call').addEventListener('click', onStartCall);
  $('end-call').addEventListener('click', onEndCall);
  $('leave').addEventListener('click', onLeave);
  $('destroy').addEventListener('click', onDestroy);
  $('take-over').addEventListener('click', () => {
    const token = sessionStorage.getItem(SESSION_KEY);
    clearMessage();
    if (token) resumeSession(token);
    else goHome({ keepInvite: true });
  });
  window.addEventListener('hashchange', onHashChange);

  const name = localStorage.getItem(NAME_KEY);
  for (const id of ['create-your-name', 'join-your-name']) {
    if (name) /** @type {HTMLInputElement} */ ($(id)).value = name;
  }

  ensureClient();
  const token = sessionStorage.getItem(SESSION_KEY);
  if (token) resumeSession(token);
  else goHome({ keepInvite: true });
}

init();
