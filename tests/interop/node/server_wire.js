// An official socket.io v4 server that reports exactly what reached it: raw packet text,
// which values are Buffers, object key order, arrival times. For the "every byte
// faithful" interop tests of the SockDesk client core and CLI.
//
// Usage: node server_wire.js PORT [--parser msgpack] [--welcome] [--ask-on-connect MS]
//                              [--transports websocket]
//
// Prints NDJSON on stdout:
//   {"type":"listening","port":N}
//   {"type":"connect","ns":"/","authKeys":[...]}   the CONNECT auth's keys, in order
//   {"type":"raw","data":"42[...]"}           every text packet received (JSON parser)
//   {"type":"event","event":E,"args":[...],"buffers":["0.file"],"keys":[...],
//    "hasAck":true,"t":MS}                     args with Buffers as {"$binary": base64}
//   {"type":"sent-blob","blob":"<base64>"}     after "send-me-binary"
//   {"type":"bytes-check","same":true,"isBuffer":true}   after "check-bytes"
//   {"type":"answer","err":null|"...","answer":[...],"buffers":[...]}   our ack answer
//
// Events: every event with an ack is acked with {ok:true, event, args} (Buffers as
// Buffers), except events whose name starts with "no-ack". "send-me-binary" makes the
// server emit "blob" with {file: <Buffer>, n: 1}; "check-bytes" compares a {file}
// Buffer with that blob; "ask-me" ({ms}) does socket.timeout(ms).emit("question", ...)
// and prints what we answered; "broadcast-me" emits "news" back.
const { Server } = require("socket.io");

const port = parseInt(process.argv[2], 10);
const flag = (name) => process.argv.includes(name);
const option = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : null;
};
const opts = { cors: { origin: "*" } };
const msgpack = option("--parser") === "msgpack";
if (msgpack) opts.parser = require("socket.io-msgpack-parser");
if (option("--transports")) opts.transports = option("--transports").split(",");
const askOnConnect = option("--ask-on-connect");

const io = new Server(port, opts);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const now = () => Number(process.hrtime.bigint()) / 1e6;

// every byte value, then a few more: what the server sends as binary
const BLOB = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
                            Buffer.from("end\u00e9", "utf8")]);

// values as JSON, Buffers in SockDesk's notation; paths of the Buffers found
function show(value, path, buffers) {
  if (Buffer.isBuffer(value)) {
    buffers.push(path.join("."));
    return { $binary: value.toString("base64") };
  }
  if (Array.isArray(value)) return value.map((v, i) => show(v, [...path, i], buffers));
  if (value !== null && typeof value === "object") {
    const o = {};
    for (const k of Object.keys(value)) o[k] = show(value[k], [...path, k], buffers);
    return o;
  }
  return value;
}

io.engine.on("connection", (raw) => {
  raw.on("packet", (p) => {
    if (p.type === "message" && typeof p.data === "string") out({ type: "raw", data: p.data });
  });
});

function ask(socket, ms) {
  socket.timeout(ms).emit("question", { q: 1 }, "second", (err, ...answer) => {
    const buffers = [];
    const shown = show(answer, [], buffers);
    out({ type: "answer", err: err ? String(err.message || err) : null, answer: shown,
          buffers });
    socket.emit("ack-result", { err: err ? String(err.message || err) : null,
                                answer: shown });
  });
}

io.on("connection", (socket) => {
  out({ type: "connect", ns: "/", authKeys: Object.keys(socket.handshake.auth || {}) });
  if (flag("--welcome")) socket.emit("welcome", { hello: "from node", server: "express-app" });
  if (askOnConnect) ask(socket, parseInt(askOnConnect, 10));
  socket.onAny((event, ...args) => {
    const t = now();
    let ack = null;
    if (args.length && typeof args[args.length - 1] === "function") ack = args.pop();
    const buffers = [];
    const shown = show(args, [], buffers);
    const first = args[0];
    const keys = first !== null && typeof first === "object" && !Buffer.isBuffer(first)
      ? Object.keys(first) : null;
    out({ type: "event", event, args: shown, buffers, keys, hasAck: !!ack, t });
    if (event === "send-me-binary") {
      socket.emit("blob", { file: BLOB, n: 1 });
      out({ type: "sent-blob", blob: BLOB.toString("base64") });
    } else if (event === "check-bytes") {
      const file = first && first.file;
      out({ type: "bytes-check", isBuffer: Buffer.isBuffer(file),
            same: Buffer.isBuffer(file) && file.equals(BLOB) });
    } else if (event === "ask-me") {
      ask(socket, (first && first.ms) || 5000);
    } else if (event === "broadcast-me") {
      socket.emit("news", ...args);
    }
    if (ack && !event.startsWith("no-ack")) ack({ ok: true, event, args });
  });
});

out({ type: "listening", port });
process.on("SIGTERM", () => io.close(() => process.exit(0)));
