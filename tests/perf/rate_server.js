// B5 feeder on the official socket.io v4 server, so B5 measures the app, not our relay:
// a line "go N RATE" on stdin emits N `tick` events on "/" to every connected socket,
// RATE a second in 10 ms batches (as sender.js does), then prints {last_emit} (epoch s).
// usage: node rate_server.js   (prints "Listening on http://127.0.0.1:PORT" first)
"use strict";
const http = require("http");
const readline = require("readline");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { maxHttpBufferSize: 1e6 });
const payload = (i) => ({ i, text: `tick ${i}`, pad: "x".repeat(40) });
io.of("/").on("connection", () => {});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const [cmd, count, rate] = line.trim().split(/\s+/);
  if (cmd !== "go") return;
  const N = Number(count), RATE = Number(rate);
  const t0 = Date.now();
  let next = 0;
  const timer = setInterval(() => {
    const due = Math.min(N, Math.floor(((Date.now() - t0) / 1000) * RATE));
    while (next < due) io.of("/").emit("tick", payload(next++));
    if (next >= N) {
      clearInterval(timer);
      process.stdout.write(JSON.stringify({ last_emit: Date.now() / 1000 }) + "\n");
    }
  }, 10);
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`Listening on http://127.0.0.1:${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
