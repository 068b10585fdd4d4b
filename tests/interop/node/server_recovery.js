// An official socket.io v4 server with connectionStateRecovery, broadcasting a numbered
// `tick` every 50 ms to everyone (io.emit: broadcasts carry the offsets recovery needs).
// Usage: node server_recovery.js PORT. Prints {"type":"listening"}, then one line per
// connection with whether socket.io recovered it, and {"type":"tick","n":N} per tick.
const { Server } = require("socket.io");

const port = parseInt(process.argv[2], 10);
const io = new Server(port, {
  connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
});
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

let n = 0;
let timer = null;
io.on("connection", (socket) => {
  out({ type: "connect", recovered: socket.recovered, id: socket.id });
  socket.on("disconnect", (reason) => out({ type: "disconnect", reason }));
  if (timer === null) {
    timer = setInterval(() => {
      n += 1;
      io.emit("tick", n);
      out({ type: "tick", n });
    }, 50);
  }
});
out({ type: "listening", port });
process.on("SIGTERM", () => { clearInterval(timer); io.close(() => process.exit(0)); });
