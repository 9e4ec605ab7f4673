// Reruns ../limits.test.mjs with every Client on Socket.IO (eio3, PROTOCOL.md §7).
process.env.WS_TRANSPORT = 'eio3';
await import('../limits.test.mjs');
