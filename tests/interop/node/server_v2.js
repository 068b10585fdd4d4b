// A Socket.IO v2 server (Engine.IO 3), the version SockDesk does not speak: the client
// must say so instead of "connection error". Installed as socket.io-v2 (npm alias).
// Usage: node server_v2.js PORT   Prints {"type":"listening","port":N}.
const io = require("socket.io-v2")(parseInt(process.argv[2], 10));
io.on("connection", (socket) => {
  process.stdout.write(JSON.stringify({ type: "connect" }) + "\n");
  socket.on("hello", (...args) => socket.emit("hello", ...args));
});
process.stdout.write(JSON.stringify({ type: "listening", port: parseInt(process.argv[2], 10) }) + "\n");
process.on("SIGTERM", () => io.close(() => process.exit(0)));
