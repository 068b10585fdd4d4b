// B3 peer: the official socket.io-client queues N events while the server is down and
// sends them once it is up. MODE "retries": {retries: 3, ackTimeout} (one packet in
// flight at a time, each retried until acked); MODE "plain": the in-memory send buffer
// of a disconnected socket, with acks. usage: node outbox_client.js URL N MODE
// prints {"queued": true} once everything is buffered, then {"done_epoch_ms": ...}
"use strict";
const { io } = require("socket.io-client");

const [url, count, mode] = process.argv.slice(2);
const N = Number(count);
const opts = { auth: { user: "node-outbox" }, transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 100,
  randomizationFactor: 0 };
if (mode === "retries") Object.assign(opts, { retries: 3, ackTimeout: 10000 });
const s = io(`${url}/bench`, opts);
let acked = 0;
const done = () => {
  process.stdout.write(JSON.stringify({ done_epoch_ms: Date.now(), acked }) + "\n");
  process.exit(0);
};
for (let i = 0; i < N; i++) {
  s.emit("note", { i, text: `queued ${i}` }, (...args) => {
    if (mode === "retries" && args[0]) return; // err: gave up after the retries
    if (++acked >= N) done();
  });
}
process.stdout.write(JSON.stringify({ queued: true }) + "\n");
setTimeout(() => { console.error("watchdog"); process.exit(2); }, 600000);
