// The benchmark tools build and measure correctly (docs/performance.md): tiny runs of the load
// generator against the real server and the bare relay. Figures are never asserted here, only
// that the tool ran, saw every message arrive, and reports failures as failures.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { SERVER_BIN, serverFixture, waitUntil } from './harness.mjs';

const BIN = path.dirname(SERVER_BIN);
const LOADGEN = path.join(BIN, 'workspaces-loadgen');
const BARE = path.join(BIN, 'bare-relay');
const run = promisify(execFile);

/** Runs the load generator; resolves to {code, result} whatever its exit status. */
async function loadgen(args) {
  try {
    const { stdout } = await run(LOADGEN, args.map(String), { timeout: 60_000 });
    return { code: 0, result: JSON.parse(stdout.trim().split('\n').pop()) };
  } catch (error) {
    if (error.code === undefined || typeof error.code !== 'number') throw error;
    return { code: error.code, result: JSON.parse(String(error.stdout).trim().split('\n').pop()) };
  }
}

// As bench/run.mjs configures our server: no pings (the load generator writes frames to its
// socket itself), and the §10 limits lifted, since every client comes from 127.0.0.1 as fast as
// it can.
const fixture = serverFixture({
  config: {
    max_capacity_of_workspace: 10,
    ping_interval_ms: 3600000,
    max_connections_per_ip: 100000,
    new_connections_per_ip_per_second: 1000000,
    new_connections_per_ip_burst: 1000000,
    messages_per_second: 1000000,
    messages_burst: 1000000,
    bytes_per_second: 2000000000,
    bytes_burst: 2000000000,
  },
});

describe('bench tools', () => {
  test('relay against our server: every message sent is delivered, with the server CPU read', async () => {
    const { code, result } = await loadgen(['--target', 'workspaces', '--port', fixture.server.port, '--scenario', 'relay',
      '--pairs', 2, '--window', 4, '--seconds', 1, '--warmup', 0, '--server-pid', fixture.server.pid]);
    assert.equal(code, 0, JSON.stringify(result));
    assert.equal(result.ok, true);
    assert.equal(result.errors, 0);
    assert.ok(result.delivered > 0);
    assert.equal(result.delivered, result.sent);
    assert.ok(result.msgs_per_s > 0);
    assert.equal(typeof result.server_cpu, 'number');
  });

  test('latency, churn and fan-out against our server', async () => {
    const common = ['--target', 'workspaces', '--port', fixture.server.port, '--seconds', 1, '--warmup', 0, '--server-pid', fixture.server.pid];
    const latency = (await loadgen([...common, '--scenario', 'latency', '--pairs', 2, '--rate', 200])).result;
    assert.equal(latency.ok, true, JSON.stringify(latency));
    assert.equal(latency.lost, 0);
    assert.ok(latency.p50_us > 0 && latency.p50_us <= latency.p99_us && latency.p99_us <= latency.max_us);
    const churn = (await loadgen([...common, '--scenario', 'churn', '--concurrency', 4])).result;
    assert.equal(churn.ok, true, JSON.stringify(churn));
    assert.ok(churn.ops > 0);
    const fanout = (await loadgen([...common, '--scenario', 'fanout', '--members', 4])).result;
    assert.equal(fanout.ok, true, JSON.stringify(fanout));
    assert.ok(fanout.deliveries > 0);
    // Each toggle reaches the 3 other members; the window's edges cut at most one toggle in
    // flight per member.
    assert.ok(Math.abs(fanout.deliveries - 3 * fanout.toggles) <= 3 * 4, JSON.stringify(fanout));
  });

  test('the bare relay relays', async (t) => {
    const bare = spawn(BARE, ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => bare.kill('SIGKILL'));
    let out = '';
    bare.stdout.on('data', (d) => (out += d));
    await waitUntil(() => /listening on 127\.0\.0\.1:(\d+)/.test(out), { what: 'bare-relay to listen' });
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)[1]);
    const { code, result } = await loadgen(['--target', 'bare', '--port', port, '--scenario', 'relay', '--pairs', 2, '--seconds', 1, '--warmup', 0]);
    assert.equal(code, 0, JSON.stringify(result));
    assert.ok(result.delivered > 0);
  });

  test('a failure is reported as one: nothing listening gives ok:false and exit status 1', async () => {
    const { code, result } = await loadgen(['--target', 'workspaces', '--port', 9, '--scenario', 'relay', '--pairs', 1, '--seconds', 1]);
    assert.equal(code, 1);
    assert.equal(result.ok, false);
    assert.ok(result.errors > 0);
  });
});
