// The correct-PIN storm of pin-limits.test.mjs on its own thread (a worker), so that the victim's
// attend times and the relaying pair's latencies, measured on the test's thread, are the
// server's and not those of the attacker's own event loop.
//
//   const storm = startPinStorm(url, [{ localAddress, invite, pin }, ...], { loops: 12 });
//   ...                                        // measure
//   const { granted, refused } = await storm.stop();
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export function startPinStorm(url, attackers, { loops = 12, retryMs = 0 } = {}) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, attackers, loops, retryMs } });
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the storm's worker exited with ${code}`)));
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const counts = await result;
      await worker.terminate();
      return counts;
    },
  };
}

if (!isMainThread && workerData?.attackers) {
  const { Client, sleep } = await import('./harness.mjs');
  let storming = true;
  let granted = 0;
  let refused = 0;
  parentPort.once('message', () => {
    storming = false;
  });
  // Each loop: connect, attend with the right PIN, close (a bound connection cannot attend
  // again); a refusal is retried on the same connection after `retryMs` (0: at once), whatever
  // the alert's retryAfter says, as an attacker would.
  const loop = async ({ localAddress, invite, pin }) => {
    while (storming) {
      let client;
      try {
        client = await Client.connect(workerData.url, { localAddress });
        while (storming) {
          const reply = await client.request(
            'attend', { workspace: { token: invite, pin }, attendee: { name: 'Guest' } }, { timeout: 30_000 });
          if (reply.event === 'attendance-granted') {
            granted++;
            break;
          }
          refused++;
          if (workerData.retryMs > 0) await sleep(workerData.retryMs);
        }
      } catch {
        // a timeout or a close while storming: start over
      } finally {
        await client?.close();
      }
    }
  };
  const running = workerData.attackers.flatMap((a) => Array.from({ length: workerData.loops }, () => loop(a)));
  await Promise.all(running);
  parentPort.postMessage({ granted, refused });
}
