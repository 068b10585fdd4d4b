// B4/B5 sender: emits N `tick` events on NAMESPACE, relayed by the server to every
// other socket there. RATE 0 = as fast as acks allow (WINDOW unacked at a time);
// otherwise RATE events/s in 10 ms batches. usage: node sender.js URL NAMESPACE N RATE WINDOW
// prints {seconds, last_emit} once every event is acked (last_emit: epoch seconds when the
// last event was emitted; with a RATE, also printed alone at that moment)
"use strict";
const { io } = require("socket.io-client");

const [url, ns, count, rate, window] = process.argv.slice(2);
const N = Number(count), RATE = Number(rate), W = Number(window);
const s = io(`${url}${ns}`, { auth: { user: "sender" }, transports: ["websocket"], reconnection: false });
setTimeout(() => { console.error("watchdog"); process.exit(2); }, 600000);
const payload = (i) => ({ i, text: `tick ${i}`, pad: "x".repeat(40) });
s.on("connect_error", (e) => { console.error(e); process.exit(1); });
s.on("connect", () => {
  const start = process.hrtime.bigint();
  let next = 0, acked = 0, lastEmit = null;
  const finish = () => {
    process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - start) / 1e9,
                                          last_emit: lastEmit }) + "\n");
    setTimeout(() => process.exit(0), 200);
  };
  const onAck = () => { if (++acked >= N) finish(); else if (!RATE) pump(); };
  const pump = () => { while (next < N && next - acked < W) s.emit("tick", payload(next++), onAck); };
  if (!RATE) return pump();
  const t0 = Date.now();
  const timer = setInterval(() => {
    const due = Math.min(N, Math.floor(((Date.now() - t0) / 1000) * RATE));
    while (next < due) s.emit("tick", payload(next++), onAck);
    if (next >= N) {
      lastEmit = Date.now() / 1000;
      clearInterval(timer);
      process.stdout.write(JSON.stringify({ last_emit: lastEmit }) + "\n");
    }
  }, 10);
});
