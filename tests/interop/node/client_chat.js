// A /chat client written with the official socket.io-client v4, driven by
// tests/interop/test_node_client_vs_server.py. Prints one JSON object per line (NDJSON).
//
// usage: node client_chat.js URL ROOM USER
//   1. connect to URL/chat with auth {user}, wait for `welcome`
//   2. join ROOM, print the ack
//   3. wait for one `message` from another peer (the Python test sends it), print it
//   4. send a message, print its ack
//   5. send malformed payloads, print their acks
"use strict";
const { io } = require("socket.io-client");

const [url, room, user] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const fail = (step, error) => {
  print({ step: "error", during: step, message: String(error && error.message || error) });
  process.exit(1);
};

const socket = io(`${url}/chat`, { auth: { user }, transports: ["websocket"], reconnection: false });
const watchdog = setTimeout(() => fail("watchdog", "no progress within 30 s"), 30000);

let gotMessage;
const messageArrived = new Promise((resolve) => { gotMessage = resolve; });
socket.on("message", (msg) => { print({ step: "received", data: msg }); gotMessage(msg); });
socket.on("presence", (data) => print({ step: "presence", data }));
socket.on("connect_error", (err) => fail("connect", err));

socket.on("welcome", async (welcome) => {
  try {
    print({ step: "welcome", data: welcome, connected: socket.connected });
    const call = (event, ...args) => socket.timeout(5000).emitWithAck(event, ...args);

    print({ step: "join", ack: await call("join", { room }) });
    print({ step: "ready" });
    await messageArrived;

    print({ step: "sent", ack: await call("message", { room, text: "hello from node", id: `node-${Date.now()}` }) });
    print({ step: "malformed", kind: "string", ack: await call("message", "not an object") });
    print({ step: "malformed", kind: "room-number", ack: await call("message", { room: 5, text: "x" }) });
    print({ step: "malformed", kind: "too-large", ack: await call("message", { room, text: "x".repeat(70000) }) });
    print({ step: "done" });
    clearTimeout(watchdog);
    socket.disconnect();
  } catch (err) {
    fail("chat", err);
  }
});
