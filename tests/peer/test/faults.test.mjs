// Scripted fault servers under both Engine.IO majors: kick after connect, move while
// stopped, scripted raw frames, stalls and 302 answers on the socket servers.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPeer, connectClient, once, RawSocket } from './helpers.mjs';

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

// A raw HTTP upgrade request; resolves with everything the server sent until it closed, or
// until `quietMs` passed without a byte (then `socket` is still open, for the caller).
function upgradeRequest(port, path, quietMs = 2000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
        + 'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    });
    let text = '';
    let timer = setTimeout(() => resolve({ text, open: true, socket }), quietMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => resolve({ text, open: true, socket }), quietMs);
    });
    socket.on('close', () => { clearTimeout(timer); resolve({ text, open: false, socket }); });
    socket.on('error', () => {});
  });
}

const OPEN3 = '0{"sid":"scripted","upgrades":[],"pingInterval":25000,"pingTimeout":5000}';
const OPEN4 = '0{"sid":"scripted","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';

for (const eio of [3, 4]) {
  describe(`fault servers, --eio ${eio}`, () => {
    let peer;
    const open = [];
    const raw = (name, query) => { const r = new RawSocket(peer, name, eio, query); open.push(r); return r; };
    const client = (name, extra) => { const c = connectClient(eio, peer.ready.urls[name], peer.ca, extra); open.push(c); return c; };
    // The socket.io handshake over a raw socket: the open packet, then the namespace connect.
    const handshake = async (r) => {
      const first = await r.next();
      assert.match(first, /^0\{"sid"/);
      if (eio === 4) r.send('40');
      assert.match(await r.next(), /^40/);
      return first;
    };

    before(async () => {
      peer = await startPeer(['--eio', String(eio), '--ping-interval', '300', '--ping-timeout', '2000']);
    });
    afterEach(async () => {
      for (const c of open.splice(0)) c.close();
      await peer.post('/_peer/reset');
    });
    after(async () => { await peer.stop(); });

    test('kick_on_connect: a namespace disconnect at once, for the next count connections', async () => {
      const set = await peer.post('/_peer/socket/control/kick_on_connect', { delay_ms: 0, count: 2 });
      assert.equal(set.status, 200);
      assert.deepEqual(set.json.kick_on_connect, { delay_ms: 0, close: false, remaining: 2 });

      const since = await peer.seq();
      const r = raw('control');
      await handshake(r);
      assert.equal(await r.next(), '41', 'namespace disconnect right after the connect');
      // Only the namespace went: the Engine.IO link still answers (EIO4: server pings; EIO3: our ping).
      if (eio === 3) r.send('2');
      assert.equal(await r.next(), eio === 4 ? '2' : '3');
      const kick = await peer.wait({ kind: 'events', socket: 'control', type: 'kick', since });
      const gone = await peer.wait({ kind: 'events', socket: 'control', type: 'disconnect', since });
      assert.equal(gone.conn_id, kick.conn_id);
      assert.equal(gone.args[0], 'server namespace disconnect');

      const c = client('control');
      const [reason] = await once(c, 'disconnect');
      assert.equal(reason, 'io server disconnect');
      const state = (await peer.get('/_peer/state')).json;
      assert.equal(state.sockets.control.kick_on_connect, null, 'count used up');

      const third = client('control');
      await once(third, 'connect');
      const acked = await new Promise((resolve) => third.emit('robot_id', 'r', (...a) => resolve(a)));
      assert.deepEqual(acked, ['ack', 'robot_id']);
      assert.equal(third.connected, true, 'the third connection is left alone');
    });

    test('kick_on_connect: after delay_ms, with close, until turned off', async () => {
      await peer.post('/_peer/socket/chat/kick_on_connect', { delay_ms: 300, close: true });
      for (let i = 0; i < 2; i++) {
        const since = await peer.seq();
        const r = raw('chat');
        await handshake(r);
        const code = await r.closed;
        assert.ok(typeof code === 'number', 'the Engine.IO connection is closed too');
        const conn = await peer.wait({ kind: 'events', socket: 'chat', type: 'connect', since });
        const kick = await peer.wait({ kind: 'events', socket: 'chat', type: 'kick', since });
        assert.equal(kick.conn_id, conn.conn_id);
        assert.ok(kick.t_ms - conn.t_ms >= 250, `kicked ${kick.t_ms - conn.t_ms} ms after connect`);
      }
      await peer.post('/_peer/socket/chat/kick_on_connect', { on: false });
      const c = client('chat');
      await once(c, 'connect');
      await new Promise((resolve) => c.emit('robot_id', 'r', resolve));
      assert.equal(c.connected, true);
      assert.equal((await peer.post('/_peer/socket/chat/kick_on_connect', { delay_ms: -1 })).status, 400);
    });

    test('move while stopped: back on a new port, discovery answers it', async () => {
      const port = peer.ready.ports.chat;
      const stopped = await peer.post('/_peer/socket/chat/stop');
      assert.equal(stopped.json.listening, false);
      const moved = await peer.post('/_peer/socket/chat/move', { port: 0 });
      assert.equal(moved.status, 200);
      assert.equal(moved.json.listening, true);
      assert.notEqual(moved.json.port, port);
      assert.equal((await peer.get('/get_chat_host_port/robot1')).json.port, moved.json.port);
      assert.equal(await refused(port), true, 'old port closed');
      const c = connectClient(eio, `http://127.0.0.1:${moved.json.port}`, peer.ca);
      open.push(c);
      await once(c, 'connect');

      // A port that is taken: 409, and discovery keeps the port the server last had.
      const blocker = net.createServer();
      await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      try {
        await peer.post('/_peer/socket/chat/stop');
        const taken = await peer.post('/_peer/socket/chat/move', { port: blocker.address().port });
        assert.equal(taken.status, 409);
        assert.equal((await peer.get('/get_chat_host_port/robot1')).json.port, moved.json.port);
      } finally {
        blocker.close();
      }
      // Back where the other tests expect it.
      assert.equal((await peer.post('/_peer/socket/chat/move', { port })).json.port, port);
    });

    test('script on upgrade: `40` before the open, then silence; the next connection is normal', async () => {
      const open4 = eio === 4 ? OPEN4 : OPEN3;
      const set = await peer.post('/_peer/socket/control/script', { frames: ['40', open4, '{{PAD:3}}'] });
      assert.equal(set.status, 200);
      assert.deepEqual(set.json.script, { on: 'upgrade', frames: 3, close_after_ms: null, remaining: 1 });
      const since = await peer.seq();
      const r = raw('control');
      assert.equal(await r.next(), '40');
      assert.equal(await r.next(), open4);
      assert.equal(await r.next(), 'aaa');
      r.send('2probe');
      const rec = await peer.wait({ kind: 'events', socket: 'control', type: 'scripted', since });
      assert.equal(rec.on, 'upgrade');
      assert.equal(rec.eio, eio);
      assert.equal(rec.injected, true);
      const heard = await peer.wait({ kind: 'events', socket: 'control', type: 'scripted', since, closed: 'false' });
      assert.equal(heard.seq, rec.seq);
      await assert.rejects(r.next(500), /no frame/, 'a scripted server answers nothing');
      assert.deepEqual((await peer.get(`/_peer/events?type=scripted&since=${since}`)).json[0].received, ['2probe']);
      r.close();
      await peer.wait({ kind: 'events', socket: 'control', type: 'scripted', since, closed: 'true' });
      assert.deepEqual((await peer.get(`/_peer/events?socket=control&type=connect&since=${since}`)).json, [],
        'socket.io never saw the scripted connection');

      const normal = raw('control');
      const first = await handshake(normal);
      assert.notEqual(first, open4, 'count 1: used up');
    });

    test('script on open: frames between the open packet and the namespace connect', async () => {
      await peer.post('/_peer/socket/chat/script', { frames: ['garbage', { base64: Buffer.from([1, 2]).toString('base64') }], on: 'open' });
      const since = await peer.seq();
      const r = raw('chat');
      assert.match(await r.next(), /^0\{"sid"/);
      assert.equal(await r.next(), 'garbage');
      assert.deepEqual(await r.next(), Buffer.from([1, 2]));
      if (eio === 4) r.send('40');
      assert.match(await r.next(), /^40/);
      const rec = await peer.wait({ kind: 'events', socket: 'chat', type: 'scripted', since, injected: 'true' });
      assert.equal(rec.on, 'open');
      await peer.wait({ kind: 'events', socket: 'chat', type: 'connect', since });
    });

    test('script on connect: a second open after the namespace connect; socket.io goes on; close_after_ms', async () => {
      const second = eio === 4 ? OPEN4 : OPEN3;
      await peer.post('/_peer/socket/app/script', { frames: [second], on: 'connect', close_after_ms: 300 });
      const since = await peer.seq();
      const r = raw('app');
      await handshake(r);
      assert.equal(await r.next(), second);
      r.send('42["after_second_open",1]');
      const ev = await peer.wait({ kind: 'events', socket: 'app', event: 'after_second_open', since });
      assert.deepEqual(ev.args, [1]);
      await r.closed;
      const rec = await peer.wait({ kind: 'events', socket: 'app', type: 'scripted', since, closed: 'true' });
      assert.ok(rec.closed_t_ms - rec.injected_t_ms >= 250, 'closed after close_after_ms');
      await peer.wait({ kind: 'events', socket: 'app', type: 'disconnect', since });
    });

    test('script: bad requests are refused; frames null clears', async () => {
      assert.equal((await peer.post('/_peer/socket/app/script', { frames: 'x' })).status, 400);
      assert.equal((await peer.post('/_peer/socket/app/script', { frames: [], on: 'later' })).status, 400);
      assert.equal((await peer.post('/_peer/socket/app/script', { frames: [1] })).status, 400);
      await peer.post('/_peer/socket/app/script', { frames: ['x'], count: 3 });
      const cleared = await peer.post('/_peer/socket/app/script', { frames: null });
      assert.equal(cleared.json.script, null);
    });

    test('stall upgrade: the upgrade completes, then nothing, not even a pong', async () => {
      const set = await peer.post('/_peer/socket/user/stall', { on: true });
      assert.deepEqual(set.json.stall, { mode: 'upgrade', remaining: null });
      const since = await peer.seq();
      const r = raw('user');
      await r.opened;
      let ponged = false;
      r.ws.on('pong', () => { ponged = true; });
      r.ws.ping();
      const rec = await peer.wait({ kind: 'events', socket: 'user', type: 'stalled', since });
      assert.equal(rec.mode, 'upgrade');
      assert.equal(rec.closed, false);
      await assert.rejects(r.next(800), /no frame/);
      assert.equal(ponged, false);
      r.close();
      const closed = await peer.wait({ kind: 'events', socket: 'user', type: 'stalled', since, closed: 'true' });
      assert.equal(closed.seq, rec.seq);

      await peer.post('/_peer/socket/user/stall', { on: false });
      const c = client('user');
      await once(c, 'connect');
    });

    test('stall silent: the HTTP upgrade is never answered; count', async () => {
      await peer.post('/_peer/socket/control/stall', { mode: 'silent', count: 1 });
      const since = await peer.seq();
      const port = peer.ready.ports.control;
      const got = await upgradeRequest(port, `/socket.io/?EIO=${eio}&transport=websocket`, 800);
      assert.equal(got.text, '', 'not a byte back');
      assert.equal(got.open, true);
      const rec = await peer.wait({ kind: 'events', socket: 'control', type: 'stalled', since });
      assert.equal(rec.mode, 'silent');
      assert.equal((await peer.get('/_peer/state')).json.sockets.control.held, 1);
      got.socket.destroy();
      await peer.wait({ kind: 'events', socket: 'control', type: 'stalled', since, closed: 'true' });
      const c = client('control');
      await once(c, 'connect');
    });

    test('redirect: upgrades answered 302; what followed it is recorded; null turns it off', async () => {
      const set = await peer.post('/_peer/socket/chat/redirect', {});
      const location = set.json.redirect;
      assert.equal(location, `http://127.0.0.1:${peer.ready.ports.discovery_http}/_peer/redirect_target/socket/chat`);
      const since = await peer.seq();
      const got = await upgradeRequest(peer.ready.ports.chat, `/socket.io/?EIO=${eio}&transport=websocket`);
      assert.match(got.text, /^HTTP\/1\.1 302 /);
      assert.match(got.text, new RegExp(`\r\nLocation: ${location}\r\n`));
      const rec = await peer.wait({ kind: 'events', socket: 'chat', type: 'redirect', since });
      assert.equal(rec.location, location);
      assert.equal(rec.upgrade, true);
      assert.equal(rec.eio, eio);

      // A client that follows: the target records the upgrade request as a request.
      const followed = await upgradeRequest(peer.ready.ports.discovery_http, '/_peer/redirect_target/socket/chat');
      assert.match(followed.text, /^HTTP\/1\.1 200 /);
      const hit = await peer.wait({ kind: 'requests', path: '/_peer/redirect_target/socket/chat', since });
      assert.equal(hit.redirect_target, true);
      assert.equal(hit.upgrade, 'websocket');

      const c = client('chat');
      await once(c, 'connect_error');
      await peer.post('/_peer/socket/chat/redirect', { location: null });
      const ok = client('chat');
      await once(ok, 'connect');
      assert.equal((await peer.post('/_peer/socket/chat/redirect', { location: 'http://x/\r\nX: y' })).status, 400);
    });

    test('reset turns every socket fault off and closes what they hold', async () => {
      await peer.post('/_peer/socket/app/stall', { mode: 'silent' });
      await peer.post('/_peer/socket/chat/kick_on_connect', { delay_ms: 10000 });
      await peer.post('/_peer/socket/control/script', { frames: ['x'], count: 5 });
      await peer.post('/_peer/socket/user/redirect', {});
      const since = await peer.seq();
      const held = upgradeRequest(peer.ready.ports.app, `/socket.io/?EIO=${eio}&transport=websocket`, 60000);
      await peer.wait({ kind: 'events', socket: 'app', type: 'stalled', since });
      await peer.post('/_peer/reset');
      assert.equal((await held).open, false, 'held connection closed');
      const { sockets } = (await peer.get('/_peer/state')).json;
      for (const s of Object.values(sockets)) {
        assert.deepEqual([s.kick_on_connect, s.stall, s.script, s.redirect, s.held], [null, null, null, null, 0], s.name);
      }
    });
  });
}
