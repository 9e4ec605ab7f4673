// The soak tool (bench/soak.mjs, docs/performance.md "Soak") in small: 200 clients churn for
// 20 s against the real server, which must come back to its idle state (RSS, descriptors,
// connections) with no error and no relay lost; and the tool's checks bite: a connection held
// past the end and a relay swallowed on arrival both fail the run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVER_BIN, assertBinary } from './harness.mjs';

const SOAK = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/soak.mjs');

/** Runs the soak script; resolves {code, report, output} once it exits (bounded). */
function runSoak(args, timeoutMs) {
  assertBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-test-'));
  const out = path.join(dir, 'soak.json');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SOAK, '--server', SERVER_BIN, '--out', out, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      let report = null;
      try {
        report = JSON.parse(fs.readFileSync(out, 'utf8'));
      } catch {
        // no report: the assertions below show the output
      }
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, report, output });
    });
  });
}

// Under a sanitizer (make test-sanitize sets WS_SANITIZE) RSS says nothing: ASan keeps freed
// memory in its quarantine. There LeakSanitizer checks for leaks instead, when the server exits
// (the soak requires exit status 0).
const SANITIZED = Boolean(process.env.WS_SANITIZE);

describe('soak', () => {
  test('200 clients churn for 20 s: the server returns to its idle RSS and descriptors, nothing lost', { timeout: 180_000 }, async () => {
    const rss = SANITIZED ? ['--rss-tolerance', 'off'] : [];
    const { code, report, output } = await runSoak(['--seconds', 20, '--clients', 200, '--interval', 5, '--warmup', 2, '--grace', 2, ...rss], 170_000);
    assert.ok(report, `no report; output:\n${output}`);
    assert.equal(code, 0, output);
    assert.equal(report.ok, true, report.failures.join('; '));
    assert.equal(report.errors, 0);
    assert.ok(report.options.addresses >= 2, 'clients come from more than one loopback address');
    const s = report.stats;
    assert.ok(s.received > 1000, `relays received: ${s.received}`);
    assert.equal(s.received, s.sent);
    // Every kind of churn happened.
    for (const key of ['leaves', 'closes', 'drops', 'long_drops', 'reattends', 'destroys']) assert.ok(s[key] > 0, `${key}: ${s[key]}`);
    assert.ok(s.attends > 160, `fresh attends beyond the first ones: ${s.attends}`);
    assert.ok(report.fd_growth <= 0, `fd growth ${report.fd_growth}`);
    if (!SANITIZED) assert.ok(report.rss_ratio <= 1.1, `RSS ratio ${report.rss_ratio}`);
    assert.ok(report.peak_connections >= 150, `peak connections ${report.peak_connections}`);
    assert.equal(report.after.connections, 0);
    assert.equal(report.after.workspaces, 0);
    assert.ok(report.samples.some((r) => r.phase === 'churn'), 'sampled during the churn');
  });

  test('a held connection and a swallowed relay fail the run', { timeout: 120_000 }, async () => {
    const { code, report, output } = await runSoak(['--seconds', 4, '--clients', 20, '--interval', 5, '--warmup', 1, '--grace', 2, '--rate', 5,
      '--inject', 'fd-leak,lost-message'], 110_000);
    assert.ok(report, `no report; output:\n${output}`);
    assert.equal(code, 1, output);
    assert.equal(report.ok, false);
    const failures = report.failures.join('\n');
    assert.match(failures, /open descriptors \d+ before, \d+ after/);
    assert.match(failures, /3 connections/);
    assert.match(failures, /relays: \d+ sent, \d+ acknowledged, \d+ received/);
    assert.ok(report.error_samples.some((e) => /never arrived|lost/.test(e)), report.error_samples.join('\n'));
  });
});
