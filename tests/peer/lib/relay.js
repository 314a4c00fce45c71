'use strict';
// Media relays, after the behaviour of jsmpeg's websocket relay:
//  - one plain-http port per stream ("video", "audio") taking
//    POST /{stream_key}/anything... with a chunked or sized body;
//    a wrong first path segment is refused (403, connection closed);
//  - no answer until the upload ends (then 200), no buffering;
//  - every received chunk goes to every viewer on the shared viewer_ws
//    WebSocket server, video and audio alike.
// Each upload is also written to recordings/{stream}-{N}.ts and scanned.
// With `redirect` set, uploads are answered 302 to it at once (an uploads record of type
// "redirect"), their bodies discarded.

const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { WebSocketServer, WebSocket } = require('ws');
const { trackConnections, listen, closeServer, noTimeouts } = require('./http-util');
const { TsScanner } = require('./ts-scan');

class Viewers {
  constructor({ host, log }) {
    this.host = host;
    this.log = log;
    this.port = 0;
    this.total = 0;
    this.bytesSent = 0;
  }

  async start(port) {
    this.server = noTimeouts(http.createServer((req, res) => { res.writeHead(426); res.end(); }));
    this.conns = trackConnections(this.server);
    this.wss = new WebSocketServer({ server: this.server, perMessageDeflate: false });
    this.wss.on('connection', (ws, req) => {
      this.total++;
      this.log(`viewer connected from ${req.socket.remoteAddress} (${this.wss.clients.size} now)`);
      ws.on('error', () => {});
    });
    this.port = await listen(this.server, port, this.host);
    return this.port;
  }

  broadcast(chunk) {
    for (const ws of this.wss.clients) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(chunk, { binary: true });
        this.bytesSent += chunk.length;
      }
    }
  }

  async stop() {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    await closeServer(this.server, this.conns);
  }

  info() {
    return { port: this.port, connected: this.wss ? this.wss.clients.size : 0, total: this.total, bytes_sent: this.bytesSent };
  }
}

class Relay {
  constructor({ stream, host, streamKey, dir, records, viewers, log }) {
    Object.assign(this, { stream, host, streamKey, dir, records, viewers, log });
    this.port = 0;
    this.fileSeq = 0; // N in {stream}-{N}.ts, never reset
    this.slowBytesPerS = 0; // >0: read uploads no faster (POST /_peer/relay/{stream}/slow)
    this.redirect = null; // a location: uploads are answered 302 (POST /_peer/relay/{stream}/redirect)
    this.active = new Set();
    this.resetCounters();
  }

  resetCounters() {
    this.counters = { bytes: 0, chunks: 0, connections: 0, rejected: 0, redirected: 0 };
    this.uploads = [];
  }

  async start(port) {
    fs.mkdirSync(this.dir, { recursive: true });
    this.server = noTimeouts(http.createServer((req, res) => this.handle(req, res)));
    this.conns = trackConnections(this.server);
    this.port = await listen(this.server, port, this.host);
    return this.port;
  }

  async stop() {
    await closeServer(this.server, this.conns);
  }

  handle(req, res) {
    const segments = req.url.split('?')[0].slice(1).split('/');
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { Connection: 'close' });
      res.end();
      return;
    }
    if (this.redirect) {
      this.counters.redirected++;
      this.records.push('uploads', { stream: this.stream, type: 'redirect', path: req.url, n: null, location: this.redirect });
      this.log(`${this.stream} relay: ${req.url} answered 302 -> ${this.redirect}`);
      res.writeHead(302, { Location: this.redirect, 'Content-Length': 0, Connection: 'close' });
      res.end();
      req.resume();
      return;
    }
    if (segments[0] !== this.streamKey) {
      this.counters.rejected++;
      this.records.push('uploads', { stream: this.stream, type: 'rejected', path: req.url, n: null });
      this.log(`${this.stream} relay: refused ${req.url} (wrong stream key)`);
      res.writeHead(403, { Connection: 'close' });
      res.end();
      return;
    }
    const n = ++this.fileSeq;
    const file = path.join(this.dir, `${this.stream}-${n}.ts`);
    const out = fs.createWriteStream(file);
    const scan = new TsScanner();
    const upload = {
      stream: this.stream,
      n,
      path: req.url,
      file,
      chunked: /chunked/i.test(req.headers['transfer-encoding'] || ''),
      content_length: req.headers['content-length'] ? Number(req.headers['content-length']) : null,
      started_t_ms: this.records.now(),
      ended_t_ms: null,
      status: null,
      bytes: 0,
      chunks: 0,
      scan,
      req,
    };
    this.counters.connections++;
    this.active.add(upload);
    this.uploads.push(upload);
    this.records.push('uploads', { stream: this.stream, type: 'start', n, path: req.url, chunked: upload.chunked });
    this.log(`${this.stream} relay: upload #${n} ${req.url}${upload.chunked ? ' (chunked)' : ''}`);

    req.on('data', (chunk) => {
      out.write(chunk);
      scan.push(chunk);
      upload.bytes += chunk.length;
      upload.chunks++;
      this.counters.bytes += chunk.length;
      this.counters.chunks++;
      this.viewers.broadcast(chunk);
      this.records.poke();
      if (this.slowBytesPerS > 0) {
        // Read no faster than the set rate: pause, and resume when this chunk's time is up.
        req.pause();
        setTimeout(() => req.resume(), Math.ceil((chunk.length * 1000) / this.slowBytesPerS));
      }
    });
    const finish = (status) => {
      if (upload.status !== null) return;
      upload.status = status;
      upload.ended_t_ms = this.records.now();
      this.active.delete(upload);
      // "end" means the recording is complete on disk: tests read the file after it.
      out.end(() => this.records.push('uploads', { stream: this.stream, type: 'end', n, path: req.url, status, bytes: upload.bytes, ts: scan.summary() }));
      this.log(`${this.stream} relay: upload #${n} ${status} after ${upload.bytes} bytes`);
    };
    req.on('end', () => {
      finish(200);
      res.writeHead(200, { 'Content-Length': 0 });
      res.end();
    });
    req.on('close', () => finish('aborted'));
  }

  // Drop every active upload connection (the robot should upload again).
  kick() {
    const n = this.active.size;
    for (const u of this.active) u.req.socket.destroy();
    return n;
  }

  info() {
    return {
      port: this.port,
      redirect: this.redirect,
      ...this.counters,
      active: this.active.size,
      uploads: this.uploads.slice(-50).map((u) => ({
        n: u.n,
        path: u.path,
        file: u.file,
        chunked: u.chunked,
        content_length: u.content_length,
        bytes: u.bytes,
        chunks: u.chunks,
        started_t_ms: u.started_t_ms,
        ended_t_ms: u.ended_t_ms,
        status: u.status,
        ts: u.scan.summary(),
      })),
    };
  }
}

module.exports = { Relay, Viewers };
