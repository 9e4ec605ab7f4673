// The few native-protocol client calls the load scripts share.
import WebSocket from 'ws';

/** Opens a WebSocket to `url`. */
export function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Sends a request and resolves its direct reply (matched by id; pushes are skipped). */
export function request(ws, event, data) {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve) => {
    const onMessage = (m) => {
      const frame = JSON.parse(m);
      if (frame.re !== id) return;
      ws.off('message', onMessage);
      resolve(frame);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ event, data, id }));
  });
}
