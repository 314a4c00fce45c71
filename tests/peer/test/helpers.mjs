// Shared helpers for the peer self-tests: spawn server.js, talk to /_peer/.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
export const sio2client = require('sio2-client');
export const { io: sio4client } = require('sio4-client');

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url));

// Start a peer; resolves once PEER_READY is printed.
// Without --state-dir a temporary one is used and removed again by stop().
export function startPeer(args = []) {
  const own = args.includes('--state-dir') ? null : stateDirFor('peer');
  const full = own ? [...args, '--state-dir', own] : args;
  const proc = spawn(process.execPath, [SERVER, '--quiet', ...full], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.once('exit', () => { if (own) fs.rmSync(own, { recursive: true, force: true }); });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stdout });
    const onExit = (code) => reject(new Error(`peer exited ${code} before ready: ${stderr}`));
    proc.once('exit', onExit);
    lines.on('line', (line) => {
      if (!line.startsWith('PEER_READY ')) return;
      proc.removeListener('exit', onExit);
      const ready = JSON.parse(line.slice('PEER_READY '.length));
      resolve(new Peer(proc, ready, () => stderr));
    });
  });
}

export class Peer {
  constructor(proc, ready, stderr) {
    this.proc = proc;
    this.ready = ready;
    this.stderr = stderr;
    this.base = ready.urls.discovery_http;
    this.ca = fs.readFileSync(ready.ca_file);
  }

  async api(method, p, body) {
    const res = await fetch(this.base + p, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not json */ }
    return { status: res.status, json, text };
  }

  get(p) { return this.api('GET', p); }
  post(p, body = {}) { return this.api('POST', p, body); }

  // Long-poll /_peer/wait; resolves with the record, throws on timeout.
  async wait(params, timeoutMs = 5000) {
    const q = new URLSearchParams({ timeout_ms: String(timeoutMs), ...params });
    const r = await this.get(`/_peer/wait?${q}`);
    if (r.status !== 200) throw new Error(`wait ${q} -> ${r.status} ${r.text}`);
    return r.json;
  }

  async seq() { return (await this.get('/_peer/state')).json.seq; }

  stop() {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) { resolve(this.proc.exitCode); return; }
      this.proc.once('exit', (code, signal) => resolve(code ?? signal));
      this.proc.kill('SIGTERM');
    });
  }
}

// GET over https with a given CA; resolves {status, body} or rejects on TLS errors.
export function httpsGet(url, ca, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', ca, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

// Resolve when emitter fires event (first args array), reject after ms.
export function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    emitter.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

// Connect a socket.io client of the given Engine.IO major to url.
export function connectClient(eio, url, ca, extra = {}) {
  const opts = { transports: ['websocket'], forceNew: true, reconnection: false, ca, ...extra };
  const socket = eio === 3 ? sio2client(url, opts) : sio4client(url, opts);
  return socket;
}

export function stateDirFor(name) {
  return fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), `peer-test-${name}-`));
}

export const WebSocket = require('ws');

// A raw WebSocket to a socket server's Engine.IO endpoint (no socket.io client): every frame
// it receives, in order, for tests that check exactly what went over the wire.
export class RawSocket {
  constructor(peer, name, eio, query = '') {
    const scheme = peer.ready.urls[name].startsWith('https') ? 'wss' : 'ws';
    this.url = `${scheme}://127.0.0.1:${peer.ready.ports[name]}/socket.io/?EIO=${eio}&transport=websocket${query}`;
    this.ws = new WebSocket(this.url, { ca: peer.ca });
    this.frames = [];
    this.read = 0;
    this.wake = null;
    this.ws.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? Buffer.from(data) : data.toString());
      if (this.wake) this.wake();
    });
    this.ws.on('error', () => {});
    this.opened = once(this.ws, 'open');
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.once('close', () => { if (this.wake) this.wake(); });
  }

  // The next frame not read yet; rejects after ms or if the socket closes first.
  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    while (this.read >= this.frames.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed after ${this.frames.length} frames: ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms after ${JSON.stringify(this.frames)}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); this.wake = null; resolve(); };
      });
    }
    return this.frames[this.read++];
  }

  send(text) { this.ws.send(text); }
  close() { this.ws.terminate(); }
}
