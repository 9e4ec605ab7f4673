// Reruns ../tokens.test.mjs with every Client on Socket.IO (eio4, PROTOCOL.md §7).
process.env.WS_TRANSPORT = 'eio4';
await import('../tokens.test.mjs');
