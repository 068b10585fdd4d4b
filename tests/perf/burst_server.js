// B4 feeder on the official socket.io v4 server: on every namespace, a client that emits
// `go` {n} gets N small `tick` events pushed as fast as the server can write them (one
// synchronous loop; the socket's buffer absorbs what the client has not read yet), then
// the ack of its `go` once all are queued.
// usage: node burst_server.js   (prints "Listening on http://127.0.0.1:PORT" first)
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { maxHttpBufferSize: 1e6 });
const payload = (i) => ({ i, text: `tick ${i}`, pad: "x".repeat(40) });

io.of(/.*/).on("connection", (socket) => {
  socket.on("go", (arg, ack) => {
    const n = Number((arg && arg.n) || 0);
    for (let i = 0; i < n; i++) socket.emit("tick", payload(i));
    if (typeof ack === "function") ack({ ok: true, n });
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`Listening on http://127.0.0.1:${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
