// A real coturn (Debian package `coturn`) on a free loopback port with TURN REST
// (`use-auth-secret`), started and stopped by PID; and coturn's own `turnutils_uclient`.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { withTimeout } from './harness.mjs';

export const TURNSERVER = '/usr/bin/turnserver';
export const UCLIENT = '/usr/bin/turnutils_uclient';

/** A port free for both TCP and UDP on 127.0.0.1 right now. */
async function freePort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port: p } = s.address();
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free TCP+UDP port on 127.0.0.1');
}

/** Resolves true once a STUN Binding request to 127.0.0.1:port gets an answer. */
function stunAnswers(port, ms = 300) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const done = (ok) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('message', (msg) => done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101));
    socket.on('error', () => done(false));
    socket.send(request, port, '127.0.0.1');
  });
}

/**
 * Starts `turnserver` with `use-auth-secret`. Resolves `{port, secret, realm, pid, logs(),
 * stop()}` once it answers STUN; rejects (after killing it) if it does not within 10 s.
 */
export async function startCoturn({ secret = randomBytes(16).toString('hex'), realm = 'workspaces.test' } = {}) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'workspaces-coturn-'));
  const port = await freePort();
  const minPort = randomInt(20000, 60000);
  const logFile = path.join(dir, 'turn.log');
  const conf = [
    'listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', `listening-port=${port}`,
    `min-port=${minPort}`, `max-port=${minPort + 200}`,
    'use-auth-secret', `static-auth-secret=${secret}`, `realm=${realm}`,
    'allow-loopback-peers', 'no-multicast-peers', 'no-cli', 'no-tls', 'no-dtls',
    `log-file=${logFile}`, 'simple-log', `pidfile=${path.join(dir, 'turnserver.pid')}`,
  ].join('\n');
  await fsp.writeFile(path.join(dir, 'turnserver.conf'), `${conf}\n`, { mode: 0o600 });
  const proc = spawn(TURNSERVER, ['-c', path.join(dir, 'turnserver.conf')], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const logs = async () => fsp.readFile(logFile, 'utf8').catch(() => '(no coturn log)');
  const stop = async () => {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await withTimeout(exited, 5000, `coturn pid ${proc.pid} to exit`);
    await fsp.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const text = await logs();
      await stop();
      throw new Error(`coturn did not answer STUN on 127.0.0.1:${port}; log:\n${text}`);
    }
  }
  return { port, secret, realm, pid: proc.pid, logs, stop };
}

/**
 * Runs `turnutils_uclient` against 127.0.0.1:port with a username and credential: it
 * allocates a relay and sends a message through it. Resolves `{ok, code, output}`.
 */
export function uclient(port, username, credential) {
  return new Promise((resolve) => {
    execFile(UCLIENT, ['-p', String(port), '-u', username, '-w', credential, '-n', '1', '-m', '1', '-y', '-c', '127.0.0.1'],
      { timeout: 30_000 }, (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const code = error ? (error.code ?? error.signal) : 0;
        resolve({ ok: code === 0 && /tot_recv_msgs=\d*[1-9]/.test(output), code, output });
      });
  });
}
