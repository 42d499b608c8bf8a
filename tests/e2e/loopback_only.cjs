// Preloaded into the Agents Playground's Node process by the e2e fixtures (node --require).
// The Playground listens on every interface and its telemetry SDK may dial out; under test
// it must only ever listen on and connect to loopback addresses.
"use strict";

const net = require("net");

const LOOPBACK_HOST = "127.0.0.1";

function isLoopback(host) {
  if (host === undefined || host === null || host === "") return true; // Node's default: localhost
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || h.startsWith("127.") || h.startsWith("::ffff:127.");
}

const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof args[1] !== "string") args.splice(1, 0, LOOPBACK_HOST);
  } else if (first !== null && typeof first === "object" && first.path === undefined
             && first.handle === undefined && first.fd === undefined && !(first instanceof net.Server)) {
    if (!first.host) args[0] = { ...first, host: LOOPBACK_HOST };
  } else if (first === undefined || typeof first === "function") {
    args.unshift(0, LOOPBACK_HOST);
  }
  return originalListen.apply(this, args);
};

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  let host;
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first; // arrays: Node's normalized form
  if (options !== null && typeof options === "object") {
    host = options.path ? LOOPBACK_HOST : options.host; // a truthy path means IPC, as in Node
  } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    host = typeof args[1] === "string" ? args[1] : undefined;
  } else {
    host = LOOPBACK_HOST; // IPC path
  }
  if (!isLoopback(host)) {
    const err = new Error(`loopback_only: refused outbound connection to ${host}`);
    err.code = "ECONNREFUSED";
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return originalConnect.apply(this, args);
};
