// Rough relay load: N owner/guest pairs exchange `negotiation` messages through a running
// server; prints relayed messages per second. The real benchmark tool is a later issue.
// Usage: node bench/relay-load.mjs ws://127.0.0.1:9090/ws [pairs=50] [seconds=5] [window=32]
// With STATE_FILE set (the server's json_storage_file), also prints how many bytes the file
// grew during the relay phase: relay traffic must never touch the disk.
import fs from 'node:fs';
import { open as openAt, request } from './ws-client.mjs';

const [url = 'ws://127.0.0.1:9090/ws', pairsArg = '50', secondsArg = '5', windowArg = '32'] =
  process.argv.slice(2);
const pairs = Number(pairsArg);
const seconds = Number(secondsArg);
const window = Number(windowArg);
const payload = 'x'.repeat(1024);

const open = () => openAt(url);

async function pair() {
  const a = await open();
  const b = await open();
  const created = await request(a, 'create', { workspace: { name: 'bench' }, attendee: { name: 'a' } });
  const pushed = new Promise((r) => a.once('message', r)); // the owner's `attend` push
  const granted = await request(b, 'attend', {
    workspace: { token: created.data.workspace.token },
    attendee: { name: 'b' },
  });
  await pushed;
  return {
    sender: a,
    receiver: b,
    frame: JSON.stringify({
      event: 'negotiation',
      data: { accessToken: created.data.accessToken, attendee: { id: granted.data.attendee.id }, message: { sdp: payload } },
    }),
  };
}

const all = [];
for (let i = 0; i < pairs; i++) all.push(await pair());

let received = 0;
let running = true;
for (const p of all) {
  let inFlight = 0;
  const pump = () => {
    while (running && inFlight < window) {
      p.sender.send(p.frame);
      inFlight++;
    }
  };
  p.receiver.on('message', () => {
    received++;
    inFlight--;
    pump();
  });
  pump();
}

const fileSize = () => (process.env.STATE_FILE && fs.existsSync(process.env.STATE_FILE) ? fs.statSync(process.env.STATE_FILE).size : 0);
const sizeBefore = fileSize();
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
running = false;
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
const growth = process.env.STATE_FILE ? ` state_file_growth=${fileSize() - sizeBefore}B` : '';
console.log(`pairs=${pairs} window=${window} seconds=${elapsed.toFixed(2)} relayed=${received} rate=${Math.round(received / elapsed)} msg/s${growth}`);
for (const p of all) {
  p.sender.terminate();
  p.receiver.terminate();
}
