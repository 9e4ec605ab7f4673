// What the bench scripts share about the server under test: ports, readiness, its secrets, and
// the /proc readings (RSS, open descriptors, CPU time) taken from its PID.
import fs from 'node:fs';
import net from 'node:net';

/** Production-mode secrets for our server in the bench (fixed: nothing here is secret). */
export const BENCH_ENV = Object.freeze({
  MAGICK_TOKEN: 'bench-magick-token-0123456789abcdef0123456789',
  SALT_STRING: 'bench-salt-string-0123456789abcdef0123456789',
  DEVELOPMENT: 'false',
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts on 127.0.0.1:`port`; throws if `child` exits first or after `ms`. */
export async function waitForPort(port, child, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

/** Resident set size of process `pid` in KiB (VmRSS), or null when it is gone. */
export function rssKib(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Open file descriptors of process `pid`, or null when it is gone. */
export function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** User + system CPU seconds used so far by process `pid` (its threads included), or null. */
export function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
