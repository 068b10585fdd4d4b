// An official socket.io v4 server for the Engine.IO edge-case comparisons: it reports
// when an Engine.IO session opens and closes (with Node's reason), so the tests can
// compare timing and reasons with the bundled server.
//
// Usage: node server_edges.js PORT [--ping-interval MS] [--ping-timeout MS]
//                                  [--connect-timeout MS]
//
// Prints NDJSON on stdout:
//   {"type":"listening","port":N}
//   {"type":"open","sid":S,"t":MS}            an Engine.IO session opened
//   {"type":"close","sid":S,"reason":R,"t":MS} it closed ("ping timeout", "parse error",
//                                             "transport close", "forced close", ...)
//   {"type":"connect","ns":"/"}               a Socket.IO namespace connection
const { Server } = require("socket.io");

const port = parseInt(process.argv[2], 10);
const option = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? parseInt(process.argv[i + 1], 10) : undefined;
};
const opts = { cors: { origin: "*" } };
for (const [flag, key] of [["--ping-interval", "pingInterval"],
  ["--ping-timeout", "pingTimeout"], ["--connect-timeout", "connectTimeout"]]) {
  if (option(flag) !== undefined) opts[key] = option(flag);
}

const io = new Server(port, opts);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const now = () => Number(process.hrtime.bigint()) / 1e6;

io.engine.on("connection", (raw) => {
  out({ type: "open", sid: raw.id, t: now() });
  raw.on("close", (reason) => out({ type: "close", sid: raw.id, reason, t: now() }));
});
io.on("connection", () => out({ type: "connect", ns: "/" }));
out({ type: "listening", port });
