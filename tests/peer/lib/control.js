'use strict';
// The test/driver control API under /_peer/ (JSON in, JSON out).

const crypto = require('node:crypto');
const { sendJson, sendError, readJson } = require('./http-util');
const { checkLocation } = require('./socket-faults');

const KINDS = ['events', 'requests', 'uploads'];

function fail(status, message) {
  return Object.assign(new Error(message), { status });
}

function queryFilter(url, drop = []) {
  const filter = {};
  for (const [k, v] of url.searchParams) if (!drop.includes(k)) filter[k] = v;
  return filter;
}

function makeControlHandler(ctx) {
  const { records, model, sockets, relays, viewers } = ctx;

  const socketNamed = (name) => {
    const svc = sockets[name];
    if (!svc) throw fail(404, `no socket server named ${name}`);
    return svc;
  };

  const relayNamed = (name) => {
    const relay = relays[name];
    if (!relay) throw fail(404, 'stream must be video or audio');
    return relay;
  };

  // A redirect's location: absent = this peer's recording target (/_peer/redirect_target/...,
  // recorded as a request when anything arrives there); null = no redirect.
  const redirectLocation = (body, what) => {
    if (body.location === undefined) {
      return `http://${ctx.advertiseHost}:${ctx.ports().discovery_http}/_peer/redirect_target/${what}`;
    }
    if (body.location === null) return null;
    return checkLocation(body.location);
  };

  const relayInfo = (withUploads) => {
    const out = {};
    for (const [name, relay] of Object.entries(relays)) {
      const info = relay.info();
      if (!withUploads) delete info.uploads;
      out[name] = info;
    }
    out.viewers = viewers.info();
    return out;
  };

  async function emit(name, event, args, { ack = false, timeoutMs = 5000 } = {}) {
    const svc = socketNamed(name);
    if (typeof event !== 'string' || !event) throw fail(400, 'event must be a non-empty string');
    const list = Array.isArray(args) ? args : args === undefined ? [] : [args];
    const results = await svc.emit(event, list, { ack, timeoutMs });
    if (results.length === 0) throw fail(409, `no robot connected to ${name}`);
    if (!ack) return { status: 200, body: { sent: results.length } };
    const answered = results.filter((r) => !r.timeout);
    const body = { sent: results.length, ack: answered.length ? answered[0].ack : null, acks: results };
    return { status: answered.length ? 200 : 408, body };
  }

  async function socketOp(name, op, body) {
    const svc = socketNamed(name);
    try {
      if (op === 'stop') await svc.stop({ abrupt: !!body.abrupt });
      else if (op === 'start') await svc.start();
      else if (op === 'move') await svc.move(Number(body.port || 0));
      else if (op === 'noping') svc.setNoPing(body.on !== false);
      else if (op === 'ack') svc.setAckMode(body);
      else if (op === 'kick') svc.kick({ abrupt: !!body.abrupt });
      else if (op === 'kick_on_connect') svc.setKickOnConnect(body);
      else if (op === 'script') svc.faults.setScript(body);
      else if (op === 'stall') svc.faults.setStall(body);
      else if (op === 'redirect') svc.faults.setRedirect(redirectLocation(body, `socket/${name}`));
      else throw fail(404, `unknown socket operation ${op}`);
    } catch (e) {
      if (e.code === 'EADDRINUSE') throw fail(409, `port ${e.port} is in use`);
      throw e;
    }
    return svc.info();
  }

  function state() {
    return {
      eio: ctx.opts.eio,
      state_dir: ctx.stateDir,
      ports: ctx.ports(),
      urls: ctx.urls(),
      identity: {
        robot_id: ctx.opts.robotId,
        camera_id: ctx.opts.cameraId,
        owner: ctx.opts.owner,
        stream_key: ctx.opts.streamKey,
        api_key: ctx.opts.apiKey,
      },
      sockets: Object.fromEntries(Object.entries(sockets).map(([n, s]) => [n, s.info()])),
      relay: relayInfo(false),
      faults: model.faults,
      settings: model.settings,
      moderators: model.moderators,
      seq: records.seq,
      t_ms: records.now(),
    };
  }

  async function wait(url, res) {
    const kind = url.searchParams.get('kind') || 'events';
    const timeoutMs = Math.min(Number(url.searchParams.get('timeout_ms') || 10000), 600000);
    let waiter;
    if (KINDS.includes(kind)) {
      const filter = queryFilter(url, ['kind', 'timeout_ms']);
      if (filter.since === undefined) filter.since = 0;
      waiter = records.waitRecord(kind, filter, timeoutMs);
    } else if (kind === 'relay_bytes') {
      const relay = relays[url.searchParams.get('stream') || 'video'];
      if (!relay) throw fail(404, 'stream must be video or audio');
      const min = Number(url.searchParams.get('min_bytes') || 1);
      waiter = records.waitUntil(() => {
        const info = relay.info();
        return info.bytes >= min ? info : undefined;
      }, timeoutMs);
    } else {
      throw fail(400, `kind must be one of ${KINDS.join(', ')}, relay_bytes`);
    }
    res.on('close', () => waiter.cancel());
    const found = await waiter.promise;
    if (found === undefined) return { status: 408, body: { error: 'timeout', timeout_ms: timeoutMs, seq: records.seq } };
    return { status: 200, body: found };
  }

  function chatPayload(b) {
    const robotName = model.settings.robot_name || ctx.opts.robotName;
    return {
      name: b.name || 'user1',
      message: b.message !== undefined ? b.message : `[${robotName}] ${b.text || ''}`,
      robot_id: b.robot_id || ctx.opts.robotId,
      room: b.room || ctx.opts.owner,
      non_global: b.non_global !== undefined ? !!b.non_global : !!model.settings.non_global_chat,
      username_color: b.username_color || '#000000',
      anonymous: !!b.anonymous,
      _id: b._id || crypto.randomBytes(12).toString('hex'),
    };
  }

  function rawFrame(b) {
    if (typeof b.base64 === 'string') return Buffer.from(b.base64, 'base64');
    if (typeof b.data !== 'string') throw fail(400, 'raw needs data (string) or base64');
    // {{PAD:N}} expands to N 'a' characters (for huge frames without huge requests)
    const text = b.data.replace(/\{\{PAD:(\d+)\}\}/g, (_, n) => 'a'.repeat(Number(n)));
    return b.binary ? Buffer.from(text, 'utf8') : text;
  }

  // method, path regex, handler(match, body, url, res) -> {status, body}
  const table = [
    ['GET', /^\/_peer\/state$/, () => ({ status: 200, body: state() })],
    ['GET', /^\/_peer\/(requests|events|uploads)$/, (m, b, url) => ({
      status: 200, body: records.list(m[1], queryFilter(url)),
    })],
    ['GET', /^\/_peer\/wait$/, (m, b, url, res) => wait(url, res)],
    ['POST', /^\/_peer\/emit$/, (m, b) => emit(b.socket, b.event, b.args, {
      ack: !!b.ack, timeoutMs: Number(b.ack_timeout_ms || 5000),
    })],
    ['POST', /^\/_peer\/command$/, async (m, b) => {
      const payload = {
        robot_id: b.robot_id || ctx.opts.robotId,
        command: b.command,
        user: b.user !== undefined ? b.user : 'user1',
        key_position: b.key_position !== undefined ? b.key_position : '',
        anonymous: !!b.anonymous,
      };
      // CLOCK_MONOTONIC in microseconds, the clock robotd stamps its lines with: benchmarks
      // take latency as the robot's t_us minus this.
      const emittedUs = Number(process.hrtime.bigint() / 1000n);
      const r = await emit(b.socket || 'control', 'command_to_robot', [payload]);
      return { status: r.status, body: { ...r.body, payload, emitted_us: emittedUs } };
    }],
    ['POST', /^\/_peer\/chat$/, async (m, b) => {
      const payload = chatPayload(b);
      const r = await emit(b.socket || 'chat', 'chat_message_with_name', [payload]);
      return { status: r.status, body: { ...r.body, payload } };
    }],
    ['POST', /^\/_peer\/raw$/, (m, b) => {
      const frame = rawFrame(b);
      const r = socketNamed(b.socket).raw(frame);
      return { status: r.sent ? 200 : 409, body: { ...r, bytes: Buffer.byteLength(frame) } };
    }],
    ['POST', /^\/_peer\/socket\/([a-z]+)\/([a-z_]+)$/, async (m, b) => ({
      status: 200, body: await socketOp(m[1], m[2], b),
    })],
    ['GET', /^\/_peer\/fault$/, () => ({ status: 200, body: model.faults })],
    ['POST', /^\/_peer\/fault$/, (m, b) => ({
      status: 200,
      body: model.addFault(b.mode === 'redirect' ? { ...b, location: redirectLocation(b, 'lookup') } : b),
    })],
    ['DELETE', /^\/_peer\/fault$/, () => { model.faults = []; return { status: 200, body: { ok: true } }; }],
    ['POST', /^\/_peer\/settings$/, async (m, b) => {
      const { emit: doEmit, ...changes } = b;
      Object.assign(model.settings, changes);
      if (doEmit) await sockets.app.emit('robot_settings_changed', [{ robot_id: ctx.opts.robotId }]);
      return { status: 200, body: model.settings };
    }],
    ['POST', /^\/_peer\/moderators$/, (m, b) => {
      if (!Array.isArray(b.moderators)) throw fail(400, 'moderators must be an array');
      model.moderators = b.moderators.map(String);
      return { status: 200, body: { moderators: model.moderators } };
    }],
    ['POST', /^\/_peer\/reset$/, () => {
      model.reset();
      records.clear();
      for (const r of Object.values(relays)) { r.resetCounters(); r.redirect = null; }
      for (const s of Object.values(sockets)) s.resetFaults();
      return { status: 200, body: { ok: true, seq: records.seq } };
    }],
    // The https discovery server's certificate: {cert_file, key_file} (PEM paths) for new
    // connections, {} back to the peer's own pair.
    ['POST', /^\/_peer\/tls$/, (m, b) => {
      if ((b.cert_file === undefined) !== (b.key_file === undefined)) throw fail(400, 'tls needs cert_file and key_file, or neither');
      return { status: 200, body: ctx.setDiscoveryTls(b.cert_file, b.key_file) };
    }],
    ['GET', /^\/_peer\/relay$/, () => ({
      status: 200, body: { ...relayInfo(true), recordings: ctx.recordings() },
    })],
    // Throttle reads of uploads (0 = full speed): TCP back-pressure then reaches the robot.
    ['POST', /^\/_peer\/relay\/([a-z]+)\/slow$/, (m, b) => {
      const relay = relayNamed(m[1]);
      relay.slowBytesPerS = Math.max(0, Number(b.bytes_per_s) || 0);
      return { status: 200, body: { bytes_per_s: relay.slowBytesPerS } };
    }],
    ['POST', /^\/_peer\/relay\/([a-z]+)\/kick$/, (m) => {
      const relay = relayNamed(m[1]);
      return { status: 200, body: { dropped: relay.kick() } };
    }],
    // Answer uploads 302 to `location` (null: off), without reading them.
    ['POST', /^\/_peer\/relay\/([a-z]+)\/redirect$/, (m, b) => {
      const relay = relayNamed(m[1]);
      relay.redirect = redirectLocation(b, `relay/${m[1]}`);
      return { status: 200, body: { redirect: relay.redirect } };
    }],
  ];

  return async function handleControl(req, res, url) {
    try {
      let pathMatched = false;
      for (const [method, re, fn] of table) {
        const m = re.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (method !== req.method) continue;
        const body = req.method === 'POST' ? await readJson(req) : {};
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail(400, 'body must be a JSON object');
        const r = await fn(m, body, url, res);
        if (!res.writableEnded && !res.destroyed) sendJson(res, r.status, r.body);
        return;
      }
      sendError(res, pathMatched ? 405 : 404, `no control route ${req.method} ${url.pathname}`);
    } catch (e) {
      if (!res.headersSent && !res.destroyed) sendError(res, e.status || 500, e.message);
    }
  };
}

module.exports = { makeControlHandler };
