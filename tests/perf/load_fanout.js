// B1 load: R receivers + 1 sender in one /chat room; the sender sends N messages with
// acks, at most WINDOW unacked at a time; every receiver counts deliveries.
// usage: node load_fanout.js URL RECEIVERS MESSAGES WINDOW
// prints one JSON line: {seconds, delivered, acked}
"use strict";
const { io } = require("socket.io-client");

const [url, receivers, messages, window] = process.argv.slice(2);
const R = Number(receivers), N = Number(messages), W = Number(window);
const room = `fan-${process.pid}-${Date.now()}`;
const watchdog = setTimeout(() => { console.error("watchdog: no result in 300 s"); process.exit(2); }, 300000);

function client(user) {
  return new Promise((resolve, reject) => {
    const s = io(`${url}/chat`, { auth: { user }, transports: ["websocket"], reconnection: false,
      forceNew: true });
    s.on("connect_error", reject);
    s.on("connect", async () => {
      const ack = await s.timeout(30000).emitWithAck("join", { room });
      if (!ack.ok) reject(new Error(JSON.stringify(ack)));
      resolve(s);
    });
  });
}

(async () => {
  let delivered = 0, acked = 0;
  const total = R * N;
  let finish;
  const allIn = new Promise((r) => { finish = r; });
  const peers = [];
  for (let i = 0; i < R; i++) {
    const s = await client(`r${i}`);
    s.on("message", () => { if (++delivered >= total) finish(); });
    peers.push(s);
  }
  const sender = await client("sender");
  const start = process.hrtime.bigint();
  let next = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (next < N && next - acked < W) {
        const n = next++;
        sender.timeout(60000).emit("message", { room, text: `m${n}`, id: `b1-${process.pid}-${n}` },
          (err) => { if (err) { console.error(err); process.exit(3); } acked++; if (acked >= N) resolve(); else pump(); });
      }
    };
    pump();
  });
  if (total > 0) await allIn;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, delivered, acked }) + "\n");
  clearTimeout(watchdog);
  for (const s of [...peers, sender]) s.disconnect();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
