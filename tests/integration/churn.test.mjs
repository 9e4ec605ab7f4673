// Issue 16, item 2, over real sockets: a member churning attend -> leave on its own workspace
// (64-character names, 16 KiB avatars) must not grow the server's memory, and with
// json_storage_file every change writes bytes in proportion to itself, not to the workspace.
// Before the fix, 10,000 cycles took the server from 10 to 176 MiB, and each change rewrote
// the whole workspace record (7.1 GB written for an 8.8 MB file; a toggle ~147 KiB).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Client, assertReply, createWorkspace, httpRequest, nativeOnly, withServer } from './harness.mjs';
import { rssKib } from '../../bench/server.mjs';

const NAME = 'n'.repeat(64);
const AVATAR = `data:image/png;base64,${'A'.repeat(16384 - 22)}`; // 16 KiB, the limit

// Under a sanitizer (make test-sanitize sets WS_SANITIZE) RSS says nothing (ASan keeps freed
// memory in quarantine; LeakSanitizer checks leaks at exit instead), and everything runs several
// times slower: the churn is shorter there and only what it writes is measured.
const SANITIZED = Boolean(process.env.WS_SANITIZE);
const CYCLES = SANITIZED ? 2000 : 10000;
const ROUND = SANITIZED ? 300 : 1000;

// The churn is the attacker's own, at full speed: the limits that would only slow it down are
// lifted, so what is measured is what the server keeps, not what it refuses.
const UNTHROTTLED = { messages_per_second: 1e6, messages_burst: 1e6, bytes_per_second: 1e9, bytes_burst: 1e9 };

/** `/proc/<pid>/io` write_bytes + wchar: the independent count of what the process wrote. */
function writtenBytes(pid) {
  const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^wchar: (\d+)$/m.exec(io)[1]);
}

async function metric(server, name) {
  const res = await httpRequest(`${server.httpUrl}/metrics`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** `cycles` attend -> leave cycles on `invite`, over `lanes` connections in parallel. */
async function churn(url, invite, cycles, lanes = 4) {
  const clients = await Promise.all(Array.from({ length: lanes }, () => Client.connect(url)));
  let left = cycles;
  await Promise.all(
    clients.map(async (client) => {
      while (left > 0) {
        left--;
        const granted = assertReply(
          await client.request('attend', { workspace: { token: invite }, attendee: { name: NAME, avatar: AVATAR } }),
          'attendance-granted',
        );
        assertReply(await client.request('leave', { accessToken: granted.accessToken }), 'left');
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
}

describe('attend -> leave churn', nativeOnly, () => {
  test('10,000 cycles with the largest names and avatars grow the server by less than 4 MiB', { timeout: 180_000 }, async (t) => {
    const server = await withServer(t, { config: UNTHROTTLED });
    const owner = await Client.connect(server.url);
    const created = await createWorkspace(owner, { name: NAME, attendeeName: NAME, attendeeAvatar: AVATAR });
    // Warm-up: connection buffers, allocator arenas and the first 1,000 former members.
    await churn(server.url, created.workspace.token, 1200);
    const before = rssKib(server.pid);
    await churn(server.url, created.workspace.token, CYCLES);
    const after = rssKib(server.pid);
    t.diagnostic(`RSS ${(before / 1024).toFixed(1)} -> ${(after / 1024).toFixed(1)} MiB over ${CYCLES} cycles`);
    if (!SANITIZED) assert.ok(after - before < 4 * 1024, `RSS grew by ${((after - before) / 1024).toFixed(1)} MiB`);
    // The workspace still works, and the owner is still its owner.
    const attendees = await owner.request('attendees', { accessToken: created.accessToken });
    assert.equal(Object.keys(assertReply(attendees, 'attendees').attendees).length, 1);
  });

  test('with json_storage_file, bytes written per cycle stay within twice the attendee record, flat over 3,000 cycles', { timeout: 180_000 }, async (t) => {
    const server = await withServer(t, { config: { ...UNTHROTTLED, json_storage_file: 'state.json', log_level: 'warn' } });
    const owner = await Client.connect(server.url);
    const created = await createWorkspace(owner, { name: NAME, attendeeName: NAME, attendeeAvatar: AVATAR });
    const invite = created.workspace.token;
    // What one attend writes at the least: the attendee's own record.
    const ownRecord = JSON.stringify({ id: '_0123456789', name: NAME, avatar: AVATAR, mic: true, cam: true }).length;

    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const w0 = writtenBytes(server.pid);
      const m0 = await metric(server, 'workspaces_store_written_bytes_total');
      await churn(server.url, invite, ROUND);
      const w1 = writtenBytes(server.pid);
      const m1 = await metric(server, 'workspaces_store_written_bytes_total');
      rounds.push({ wchar: (w1 - w0) / ROUND, metric: m1 === undefined ? undefined : (m1 - m0) / ROUND });
    }
    t.diagnostic(`own record ${ownRecord} B; per cycle: ${rounds.map((r) => `${r.wchar.toFixed(0)} B (metric ${r.metric?.toFixed(0)})`).join(', ')}`);
    for (const [i, r] of rounds.entries()) {
      assert.ok(r.wchar <= 2 * ownRecord, `round ${i}: ${r.wchar.toFixed(0)} B written per cycle, more than twice ${ownRecord}`);
      assert.ok(r.metric !== undefined && r.metric > 0 && r.metric <= 2 * ownRecord, `round ${i}: the store counted ${r.metric} B per cycle`);
    }
    // Flat: the last thousand cycles cost no more than the first (within compaction's jitter).
    assert.ok(rounds[2].wchar <= rounds[0].wchar * 1.5, `per-cycle bytes grew: ${rounds.map((r) => r.wchar.toFixed(0))}`);
    assert.ok(fs.statSync(path.join(server.dir, 'state.json')).size < 4 << 20, 'the file stays bounded');

    // A toggle by a member with a 16 KiB avatar writes one short line (before: ~147 KiB).
    const before = writtenBytes(server.pid);
    for (let i = 0; i < 50; i++) {
      assertReply(await owner.request('mic-toggle', { accessToken: created.accessToken, state: i % 2 === 0 }, { id: i + 1 }), 'ok');
    }
    const perToggle = (writtenBytes(server.pid) - before) / 50;
    t.diagnostic(`per toggle: ${perToggle.toFixed(0)} B`);
    assert.ok(perToggle <= 8192, `${perToggle.toFixed(0)} B written per toggle`);
  });
});
