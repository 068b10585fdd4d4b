// The Node reference for the Admin UI test: socket.io v4 instrumented with the official
// @socket.io/admin-ui, laid out like SockDesk's server so the two can be compared.
// Usage: node server_admin.js PORT TOKEN
// Namespaces: "/", "/chat" and "/queue" exist from the start; any other name is a
// dynamic child namespace (SockDesk's sandbox), removed again once empty
// (cleanupEmptyChildNamespaces, which is what SockDesk's server does). "/chat" refuses a
// wrong auth.token, as SockDesk's does. The Admin UI is
// on "/admin", user "admin", password TOKEN (bcrypt-hashed, as admin-ui requires).
// Prints NDJSON to stdout: {"type":"listening"}, then one line per connection and
// disconnection outside /admin. The token itself is never printed.
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");
const bcrypt = require("bcryptjs");

const port = parseInt(process.argv[2], 10);
const token = process.argv[3];

const io = new Server(port, { cors: { origin: "*" }, cleanupEmptyChildNamespaces: true });
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function setup(nsp) {
  nsp.on("connection", (socket) => {
    out({ type: "connect", ns: socket.nsp.name, id: socket.id });
    socket.on("disconnect", (reason) => {
      out({ type: "disconnect", ns: socket.nsp.name, id: socket.id, reason });
    });
  });
}

setup(io.of("/"));
setup(io.of("/chat"));
// like SockDesk's /chat with a token: a wrong one is refused
io.of("/chat").use((socket, next) => {
  next(socket.handshake.auth.token === token ? undefined : new Error("wrong token"));
});
setup(io.of("/queue"));
setup(io.of(/^\/(?!admin$).+$/));
instrument(io, {
  auth: { type: "basic", username: "admin", password: bcrypt.hashSync(token, 4) },
  mode: "development",
});
out({ type: "listening", port });
