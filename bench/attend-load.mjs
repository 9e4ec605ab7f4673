// Durable-mutation load: W workers each own a workspace and loop attend -> leave on fresh
// connections (2 stored changes per cycle); prints acknowledged attends per second.
// Usage: node bench/attend-load.mjs ws://127.0.0.1:9090/ws [workers=32] [seconds=5]
import { open as openAt, request } from './ws-client.mjs';

const [url = 'ws://127.0.0.1:9090/ws', workersArg = '32', secondsArg = '5'] = process.argv.slice(2);
const workers = Number(workersArg);
const seconds = Number(secondsArg);

const open = () => openAt(url);

let attends = 0;
let failures = 0;
let running = true;

async function worker() {
  const owner = await open();
  const created = await request(owner, 'create', { workspace: { name: 'bench' } });
  const invite = created.data.workspace.token;
  while (running) {
    const guest = await open();
    const granted = await request(guest, 'attend', { workspace: { token: invite } });
    if (granted.event !== 'attendance-granted') {
      failures++;
    } else {
      attends++;
      await request(guest, 'leave', { accessToken: granted.data.accessToken });
    }
    guest.close();
  }
  owner.close();
}

const started = process.hrtime.bigint();
const running_ = Array.from({ length: workers }, worker);
setTimeout(() => (running = false), seconds * 1000);
await Promise.all(running_);
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ workers, seconds: Number(elapsed.toFixed(2)), attends, attends_per_second: Math.round(attends / elapsed), failures }));
