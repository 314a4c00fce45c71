'use strict';
// Connection-level faults of one socket server, played before (or inside) socket.io, so a
// robot's client can be driven through what a broken or hostile server does:
//  - redirect: every upgrade and HTTP request is answered 302 with a Location;
//  - stall: accept, then say nothing ("upgrade": complete the WebSocket upgrade, then
//    silence, not even WebSocket pongs; "silent": not even answer the HTTP request);
//  - script: the next WebSocket connection(s) get scripted raw frames, either instead of
//    socket.io (on "upgrade": a plain ws server takes the connection, sends the frames,
//    then stays silent) or inside socket.io's own stream, right after its Engine.IO open
//    packet (on "open") or its namespace connect `40` (on "connect").
// The first of redirect, stall, script that is set takes a connection. Each use is an
// event record (type "redirect", "stalled" or "scripted") under the socket's name; stalled
// and scripted records get `closed: true` (and closed_t_ms) when the robot's side closes.
//
// attach() puts a dispatcher in front of engine.io's own 'upgrade' and 'request'
// listeners on the http(s) server, and wraps engine.onWebSocket (engine.io 3 and 6 both
// call it with the ws socket last, before any packet is sent) to tap the frames socket.io
// writes: frames are injected right after the matching ws.send call, so they reach the
// wire in that order.

const { WebSocketServer } = require('ws');

const SCRIPT_ON = ['upgrade', 'open', 'connect'];
const STALL_MODES = ['upgrade', 'silent'];
const MAX_RECEIVED = 50; // frames kept per scripted record
const MAX_FRAME_TEXT = 500;

function badRequest(message) {
  return Object.assign(new Error(message), { status: 400 });
}

// A location for a Location header: one line of printable text.
function checkLocation(location) {
  if (typeof location !== 'string' || !location || /[\u0000-\u001f\u007f]/.test(location)) {
    throw badRequest('location must be a non-empty string without control characters');
  }
  return location;
}

// null/undefined = unlimited; else a whole number >= 1.
function checkCount(count, what) {
  if (count === undefined || count === null) return null;
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`${what} count must be a whole number >= 1`);
  return n;
}

function checkMs(value, what) {
  if (value === undefined || value === null) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw badRequest(`${what} must be a number of ms >= 0`);
  return n;
}

// One scripted frame: a string (text frame; {{PAD:N}} expands to N 'a's) or {base64}.
function expandFrame(frame) {
  if (typeof frame === 'string') return frame.replace(/\{\{PAD:(\d+)\}\}/g, (_, n) => 'a'.repeat(Number(n)));
  if (frame && typeof frame === 'object' && typeof frame.base64 === 'string') return Buffer.from(frame.base64, 'base64');
  throw badRequest('each frame must be a string or {base64}');
}

// Take one use of a counted setting; returns whether it is used up.
function useOne(setting) {
  if (setting.remaining === null) return false;
  setting.remaining -= 1;
  return setting.remaining <= 0;
}

function queryOf(req) {
  try {
    return new URL(req.url, 'http://peer').searchParams;
  } catch {
    return new URLSearchParams();
  }
}

function describeFrame(data, isBinary) {
  if (isBinary) return { _binary_base64: Buffer.from(data).toString('base64') };
  return String(data).slice(0, MAX_FRAME_TEXT);
}

class SocketFaults {
  constructor({ name, records, log }) {
    this.name = name;
    this.records = records;
    this.log = log;
    this.redirect = null; // location, or null
    this.stall = null; // {mode, remaining}
    this.script = null; // {frames, on, close_after_ms, remaining}
    this.held = new Set(); // {close(abrupt)} for every connection a fault keeps open
    this.timers = new Set(); // pending close_after_ms closes
    // noServer: it only completes upgrades handed to it; autoPong off: a stalled or
    // scripted server answers nothing, WebSocket pings included.
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, autoPong: false, clientTracking: false });
  }

  setRedirect(location) {
    this.redirect = location === null ? null : checkLocation(location);
  }

  setStall({ on = true, mode = 'upgrade', count } = {}) {
    if (!on) { this.stall = null; return; }
    if (!STALL_MODES.includes(mode)) throw badRequest(`stall mode must be one of ${STALL_MODES.join(', ')}`);
    this.stall = { mode, remaining: checkCount(count, 'stall') };
  }

  setScript({ frames, on = 'upgrade', close_after_ms: closeAfterMs, count = 1 } = {}) {
    if (frames === null) { this.script = null; return; }
    if (!Array.isArray(frames)) throw badRequest('frames must be an array (or null to clear the script)');
    if (!SCRIPT_ON.includes(on)) throw badRequest(`on must be one of ${SCRIPT_ON.join(', ')}`);
    this.script = {
      frames: frames.map(expandFrame),
      on,
      close_after_ms: checkMs(closeAfterMs, 'close_after_ms'),
      remaining: checkCount(count, 'script'),
    };
  }

  info() {
    const script = this.script && {
      on: this.script.on, frames: this.script.frames.length,
      close_after_ms: this.script.close_after_ms, remaining: this.script.remaining,
    };
    return { redirect: this.redirect, stall: this.stall && { ...this.stall }, script, held: this.held.size };
  }

  // Everything off; connections a fault holds are closed.
  reset() {
    this.redirect = null;
    this.stall = null;
    this.script = null;
    this.release({ abrupt: true });
  }

  release({ abrupt = false } = {}) {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of [...this.held]) h.close(abrupt);
    this.held.clear();
  }

  attach(server, engine) {
    const engineUpgrade = server.listeners('upgrade').slice();
    server.removeAllListeners('upgrade');
    server.on('upgrade', (req, socket, head) => {
      if (this.onUpgrade(req, socket, head)) return;
      for (const l of engineUpgrade) l.call(server, req, socket, head);
    });
    const engineRequest = server.listeners('request').slice();
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      if (this.onRequest(req, res)) return;
      for (const l of engineRequest) l.call(server, req, res);
    });
    const faults = this;
    const onWebSocket = engine.onWebSocket;
    engine.onWebSocket = function tappedOnWebSocket(req, ...rest) {
      if (req.peerScript) faults.tap(rest[rest.length - 1], req.peerScript);
      return onWebSocket.call(this, req, ...rest);
    };
  }

  record(type, req, fields) {
    return this.records.push('events', {
      socket: this.name, type, event: null, args: [], ack_requested: false, conn_id: null,
      eio: Number(queryOf(req).get('EIO')) || null, path: req.url, ...fields,
    });
  }

  // Marks a record closed when the robot's TCP connection closes.
  trackClose(rec, socket) {
    socket.once('close', () => {
      rec.closed = true;
      rec.closed_t_ms = this.records.now();
      this.records.poke();
    });
  }

  // Keeps a connection a fault took until the robot closes it, reset() or the server stops.
  hold(socket, ws = null) {
    const handle = {
      close: (abrupt) => {
        if (ws && !abrupt) ws.close(1001);
        else socket.destroy();
      },
    };
    socket.on('error', () => {});
    // The server's sockets are half-open capable: a robot that gives up only ends its side.
    if (!ws) socket.once('end', () => socket.destroy());
    if (ws) ws.on('error', () => {});
    this.held.add(handle);
    socket.once('close', () => this.held.delete(handle));
  }

  // true when a fault took the upgrade.
  onUpgrade(req, socket, head) {
    if (this.redirect) {
      const location = this.redirect;
      socket.on('error', () => {});
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      this.record('redirect', req, { location, upgrade: true });
      this.log(`${this.name}: upgrade ${req.url} answered 302 -> ${location}`);
      return true;
    }
    if (this.stall) {
      const { mode } = this.stall;
      if (useOne(this.stall)) this.stall = null;
      const rec = this.record('stalled', req, { mode, closed: false, closed_t_ms: null });
      this.trackClose(rec, socket);
      if (mode === 'silent') this.hold(socket);
      else this.wss.handleUpgrade(req, socket, head, (ws) => this.hold(socket, ws));
      this.log(`${this.name}: stalled ${req.url} (${mode})`);
      return true;
    }
    if (this.script) {
      const script = this.script;
      if (useOne(this.script)) this.script = null;
      const rec = this.record('scripted', req, {
        on: script.on, frames: script.frames.length, injected: false, injected_t_ms: null,
        received: [], closed: false, closed_t_ms: null,
      });
      this.trackClose(rec, socket);
      this.log(`${this.name}: scripted connection ${req.url} (${script.frames.length} frames on ${script.on})`);
      if (script.on !== 'upgrade') {
        req.peerScript = { script, rec }; // tap() injects once socket.io writes the trigger
        return false;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.play(ws, socket, script, rec));
      return true;
    }
    return false;
  }

  // HTTP requests (polling, or anything else on the port): redirect and stall only.
  onRequest(req, res) {
    if (this.redirect) {
      const location = this.redirect;
      res.writeHead(302, { Location: location, 'Content-Length': 0, Connection: 'close' });
      res.end();
      req.resume();
      this.record('redirect', req, { location, upgrade: false });
      this.log(`${this.name}: request ${req.url} answered 302 -> ${location}`);
      return true;
    }
    if (this.stall) {
      const { mode } = this.stall;
      if (useOne(this.stall)) this.stall = null;
      const rec = this.record('stalled', req, { mode, closed: false, closed_t_ms: null });
      this.trackClose(rec, req.socket);
      this.hold(req.socket);
      this.log(`${this.name}: stalled request ${req.url} (${mode})`);
      return true;
    }
    return false;
  }

  // The scripted server of on "upgrade": the frames, then silence (or a close).
  play(ws, socket, script, rec) {
    this.hold(socket, ws);
    ws.on('message', (data, isBinary) => {
      if (rec.received.length < MAX_RECEIVED) rec.received.push(describeFrame(data, isBinary));
      this.records.poke();
    });
    for (const f of script.frames) ws.send(f);
    this.injected(rec, ws, script);
  }

  // Frames into socket.io's own stream, right after the trigger frame it writes. The
  // connection stays socket.io's: stop and kick treat it as any other.
  tap(ws, { script, rec }) {
    const isTrigger = script.on === 'open'
      ? (d) => typeof d === 'string' && d.startsWith('0')
      : (d) => typeof d === 'string' && d.startsWith('40');
    const send = ws.send;
    ws.send = (data, ...rest) => {
      send.call(ws, data, ...rest);
      if (!isTrigger(data)) return;
      ws.send = send;
      for (const f of script.frames) send.call(ws, f);
      this.injected(rec, ws, script);
    };
  }

  injected(rec, ws, script) {
    rec.injected = true;
    rec.injected_t_ms = this.records.now();
    this.records.poke();
    if (script.close_after_ms === null) return;
    const timer = setTimeout(() => { this.timers.delete(timer); ws.close(1000); }, script.close_after_ms);
    this.timers.add(timer);
    ws.once('close', () => { clearTimeout(timer); this.timers.delete(timer); });
  }
}

module.exports = { SocketFaults, checkLocation, SCRIPT_ON, STALL_MODES };
