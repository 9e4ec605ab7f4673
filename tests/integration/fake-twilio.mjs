// A local stand-in for Twilio's Tokens.json endpoint: HTTPS on a free loopback port with a
// throwaway certificate. Records every request; its answer is set per test.
import fsp from 'node:fs/promises';
import https from 'node:https';
import { makeCert } from './harness.mjs';

/** A Tokens.json body shaped like Twilio's (legacy `url` next to `urls`, extra fields). */
export function twilioBody({ ttl = '86400', user = 'u-7d1e', credential = 'c-41f0' } = {}) {
  return {
    username: user,
    password: credential,
    account_sid: 'AC-from-the-fake',
    date_created: 'Wed, 25 Nov 2026 12:00:00 +0000',
    date_updated: 'Wed, 25 Nov 2026 12:00:00 +0000',
    ttl,
    ice_servers: [
      { url: 'stun:global.stun.twilio.com:3478', urls: 'stun:global.stun.twilio.com:3478' },
      { url: 'turn:global.turn.twilio.com:3478?transport=udp', urls: 'turn:global.turn.twilio.com:3478?transport=udp', username: user, credential },
      { url: 'turn:global.turn.twilio.com:443?transport=tcp', username: user, credential },
    ],
  };
}

/** What the server must hand out for twilioBody(same options). */
export function mappedServers({ user = 'u-7d1e', credential = 'c-41f0' } = {}) {
  return [
    { urls: 'stun:global.stun.twilio.com:3478' },
    { urls: 'turn:global.turn.twilio.com:3478?transport=udp', username: user, credential },
    { urls: 'turn:global.turn.twilio.com:443?transport=tcp', username: user, credential },
  ];
}

/**
 * Starts the fake. `mode` (settable any time): 'ok' (201 + `body`, after `delayMs`), 'error'
 * (500), 'hang' (never answers), 'garbage' (201 + HTML). Resolves `{base, certFile, requests, mode, body,
 * close()}`; `base` is `https://127.0.0.1:PORT`, `certFile` the certificate to trust.
 */
export async function startFakeTwilio({ mode = 'ok', body = twilioBody(), delayMs = 0 } = {}) {
  const cert = await makeCert();
  const hanging = new Set();
  const fake = { requests: [], mode, body, delayMs, base: '', certFile: cert.cert, close: null };
  const server = https.createServer({ key: await fsp.readFile(cert.key, 'utf8'), cert: cert.pem }, (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      fake.requests.push({ method: req.method, url: req.url, headers: req.headers, body: text });
      if (fake.mode === 'hang') return hanging.add(res);
      if (fake.mode === 'error') {
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ code: 20500, message: 'Internal Server Error', status: 500 }));
      }
      if (fake.mode === 'garbage') {
        res.writeHead(201, { 'content-type': 'text/html' });
        return res.end('<html><body>surprise</body></html>');
      }
      const answer = () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(fake.body));
      };
      if (fake.delayMs > 0) setTimeout(answer, fake.delayMs);
      else answer();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  fake.base = `https://127.0.0.1:${server.address().port}`;
  fake.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await cert.remove();
  };
  return fake;
}
