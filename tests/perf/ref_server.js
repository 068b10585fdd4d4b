// Reference /chat server on the official socket.io v4: the subset the benchmarks use.
// join {room} -> ack {ok, room, members, history: [], offset}; message {room, text, id}
// -> broadcast `message` to the room except the sender, ack {ok, id, offset, ts}.
// Other namespaces relay every event to everyone else (like the bundled sandbox).
// usage: node ref_server.js   (prints "Listening on http://127.0.0.1:PORT" first)
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { maxHttpBufferSize: 1e6 });
const offsets = new Map();

const chat = io.of("/chat");
chat.use((socket, next) => {
  const user = socket.handshake.auth && socket.handshake.auth.user;
  if (!user) return next(new Error("auth.user is required"));
  socket.data.user = String(user);
  next();
});
chat.on("connection", (socket) => {
  socket.emit("welcome", { user: socket.data.user });
  socket.on("join", (payload, ack) => {
    const room = payload && payload.room;
    socket.join(`room:${room}`);
    const members = [...new Set([...(chat.adapter.rooms.get(`room:${room}`) || [])]
      .map((sid) => chat.sockets.get(sid)).filter(Boolean).map((s) => s.data.user))];
    if (ack) ack({ ok: true, room, members, history: [], offset: offsets.get(room) || 0, more: false });
  });
  socket.on("message", (payload, ack) => {
    const room = payload && payload.room;
    if (!socket.rooms.has(`room:${room}`)) {
      if (ack) ack({ ok: false, error: "not a member" });
      return;
    }
    const offset = (offsets.get(room) || 0) + 1;
    offsets.set(room, offset);
    const id = payload.id || `${Date.now()}-${offset}`;
    const ts = new Date().toISOString();
    const msg = { room, user: socket.data.user, text: payload.text, id, offset, ts };
    socket.to(`room:${room}`).emit("message", msg);
    if (ack) ack({ ok: true, id, offset, ts });
  });
});

io.of(/^\/(?!chat$).*/).on("connection", (socket) => {
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    socket.broadcast.emit(event, ...args);
    if (ack) ack({ ok: true });
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`Listening on http://127.0.0.1:${httpServer.address().port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
