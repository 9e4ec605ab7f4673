// Abuse limits of PROTOCOL.md §10 over real sockets: each limit crossed (with its HTTP status or
// alert, and its metric), a normal call under every default, slowloris clients cut off, and
// 2,000 bad clients on 127.0.0.2–254 while a pair on 127.0.0.1 keeps relaying.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import {
  Client, assertAlert, assertReply, createWorkspace, httpRequest, join, serverFixture, setupWorkspace, sleep,
  startServer, waitUntil, withServer, withTimeout,
} from './harness.mjs';
import { fdCount, rssKib } from '../../bench/server.mjs';

/** The value of a metric sample (`name{labels}` as printed), 0 when absent. */
async function metric(server, sample) {
  const res = await httpRequest(`${server.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  for (const line of res.body.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** Waits (bounded) until the metric sample reads `value`: the Engine's counts reach /metrics within a second. */
async function expectMetric(server, sample, value) {
  let last;
  await waitUntil(async () => (last = await metric(server, sample)) === value, { timeout: 3000, interval: 100, what: () => `${sample} = ${value}` })
    .catch(() => assert.fail(`${sample} is ${last}, expected ${value}`));
}

const refused = (reason) => `workspaces_connections_refused_total{reason="${reason}"}`;

/**
 * Opens a native WebSocket from `localAddress` with `headers`; resolves `{status: 101, ws}` when
 * it opens, or `{status}` with the HTTP status the server answered instead.
 */
function upgrade(url, { localAddress = '127.0.0.1', headers = {}, path } = {}) {
  const target = path ? url.replace(/\/ws$/, path) : url;
  const ws = new WebSocket(target, { localAddress, headers, handshakeTimeout: 5000 });
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ status: 101, ws }));
      ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      ws.once('error', (error) => reject(error));
    }),
    6000,
    `upgrade from ${localAddress}`,
  );
}

/** Sends `count` negotiation messages from `from` to `to` every `intervalMs`; resolves when sent. */
async function relay(from, to, count, intervalMs) {
  for (let i = 0; i < count; i++) {
    from.client.send('negotiation', { accessToken: from.token, attendee: { id: to.id }, message: { seq: i, pad: 'x'.repeat(200) } });
    if (intervalMs) await sleep(intervalMs);
  }
}

/** Resolves the `seq` of every negotiation `member` receives until `count` have come, in order. */
async function receiveAll(member, count, timeout) {
  const seen = [];
  while (seen.length < count) {
    const frame = await member.client.next('negotiation', { timeout });
    seen.push(frame.data.message.seq);
  }
  return seen;
}

describe('connection limits', () => {
  test('max_connections: held by members, the next upgrade gets 503 until a connection ends', async (t) => {
    const server = await withServer(t, { config: { max_connections: 3 } });
    // Bound members are never evicted (docs/protocol.md §11): only they make the server full.
    const members = [];
    for (let i = 0; i < 3; i++) {
      const client = await Client.connect(server.url);
      await createWorkspace(client);
      members.push(client);
    }
    const over = await upgrade(server.url, { localAddress: '127.0.0.9' });
    assert.equal(over.status, 503);
    assert.match(over.body, /max_connections/);
    await expectMetric(server, refused('max_connections'), 1);
    members[0].close();
    await waitUntil(async () => (await upgrade(server.url)).status === 101, { what: 'a place freed by a close' });
  });

  test('max_connections: a connection that is not a member makes room for a newcomer, the oldest first', async (t) => {
    const server = await withServer(t, { config: { max_connections: 3 } });
    const idle = [];
    for (let i = 0; i < 3; i++) idle.push(await upgrade(server.url));
    const closed = idle.map((o) => new Promise((resolve) => o.ws.once('close', () => resolve(true))));
    const newcomer = await upgrade(server.url, { localAddress: '127.0.0.9' });
    assert.equal(newcomer.status, 101);
    assert.equal(await withTimeout(closed[0], 2000, 'the oldest to be evicted'), true);
    assert.ok(idle[1].ws.readyState === WebSocket.OPEN && idle[2].ws.readyState === WebSocket.OPEN);
    // Every new connection at the limit evicts (the /metrics requests below too).
    await waitUntil(async () => (await metric(server, 'workspaces_connections_evicted_total')) >= 1, { timeout: 3000, what: 'the eviction in /metrics' });
    for (const o of [...idle, newcomer]) o.ws.terminate();
  });

  test('max_connections_per_ip: 429 for the address over it, others unaffected', async (t) => {
    const server = await withServer(t, { config: { max_connections_per_ip: 3 } });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await upgrade(server.url, { localAddress: '127.0.0.2' }));
    const over = await upgrade(server.url, { localAddress: '127.0.0.2' });
    assert.equal(over.status, 429);
    assert.match(over.body, /max_connections_per_ip/);
    const other = await upgrade(server.url, { localAddress: '127.0.0.3' });
    assert.equal(other.status, 101);
    await expectMetric(server, refused('max_connections_per_ip'), 1);
    for (const o of [...open, other]) o.ws.terminate();
  });

  test('new_connections_per_ip_per_second and _burst: 429 beyond the burst, a token back after 1/rate', async (t) => {
    const server = await withServer(t, { config: { new_connections_per_ip_per_second: 2, new_connections_per_ip_burst: 3 } });
    const results = await Promise.all([1, 2, 3, 4].map(() => upgrade(server.url, { localAddress: '127.0.0.4' })));
    assert.deepEqual(results.map((r) => r.status).sort(), [101, 101, 101, 429]);
    assert.match(results.find((r) => r.status === 429).body, /new_connections_per_ip/);
    assert.equal((await upgrade(server.url, { localAddress: '127.0.0.5' })).status, 101, 'another address has its own bucket');
    await sleep(600);
    assert.equal((await upgrade(server.url, { localAddress: '127.0.0.4' })).status, 101, 'a token comes back after 0.5 s');
    await expectMetric(server, refused('new_connections_per_ip'), 1);
    for (const r of results) r.ws?.terminate();
  });

  test('allowed_origins: a listed origin and a request without Origin pass, others get 403 on both endpoints', async (t) => {
    const server = await withServer(t, { config: { allowed_origins: ['https://app.example', 'http://localhost:5173'] } });
    const ok = await upgrade(server.url, { headers: { Origin: 'https://app.example' } });
    assert.equal(ok.status, 101);
    const caseAndSlash = await upgrade(server.url, { headers: { Origin: 'HTTPS://App.Example/' } });
    assert.equal(caseAndSlash.status, 101, 'scheme and host compare without case; a trailing slash is ignored');
    const noOrigin = await upgrade(server.url);
    assert.equal(noOrigin.status, 101, 'a non-browser client sends no Origin');
    const evil = await upgrade(server.url, { headers: { Origin: 'https://evil.example' } });
    assert.equal(evil.status, 403);
    const otherPort = await upgrade(server.url, { headers: { Origin: 'http://localhost:5174' } });
    assert.equal(otherPort.status, 403, 'the port is part of the origin');
    const sio = await upgrade(server.url, { path: '/socket.io/?EIO=4&transport=websocket', headers: { Origin: 'https://evil.example' } });
    assert.equal(sio.status, 403);
    await expectMetric(server, refused('origin'), 3);
    // A normal client from an allowed origin still works end to end.
    const client = new Client(ok.ws);
    await createWorkspace(client);
    for (const o of [caseAndSlash, noOrigin]) o.ws.terminate();
  });
});

describe('message limits', () => {
  test('messages_per_second and _burst: rate_limited with retryAfter beyond the burst, other connections unaffected', async (t) => {
    const server = await withServer(t, { config: { messages_per_second: 5, messages_burst: 10 } });
    const { owner } = await setupWorkspace(server.url, { guests: 0 });
    const other = await Client.connect(server.url);
    // 15 requests at once: the create took one token, so 9 pass and 6 are refused.
    const replies = await Promise.all(
      Array.from({ length: 15 }, () => owner.client.request('attendees', { accessToken: owner.token })),
    );
    const limited = replies.filter((r) => r.event === 'alert');
    assert.equal(limited.length, 6, `6 of 15 refused: ${replies.map((r) => r.event)}`);
    for (const alert of limited) {
      assertAlert(alert, { code: 'rate_limited', event: 'attendees' });
      assert.ok(alert.data.retryAfter >= 1, 'retryAfter is whole seconds, at least 1');
    }
    await createWorkspace(other);
    await sleep(1100);
    assertReply(await owner.client.request('attendees', { accessToken: owner.token }), 'attendees');
    await expectMetric(server, 'workspaces_messages_rate_limited_total', 6);
  });

  test('a connection refused for 10 s on end is closed with 1008; one that pauses is not', async (t) => {
    const server = await withServer(t, { config: { messages_per_second: 2, messages_burst: 2 } });
    const flooder = await Client.connect(server.url);
    const pauser = await Client.connect(server.url, { localAddress: '127.0.0.2' });
    const started = Date.now();
    let flooderOpen = true;
    flooder.closed.then(() => (flooderOpen = false));
    // The flooder sends 5 a second for 12 s; the pauser does too, but rests 1.2 s every 4 s.
    for (let tick = 0; tick < 60 && Date.now() - started < 13_000; tick++) {
      if (flooderOpen) flooder.send('attendees', {});
      if (tick % 20 < 14) pauser.send('attendees', {});
      await sleep(200);
    }
    const { code } = await withTimeout(flooder.closed, 2000, 'the flooder to be closed');
    assert.equal(code, 1008);
    assert.ok(Date.now() - started >= 10_000, 'not before 10 s of refusals');
    assert.ok(pauser.isOpen, 'a second without refusals ends the run');
    await expectMetric(server, 'workspaces_rate_limit_closes_total', 1);
  });

  test('workspaces_per_ip_per_hour: rate_limited with the wait until the oldest create leaves the hour', async (t) => {
    const server = await withServer(t, { config: { workspaces_per_ip_per_hour: 2 } });
    for (let i = 0; i < 2; i++) await createWorkspace(await Client.connect(server.url, { localAddress: '127.0.0.6' }));
    const third = await Client.connect(server.url, { localAddress: '127.0.0.6' });
    const alert = await third.request('create', { workspace: { name: 'Third' } });
    assertAlert(alert, { code: 'rate_limited', event: 'create' });
    assert.ok(alert.data.retryAfter > 3590 && alert.data.retryAfter <= 3600, `retryAfter ${alert.data.retryAfter}`);
    await createWorkspace(await Client.connect(server.url, { localAddress: '127.0.0.7' }));
    await expectMetric(server, 'workspaces_creates_rate_limited_total', 1);
  });
});

describe('under the defaults', () => {
  // Only the file's fixture overrides below apply: every §10 limit at its default.
  const fixture = serverFixture({
    config: {
      max_connections: 50000, max_connections_per_ip: 200, new_connections_per_ip_per_second: 50,
      new_connections_per_ip_burst: 100, messages_per_second: 100, messages_burst: 300, workspaces_per_ip_per_hour: 60,
      max_capacity_of_workspace: 5,
    },
  });

  test('a full workspace in a call (10 KiB offers, answers, 40 candidates per pair at once) meets no limit, bytes included', async () => {
    const { owner, guests } = await setupWorkspace(fixture.url, { guests: 4 });
    const members = [owner, ...guests];
    const expected = new Map(members.map((m) => [m.id, 0]));
    // Every member negotiates with every other at the same moment: 1 offer or answer and 40
    // candidates per pair, as a browser trickles them.
    for (const from of members) {
      for (const to of members) {
        if (from === to) continue;
        // A real offer with several media sections and codecs: 10 KiB.
        from.client.send('negotiation', { accessToken: from.token, attendee: { id: to.id }, message: { type: 'offer', sdp: 'a=rtpmap:96 VP8/90000\r\n'.repeat(445) } });
        for (let c = 0; c < 40; c++) {
          from.client.send('icecandidate', { accessToken: from.token, attendee: { id: to.id }, candidate: { candidate: `candidate:${c} 1 udp 2122260223 192.0.2.1 ${50000 + c} typ host`, sdpMid: '0' } });
        }
        expected.set(to.id, expected.get(to.id) + 41);
      }
    }
    for (const m of members) {
      let got = 0;
      while (got < expected.get(m.id)) {
        const frame = await m.client.next('*', { timeout: 5000 });
        assert.notEqual(frame.event, 'alert', `no alert: ${JSON.stringify(frame.data)}`);
        if (frame.event === 'negotiation' || frame.event === 'icecandidate') got++;
      }
    }
    for (const reason of ['max_connections', 'max_connections_per_ip', 'new_connections_per_ip', 'origin']) {
      await expectMetric(fixture.server, refused(reason), 0);
    }
    await expectMetric(fixture.server, 'workspaces_messages_rate_limited_total', 0);
    await expectMetric(fixture.server, 'workspaces_bytes_rate_limited_total', 0);
  });
});

describe('slow and bad clients', () => {
  test('slowloris clients trickling a byte a second are cut at handshake_timeout_ms; a pair keeps relaying', async (t) => {
    const server = await withServer(t, { config: { handshake_timeout_ms: 2000 } });
    const { owner, guests: [guest] } = await setupWorkspace(server.url, { guests: 1 });
    const request = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
    const started = Date.now();
    const loris = Array.from({ length: 20 }, (_, i) => new Promise((resolve) => {
      const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress: `127.0.0.${10 + i}` });
      let sent = 0;
      const timer = setInterval(() => socket.write(request[sent++ % request.length]), 1000);
      socket.resume();
      socket.on('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      });
      socket.on('error', () => {});
    }));
    const relayed = receiveAll(guest, 100, 5000);
    await relay(owner, guest, 100, 30);
    assert.deepEqual(await relayed, Array.from({ length: 100 }, (_, i) => i));
    const closedAfter = await withTimeout(Promise.all(loris), 8000, 'the slowloris sockets to be closed');
    for (const ms of closedAfter) assert.ok(ms >= 1800 && ms < 4500, `cut after ${ms} ms`);
    await expectMetric(server, 'workspaces_handshake_timeouts_total', 20);
  });

  test('2,000 bad clients on 127.0.0.2–254 do not cost a relaying pair one message', async (t) => {
    const server = await withServer(t, { config: { handshake_timeout_ms: 3000 } });
    const { owner, guests: [guest] } = await setupWorkspace(server.url, { guests: 1 });
    const kinds = ['garbage', 'huge', 'badtoken', 'slow', 'unmasked'];
    const outcomes = new Map(kinds.map((k) => [k, 0]));
    const bad = (i) => new Promise((resolve) => {
      const kind = kinds[i % kinds.length];
      const localAddress = `127.0.0.${2 + (i % 253)}`;
      const done = () => {
        outcomes.set(kind, outcomes.get(kind) + 1);
        resolve();
      };
      if (kind === 'garbage' || kind === 'slow' || kind === 'unmasked') {
        const socket = net.connect({ port: server.port, host: '127.0.0.1', localAddress });
        socket.on('error', () => {});
        socket.resume(); // read (and drop) the answers, so the server's close is seen
        socket.on('close', done);
        socket.on('connect', () => {
          if (kind === 'garbage') socket.write(Buffer.from(Array.from({ length: 512 }, (_, k) => (k * 7919 + i) % 256)));
          if (kind === 'slow') socket.write('GET /ws HTTP/1.1\r\nHost: x\r\n');
          if (kind === 'unmasked') {
            socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
            socket.write(Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])); // an unmasked "hello"
          }
        });
        return;
      }
      const ws = new WebSocket(server.url, { localAddress, handshakeTimeout: 10_000 });
      ws.on('error', () => {});
      ws.on('close', done);
      ws.on('open', () => {
        if (kind === 'huge') ws.send('x'.repeat(200 * 1024));
        if (kind === 'badtoken') {
          for (let k = 0; k < 25; k++) ws.send(JSON.stringify({ event: 're-attend', data: { accessToken: `bad.${i}.${k}` } }));
          setTimeout(() => ws.close(), 500);
        }
      });
    });
    const attackers = Array.from({ length: 2000 }, (_, i) => bad(i));
    const relayed = receiveAll(guest, 500, 10_000);
    await relay(owner, guest, 500, 20);
    assert.deepEqual(await relayed, Array.from({ length: 500 }, (_, i) => i), 'every message, in order');
    await withTimeout(Promise.all(attackers), 20_000, () => `every bad client to be closed (closed: ${JSON.stringify([...outcomes])})`);
    assert.deepEqual([...outcomes.values()], kinds.map(() => 400));
    // The pair is still there and the server still serves.
    assertReply(await owner.client.request('attendees', { accessToken: owner.token }), 'attendees');
    await join(server.url, (await createWorkspace(await Client.connect(server.url))).workspace.token);
    await expectMetric(server, refused('max_connections_per_ip'), 0);
  });
});

// ---------------------------------------------------------------- issue 16: every frame counts

/** A client frame (FIN set unless `fin` false), masked as RFC 6455 requires. */
function maskedFrame(opcode, payload = Buffer.alloc(0), { fin = true } = {}) {
  const body = Buffer.from(payload);
  const len = body.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
    : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  for (let i = 0; i < len; i++) body[i] ^= key[i % 4];
  return Buffer.concat([head, key, body]);
}

/** A raw TCP socket past the WebSocket upgrade of `path`; resolves once the 101 has come. */
function rawUpgrade(port, path = '/ws', localAddress = '127.0.0.1') {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    socket.on('error', reject);
    let head = '';
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
      else resolve(socket);
    };
    socket.on('data', onData);
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
      + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
  }), 5000, `the upgrade of ${path}`);
}

describe('every frame counts (issue 16)', () => {
  for (const path of ['/ws', '/socket.io/?EIO=4&transport=websocket']) {
    test(`a socket that sends 125-byte pings and never reads is dropped at max_queue_bytes, RSS bounded (${path})`, async (t) => {
      const server = await withServer(t, {});
      await sleep(300);
      const base = rssKib(server.pid);
      const socket = await rawUpgrade(server.port, path);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      const batch = Buffer.concat(Array.from({ length: 512 }, () => maskedFrame(0x9, Buffer.alloc(125, 0x70))));
      const started = Date.now();
      let peak = base;
      let sent = 0;
      const dropped = () => /slow reader/.test(server.logs());
      // Stops at the drop, after 8 s, or (the old server) before the machine runs out of memory.
      while (!dropped() && !socket.destroyed && Date.now() - started < 8000 && peak - base < 512 * 1024) {
        if (socket.write(batch)) sent += batch.length;
        else await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(20)]);
        peak = Math.max(peak, rssKib(server.pid) ?? 0);
        if (sent % (batch.length * 64) === 0) await sleep(0);
      }
      const growthMiB = (peak - base) / 1024;
      t.diagnostic(`${path}: ${(sent / 2 ** 20).toFixed(1)} MiB of pings in ${Date.now() - started} ms; RSS ${base} KiB -> peak ${peak} KiB (+${growthMiB.toFixed(1)} MiB)`);
      socket.destroy();
      await waitUntil(async () => dropped(), { timeout: 2000, what: 'the server to drop the slow reader' });
      // max_queue_bytes is 1 MiB: the queue, the read buffers and the allocator's slack stay far under 32 MiB.
      // Under a sanitizer RSS says nothing (ASan's quarantine keeps freed memory): the drop is the check.
      if (!process.env.WS_SANITIZE) assert.ok(growthMiB < 32, `RSS grew by ${growthMiB.toFixed(1)} MiB`);
    });
  }

  test('floods of pings, of pongs and of empty continuation frames get rate_limited, then close 1008 after 10 s', async (t) => {
    const server = await withServer(t, { config: { messages_per_second: 20, messages_burst: 20 } });
    const kinds = ['ping', 'pong', 'continuation'];
    const started = Date.now();
    const flood = async (kind) => {
      const ws = new WebSocket(server.url);
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
      let alerts = 0;
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.event === 'alert' && frame.data.code === 'rate_limited') {
          assert.ok(frame.data.retryAfter >= 1);
          alerts++;
        }
      });
      const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
      let open = true;
      closed.then(() => (open = false));
      if (kind === 'continuation') ws.send('', { fin: false }); // opens the message; it never ends
      while (open && Date.now() - started < 14_000) {
        for (let i = 0; i < 10 && open; i++) {
          if (kind === 'ping') ws.ping(Buffer.alloc(125));
          if (kind === 'pong') ws.pong(Buffer.alloc(125));
          if (kind === 'continuation') ws.send('', { fin: false });
        }
        await sleep(20); // 500 frames a second against 20 allowed
      }
      const code = await withTimeout(closed, 2000, `the ${kind} flooder to be closed`);
      return { kind, code, alerts, after: Date.now() - started };
    };
    const outcomes = await Promise.all(kinds.map(flood));
    t.diagnostic(JSON.stringify(outcomes));
    for (const o of outcomes) {
      assert.equal(o.code, 1008, `${o.kind}: closed 1008`);
      assert.ok(o.alerts >= 1, `${o.kind}: rate_limited alerts`);
      assert.ok(o.after >= 10_000, `${o.kind}: not before 10 s of refusals (${o.after} ms)`);
    }
    await expectMetric(server, 'workspaces_rate_limit_closes_total', 3);
  });

  test('bytes_per_second and bytes_burst: large frames beyond the byte budget get rate_limited', async (t) => {
    // A refill of 1 byte a second: what fits is the burst alone, however slowly the server runs
    // (a sanitizer build), so the count is exact.
    const server = await withServer(t, { config: { bytes_per_second: 1, bytes_burst: 100000 } });
    const { owner } = await setupWorkspace(server.url, { guests: 0 });
    // Ten 30 KB requests at once: three fit the 100 KB burst (with what set-up spent), the
    // other seven are refused; the message rate is far off.
    const pad = 'x'.repeat(30_000);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => owner.client.request('attendees', { accessToken: owner.token, pad })),
    );
    const limited = replies.filter((r) => r.event === 'alert' && r.data.code === 'rate_limited');
    t.diagnostic(`${limited.length} of 10 refused: ${replies.map((r) => r.data.code ?? r.event)}`);
    assert.equal(limited.length, 7, `${limited.length} of 10 refused`);
    for (const alert of limited) assert.ok(alert.data.retryAfter >= 1);
    await waitUntil(async () => (await metric(server, 'workspaces_bytes_rate_limited_total')) >= 7, { timeout: 3000, what: 'the byte refusals in /metrics' });
  });
});

// ---------------------------------------------------------------- issue 16: descriptors

describe('descriptors (issue 16)', () => {
  test('with RLIMIT_NOFILE 400 and no max_connections, an idle flood that holds every descriptor cannot lock a newcomer out', async (t) => {
    const server = await withServer(t, { nofile: 400, config: { handshake_timeout_ms: 5000 } });
    // Members bound before the flood: never evicted.
    const { owner, guests: [guest] } = await setupWorkspace(server.url, { guests: 1 });
    let stop = false;
    let opened = 0;
    let closedCount = 0;
    const sockets = new Set();
    // 39 addresses x 10 idle WebSockets (within the per-address limits), each reconnecting 100 ms
    // after it is closed: more than the process can hold.
    const hold = (localAddress) => {
      if (stop) return;
      const ws = new WebSocket(server.url, { localAddress, handshakeTimeout: 5000 });
      sockets.add(ws);
      ws.on('open', () => opened++);
      ws.on('error', () => {});
      ws.on('close', () => {
        closedCount++;
        sockets.delete(ws);
        setTimeout(() => hold(localAddress), 100);
      });
    };
    for (let a = 2; a <= 40; a++) for (let k = 0; k < 10; k++) hold(`127.0.0.${a}`);
    t.after(() => {
      stop = true;
      for (const ws of sockets) ws.terminate();
    });
    await waitUntil(async () => opened >= 340, { timeout: 15_000, what: () => `the flood to hold the server (${opened} opened)` })
      .catch(() => {});
    await sleep(1000);
    const fds = fdCount(server.pid);
    t.diagnostic(`flood: ${opened} opened, ${closedCount} closed, server holds ${fds} descriptors`);

    const t0 = Date.now();
    const newcomer = await Client.connect(server.url, { localAddress: '127.0.0.99', timeout: 2000 });
    await createWorkspace(newcomer); // asserts `created`
    const ms = Date.now() - t0;
    t.diagnostic(`the newcomer attended in ${ms} ms`);
    assert.ok(ms < 2000, `attended within 2 s (${ms} ms)`);
    const health = await httpRequest(`${server.httpUrl}/healthz`, { timeout: 2000 });
    assert.equal(health.status, 200);
    // The bound pair still relays.
    const relayed = receiveAll(guest, 20, 5000);
    await relay(owner, guest, 20, 10);
    assert.deepEqual(await relayed, Array.from({ length: 20 }, (_, i) => i));
    assert.ok(owner.client.isOpen && guest.client.isOpen);
    await waitUntil(async () => (await metric(server, 'workspaces_connections_evicted_total')) >= 1, { timeout: 3000, what: 'evictions in /metrics' });
    stop = true;
  });
});
