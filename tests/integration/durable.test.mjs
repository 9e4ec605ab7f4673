// Durable workspaces (PROTOCOL.md §8, issue 6) against the real binary with json_storage_file:
// clean restarts and re-attend, SIGTERM rolling restarts, kill -9 at random moments during a
// client storm, torn tails, corruption and --repair, and the idle TTL. Native framing only.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  Client, assertAlert, assertLogsClean, assertReply, closeAllClients, httpRequest, setupWorkspace, sleep,
  startServer, waitUntil,
} from './harness.mjs';

/** A state file in its own temp dir, and the secrets that must stay the same across restarts. */
async function stateFile() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-state-'));
  return {
    dir,
    file: path.join(dir, 'state.jsonl'),
    env: { MAGICK_TOKEN: randomBytes(32).toString('hex'), SALT_STRING: randomBytes(24).toString('hex') },
    remove: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/** One state file for the tests of a describe: made before them, removed after. */
function stateFixture() {
  const holder = { state: null };
  before(async () => {
    holder.state = await stateFile();
  });
  after(async () => {
    await closeAllClients();
    await holder.state?.remove();
  });
  return () => holder.state;
}

// The storms and checks below open connections from 127.0.0.1 as fast as they can: the
// per-address rate of new connections (PROTOCOL.md §10) is lifted, as for a load test.
function serve(state, { config = {}, args = [], expectExit = false } = {}) {
  return startServer({
    env: state.env,
    config: {
      json_storage_file: state.file,
      reconnect_grace_seconds: 3600,
      new_connections_per_ip_per_second: 100000,
      new_connections_per_ip_burst: 100000,
      ...config,
    },
    args,
    expectExit,
  });
}

/** Re-attends with `token` on a new connection; returns `{client, frame}`. */
async function reattend(url, token) {
  const client = await Client.connect(url);
  const frame = await client.request('re-attend', { accessToken: token });
  return { client, frame };
}

/** The JSON lines of the state file, parsed. */
async function lines(file) {
  const text = await fsp.readFile(file, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('restart with json_storage_file', () => {
  const current = stateFixture();

  test('SIGTERM: server-shutdown then 1012; after the restart owner and guest re-attend, see the call and relay', async () => {
    let server = await serve(current(), { config: { shutdown_drain_seconds: 2 } });
    const { owner, guests: [guest] } = await setupWorkspace(server.url, { guests: 1, pin: 'pin-durable-1' });
    const ring = await owner.request('ring', { callee: { id: guest.id }, offer: { type: 'offer', sdp: 'v=0' } });
    const callId = assertReply(ring, 'ringing').call.id;
    await guest.next('ring');
    assertReply(await guest.request('answer', { caller: { id: owner.id }, answer: { type: 'answer', sdp: 'v=0' }, call: { id: callId } }), 'ok');
    assertReply(await guest.request('mic-toggle', { state: false }), 'ok');

    const stopped = server.stop('SIGTERM');
    for (const m of [owner, guest]) await m.next('server-shutdown');
    for (const m of [owner, guest]) assert.equal((await m.client.waitClosed(5000)).code, 1012);
    assert.deepStrictEqual(await stopped, { code: 0, signal: null }, `exit after SIGTERM; output:\n${server.logs()}`);

    server = await serve(current());
    try {
      const o = await reattend(server.url, owner.token);
      const granted = assertReply(o.frame, 're-attendance-granted');
      assert.equal(granted.workspace.id, owner.workspace.id);
      assert.equal(granted.workspace.call?.id, callId, 'the call survived the restart');
      assert.deepStrictEqual(Object.keys(granted.attendees).sort(), [owner.id, guest.id].sort());
      assert.equal(granted.attendees[guest.id].mic, false, 'mic state survived');
      assert.equal(granted.attendees[guest.id].online, false, 'the guest is offline until it re-attends');
      const g = await reattend(server.url, guest.token);
      assertReply(g.frame, 're-attendance-granted');
      o.client.send('icecandidate', { accessToken: owner.token, attendee: { id: guest.id }, candidate: { candidate: 'c' } });
      assert.equal((await g.client.next('icecandidate')).data.attendee.id, owner.id);
      // The invite and the PIN still work.
      const eve = await Client.connect(server.url);
      assertAlert(await eve.request('attend', { workspace: { token: owner.workspace.token, pin: 'wrong-pin' } }), { code: 'pin_invalid' });
      assertReply(await eve.request('attend', { workspace: { token: owner.workspace.token, pin: 'pin-durable-1' } }), 'attendance-granted');
      assertLogsClean(server);
    } finally {
      await server.kill();
    }
  });

  test('the file is JSON lines: a versioned header, then one record per line, no PIN in clear', async () => {
    const records = await lines(current().file);
    assert.deepStrictEqual(records[0].format, 'workspaces-store');
    assert.equal(records[0].version, 2);
    const text = await fsp.readFile(current().file, 'utf8');
    assert.ok(!text.includes('pin-durable-1'), 'the PIN is stored only as a hash');
    const kinds = ['put', 'del', 'member', 'toggle', 'left', 'forget', 'call', 'idle'];
    for (const r of records.slice(1)) {
      assert.equal(Object.keys(r).filter((k) => kinds.includes(k)).length, 1, `one record kind per line: ${JSON.stringify(r).slice(0, 200)}`);
    }
  });
});

describe('kill -9 during a client storm', () => {
  const ROUNDS = 20;
  const current = stateFixture();

  /**
   * The model of what the server acknowledged. Workspace: {ownerToken, invite, ownerId,
   * destroyed: true|false|'maybe', members: Map(id -> {token, status})}, status one of
   * 'member', 'left', 'kicked' or `maybe:<before>|<after>` while a request is unanswered.
   */
  const model = new Map();

  async function op(kind, url) {
    // One operation at a time per workspace, so every answer is determined.
    const live = [...model.values()].filter((w) => w.destroyed === false && !w.busy);
    const pick = (list) => list[randomInt(list.length)];
    const ws = kind === 'create' || live.length === 0 ? null : pick(live);
    if (ws) ws.busy = true;
    const client = await Client.connect(url, { timeout: 2000 }).catch((error) => {
      if (ws) ws.busy = false;
      throw error;
    });
    try {
      if (!ws) {
        const created = assertReply(await client.request('create', { workspace: { name: 'storm' } }), 'created');
        model.set(created.workspace.id, {
          ownerToken: created.accessToken, invite: created.workspace.token, ownerId: created.attendee.id, destroyed: false,
          members: new Map([[created.attendee.id, { token: created.accessToken, status: 'member' }]]),
        });
        return;
      }
      const guests = [...ws.members.entries()].filter(([id, m]) => id !== ws.ownerId && m.status === 'member');
      if (kind === 'attend') {
        const reply = await client.request('attend', { workspace: { token: ws.invite } });
        if (reply.event === 'full') return; // capacity: nothing changed
        const granted = assertReply(reply, 'attendance-granted');
        ws.members.set(granted.attendee.id, { token: granted.accessToken, status: 'member' });
      } else if (kind === 'leave' && guests.length) {
        const [, m] = pick(guests);
        m.status = 'maybe:member|left';
        assertReply(await client.request('re-attend', { accessToken: m.token }), 're-attendance-granted');
        assertReply(await client.request('leave', { accessToken: m.token }), 'left');
        m.status = 'left';
      } else if (kind === 'kick' && guests.length) {
        const [id, m] = pick(guests);
        m.status = 'maybe:member|kicked';
        assertReply(await client.request('re-attend', { accessToken: ws.ownerToken }), 're-attendance-granted');
        assertReply(await client.request('kick', { accessToken: ws.ownerToken, attendee: { id } }), 'kicked');
        m.status = 'kicked';
      } else if (kind === 'destroy') {
        ws.destroyed = 'maybe';
        assertReply(await client.request('re-attend', { accessToken: ws.ownerToken }), 're-attendance-granted');
        assertReply(await client.request('destroy', { accessToken: ws.ownerToken }), 'destroyed');
        ws.destroyed = true;
      }
    } finally {
      if (ws) ws.busy = false;
      await client.close();
    }
  }

  /** Runs operations until the server is killed; returns how many were acknowledged. */
  async function storm(url, killed) {
    const kinds = ['create', 'attend', 'attend', 'attend', 'leave', 'kick', 'destroy'];
    let acked = 0;
    const worker = async () => {
      while (!killed()) {
        try {
          await op(kinds[randomInt(kinds.length)], url);
          acked++;
        } catch (error) {
          if (killed()) return; // died under us: whatever was in flight stays 'maybe'
          throw error; // the server is alive: a wrong answer is a failure
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return acked;
  }

  /** Checks every acknowledged fact against the restarted server; settles the 'maybe's. */
  async function verify(url) {
    for (const [wid, ws] of model) {
      const { client, frame } = await reattend(url, ws.ownerToken);
      try {
        if (ws.destroyed === true) {
          assert.equal(frame.event, 'destroyed', `workspace ${wid} was destroyed (acknowledged)`);
          continue;
        }
        if (ws.destroyed === 'maybe') {
          ws.destroyed = frame.event === 'destroyed';
          if (ws.destroyed) continue;
        }
        const granted = assertReply(frame, 're-attendance-granted');
        for (const [id, m] of ws.members) {
          if (id === ws.ownerId) continue;
          const listed = id in granted.attendees;
          if (m.status.startsWith('maybe:')) {
            // Unanswered when the server died: either outcome is fine, but it must be whole.
            const [, after] = m.status.slice(6).split('|');
            m.status = listed ? 'member' : after;
          }
          if (m.status === 'member') assert.ok(listed, `attendee ${id} of ${wid} attended (acknowledged) but is missing`);
          if (m.status === 'left') assert.ok(!listed, `attendee ${id} of ${wid} left (acknowledged) but is listed`);
          if (m.status === 'kicked') {
            assert.ok(!listed, `attendee ${id} of ${wid} was kicked (acknowledged) but is listed`);
            const again = await reattend(url, m.token);
            assertAlert(again.frame, { code: 'token_revoked' });
            await again.client.close();
          }
        }
      } finally {
        await client.close();
      }
    }
  }

  test(`${ROUNDS} rounds: every acknowledged create, attend, leave, kick and destroy survives kill -9`, async (t) => {
    let acked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await serve(current());
      try {
        await verify(server.url);
        let dead = false;
        const killer = sleep(randomInt(80, 400)).then(() => {
          dead = true;
          process.kill(server.pid, 'SIGKILL');
        });
        acked += await storm(server.url, () => dead);
        await killer;
      } finally {
        await server.kill();
      }
    }
    const server = await serve(current());
    try {
      await verify(server.url);
      assertLogsClean(server);
    } finally {
      await server.kill();
    }
    const guests = [...model.values()].reduce((n, w) => n + w.members.size - 1, 0);
    t.diagnostic(`${ROUNDS} kills, ${acked} acknowledged operations, ${model.size} workspaces, ${guests} guests checked`);
    assert.ok(acked > ROUNDS * 5, `the storm did real work (${acked} acknowledged operations)`);
    assert.ok(model.size > 5, `${model.size} workspaces were created`);
  });
});

describe('torn tails, corruption and --repair', () => {
  const states = [];
  async function withState() {
    const s = await stateFile();
    states.push(s);
    return s;
  }
  after(async () => {
    await closeAllClients();
    await Promise.all(states.map((s) => s.remove()));
  });

  /** A file with two workspaces (second created last); returns their owners' tokens. */
  async function twoWorkspaces(state) {
    const server = await serve(state);
    try {
      const tokens = [];
      for (const name of ['first', 'second']) {
        const client = await Client.connect(server.url);
        tokens.push(assertReply(await client.request('create', { workspace: { name } }), 'created').accessToken);
        await client.close();
      }
      return tokens;
    } finally {
      await server.kill();
    }
  }

  test('a torn last line is dropped with a warning; everything before it is kept', async () => {
    const state = await withState();
    const [first] = await twoWorkspaces(state);
    const text = await fsp.readFile(state.file, 'utf8');
    const torn = `${text}{"put":{"id":"_torn","name":"half-writ`;
    await fsp.writeFile(state.file, torn);
    const server = await serve(state);
    try {
      assert.match(server.logs(), /store\.torn_tail/);
      assertReply((await reattend(server.url, first)).frame, 're-attendance-granted');
    } finally {
      await server.kill();
    }
    assert.ok(!(await fsp.readFile(state.file, 'utf8')).includes('half-writ'), 'the torn bytes are gone from the file');
  });

  test('garbage in the middle: refuses to start with one line naming file and line, bytes untouched', async () => {
    const state = await withState();
    await twoWorkspaces(state);
    const good = (await fsp.readFile(state.file, 'utf8')).split('\n');
    const bad = [...good.slice(0, 2), 'this is not json', ...good.slice(2)].join('\n');
    await fsp.writeFile(state.file, bad);
    const outcome = await serve(state, { expectExit: true });
    assert.notEqual(outcome.code, 0);
    const errorLines = outcome.output.split('\n').filter((l) => l.includes(`${state.file}:3:`));
    assert.equal(errorLines.length, 1, `one line names ${state.file}:3:\n${outcome.output}`);
    assert.equal(await fsp.readFile(state.file, 'utf8'), bad, 'the file is left exactly as it was');
    assert.deepStrictEqual((await fsp.readdir(state.dir)).filter((f) => f.includes('corrupt')), []);
  });

  test('--repair moves the bad file aside byte for byte and starts from the good records before it', async () => {
    const state = await withState();
    const [first, second] = await twoWorkspaces(state);
    const good = (await fsp.readFile(state.file, 'utf8')).split('\n').filter(Boolean);
    // Header, first put, garbage, second put: only the first workspace is before the damage.
    const bad = `${[good[0], good[1], '{"put":{"id":5}}', ...good.slice(2)].join('\n')}\n`;
    await fsp.writeFile(state.file, bad);
    const server = await serve(state, { args: ['--repair'] });
    try {
      const aside = (await fsp.readdir(state.dir)).filter((f) => /^state\.jsonl\.corrupt-\d+$/.test(f));
      assert.equal(aside.length, 1, 'one .corrupt-<ms> file');
      assert.equal(await fsp.readFile(path.join(state.dir, aside[0]), 'utf8'), bad, 'its bytes are the bad file');
      assertReply((await reattend(server.url, first)).frame, 're-attendance-granted');
      assert.equal((await reattend(server.url, second)).frame.event, 'destroyed', 'the record after the damage is gone');
    } finally {
      await server.kill();
    }
  });
});

describe('workspace_idle_ttl_seconds', () => {
  const current = stateFixture();

  test('a workspace nobody is online in for the TTL is deleted from memory and disk, and counted', async () => {
    const server = await serve(current(), { config: { workspace_idle_ttl_seconds: 2 } });
    let kept;
    try {
      const client = await Client.connect(server.url);
      const expiring = assertReply(await client.request('create', { workspace: { name: 'expiring' } }), 'created');
      await client.close(); // nobody online from now on
      kept = await Client.connect(server.url);
      const keptWs = assertReply(await kept.request('create', { workspace: { name: 'kept' } }), 'created');
      await waitUntil(async () => {
        const res = await httpRequest(`${server.httpUrl}/metrics`);
        return /^workspaces_expired_total 1$/m.test(res.body);
      }, { timeout: 5000, interval: 200, what: 'workspaces_expired_total to reach 1' });
      assert.equal((await reattend(server.url, expiring.accessToken)).frame.event, 'destroyed');
      assert.match(server.logs(), /workspace\.expired/);
      const records = await lines(current().file);
      const live = new Map();
      for (const r of records.slice(1)) {
        if (r.put) live.set(r.put.id, r.put);
        if (r.del) live.delete(r.del);
      }
      assert.deepStrictEqual([...live.keys()], [keptWs.workspace.id], 'the file no longer holds it');
    } finally {
      await kept?.close();
      await server.kill();
    }
  });
});
