'use strict';
// Small helpers shared by the HTTP handlers.

function sendJson(res, status, body, extraHeaders = {}) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': data.length,
    'Cache-Control': 'no-store',
    ...extraHeaders,
  });
  res.end(data);
}

function sendError(res, status, message) {
  sendJson(res, status, { error: message });
}

// Read a request body (limit bytes); resolves to a Buffer.
function readBody(req, limit = 64 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Parse a JSON body; an empty body is {}. Throws with .status = 400 on bad JSON.
async function readJson(req) {
  const buf = await readBody(req);
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    const err = new Error(`invalid JSON body: ${e.message}`);
    err.status = 400;
    throw err;
  }
}

// Track raw TCP sockets of a server so they can be destroyed on stop/exit
// (server.close() waits for them otherwise, including upgraded websockets).
function trackConnections(server) {
  const conns = new Set();
  // 'connection' gives the raw TCP socket for http and https servers alike.
  server.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
  });
  return conns;
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (e) => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve(server.address().port);
    });
  });
}

function closeServer(server, conns) {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return; }
    server.close(() => resolve());
    for (const c of conns) c.destroy();
  });
}

// Node 20 defaults to a 5 minute requestTimeout; uploads and "hang" faults
// must be able to last longer.
function noTimeouts(server) {
  server.requestTimeout = 0;
  server.headersTimeout = 60000;
  server.keepAliveTimeout = 5000;
  return server;
}

module.exports = { sendJson, sendError, readBody, readJson, trackConnections, listen, closeServer, noTimeouts };
