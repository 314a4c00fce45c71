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
