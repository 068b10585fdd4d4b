// A tiny official socket.io v4 server for interop tests of the SockDesk client core.
// Usage: node server_echo.js PORT [--token T] [--never-ack] [--path P]
// Namespaces "/", "/chat" and "/orders"; "/vip" refuses everyone with err.data; others are
// refused by socket.io as "Invalid namespace". --path serves Socket.IO at P.
// Prints NDJSON to stdout: {"type":"listening"}, then one line per connect, event and
// answer. The token itself is never printed.
const { Server } = require("socket.io");

const port = parseInt(process.argv[2], 10);
const tokenIdx = process.argv.indexOf("--token");
const token = tokenIdx > 0 ? process.argv[tokenIdx + 1] : null;
const neverAck = process.argv.includes("--never-ack");
const pathIdx = process.argv.indexOf("--path");
const path = pathIdx > 0 ? process.argv[pathIdx + 1] : "/socket.io";

const io = new Server(port, { cors: { origin: "*" }, path });
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function setup(nsp) {
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    if (typeof auth.user !== "string" || auth.user.length === 0) {
      return next(new Error("a user name is required"));
    }
    if (token !== null && auth.token !== token) {
      return next(new Error("wrong token"));
    }
    next();
  });
  nsp.on("connection", (socket) => {
    const auth = socket.handshake.auth || {};
    out({ type: "connect", ns: nsp.name, user: auth.user, hasToken: "token" in auth,
          extra: Object.keys(auth).filter((k) => k !== "token" && k !== "user").sort() });
    socket.onAny((event, ...args) => {
      let ack = null;
      if (args.length && typeof args[args.length - 1] === "function") ack = args.pop();
      out({ type: "event", ns: nsp.name, event, args, user: auth.user, hasAck: !!ack });
      if (ack && !neverAck) ack({ ok: true, args });
    });
    socket.on("ask-me", () => {
      socket.timeout(5000).emit("question", { q: 1 }, "second", (err, ...answer) => {
        out({ type: "answer", ns: nsp.name, err: err ? String(err) : null, answer });
      });
    });
    socket.on("broadcast-me", (...args) => {
      if (args.length && typeof args[args.length - 1] === "function") args.pop();
      socket.emit("news", ...args);
    });
  });
}

setup(io.of("/"));
setup(io.of("/chat"));
setup(io.of("/orders"));
io.of("/vip").use((socket, next) => {
  const err = new Error("members only");
  err.data = { hint: "ask for an invite" };
  next(err);
});
out({ type: "listening", port });
process.on("SIGTERM", () => io.close(() => process.exit(0)));
