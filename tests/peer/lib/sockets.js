'use strict';
// The four socket.io servers (control, chat, app, user), each on its own
// port, backed by socket.io 2.x (Engine.IO 3) or 4.x (Engine.IO 4).
// Every connect, disconnect and robot-emitted event is recorded.
//
// "noping" (see setNoPing) reaches into engine.io internals:
//  - Engine.IO 4 (engine.io 6.x): the server pings on a one-shot timer
//    `conn.pingIntervalTimer` (re-armed when the pong arrives) and closes the
//    link when `conn.pingTimeoutTimer` fires. noping clears both timers and
//    nulls them, so no ping is sent and the server never times the robot out;
//    turning it off calls `conn.schedulePing()` again.
//  - Engine.IO 3 (engine.io 3.x): the client pings, the server's onPacket
//    answers through `this.sendPacket('pong')`. Each connection gets an
//    instance-level sendPacket wrapper that drops 'pong' while noping is on.
//    The server still resets its own timeout on each incoming ping, so it
//    never drops the robot itself; the robot must notice the missing pongs.
//
// kick_on_connect (setKickOnConnect) disconnects each new robot's namespace a while after
// it connects; connection-level faults (redirect, stall, scripted frames) are in
// socket-faults.js.

const http = require('node:http');
const https = require('node:https');
const { trackConnections, listen, closeServer, noTimeouts } = require('./http-util');
const { SocketFaults } = require('./socket-faults');

const SOCKET_NAMES = ['control', 'chat', 'app', 'user'];

// Buffers in recorded args become {_binary_base64}; the reverse for emits.
function encodeArgs(value) {
  if (Buffer.isBuffer(value)) return { _binary_base64: value.toString('base64') };
  if (value instanceof ArrayBuffer) return encodeArgs(Buffer.from(value));
  if (Array.isArray(value)) return value.map(encodeArgs);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeArgs(v)]));
  }
  return value;
}

function decodeArgs(value) {
  if (Array.isArray(value)) return value.map(decodeArgs);
  if (value && typeof value === 'object') {
    if (typeof value._binary_base64 === 'string' && Object.keys(value).length === 1) {
      return Buffer.from(value._binary_base64, 'base64');
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeArgs(v)]));
  }
  return value;
}

class SocketService {
  constructor({ name, eio, host, tls, records, log, pingInterval, pingTimeout }) {
    this.name = name;
    this.eio = eio;
    this.host = host;
    this.tls = tls; // {key, cert} for the https user server, else null
    this.records = records;
    this.log = log;
    this.pingOpts = {};
    if (pingInterval) this.pingOpts.pingInterval = pingInterval;
    if (pingTimeout) this.pingOpts.pingTimeout = pingTimeout;
    this.port = 0;
    this.io = null;
    this.server = null;
    this.conns = null;
    this.noping = false;
    this.ackMode = { mode: 'auto', args: null };
    this.kickOnConnect = null; // {delay_ms, close, remaining}
    this.kickTimers = new Set();
    this.faults = new SocketFaults({ name, records, log });
  }

  get scheme() { return this.tls ? 'https' : 'http'; }
  get listening() { return !!this.io; }

  async start(port = this.port) {
    if (this.io) return this.port;
    const server = noTimeouts(this.tls ? https.createServer(this.tls) : http.createServer());
    const conns = trackConnections(server);
    const io = this.createIo(server);
    this.faults.attach(server, io.engine);
    try {
      this.port = await listen(server, port, this.host);
    } catch (e) {
      io.engine.close();
      throw e;
    }
    Object.assign(this, { server, conns, io });
    this.log(`${this.name}: socket.io ${this.eio === 3 ? '2.x' : '4.x'} on ${this.scheme}://${this.host}:${this.port}`);
    return this.port;
  }

  createIo(server) {
    const opts = { path: '/socket.io/', serveClient: false, ...this.pingOpts };
    let io;
    if (this.eio === 3) {
      io = require('sio2')(server, opts);
    } else {
      const { Server } = require('sio4');
      io = new Server(server, { ...opts, allowEIO3: false });
    }
    io.on('connection', (socket) => this.onConnection(socket));
    // engine.io 6 reports refused handshakes (e.g. EIO=3 on the EIO4 server)
    io.engine.on('connection_error', (err) => {
      const query = err.req ? new URL(err.req.url, 'http://peer').searchParams : new URLSearchParams();
      this.records.push('events', {
        socket: this.name, type: 'connection_error', event: null, conn_id: null,
        eio: Number(query.get('EIO')) || null, ack_requested: false,
        args: [{ code: err.code, message: err.message, transport: query.get('transport') }],
      });
      this.log(`${this.name}: refused handshake EIO=${query.get('EIO')} (${err.message})`);
    });
    return io;
  }

  // abrupt: destroy TCP connections at once (no close frames), as on a crash.
  async stop({ abrupt = false } = {}) {
    if (!this.io) return;
    const { io, server, conns } = this;
    this.io = null;
    this.clearKickTimers();
    this.faults.release({ abrupt });
    if (abrupt) for (const c of conns) c.destroy();
    io.engine.close();
    server.close();
    // let close frames reach the robot, then cut whatever is left
    const deadline = Date.now() + 1000;
    while (conns.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await closeServer(server, conns);
    this.log(`${this.name}: stopped (port ${this.port} stays reserved)`);
  }

  // Works stopped or not; if the new port cannot be had, the old one stays in discovery.
  async move(port = 0) {
    await this.stop();
    const old = this.port;
    this.port = 0;
    try {
      return await this.start(port);
    } catch (e) {
      this.port = old;
      throw e;
    }
  }

  sockets() {
    if (!this.io) return [];
    const nsp = this.io.of('/');
    return nsp.sockets instanceof Map ? [...nsp.sockets.values()] : Object.values(nsp.sockets);
  }

  onConnection(socket) {
    const conn = socket.conn;
    const eio = conn.protocol || 3;
    const base = { socket: this.name, conn_id: socket.id, eio };
    this.records.push('events', {
      ...base, type: 'connect', event: null, args: [], ack_requested: false,
      transport: conn.transport.name,
      query: socket.handshake.query,
      auth: socket.handshake.auth || null,
    });
    this.log(`${this.name}: connect ${socket.id} (EIO${eio}, ${conn.transport.name})`);
    this.prepareNoPing(conn);

    const onEvent = (event, args) => {
      let ack = null;
      if (args.length && typeof args[args.length - 1] === 'function') ack = args.pop();
      this.records.push('events', {
        ...base, type: 'event', event, args: encodeArgs(args), ack_requested: !!ack,
      });
      this.log(`${this.name}: event ${event} ${JSON.stringify(encodeArgs(args)).slice(0, 200)}${ack ? ' (ack)' : ''}`);
      if (ack && this.ackMode.mode === 'auto') ack('ack', event);
      else if (ack && this.ackMode.mode === 'args') ack(...decodeArgs(this.ackMode.args || []));
    };
    if (typeof socket.onAny === 'function') {
      socket.onAny((event, ...args) => onEvent(event, args));
    } else {
      socket.use((packet, next) => { onEvent(packet[0], packet.slice(1)); next(); });
    }
    socket.on('disconnect', (reason) => {
      this.records.push('events', {
        ...base, type: 'disconnect', event: null, args: [reason], ack_requested: false,
      });
      this.log(`${this.name}: disconnect ${socket.id} (${reason})`);
    });
    this.maybeKickOnConnect(socket, base);
  }

  // {on, delay_ms, count, close}: count = the next N connections (absent: until turned off);
  // close also closes the Engine.IO connection (else only the namespace: `41`).
  setKickOnConnect({ on = true, delay_ms: delayMs = 0, count, close = false } = {}) {
    if (!on) { this.kickOnConnect = null; return; }
    const delay = Number(delayMs);
    if (!Number.isFinite(delay) || delay < 0) {
      throw Object.assign(new Error('delay_ms must be a number >= 0'), { status: 400 });
    }
    let remaining = null;
    if (count !== undefined && count !== null) {
      remaining = Number(count);
      if (!Number.isInteger(remaining) || remaining < 1) {
        throw Object.assign(new Error('count must be a whole number >= 1'), { status: 400 });
      }
    }
    this.kickOnConnect = { delay_ms: delay, close: !!close, remaining };
  }

  maybeKickOnConnect(socket, base) {
    const k = this.kickOnConnect;
    if (!k) return;
    if (k.remaining !== null && --k.remaining <= 0) this.kickOnConnect = null;
    const kick = () => {
      if (!socket.connected) return;
      this.records.push('events', {
        ...base, type: 'kick', event: null, args: [], ack_requested: false, delay_ms: k.delay_ms, close: k.close,
      });
      this.log(`${this.name}: kick ${socket.id} ${k.delay_ms} ms after connect${k.close ? ' (and close)' : ''}`);
      socket.disconnect(k.close);
    };
    if (k.delay_ms === 0) { kick(); return; }
    const timer = setTimeout(() => { this.kickTimers.delete(timer); kick(); }, k.delay_ms);
    this.kickTimers.add(timer);
    socket.on('disconnect', () => { clearTimeout(timer); this.kickTimers.delete(timer); });
  }

  clearKickTimers() {
    for (const t of this.kickTimers) clearTimeout(t);
    this.kickTimers.clear();
  }

  // Back to defaults (for /_peer/reset): heartbeats, acks, kicks and connection faults.
  resetFaults() {
    this.setNoPing(false);
    this.setAckMode({ mode: 'auto' });
    this.kickOnConnect = null;
    this.clearKickTimers();
    this.faults.reset();
  }

  prepareNoPing(conn) {
    if (this.eio === 3) {
      const original = conn.sendPacket;
      conn.sendPacket = (type, ...rest) => {
        if (type === 'pong' && this.noping) return undefined;
        return original.call(conn, type, ...rest);
      };
    } else if (this.noping) {
      this.silence(conn);
    }
  }

  silence(conn) {
    clearTimeout(conn.pingIntervalTimer);
    clearTimeout(conn.pingTimeoutTimer);
    conn.pingIntervalTimer = null;
    conn.pingTimeoutTimer = null;
  }

  setNoPing(on) {
    const was = this.noping;
    this.noping = !!on;
    if (this.eio !== 4 || was === this.noping) return;
    for (const s of this.sockets()) {
      if (this.noping) this.silence(s.conn);
      else if (s.conn.readyState === 'open') s.conn.schedulePing();
    }
  }

  setAckMode({ mode, args }) {
    if (!['auto', 'none', 'args'].includes(mode)) {
      throw Object.assign(new Error('ack mode must be auto, none or args'), { status: 400 });
    }
    this.ackMode = { mode, args: mode === 'args' ? (args || []) : null };
  }

  // Emit to every connected robot. With ack, resolves with each robot's reply.
  emit(event, args = [], { ack = false, timeoutMs = 5000 } = {}) {
    const decoded = decodeArgs(args);
    return Promise.all(this.sockets().map((socket) => new Promise((resolve) => {
      if (!ack) { socket.emit(event, ...decoded); resolve({ conn_id: socket.id }); return; }
      const timer = setTimeout(() => resolve({ conn_id: socket.id, timeout: true }), timeoutMs);
      socket.emit(event, ...decoded, (...reply) => {
        clearTimeout(timer);
        resolve({ conn_id: socket.id, ack: encodeArgs(reply) });
      });
    })));
  }

  // Write a raw frame on every robot's websocket (bypassing socket.io).
  raw(data) {
    let sent = 0;
    let skipped = 0;
    for (const s of this.sockets()) {
      const t = s.conn.transport;
      if (t && t.name === 'websocket' && t.socket) { t.socket.send(data); sent++; } else skipped++;
    }
    return { sent, skipped };
  }

  // Server-side disconnect of every robot; abrupt = kill the TCP connection.
  kick({ abrupt = false } = {}) {
    const list = this.sockets();
    for (const s of list) {
      if (abrupt && s.conn.request && s.conn.request.socket) s.conn.request.socket.destroy();
      else s.disconnect(true);
    }
    return list.length;
  }

  info() {
    return {
      name: this.name,
      scheme: this.scheme,
      port: this.port,
      listening: this.listening,
      noping: this.noping,
      ack_mode: this.ackMode.mode,
      kick_on_connect: this.kickOnConnect && { ...this.kickOnConnect },
      ...this.faults.info(),
      connections: this.sockets().map((s) => ({
        conn_id: s.id,
        eio: s.conn.protocol || 3,
        transport: s.conn.transport && s.conn.transport.name,
        remote: s.conn.remoteAddress,
      })),
    };
  }
}

module.exports = { SocketService, SOCKET_NAMES, encodeArgs, decodeArgs };
