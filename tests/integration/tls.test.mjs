// TLS: ENABLE_HTTPS with a throwaway self-signed certificate; wss and https with verification on (PROTOCOL.md §1, §9);
// certificate reload on SIGHUP and on changed files, with connections kept (docs/protocol.md §11).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import tls from 'node:tls';
import {
  Client, assertBinary, assertLogsClean, assertReply, closeAllClients, createOwner, createWorkspace, httpRequest, join, joinMember,
  makeCert, startServer, waitUntil, withTimeout,
} from './harness.mjs';

describe('https', () => {
  let cert;
  let server;
  before(async () => {
    assertBinary();
    cert = await makeCert();
    server = await startServer({ env: { ENABLE_HTTPS: 'true' }, config: { https: { key: cert.key, cert: cert.cert } } });
  });
  after(async () => {
    await closeAllClients();
    await server?.kill();
    await cert?.remove();
  });

  test('announces an https listener', () => {
    assert.equal(server.scheme, 'https');
    assert.match(server.url, /^wss:\/\//);
  });

  test('create and attend over wss with the certificate verified', async () => {
    const client = await Client.connect(server.url, { ca: cert.pem });
    const created = await createWorkspace(client, { attendeeName: 'Owner' });
    const { granted } = await join(server.url, created.workspace.token, { ca: cert.pem, name: 'Guest' });
    assert.equal(granted.workspace.id, created.workspace.id);
    assert.deepStrictEqual((await client.next('attend')).data.id, granted.attendee.id);
    assertReply(await client.request('attendees', { accessToken: created.accessToken }), 'attendees');
  });

  for (const transport of ['eio4', 'eio3']) {
    test(`socket.io-client (${transport}) over wss with the certificate verified`, async () => {
      const owner = await Client.connect(server.url, { ca: cert.pem, transport });
      const created = await createWorkspace(owner);
      const guest = await Client.connect(server.url, { ca: cert.pem, transport: 'native' });
      assertReply(await guest.request('attend', { workspace: { token: created.workspace.token }, attendee: {} }), 'attendance-granted');
      assert.ok((await owner.next('attend')).data.id);
      await assert.rejects(Client.connect(server.url, { transport }), /cannot connect/);
    });
  }

  test('a client that does not trust the certificate cannot connect', async () => {
    await assert.rejects(Client.connect(server.url), /cannot connect/);
    await assert.rejects(httpRequest(`${server.httpUrl}/healthz`), /self[- ]signed|certificate/i);
  });

  test('GET /healthz over https', async () => {
    const res = await httpRequest(`${server.httpUrl}/healthz`, { ca: cert.pem });
    assert.equal(res.status, 200);
    assert.equal(res.body.trim(), 'ok');
  });

  test('server logs leak no secret, token or PIN', () => assertLogsClean(server));
});

describe('certificate reload', () => {
  const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  let certA;
  let certB;
  let live;
  let server;
  before(async () => {
    assertBinary();
    [certA, certB] = await Promise.all([makeCert(), makeCert()]);
  });
  afterEach(async () => {
    await closeAllClients();
    await server?.kill();
    server = null;
    await live?.remove();
    live = null;
  });
  after(async () => {
    await certA?.remove();
    await certB?.remove();
  });

  /** The files the server is given, in a directory of their own (like certbot's live/<name>/). */
  async function liveFiles(cert) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-live-'));
    const files = { dir, key: path.join(dir, 'privkey.pem'), cert: path.join(dir, 'fullchain.pem'), remove: () => fsp.rm(dir, { recursive: true, force: true }) };
    await install(files, cert);
    return files;
  }

  /** Replaces a file the way ACME clients do: write a temporary file, rename it over the old one. */
  async function replace(file, content) {
    await fsp.writeFile(`${file}.tmp`, content);
    await fsp.rename(`${file}.tmp`, file);
  }

  /** Installs `from`'s key, then its certificate (each may be a file path or {content}). */
  async function install(files, from) {
    const read = (src) => (typeof src === 'string' ? fsp.readFile(src) : src.content);
    await replace(files.key, await read(from.key));
    await replace(files.cert, await read(from.cert));
  }

  function startTls(watchMs) {
    return startServer({
      env: { ENABLE_HTTPS: 'true' },
      config: { https: { key: live.key, cert: live.cert }, tls_watch_interval_ms: watchMs },
    });
  }

  const fingerprintOf = (cert) => new X509Certificate(cert.pem).fingerprint256;
  const ca = () => [certA.pem, certB.pem];

  /** The fingerprint of the certificate a new TLS connection gets (trusting both certificates). */
  function servedFingerprint() {
    return withTimeout(new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: ca() }, () => {
        const { fingerprint256 } = socket.getPeerCertificate();
        socket.destroy();
        resolve(fingerprint256);
      });
      socket.once('error', reject);
    }), 5000, 'a TLS handshake');
  }

  const lines = (event) => server.logs().split('\n').filter((line) => line.includes(` ${event}`));

  async function reloadsMetric(result) {
    const res = await httpRequest(`${server.httpUrl}/metrics`, { ca: ca() });
    const match = new RegExp(`^workspaces_tls_reloads_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(res.body);
    assert.ok(match, `no ${result} reload counter in /metrics`);
    return Number(match[1]);
  }

  async function sighup(event, count) {
    process.kill(server.pid, 'SIGHUP');
    await waitUntil(() => lines(event).length >= count, { timeout: 5000, what: `${event} line #${count}` });
  }

  async function relay(from, to) {
    assertReply(await from.request('icecandidate', { attendee: { id: to.id }, candidate: CANDIDATE }), 'ok');
    assert.deepStrictEqual((await to.next('icecandidate')).data.candidate, CANDIDATE);
  }

  test('SIGHUP: open connections keep relaying, new ones get the new certificate', async () => {
    live = await liveFiles(certA);
    server = await startTls(0); // no file watching: only the signal can reload
    const owner = await createOwner(server.url, { ca: ca() });
    const guest = await joinMember(server.url, owner.workspace.token, { ca: ca(), name: 'Guest' });
    await owner.next('attend');
    await relay(guest, owner);
    assert.equal(await servedFingerprint(), fingerprintOf(certA));

    await install(live, certB);
    await sighup('tls.reloaded', 1);
    assert.match(lines('tls.reloaded')[0], new RegExp(`sha256=${fingerprintOf(certB)}`));
    assert.ok(server.running, 'SIGHUP must not stop the server');

    await relay(guest, owner);
    await relay(owner, guest);
    assert.ok(owner.client.isOpen && guest.client.isOpen, 'open connections are kept');
    assert.equal(await servedFingerprint(), fingerprintOf(certB));
    const late = await joinMember(server.url, owner.workspace.token, { ca: [certB.pem], name: 'Late' });
    await owner.next('attend');
    await relay(late, owner);
    assert.equal(await reloadsMetric('ok'), 1);
    assert.equal(await reloadsMetric('failed'), 0);
  });

  test('a bad new certificate on SIGHUP keeps the old one and logs why', async () => {
    live = await liveFiles(certA);
    server = await startTls(0);
    const client = await Client.connect(server.url, { ca: ca() });
    const cases = [
      { name: 'garbage certificate', files: { key: certA.key, cert: { content: 'not a certificate\n' } }, reason: /fullchain\.pem.*no valid PEM certificate/ },
      { name: 'key of another certificate', files: { key: certB.key, cert: certA.cert }, reason: /privkey\.pem.*does not match/ },
    ];
    for (const [i, c] of cases.entries()) {
      await install(live, c.files);
      await sighup('tls.reload_failed', i + 1);
      const line = lines('tls.reload_failed')[i];
      assert.match(line, /\bwarning\b/, c.name);
      assert.match(line, c.reason, c.name);
      assert.match(line, new RegExp(`serving_sha256=${fingerprintOf(certA)}`), c.name);
      assert.ok(server.running, c.name);
      assert.equal(await servedFingerprint(), fingerprintOf(certA), `${c.name}: the old certificate is still served`);
      assertReply(await client.request('attendees'), 'alert');
    }
    assert.equal(lines('tls.reloaded').length, 0);
    assert.equal(await reloadsMetric('failed'), 2);
    const keyBody = (await fsp.readFile(certB.key, 'utf8')).split('\n')[1];
    assert.ok(!server.logs().includes(keyBody), 'no key material in the logs');
  });

  test('files replaced by a rename are loaded without a signal within the watch interval', async () => {
    live = await liveFiles(certA);
    server = await startTls(200);
    const client = await Client.connect(server.url, { ca: ca() });
    assert.equal(await servedFingerprint(), fingerprintOf(certA));
    const start = Date.now();
    await install(live, certB);
    // One interval (200 ms) to notice, 1 s of holding still to load; another second when a check
    // falls between the two renames.
    await waitUntil(async () => (await servedFingerprint()) === fingerprintOf(certB), { timeout: 4000, what: 'the new certificate' });
    assert.ok(Date.now() - start < 4000);
    assert.equal(lines('tls.files_changed').length, 1);
    assert.equal(lines('tls.reloaded').length, 1);
    assert.ok(client.isOpen);
    assertReply(await client.request('attendees'), 'alert');
  });

  test('SIGHUP without TLS does not stop the server and says there is nothing to reload', async () => {
    server = await startServer();
    process.kill(server.pid, 'SIGHUP');
    await waitUntil(() => lines('tls.reload_skipped').length === 1, { timeout: 5000, what: 'tls.reload_skipped' });
    assert.ok(server.running);
    assert.equal((await httpRequest(`${server.httpUrl}/healthz`)).status, 200);
  });
});
