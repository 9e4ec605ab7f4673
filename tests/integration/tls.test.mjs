// TLS: ENABLE_HTTPS with a throwaway self-signed certificate; wss and https with verification on (PROTOCOL.md §1, §9).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client, assertBinary, assertLogsClean, assertReply, closeAllClients, createWorkspace, httpRequest, join, makeCert, startServer,
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
