// ICE servers (PROTOCOL.md §6): provider order per mode, the token requirement, Twilio against a
// local fake Tokens.json over verified HTTPS, and TURN REST credentials proven against a real
// coturn with coturn's own turnutils_uclient. Native framing only (transport-agnostic).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startCoturn, uclient } from './coturn.mjs';
import { mappedServers, startFakeTwilio, twilioBody } from './fake-twilio.mjs';
import {
  Client, assertAlert, assertLogsClean, assertReply, closeAllClients, createOwner, httpRequest, sleep,
  startServer, waitUntil, withServer,
} from './harness.mjs';

const GOOGLE = [{ urls: [0, 1, 2, 3, 4].map((n) => `stun:stun${n || ''}.l.google.com:19302`) }];
const STATIC = [{ urls: 'stun:static.example.test:3478' }, { urls: ['turn:static.example.test:3478'], username: 'u', credential: 'c' }];
const SID = 'AC0f3c5b1e9d7a2468ace0f3c5b1e9d7a2';
const AUTH_TOKEN = 'twilio-auth-token-5e1d9c3b7a';
const BASIC = `Basic ${Buffer.from(`${SID}:${AUTH_TOKEN}`).toString('base64')}`;
const TURN_SECRET = 'turn-shared-secret-8c2f4a';
const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';

/** Env for Twilio against `fake`; `trusted`: whether the server trusts the fake's certificate. */
function twilioEnv(fake, { trusted = true } = {}) {
  return {
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE: fake.base,
    LOG_LEVEL: 'debug',
    ...(trusted ? { SSL_CERT_FILE: fake.certFile } : {}),
  };
}

const TURN_CONFIG = { turn_urls: [TURN_URL] };
const TURN_ENV = { TURN_SECRET };

async function iceservers(member) {
  return assertReply(await member.request('iceservers'), 'iceservers');
}

/** Asserts `servers` is the TURN REST answer for `member` (no stun_urls configured). */
function assertTurnRest(servers, member) {
  assert.equal(servers.length, 1, JSON.stringify(servers));
  assert.deepStrictEqual(servers[0].urls, [TURN_URL]);
  assert.match(servers[0].username, new RegExp(`^\\d+:${member.id}$`));
}

/** Neither the Twilio auth token, the SID nor the Basic header appears in the server's output. */
function assertNoTwilioSecrets(server) {
  const logs = server.logs();
  for (const [what, value] of [['auth token', AUTH_TOKEN], ['account SID', SID], ['Basic header', BASIC.slice(6)]]) {
    assert.ok(!logs.includes(value), `server logs contain the Twilio ${what}`);
  }
  assertLogsClean(server);
}

async function metrics(server) {
  const res = await httpRequest(`${server.httpUrl}/metrics`);
  assert.equal(res.status, 200);
  return res.body;
}

function metricValue(text, sample) {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('provider order and token requirement (PROTOCOL.md §6)', () => {
  let fake;
  before(async () => {
    fake = await startFakeTwilio({ mode: 'error' });
  });
  after(async () => {
    await closeAllClients();
    await fake?.close();
  });

  test('development mode: Google STUN for anyone, even with Twilio and TURN configured', async (t) => {
    const requestsBefore = fake.requests.length;
    const server = await withServer(t, {
      env: { DEVELOPMENT: 'true', ...twilioEnv(fake), ...TURN_ENV },
      config: { ...TURN_CONFIG, ice_servers: STATIC },
    });
    const stranger = await Client.connect(server.url);
    assert.deepStrictEqual(assertReply(await stranger.request('iceservers', {}), 'iceservers'), GOOGLE);
    const owner = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(owner), GOOGLE);
    assert.equal(fake.requests.length, requestsBefore, 'development mode never calls Twilio');
  });

  test('production, nothing configured: strangers get token_missing, members Google STUN, startup warns', async (t) => {
    const server = await withServer(t, {});
    const stranger = await Client.connect(server.url);
    assertAlert(await stranger.request('iceservers', {}), { code: 'token_missing', event: 'iceservers' });
    const owner = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(owner), GOOGLE);
    assert.match(server.logs(), /no ICE configuration/);
  });

  test('production, a static ice_servers list: handed out as configured, members only', async (t) => {
    const server = await withServer(t, { config: { ice_servers: STATIC } });
    const stranger = await Client.connect(server.url);
    assertAlert(await stranger.request('iceservers', {}), { code: 'token_missing', event: 'iceservers' });
    const owner = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(owner), STATIC);
    assert.doesNotMatch(server.logs(), /no ICE configuration/);
  });

  test('production, TURN REST comes before the static list', async (t) => {
    const server = await withServer(t, { env: TURN_ENV, config: { ...TURN_CONFIG, ice_servers: STATIC } });
    const owner = await createOwner(server.url);
    assertTurnRest(await iceservers(owner), owner);
    const stranger = await Client.connect(server.url);
    assertAlert(await stranger.request('iceservers', {}), { code: 'token_missing', event: 'iceservers' });
  });

  test('production, Twilio first; when it fails: TURN REST, else the static list, else Google STUN', async (t) => {
    const cases = [
      { name: 'twilio > turn-rest', env: TURN_ENV, config: { ...TURN_CONFIG, ice_servers: STATIC }, check: assertTurnRest },
      { name: 'twilio > static', env: {}, config: { ice_servers: STATIC }, check: (s) => assert.deepStrictEqual(s, STATIC) },
      { name: 'twilio > google-stun', env: {}, config: {}, check: (s) => assert.deepStrictEqual(s, GOOGLE) },
    ];
    for (const c of cases) {
      const before = fake.requests.length;
      const server = await withServer(t, { env: { ...twilioEnv(fake), ...c.env }, config: c.config });
      assert.match(server.logs(), new RegExp(`ice: ${c.name}`), `banner names the chain ${c.name}`);
      const owner = await createOwner(server.url);
      c.check(await iceservers(owner), owner);
      assert.equal(fake.requests.length, before + 1, `${c.name}: Twilio was asked first`);
      assertNoTwilioSecrets(server);
      await server.kill();
    }
  });
});

describe('Twilio Network Traversal Service (local fake over HTTPS)', () => {
  const fakes = [];
  async function fakeTwilio(options) {
    const fake = await startFakeTwilio(options);
    fakes.push(fake);
    return fake;
  }
  after(async () => {
    await closeAllClients();
    await Promise.all(fakes.map((f) => f.close()));
  });

  test('POSTs Tokens.json with basic auth, maps ice_servers, and caches the answer', async (t) => {
    const fake = await fakeTwilio();
    const server = await withServer(t, { env: { ...twilioEnv(fake), ...TURN_ENV }, config: TURN_CONFIG });
    const owner = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(owner), mappedServers());
    assert.equal(fake.requests.length, 1);
    const [req] = fake.requests;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, `/2010-04-01/Accounts/${SID}/Tokens.json`);
    assert.equal(req.headers.authorization, BASIC);
    assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');

    const guest = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(guest), mappedServers());
    assert.deepStrictEqual(await iceservers(owner), mappedServers());
    assert.equal(fake.requests.length, 1, 'answers inside ttl/2 come from the cache');

    const text = await metrics(server);
    assert.equal(metricValue(text, 'workspaces_ice_requests_total{provider="twilio"}'), 3);
    assert.equal(metricValue(text, 'workspaces_ice_twilio_fetch_seconds_count'), 1);
    assert.equal(metricValue(text, 'workspaces_ice_twilio_fetch_failures_total'), 0);
    assertNoTwilioSecrets(server);
  });

  test('fetches again once half the ttl has passed (ttl given as a number)', async (t) => {
    const fake = await fakeTwilio({ body: twilioBody({ ttl: 2, credential: 'first' }) });
    const server = await withServer(t, { env: twilioEnv(fake) });
    const owner = await createOwner(server.url);
    assert.deepStrictEqual(await iceservers(owner), mappedServers({ credential: 'first' }));
    fake.body = twilioBody({ ttl: '2', credential: 'second' });
    assert.deepStrictEqual(await iceservers(owner), mappedServers({ credential: 'first' }), 'still cached');
    await sleep(1100);
    assert.deepStrictEqual(await iceservers(owner), mappedServers({ credential: 'second' }));
    assert.equal(fake.requests.length, 2);
  });

  test('concurrent requests share one fetch', async (t) => {
    const fake = await fakeTwilio({ delayMs: 400 });
    const server = await withServer(t, { env: twilioEnv(fake) });
    const members = await Promise.all([1, 2, 3, 4, 5].map(() => createOwner(server.url)));
    const answers = await Promise.all(members.map(iceservers));
    for (const a of answers) assert.deepStrictEqual(a, mappedServers());
    assert.equal(fake.requests.length, 1);
  });

  const failures = [
    { name: 'answers 500', mode: 'error', reason: /reason="?HTTP 500 \(Twilio error 20500\)/ },
    { name: 'does not answer within twilio_timeout_ms', mode: 'hang', reason: /timed out after 400 ms/ },
    { name: 'answers garbage', mode: 'garbage', reason: /malformed Tokens\.json: not JSON/ },
    { name: 'presents a certificate the server does not trust', mode: 'ok', untrusted: true, reason: /certificate verify failed/ },
  ];
  for (const f of failures) {
    test(`falls back to the next provider when Twilio ${f.name}, warning once per failure streak`, async (t) => {
      const fake = await fakeTwilio({ mode: f.mode });
      const server = await withServer(t, {
        env: { ...twilioEnv(fake, { trusted: !f.untrusted }), ...TURN_ENV },
        config: { ...TURN_CONFIG, twilio_timeout_ms: 400 },
      });
      const owner = await createOwner(server.url);
      for (let i = 0; i < 3; i++) assertTurnRest(await iceservers(owner), owner);
      if (!f.untrusted) assert.equal(fake.requests.length, 3, 'a failure is not cached');
      const warnings = server.logs().split('\n').filter((l) => l.includes('ice.twilio_failed'));
      assert.equal(warnings.length, 1, `one warning per streak:\n${warnings.join('\n')}`);
      assert.match(warnings[0], f.reason);
      const text = await metrics(server);
      assert.equal(metricValue(text, 'workspaces_ice_failures_total{provider="twilio"}'), 3);
      assert.equal(metricValue(text, 'workspaces_ice_requests_total{provider="turn-rest"}'), 3);
      assert.equal(metricValue(text, 'workspaces_ice_twilio_fetch_failures_total'), 3);
      assertNoTwilioSecrets(server);
    });
  }

  test('recovers when Twilio comes back, and says so once', async (t) => {
    const fake = await fakeTwilio({ mode: 'error' });
    const server = await withServer(t, { env: { ...twilioEnv(fake), ...TURN_ENV }, config: TURN_CONFIG });
    const owner = await createOwner(server.url);
    assertTurnRest(await iceservers(owner), owner);
    fake.mode = 'ok';
    assert.deepStrictEqual(await iceservers(owner), mappedServers());
    await waitUntil(() => server.logs().includes('ice.twilio_recovered'), { what: 'the recovery line' });
    assert.match(server.logs(), /ice\.twilio_recovered failures=1/);
    assertNoTwilioSecrets(server);
  });
});

describe('TURN REST credentials against a real coturn', () => {
  let coturn;
  let server;
  before(async () => {
    coturn = await startCoturn();
    server = await startServerFor(coturn);
  });
  after(async () => {
    await closeAllClients();
    await server?.kill();
    await coturn?.stop();
  });

  async function startServerFor(turn) {
    return startServer({
      env: { TURN_SECRET: turn.secret },
      config: {
        turn_urls: [`turn:127.0.0.1:${turn.port}?transport=udp`, `turn:127.0.0.1:${turn.port}?transport=tcp`],
        stun_urls: [`stun:127.0.0.1:${turn.port}`],
        turn_ttl_seconds: 600,
      },
    });
  }

  async function credentials(member) {
    const servers = await iceservers(member);
    assert.deepStrictEqual(servers[0], { urls: [`stun:127.0.0.1:${coturn.port}`] });
    const turn = servers[1];
    assert.deepStrictEqual(turn.urls, [`turn:127.0.0.1:${coturn.port}?transport=udp`, `turn:127.0.0.1:${coturn.port}?transport=tcp`]);
    return turn;
  }

  test('username is <expiry>:<attendee id>, credential base64(HMAC-SHA1(secret, username))', async () => {
    const owner = await createOwner(server.url);
    const before = Math.floor(Date.now() / 1000);
    const { username, credential } = await credentials(owner);
    const [expiry, id] = username.split(':');
    assert.equal(id, owner.id);
    assert.ok(Number(expiry) >= before + 600 - 1 && Number(expiry) <= Math.ceil(Date.now() / 1000) + 600 + 1,
      `expiry ${expiry} is now + turn_ttl_seconds`);
    assert.equal(credential, createHmac('sha1', coturn.secret).update(username).digest('base64'));
  });

  test('coturn accepts them: turnutils_uclient allocates a relay and gets its message back', async () => {
    const owner = await createOwner(server.url);
    const { username, credential } = await credentials(owner);
    const run = await uclient(coturn.port, username, credential);
    assert.ok(run.ok, `turnutils_uclient failed (exit ${run.code}):\n${run.output}\ncoturn log:\n${await coturn.logs()}`);
  });

  test('coturn refuses a tampered credential and a credential moved to another username', async () => {
    const owner = await createOwner(server.url);
    const guest = await createOwner(server.url);
    const mine = await credentials(owner);
    const theirs = await credentials(guest);
    const flipped = `${mine.credential[0] === 'A' ? 'B' : 'A'}${mine.credential.slice(1)}`;
    for (const [what, username, credential] of [
      ['tampered credential', mine.username, flipped],
      ["another attendee's username", theirs.username, mine.credential],
    ]) {
      const run = await uclient(coturn.port, username, credential);
      assert.ok(!run.ok && run.code !== 0, `${what} was accepted:\n${run.output}`);
      assert.match(run.output, /Cannot complete Allocation/, what);
    }
  });

  test('each attendee and each request gets its own credential; metrics count them', async () => {
    const a = await createOwner(server.url);
    const b = await createOwner(server.url);
    const ca = await credentials(a);
    const cb = await credentials(b);
    assert.notEqual(ca.username, cb.username);
    assert.notEqual(ca.credential, cb.credential);
    const text = await metrics(server);
    assert.ok(metricValue(text, 'workspaces_ice_requests_total{provider="turn-rest"}') >= 2);
    assert.equal(metricValue(text, 'workspaces_ice_failures_total{provider="turn-rest"}'), undefined);
    assert.ok(!server.logs().includes(coturn.secret), 'the TURN secret is never logged');
    assertLogsClean(server);
  });
});
