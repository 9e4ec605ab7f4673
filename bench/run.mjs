// `make bench`: runs every scenario of the load generator against our server, the PeerJS server
// (npm `peer`) and a bare Beast relay, side by side in one run, each server pinned to core 0 and
// the load generator to core 1. Every (scenario, target) pair gets a fresh server, and each
// scenario runs RUNS times with the targets interleaved, so the figures are medians over runs
// taken under the same conditions. Prints a table with median/min/max and our ratios to the
// others; writes everything to build/bench/results.json.
//
// Usage: node bench/run.mjs [--runs 3] [--only relay,latency,...] [--targets workspaces,peerjs,bare]
//                           [--seconds 5] [--out build/bench/results.json]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ENV, freePort, rssKib, sleep, waitForPort } from './server.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.WS_BENCH_BIN ?? path.join(REPO, 'build/bin');
const SERVER = path.join(BIN, 'workspaces-server');
const LOADGEN = path.join(BIN, 'workspaces-loadgen');
const BARE = path.join(BIN, 'bare-relay');
const PEERJS = path.join(REPO, 'node_modules/peer/dist/bin/peerjs.js');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const RUNS = Number(args.runs ?? 3);
const SECONDS = Number(args.seconds ?? 5);
const OUT = path.resolve(args.out ?? path.join(REPO, 'build/bench/results.json'));
const TARGETS = (args.targets ?? 'workspaces,peerjs,bare').split(',');

// Our server's bench configuration: the §10 per-IP limits are lifted because every client of
// the benchmark comes from 127.0.0.1; capacity 20 for the fan-out workspace.
const SERVER_CONFIG = {
  bind_address: '127.0.0.1',
  max_capacity_of_workspace: 20,
  workspaces_per_ip_per_hour: 1000000,
  max_connections: 100000,
  max_connections_per_ip: 100000,
  new_connections_per_ip_per_second: 1000000,
  new_connections_per_ip_burst: 1000000,
  messages_per_second: 1000000,
  messages_burst: 1000000,
  bytes_per_second: 2000000000,
  bytes_burst: 2000000000,
  // No WebSocket pings during a run: the load generator writes its frames to the socket itself,
  // and Beast's automatic pong to a ping could land inside one of those writes.
  ping_interval_ms: 3600000,
};

/** Scenarios: the load generator's arguments, which targets speak them, the figures to show. */
const SCENARIOS = [
  {
    name: 'relay',
    args: ['--scenario', 'relay', '--pairs', '100', '--window', '8', '--size', '1024', '--seconds', SECONDS, '--warmup', '1'],
    targets: ['workspaces', 'peerjs', 'bare'],
    figures: [['msgs_per_s', 'relayed msg/s', 'higher'], ['server_cpu', 'server CPU (cores)', 'info']],
  },
  {
    name: 'latency',
    args: ['--scenario', 'latency', '--pairs', '100', '--rate', '5000', '--size', '1024', '--seconds', SECONDS, '--warmup', '1'],
    targets: ['workspaces', 'peerjs', 'bare'],
    figures: [['p50_us', 'p50 µs at 5k msg/s', 'lower'], ['p99_us', 'p99 µs', 'lower'], ['p999_us', 'p99.9 µs', 'lower'], ['lost', 'lost', 'info']],
  },
  {
    name: 'memory-1k',
    args: ['--scenario', 'memory', '--conns', '1000'],
    targets: ['workspaces', 'peerjs', 'bare'],
    figures: [['kib_per_conn', 'KiB/conn (1k idle)', 'lower']],
  },
  {
    name: 'memory-10k',
    args: ['--scenario', 'memory', '--conns', '10000'],
    targets: ['workspaces', 'peerjs', 'bare'],
    figures: [['kib_per_conn', 'KiB/conn (10k idle)', 'lower'], ['rss_after_kib', 'RSS KiB with 10k', 'lower']],
  },
  {
    name: 'churn',
    args: ['--scenario', 'churn', '--concurrency', '50', '--seconds', SECONDS, '--warmup', '1'],
    targets: ['workspaces', 'peerjs', 'bare'],
    figures: [['ops_per_s', 'connect+attend+close /s', 'higher']],
  },
  {
    name: 'churn-join',
    args: ['--scenario', 'churn', '--churn-mode', 'attend', '--concurrency', '50', '--seconds', SECONDS, '--warmup', '1'],
    targets: ['workspaces'],
    figures: [['ops_per_s', 'connect+attend(new)+leave+close /s', 'higher']],
  },
  {
    name: 'fanout',
    args: ['--scenario', 'fanout', '--members', '20', '--seconds', SECONDS, '--warmup', '1'],
    targets: ['workspaces'],
    figures: [['deliveries_per_s', 'mic-toggle deliveries/s (20 members)', 'higher']],
  },
  {
    name: 'pinstorm',
    args: ['--scenario', 'pinstorm', '--rate', '1000', '--concurrency', '8', '--seconds', SECONDS],
    targets: ['workspaces'],
    figures: [['baseline.p99_us', 'pair p99 µs, no storm', 'lower'], ['storm.p99_us', 'pair p99 µs, PIN storm', 'lower'], ['attends_per_s', 'PIN attends/s', 'info']],
  },
];

/** Starts one target's server pinned to core 0; returns {child, port, stop()}. */
async function startTarget(target, workdir) {
  const port = await freePort();
  let cmd;
  const env = { ...process.env };
  if (target === 'workspaces') {
    const config = path.join(workdir, 'bench-config.json');
    fs.writeFileSync(config, JSON.stringify(SERVER_CONFIG));
    // Production mode with its default log level: one line per connection, like PeerJS.
    Object.assign(env, BENCH_ENV);
    delete env.LOG_LEVEL;
    cmd = [SERVER, '--config', config, '--port', String(port)];
  } else if (target === 'peerjs') {
    cmd = [process.execPath, PEERJS, '--port', String(port), '--host', '127.0.0.1', '--path', '/', '--concurrent_limit', '1000000'];
  } else {
    cmd = [BARE, '--port', String(port)];
  }
  const log = fs.openSync(path.join(workdir, `${target}.log`), 'a');
  const child = spawn('taskset', ['-c', '0', ...cmd], { cwd: workdir, env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitForPort(port, child);
  await sleep(300);
  return {
    child,
    port,
    idleRss: rssKib(child.pid),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

function runLoadgen(target, port, pid, scenarioArgs) {
  const argv = ['-c', '1', LOADGEN, '--target', target, '--host', '127.0.0.1', '--port', String(port), '--server-pid', String(pid), ...scenarioArgs.map(String)];
  return new Promise((resolve) => {
    const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      let result;
      try {
        result = JSON.parse(out.trim().split('\n').pop());
      } catch {
        result = { ok: false, errors: 1, error_samples: [`no JSON from the load generator (exit ${code}): ${err.slice(-300)}`] };
      }
      resolve(result);
    });
  });
}

const get = (obj, dotted) => dotted.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const fmt = (x) => (x == null || Number.isNaN(x) ? '-' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));

async function main() {
  for (const f of [SERVER, LOADGEN, BARE]) if (!fs.existsSync(f)) throw new Error(`missing ${f}: run make bench`);
  if (TARGETS.includes('peerjs') && !fs.existsSync(PEERJS)) throw new Error('missing node_modules/peer: run scripts/node-deps');
  const only = args.only ? args.only.split(',') : null;
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-bench-'));
  const results = []; // {scenario, target, run, idle_rss_kib, ...loadgen JSON}
  const t0 = Date.now();
  const cpu = (() => {
    try {
      return execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
    } catch {
      return 'unknown';
    }
  })();
  console.log(`bench: ${RUNS} runs, ${SECONDS} s per timed scenario, servers on core 0, load generator on core 1 (${cpu})`);
  for (let run = 1; run <= RUNS; run++) {
    for (const sc of scenarios) {
      for (const target of sc.targets.filter((t) => TARGETS.includes(t))) {
        const server = await startTarget(target, workdir);
        const r = await runLoadgen(target, server.port, server.child.pid, sc.args);
        await server.stop();
        results.push({ ...r, kind: r.scenario, scenario: sc.name, target, run, idle_rss_kib: server.idleRss });
        const status = r.ok ? 'ok' : `FAILED: ${(r.error_samples ?? []).join(' | ')}`;
        const main = sc.figures[0][0];
        console.log(`  run ${run} ${sc.name.padEnd(10)} ${target.padEnd(10)} ${sc.figures[0][1]} = ${fmt(get(r, main))}  ${status}`);
      }
    }
  }

  // ---- the table ----
  const rows = [];
  const summary = {};
  for (const sc of scenarios) {
    const figures = [...sc.figures];
    if (sc.name === 'relay') figures.push(['idle_rss_kib', 'idle RSS KiB (fresh server)', 'lower']);
    for (const [key, label, better] of figures) {
      const row = { label, cells: {} };
      for (const target of sc.targets.filter((t) => TARGETS.includes(t))) {
        const xs = results.filter((r) => r.scenario === sc.name && r.target === target && r.ok).map((r) => get(r, key)).filter((x) => typeof x === 'number');
        if (!xs.length) continue;
        row.cells[target] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
        summary[`${sc.name}.${key}.${target}`] = row.cells[target];
      }
      const ours = row.cells.workspaces?.median;
      if (better !== 'info' && ours != null) {
        for (const other of ['peerjs', 'bare']) {
          const theirs = row.cells[other]?.median;
          if (theirs) row[`vs_${other}`] = better === 'higher' ? ours / theirs : theirs / ours;
        }
      }
      rows.push(row);
    }
  }
  const shown = TARGETS;
  const header = ['figure (median [min–max] of ' + RUNS + ')', ...shown, 'ours vs peerjs', 'ours vs bare'];
  const lines = [header, ...rows.map((r) => [
    r.label,
    ...shown.map((t) => (r.cells[t] ? `${fmt(r.cells[t].median)} [${fmt(r.cells[t].min)}–${fmt(r.cells[t].max)}]` : '')),
    r.vs_peerjs ? `${r.vs_peerjs.toFixed(2)}×` : '',
    r.vs_bare ? `${r.vs_bare.toFixed(2)}×` : '',
  ])];
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  console.log('');
  for (const [i, l] of lines.entries()) {
    console.log('| ' + l.map((c, j) => c.padEnd(widths[j])).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  }
  console.log('\n"ours vs X" is a speed-up: above 1× we are better (a ratio of throughputs, or the inverse ratio of latencies and memory).');
  const failed = results.filter((r) => !r.ok);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ when: new Date().toISOString(), cpu, runs: RUNS, seconds: SECONDS, server_config: SERVER_CONFIG, summary, results }, null, 2));
  console.log(`results: ${path.relative(process.cwd(), OUT)}; ${results.length} runs in ${Math.round((Date.now() - t0) / 1000)} s, ${failed.length} failed`);
  fs.rmSync(workdir, { recursive: true, force: true });
  if (failed.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
