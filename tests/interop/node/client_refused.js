// Connects with the official socket.io-client v4 using the given auth JSON and prints
// what happened as one JSON line: {"step": "connect_error", "message", "data"} or
// {"step": "connected"}.
//
// usage: node client_refused.js URL NAMESPACE AUTH_JSON
"use strict";
const { io } = require("socket.io-client");

const [url, namespace, authJson] = process.argv.slice(2);
const socket = io(`${url}${namespace}`, {
  auth: JSON.parse(authJson), transports: ["websocket"], reconnection: false,
});
const watchdog = setTimeout(() => { console.log(JSON.stringify({ step: "timeout" })); process.exit(1); }, 15000);
const finish = (obj) => { console.log(JSON.stringify(obj)); clearTimeout(watchdog); socket.close(); };
socket.on("connect", () => finish({ step: "connected" }));
socket.on("connect_error", (err) => finish({ step: "connect_error", message: err.message, data: err.data ?? null }));
