#!/usr/bin/env node
'use strict';
// robotd peer: a local LetsRobot-compatible server for tests and `make run`.
// Wiring only; see lib/ for each service and README.md for the interface.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const { parseArgs } = require('./lib/args');
const { ensureTls } = require('./lib/tls');
const { Records } = require('./lib/records');
const { Model } = require('./lib/model');
const { SocketService, SOCKET_NAMES } = require('./lib/sockets');
const { Relay, Viewers } = require('./lib/relay');
const { makeDiscoveryHandler } = require('./lib/discovery');
const { makeControlHandler } = require('./lib/control');
const { isPagePath, servePage } = require('./lib/page');
const { sendError, trackConnections, listen, closeServer, noTimeouts } = require('./lib/http-util');

// Fixed order of ports for --ports BASE (BASE+0, BASE+1, ...).
const PORT_ORDER = ['discovery_http', 'discovery_https', 'control', 'chat', 'app', 'user', 'video', 'audio', 'viewer_ws'];

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  const log = opts.quiet ? () => {} : (msg) => process.stderr.write(`[peer] ${msg}\n`);
  const stateDir = path.resolve(opts.stateDir || fs.mkdtempSync(path.join(os.tmpdir(), 'robotd-peer-')));
  fs.mkdirSync(stateDir, { recursive: true });
  const host = opts.host;
  const localHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  // What discovery answers: a robot in a VM reaches the peer at another address.
  const advertiseHost = opts.advertiseHost || localHost;
  const tlsFiles = ensureTls(stateDir, advertiseHost);
  const tls = { key: fs.readFileSync(tlsFiles.key_file), cert: fs.readFileSync(tlsFiles.cert_file) };
  const portFor = (name) => (opts.ports === 'auto' ? 0 : opts.ports + PORT_ORDER.indexOf(name));

  const records = new Records();
  const model = new Model(opts);
  const sockets = {};
  for (const name of SOCKET_NAMES) {
    sockets[name] = new SocketService({
      name, eio: opts.eio, host, tls: name === 'user' ? tls : null, records, log,
      pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout,
    });
  }
  const recordingsDir = path.join(stateDir, 'recordings');
  const viewers = new Viewers({ host, log });
  const relays = {};
  for (const stream of ['video', 'audio']) {
    relays[stream] = new Relay({ stream, host, streamKey: opts.streamKey, dir: recordingsDir, records, viewers, log });
  }

  const discovery = { http: null, https: null };
  const ctx = {
    opts, stateDir, advertiseHost, records, model, sockets, relays, viewers, log,
    ports: () => ({
      discovery_http: discovery.http.port,
      discovery_https: discovery.https.port,
      ...Object.fromEntries(SOCKET_NAMES.map((n) => [n, sockets[n].port])),
      video: relays.video.port,
      audio: relays.audio.port,
      viewer_ws: viewers.port,
    }),
    urls: () => {
      const p = ctx.ports();
      const u = (scheme, port) => `${scheme}://${localHost}:${port}`;
      return {
        discovery_http: u('http', p.discovery_http),
        discovery_https: u('https', p.discovery_https),
        control: u('http', p.control),
        chat: u('http', p.chat),
        app: u('http', p.app),
        user: u('https', p.user),
        video: `${u('http', p.video)}/${opts.streamKey}/640/480/`,
        audio: `${u('http', p.audio)}/${opts.streamKey}/640/480/`,
        viewer_ws: `${u('ws', p.viewer_ws)}/`,
        page: `${u('http', p.discovery_http)}/`,
      };
    },
    recordings: () => (fs.existsSync(recordingsDir) ? fs.readdirSync(recordingsDir).sort().map((f) => path.join(recordingsDir, f)) : []),
  };
  const handleDiscovery = makeDiscoveryHandler(ctx);
  const handleControl = makeControlHandler(ctx);

  const handler = (scheme) => (req, res) => {
    let url;
    try {
      url = new URL(req.url, 'http://peer');
      if (url.pathname.startsWith('/_peer/') && !url.pathname.startsWith('/_peer/redirect_target')) handleControl(req, res, url);
      else if (isPagePath(url.pathname)) servePage(req, res, url.pathname);
      else handleDiscovery(req, res, scheme, url).catch((e) => sendError(res, 500, e.message));
    } catch (e) {
      if (!res.headersSent) sendError(res, 400, e.message);
    }
  };

  ctx.setDiscoveryTls = (certFile, keyFile) => {
    const pair = certFile ? { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) } : tls;
    discovery.https.server.setSecureContext(pair);
    return { cert_file: certFile || tlsFiles.cert_file };
  };
  for (const scheme of ['http', 'https']) {
    const server = noTimeouts(scheme === 'https' ? https.createServer(tls, handler(scheme)) : http.createServer(handler(scheme)));
    discovery[scheme] = { server, conns: trackConnections(server), port: 0 };
  }

  try {
    discovery.http.port = await listen(discovery.http.server, portFor('discovery_http'), host);
    discovery.https.port = await listen(discovery.https.server, portFor('discovery_https'), host);
    for (const name of SOCKET_NAMES) await sockets[name].start(portFor(name));
    for (const stream of ['video', 'audio']) await relays[stream].start(portFor(stream));
    await viewers.start(portFor('viewer_ws'));
  } catch (e) {
    process.stderr.write(`[peer] cannot listen: ${e.message}\n`);
    process.exit(1);
  }

  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    setTimeout(() => process.exit(0), 3000).unref();
    for (const res of ctx.hung) res.destroy();
    await Promise.all([
      ...Object.values(sockets).map((s) => s.stop({ abrupt: true })),
      ...Object.values(relays).map((r) => r.stop()),
      viewers.stop(),
      closeServer(discovery.http.server, discovery.http.conns),
      closeServer(discovery.https.server, discovery.https.conns),
    ]);
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const ready = {
    ports: ctx.ports(),
    urls: ctx.urls(),
    ca_file: tlsFiles.ca_file,
    wrong_ca_file: tlsFiles.wrong_ca_file,
    cert_file: tlsFiles.cert_file,
    key_file: tlsFiles.key_file,
    state_dir: stateDir,
    recordings_dir: recordingsDir,
    eio: opts.eio,
    pid: process.pid,
    identity: {
      robot_id: opts.robotId, camera_id: opts.cameraId, owner: opts.owner,
      stream_key: opts.streamKey, api_key: opts.apiKey,
    },
  };
  process.stdout.write(`PEER_READY ${JSON.stringify(ready)}\n`);
  log(`ready; driver page at ${ready.urls.page}`);
}

main().catch((e) => {
  process.stderr.write(`[peer] fatal: ${e.stack || e}\n`);
  process.exit(1);
});
