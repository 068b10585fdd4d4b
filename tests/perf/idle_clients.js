// B9 load: N official socket.io-client connections (a Manager and a websocket each) to
// URL + NAMESPACE with auth {user}, opened WINDOW at a time; prints {connected, seconds}
// once all are in, then stays idle until stdin closes.
// usage: node idle_clients.js URL NAMESPACE N WINDOW
"use strict";
const { io } = require("socket.io-client");

const [url, ns, count, window] = process.argv.slice(2);
const N = Number(count), W = Number(window || 100);
const sockets = [];
const t0 = process.hrtime.bigint();
let next = 0, connected = 0, failed = 0;
setTimeout(() => { console.error("watchdog"); process.exit(2); }, 600000);
const open = () => {
  while (next < N && next - connected - failed < W) {
    const s = io(`${url}${ns}`, { auth: { user: `idle${next}` }, transports: ["websocket"],
      reconnection: false, forceNew: true });
    sockets.push(s);
    next++;
    s.once("connect", () => { connected++; done(); open(); });
    s.once("connect_error", (e) => { failed++; console.error(String(e)); done(); open(); });
  }
};
const done = () => {
  if (connected + failed === N) {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ connected, failed, seconds }) + "\n");
  }
};
process.stdin.on("end", () => { sockets.forEach((s) => s.close()); process.exit(0); });
process.stdin.resume();
open();
