// SockDesk's class page: a student picks a name and chats in the class room of /chat,
// with any browser and nothing installed. It speaks the /chat contract of
// docs/PROTOCOL.md with the official socket.io client this server serves.
//
// URL parameters: ?room=NAME (default "class"), ?token=SECRET (servers run with --token),
// ?listen=/ns1,/ns2 (sandbox namespaces whose events are shown: a lesson's broadcasts).
//
// Everything a peer wrote is put in with textContent, never as HTML.
"use strict";

(function () {
  const USER_RE = /^[A-Za-z0-9._-]{1,32}$/;
  const ACK_TIMEOUT_MS = 10000;
  const params = new URLSearchParams(window.location.search);
  const room = params.get("room") || "class";
  const token = params.get("token");
  const listen = (params.get("listen") || "").split(",").map((s) => s.trim())
    .filter((s) => s.startsWith("/"));

  const el = (id) => document.getElementById(id);
  const status = (text, isError) => {
    el("status").textContent = text;
    el("status").className = isError ? "error" : "";
  };
  const showError = (text) => { el("error").textContent = text || ""; };

  let chat = null;
  let me = null;
  let lastOffset = 0;
  let unsent = null;  // {text, id} of a message whose ack failed: resent with the same id
  const seen = new Set();

  function randomId() {
    // crypto.randomUUID needs a secure context; a LAN http:// page is not one.
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function line(list, who, text, cls) {
    const item = document.createElement("li");
    if (cls) item.className = cls;
    if (who) {
      const name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      item.appendChild(name);
    }
    item.appendChild(document.createTextNode(text));
    return item;
  }

  function scrollDown(list) { list.scrollTop = list.scrollHeight; }

  // A room message, kept in offset order whatever order history and live copies come in.
  function addMessage(m) {
    if (!m || typeof m.offset !== "number" || seen.has(m.offset)) return;
    seen.add(m.offset);
    lastOffset = Math.max(lastOffset, m.offset);
    const list = el("messages");
    const item = line(list, String(m.user), String(m.text), m.user === me ? "mine" : "");
    item.dataset.offset = String(m.offset);
    let before = null;
    for (const other of list.children) {
      if (other.dataset.offset && Number(other.dataset.offset) > m.offset) {
        before = other;
        break;
      }
    }
    list.insertBefore(item, before);
    if (!before) scrollDown(list);
  }

  function addSystem(text) {
    const list = el("messages");
    list.appendChild(line(list, "", text, "system"));
    scrollDown(list);
  }

  function showMembers(members) {
    if (Array.isArray(members)) el("members").textContent = members.map(String).join(", ");
  }

  function ackError(what, err, ack) {
    if (err) return `${what}: no answer from the server within ${ACK_TIMEOUT_MS / 1000} s.`;
    if (!ack || ack.ok !== true) {
      const why = ack && ack.error ? ack.error : "the server refused it";
      return `${what}: ${why}`;
    }
    return null;
  }

  function joinRoom() {
    // After a reconnect, ask only for what came after the last message shown.
    const payload = lastOffset > 0 ? { room, since: lastOffset } : { room };
    chat.timeout(ACK_TIMEOUT_MS).emit("join", payload, (err, ack) => {
      const problem = ackError(`Joining ${room} failed`, err, ack);
      if (problem) { status(problem, true); return; }
      (ack.history || []).forEach(addMessage);
      showMembers(ack.members);
      status(`You are ${me}, in room ${room}.`, false);
      el("chat").hidden = false;
      el("text").focus();
    });
  }

  function listenTo(namespace, auth) {
    const socket = window.io(namespace, { auth });
    const list = el("broadcasts");
    el("lessons").hidden = false;
    socket.on("connect_error", (err) => {
      list.appendChild(line(list, namespace, ` could not connect: ${err.message}`, "error"));
    });
    socket.onAny((event, ...args) => {
      if (event === "welcome") return;
      list.appendChild(line(list, `${namespace} ${event}`, JSON.stringify(args), ""));
      scrollDown(list);
    });
  }

  function join(name) {
    me = name;
    const auth = token ? { user: name, token } : { user: name };
    chat = window.io("/chat", { auth });
    status(`Connecting as ${name}…`, false);
    chat.on("connect", joinRoom);
    chat.on("connect_error", (err) => {
      // A refusal (wrong token, name taken) is final; let the student try again.
      status(`Could not join: ${err.message}`, true);
      if (!chat.active) {
        chat = null;
        el("join").disabled = false;
        el("name").disabled = false;
      }
    });
    chat.on("disconnect", () => status("Connection lost; reconnecting…", true));
    chat.on("message", (m) => { if (m && m.room === room) addMessage(m); });
    chat.on("presence", (p) => {
      if (!p || p.room !== room) return;
      addSystem(`${p.user} ${p.event === "joined" ? "joined" : "left"}`);
      showMembers(p.members);
    });
    listen.forEach((ns) => listenTo(ns, auth));
  }

  el("join-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = el("name").value.trim();
    if (!USER_RE.test(name)) {
      status("A name is 1-32 letters, digits, '.', '_' or '-' (no spaces).", true);
      return;
    }
    if (typeof window.io !== "function") {
      // The server answers 503 with the reason when it cannot serve the client.
      window.fetch("/socket.io/socket.io.js").then((r) => r.text()).then((body) => {
        const first = body.split("\n")[0].replace(/^\/\/\s*/, "");
        status(first || "The socket.io client did not load.", true);
      }, () => status("The socket.io client did not load.", true));
      return;
    }
    el("join").disabled = true;
    el("name").disabled = true;
    el("room").textContent = room;
    join(name);
  });

  el("send-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = el("text");
    const text = input.value;
    if (!text.trim() || !chat) return;
    // The same id for a retry of the same text: the server keeps it once (dedupe).
    const id = unsent && unsent.text === text ? unsent.id : randomId();
    input.value = "";
    showError("");
    chat.timeout(ACK_TIMEOUT_MS).emit("message", { room, text, id }, (err, ack) => {
      const problem = ackError("Not sent", err, ack);
      if (problem) {
        showError(problem);
        unsent = { text, id };
        if (!input.value) input.value = text;  // give the text back to retry
        return;
      }
      if (unsent && unsent.id === id) unsent = null;
      // The server sends a message to everyone but its sender: show ours from the ack.
      addMessage({ room, user: me, text, id, offset: ack.offset, ts: ack.ts });
    });
  });
})();
