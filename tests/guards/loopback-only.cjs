// Preloaded into every node process the generator tests start (NODE_OPTIONS=--require):
// like the Python guard in conftest.py, it refuses any connection that is not loopback,
// so the real generator runs as it would offline and never reaches the internet.
"use strict";
const net = require("node:net");
const dns = require("node:dns");

const LOOPBACK = /^(127\.|::1$|localhost$|::ffff:127\.)/;

function refuse(host) {
  const err = new Error(`mlcc-ci tests: connection to ${host} refused (loopback only)`);
  err.code = "ECONNREFUSED";
  return err;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const opts = typeof args[0] === "object" && args[0] !== null ? args[0] : { host: args[1] };
  const host = String(opts.host ?? "localhost");
  if (opts.path === undefined && !LOOPBACK.test(host)) {
    process.nextTick(() => this.destroy(refuse(host)));
    return this;
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  const cb = typeof options === "function" ? options : callback;
  if (!LOOPBACK.test(String(hostname))) {
    process.nextTick(() => cb(refuse(hostname)));
    return {};
  }
  return lookup.apply(this, arguments);
};
