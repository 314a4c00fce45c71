'use strict';
// Discovery lookups and api-server endpoints (served on both the http and
// the https discovery port), with per-path fault injection. Every request
// that reaches here is recorded as a "requests" record when it arrives; its
// status is filled in once answered (null while pending, or for hang/close).
// /_peer/redirect_target/... is served here too (any method, upgrades included): where a
// redirect fault points by default, so a request that followed one is recorded.
// A POST is recorded once its body has arrived, with the body (its first 4 KiB) as text.

const { sendJson, readBody } = require('./http-util');

const BODY_RECORD_LIMIT = 4096;

const GARBAGE = Buffer.from('<html>\u0000\u00ff\u00fe this is {{not json', 'latin1');

// A route answers {status, body} or {status, body, headers}; body is an object.
function routes(ctx) {
  const { model, sockets, relays } = ctx;
  const robot = (id) => id === model.opts.robotId;
  const camera = (id) => id === model.opts.cameraId;
  const unknown = (what, id) => ({ status: 404, body: { error: `unknown ${what} ${id}` } });
  const hostPort = (svc) => ({ status: 200, body: { host: ctx.advertiseHost, port: svc.port } });

  return [
    ['GET', /^\/get_control_host_port\/([^/]+)$/, (id) => (robot(id) ? hostPort(sockets.control) : unknown('robot_id', id))],
    ['GET', /^\/get_chat_host_port\/([^/]+)$/, (id) => (robot(id) ? hostPort(sockets.chat) : unknown('robot_id', id))],
    ['GET', /^\/get_websocket_relay_host\/([^/]+)$/, (id) => (camera(id)
      ? { status: 200, body: { host: ctx.advertiseHost } } : unknown('camera_id', id))],
    ['GET', /^\/get_video_port\/([^/]+)$/, (id) => (camera(id)
      ? { status: 200, body: { mpeg_stream_port: relays.video.port } } : unknown('camera_id', id))],
    ['GET', /^\/get_audio_port\/([^/]+)$/, (id) => (camera(id)
      ? { status: 200, body: { audio_stream_port: relays.audio.port } } : unknown('camera_id', id))],
    ['GET', /^\/get_robot_owner\/([^/]+)$/, (id) => (robot(id)
      ? { status: 200, body: { owner: model.opts.owner } } : unknown('robot_id', id))],
    ['GET', /^\/get_wifi_login\/([^/]+)$/, () => ({ status: 200, body: { wifi_name: 'peerwifi', wifi_password: 'peerpass' } })],
    ['GET', /^\/api\/v1\/robots\/([^/]+)$/, (id) => (robot(id)
      ? { status: 200, body: model.settings } : unknown('robot_id', id))],
    ['POST', /^\/api\/v1\/robots\/([^/]+)$/, (id, req) => updateSettings(ctx, id, req)],
    ['GET', /^\/api\/v1\/accounts\/([^/]+)$/, (name) => (name === model.opts.owner
      ? { status: 200, body: { username: name, moderators: model.moderators } } : unknown('account', name))],
  ];
}

async function updateSettings(ctx, id, req) {
  const { model } = ctx;
  if (req.headers.authorization !== `Bearer ${model.opts.apiKey}`) {
    return { status: 401, body: { error: 'unauthorized' }, headers: { 'WWW-Authenticate': 'Bearer' } };
  }
  if (id !== model.opts.robotId) return { status: 404, body: { error: `unknown robot_id ${id}` } };
  let body;
  try {
    const raw = req.peerBody || Buffer.alloc(0);
    body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return { status: 400, body: { error: `invalid JSON body: ${e.message}` } };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { status: 400, body: { error: 'body must be a JSON object' } };
  }
  Object.assign(model.settings, body);
  ctx.sockets.app.emit('robot_settings_changed', [{ robot_id: model.opts.robotId }]);
  return { status: 200, body: model.settings };
}

async function answer(table, method, pathname, req) {
  let pathMatched = false;
  for (const [m, re, fn] of table) {
    const hit = re.exec(pathname);
    if (!hit) continue;
    pathMatched = true;
    if (m === method || (m === 'GET' && method === 'HEAD')) return fn(decodeURIComponent(hit[1]), req);
  }
  return pathMatched
    ? { status: 405, body: { error: `method ${method} not allowed` } }
    : { status: 404, body: { error: `no such endpoint ${pathname}` } };
}

const PORT_KEYS = ['port', 'mpeg_stream_port', 'audio_stream_port'];

// Apply a "shape" fault to a normal answer's body.
function reshape(mode, result, fault) {
  const body = { ...result.body };
  if (mode === 'string_port') {
    for (const k of PORT_KEYS) if (k in body) body[k] = String(body[k]);
  } else if (mode === 'doc_keys') {
    for (const k of ['mpeg_stream_port', 'audio_stream_port']) {
      if (k in body) { body.port = body[k]; delete body[k]; }
    }
  } else if (mode === 'missing_key') {
    return { ...result, body: {} };
  } else if (mode === 'big') {
    const size = fault.bytes || 100 * 1024;
    body.pad = 'x'.repeat(size);
  }
  return { ...result, body };
}

function makeDiscoveryHandler(ctx) {
  const table = routes(ctx);
  ctx.hung = new Set();

  return async function handleDiscovery(req, res, scheme, url) {
    let body = null;
    if (req.method === 'POST' && !url.pathname.startsWith('/_peer/redirect_target')) {
      try {
        body = await readBody(req, 1024 * 1024);
      } catch (e) {
        return;  // too large or aborted: readBody destroyed the request
      }
      req.peerBody = body;
    }
    const rec = ctx.records.push('requests', {
      scheme,
      method: req.method,
      path: url.pathname + url.search,
      authorization: req.headers.authorization || null,
      user_agent: req.headers['user-agent'] || null,
      status: null,
      fault: null,
      ...(body ? { body: body.toString('utf8').slice(0, BODY_RECORD_LIMIT) } : {}),
    });
    if (url.pathname.startsWith('/_peer/redirect_target')) {
      rec.redirect_target = true;
      rec.upgrade = req.headers.upgrade || null;
      req.resume();
      sendJson(res, 200, { redirect_target: true }, { Connection: 'close' });
      rec.status = 200;
      ctx.records.poke();
      ctx.log(`${scheme} ${req.method} ${rec.path}: a redirect was followed`);
      return;
    }
    const fault = ctx.model.takeFault(url.pathname, scheme);
    if (fault) rec.fault = fault.mode;
    const done = (status) => { rec.status = status; ctx.records.poke(); };
    ctx.log(`${scheme} ${req.method} ${rec.path}${fault ? ` [fault ${fault.mode}]` : ''}`);

    if (fault && fault.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
    const mode = fault ? fault.mode : null;
    if (mode === 'hang') {
      ctx.hung.add(res);
      res.on('close', () => ctx.hung.delete(res));
      return;
    }
    if (mode === 'close') { req.socket.destroy(); return; }
    if (mode === 'redirect') {
      rec.location = fault.location;
      res.writeHead(302, { Location: fault.location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
      res.end();
      done(302);
      return;
    }
    if (mode === 'status') {
      sendJson(res, fault.status, { error: `injected fault: status ${fault.status}` });
      done(fault.status);
      return;
    }
    if (mode === 'garbage' || mode === 'empty') {
      const data = mode === 'garbage' ? GARBAGE : Buffer.alloc(0);
      res.writeHead(200, { 'Content-Type': mode === 'garbage' ? 'text/html' : 'application/json', 'Content-Length': data.length });
      res.end(data);
      done(200);
      return;
    }
    let result = await answer(table, req.method, url.pathname, req);
    if (mode && mode !== 'delay') result = reshape(mode, result, fault);
    sendJson(res, result.status, result.body, result.headers);
    done(result.status);
  };
}

module.exports = { makeDiscoveryHandler };
