// B2 load: C clients spread over K /chat rooms; each sends RATE messages/s for SECONDS;
// the send time (this process's monotonic clock) travels in the text, every receiver
// records now - sent. usage: node load_latency.js URL CLIENTS ROOMS RATE SECONDS
// prints one JSON line: {samples, p50, p99, max} in milliseconds
"use strict";
const { io } = require("socket.io-client");

const [url, clients, rooms, rate, seconds] = process.argv.slice(2).map((v, i) => i ? Number(v) : v);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const tag = `${process.pid}`;
const watchdog = setTimeout(() => { console.error("watchdog"); process.exit(2); }, (seconds + 120) * 1000);
const lat = [];

function client(i) {
  const room = `lat-${tag}-${i % rooms}`;
  return new Promise((resolve, reject) => {
    const s = io(`${url}/chat`, { auth: { user: `u${i}` }, transports: ["websocket"],
      reconnection: false, forceNew: true });
    s.on("connect_error", reject);
    s.on("message", (m) => { const t = Number(String(m.text).split(" ")[0]); if (t) lat.push(now() - t); });
    s.on("connect", async () => {
      await s.timeout(30000).emitWithAck("join", { room });
      resolve({ s, room });
    });
  });
}

(async () => {
  const peers = [];
  for (let i = 0; i < clients; i++) peers.push(await client(i));
  const period = 1000 / rate;
  let n = 0;
  const timers = peers.map(({ s, room }, i) => {
    // stagger so the load is smooth, not 100 sends in the same millisecond
    return setTimeout(() => {
      const tick = () => { s.emit("message", { room, text: `${now()} x`, id: `b2-${tag}-${i}-${n++}` }, () => {}); };
      tick();
      timers[i] = setInterval(tick, period);
    }, (i * period) / clients);
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
  await new Promise((r) => setTimeout(r, 1000)); // let the last ones arrive
  lat.sort((a, b) => a - b);
  const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null;
  process.stdout.write(JSON.stringify({ samples: lat.length, sent: n, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] }) + "\n");
  clearTimeout(watchdog);
  peers.forEach(({ s }) => s.disconnect());
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
