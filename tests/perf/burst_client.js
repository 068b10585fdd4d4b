// B4 Node peer: the official socket.io-client asks burst_server.js for N `tick` events
// and counts them; prints {events, seconds} from the first to the last event.
// usage: node burst_client.js URL NAMESPACE N
"use strict";
const { io } = require("socket.io-client");

const [url, ns, count] = process.argv.slice(2);
const N = Number(count);
const s = io(`${url}${ns}`, { transports: ["websocket"], reconnection: false });
setTimeout(() => { console.error("watchdog"); process.exit(2); }, 600000);
let got = 0, first = 0n;
s.on("connect_error", (e) => { console.error(e); process.exit(1); });
s.on("tick", () => {
  if (got === 0) first = process.hrtime.bigint();
  if (++got === N) {
    const seconds = Number(process.hrtime.bigint() - first) / 1e9;
    process.stdout.write(JSON.stringify({ events: got, seconds }) + "\n");
    s.close();
    process.exit(0);
  }
});
s.on("connect", () => s.emit("go", { n: N }));
