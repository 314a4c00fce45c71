// The four socket.io servers under both Engine.IO majors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startPeer, connectClient, once } from './helpers.mjs';

const NAMES = ['control', 'chat', 'app', 'user'];

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

for (const eio of [3, 4]) {
  describe(`socket servers, --eio ${eio}`, () => {
    let peer;
    const clients = [];
    const connect = async (name, extra = {}) => {
      const c = connectClient(eio, peer.ready.urls[name], peer.ca, extra);
      clients.push(c);
      await once(c, 'connect');
      return c;
    };

    before(async () => {
      peer = await startPeer(['--eio', String(eio), '--ping-interval', '300', '--ping-timeout', '300']);
    });
    after(async () => {
      for (const c of clients) c.close();
      await peer.stop();
    });

    test('each server records connect, events with/without ack, disconnect', async () => {
      for (const name of NAMES) {
        const since = await peer.seq();
        const c = await connect(name);
        const conn = await peer.wait({ kind: 'events', socket: name, type: 'connect', since });
        assert.equal(conn.eio, eio);
        assert.equal(conn.transport, 'websocket');

        const reply = new Promise((resolve) => c.emit('robot_id', 'r1', (...a) => resolve(a)));
        assert.deepEqual(await reply, ['ack', 'robot_id'], `${name} ack reply`);
        const ev = await peer.wait({ kind: 'events', socket: name, event: 'robot_id', since });
        assert.deepEqual(ev.args, ['r1']);
        assert.equal(ev.ack_requested, true);
        assert.equal(ev.conn_id, conn.conn_id);

        c.emit('send_video_status', { send_video_process_exists: true, camera_id: 'camera1' });
        const st = await peer.wait({ kind: 'events', socket: name, event: 'send_video_status', since });
        assert.equal(st.ack_requested, false);
        assert.deepEqual(st.args, [{ send_video_process_exists: true, camera_id: 'camera1' }]);

        c.close();
        const gone = await peer.wait({ kind: 'events', socket: name, type: 'disconnect', since });
        assert.equal(gone.conn_id, conn.conn_id);
        assert.equal(typeof gone.args[0], 'string');
      }
      const events = (await peer.get('/_peer/events?socket=user')).json;
      assert.ok(events.length >= 4 && events.every((e) => e.socket === 'user'));
    });

    test('user server is TLS: the wrong CA is refused', async () => {
      const wrong = fs.readFileSync(peer.ready.wrong_ca_file);
      const c = connectClient(eio, peer.ready.urls.user, wrong);
      clients.push(c);
      await once(c, 'connect_error');
      assert.equal(c.connected, false);
    });

    test('emit reaches the robot; ack round trip; 408 without ack; 409 with no robot', async () => {
      const none = await peer.post('/_peer/emit', { socket: 'app', event: 'x', args: [] });
      assert.equal(none.status, 409);

      const c = await connect('app');
      const got = once(c, 'exclusive_control');
      const r = await peer.post('/_peer/emit', { socket: 'app', event: 'exclusive_control', args: [{ status: 'start', robot_id: 'robot1' }] });
      assert.equal(r.status, 200);
      assert.equal(r.json.sent, 1);
      assert.deepEqual(await got, [{ status: 'start', robot_id: 'robot1' }]);

      c.on('want_ack', (a, cb) => cb('got', a * 2));
      const acked = await peer.post('/_peer/emit', { socket: 'app', event: 'want_ack', args: [21], ack: true, ack_timeout_ms: 2000 });
      assert.equal(acked.status, 200);
      assert.deepEqual(acked.json.ack, ['got', 42]);

      const silent = await peer.post('/_peer/emit', { socket: 'app', event: 'nobody_acks', args: [], ack: true, ack_timeout_ms: 200 });
      assert.equal(silent.status, 408);

      const bin = once(c, 'blob');
      await peer.post('/_peer/emit', { socket: 'app', event: 'blob', args: [{ _binary_base64: Buffer.from('hi!').toString('base64') }] });
      const [buf] = await bin;
      assert.equal(Buffer.from(buf).toString(), 'hi!');
      c.close();
    });

    test('command and chat payloads', async () => {
      const ctl = await connect('control');
      const chat = await connect('chat');
      const cmd = once(ctl, 'command_to_robot');
      const r = await peer.post('/_peer/command', { command: 'F', key_position: 'down', user: 'alice' });
      assert.equal(r.status, 200);
      assert.deepEqual((await cmd)[0], { robot_id: 'robot1', command: 'F', user: 'alice', key_position: 'down', anonymous: false });

      const msg = once(chat, 'chat_message_with_name');
      await peer.post('/_peer/chat', { name: 'bob', text: 'hello there', anonymous: true });
      const [m] = await msg;
      assert.equal(m.message, '[peerbot] hello there');
      assert.equal(m.name, 'bob');
      assert.equal(m.robot_id, 'robot1');
      assert.equal(m.anonymous, true);
      assert.equal(m.non_global, false);
      assert.match(m._id, /^[0-9a-f]{24}$/);
      for (const k of ['room', 'username_color']) assert.equal(typeof m[k], 'string');
      ctl.close();
      chat.close();
    });

    test('settings change emits robot_settings_changed on app', async () => {
      const app = await connect('app');
      const changed = once(app, 'robot_settings_changed');
      const res = await fetch(`${peer.base}/api/v1/robots/robot1`, {
        method: 'POST', headers: { Authorization: 'Bearer apikey1' }, body: JSON.stringify({ mic_enabled: false }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual((await changed)[0], { robot_id: 'robot1' });
      const again = once(app, 'robot_settings_changed');
      await peer.post('/_peer/settings', { yres: 240, emit: true });
      await again;
      assert.equal((await peer.get('/api/v1/robots/robot1')).json.yres, 240);
      app.close();
    });

    test('ack modes: none and custom args', async () => {
      const c = await connect('chat');
      await peer.post('/_peer/socket/chat/ack', { mode: 'args', args: [{ ok: 1 }] });
      const custom = await new Promise((resolve) => c.emit('identify_robot_id', 'r', (...a) => resolve(a)));
      assert.deepEqual(custom, [{ ok: 1 }]);
      await peer.post('/_peer/socket/chat/ack', { mode: 'none' });
      const since = await peer.seq();
      let answered = false;
      c.emit('identify_robot_id', 'r', () => { answered = true; });
      const rec = await peer.wait({ kind: 'events', socket: 'chat', event: 'identify_robot_id', since });
      assert.equal(rec.ack_requested, true);
      // a round trip on the same connection proves the (absent) ack had its chance
      await peer.post('/_peer/socket/chat/ack', { mode: 'auto' });
      await new Promise((resolve) => c.emit('identify_robot_id', 'r', resolve));
      assert.equal(answered, false);
      c.close();
    });

    test('raw frames reach the robot unmodified', async () => {
      const c = await connect('control');
      const got = once(c, 'raw_event');
      const r = await peer.post('/_peer/raw', { socket: 'control', data: '42["raw_event",{"n":"{{PAD:5}}"}]' });
      assert.equal(r.status, 200);
      assert.equal(r.json.sent, 1);
      assert.deepEqual((await got)[0], { n: 'aaaaa' });
      c.close();
    });

    test('stop, start and move a socket server', async () => {
      const port = peer.ready.ports.control;
      const c = connectClient(eio, peer.ready.urls.control, peer.ca, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
      clients.push(c);
      await once(c, 'connect');
      const since = await peer.seq();
      const dropped = once(c, 'disconnect');
      const stop = await peer.post('/_peer/socket/control/stop');
      assert.equal(stop.json.listening, false);
      await dropped;
      assert.equal(await refused(port), true, 'port closed while stopped');
      assert.equal((await peer.get('/get_control_host_port/robot1')).json.port, port, 'port stays reserved');

      const back = once(c, 'connect');
      const start = await peer.post('/_peer/socket/control/start');
      assert.equal(start.json.port, port);
      await back;
      await peer.wait({ kind: 'events', socket: 'control', type: 'connect', since });
      c.close();

      const moved = await peer.post('/_peer/socket/control/move', { port: 0 });
      assert.equal(moved.status, 200);
      assert.notEqual(moved.json.port, port);
      assert.equal((await peer.get('/get_control_host_port/robot1')).json.port, moved.json.port);
      assert.equal(await refused(port), true, 'old port closed');
      const c2 = connectClient(eio, `http://127.0.0.1:${moved.json.port}`, peer.ca);
      clients.push(c2);
      await once(c2, 'connect');
      c2.close();
    });

    test('noping makes the robot time out; pings resume after', async () => {
      const before = await connect('chat'); // connected before noping is switched on
      const beforeGone = once(before, 'disconnect', 5000);
      await peer.post('/_peer/socket/chat/noping', { on: true });
      const during = await connect('chat'); // connected while it is on
      const [reason] = await once(during, 'disconnect', 5000);
      assert.equal(reason, 'ping timeout');
      assert.equal((await beforeGone)[0], 'ping timeout');

      await peer.post('/_peer/socket/chat/noping', { on: false });
      const c2 = await connect('chat');
      // EIO4: the server pings; EIO3: the server answers our ping with a pong
      await once(c2.io.engine, eio === 4 ? 'ping' : 'pong', 3000);
      await once(c2.io.engine, eio === 4 ? 'ping' : 'pong', 3000);
      assert.equal(c2.connected, true);
      c2.close();
    });

    if (eio === 4) {
      test('an Engine.IO 3 client is rejected by the --eio 4 server', async () => {
        const since = await peer.seq();
        const c = connectClient(3, peer.ready.urls.app, peer.ca);
        clients.push(c);
        await once(c, 'connect_error');
        assert.equal(c.connected, false);
        const rec = await peer.wait({ kind: 'events', socket: 'app', type: 'connection_error', since });
        assert.equal(rec.eio, 3);
        assert.equal(rec.args[0].message, 'Unsupported protocol version');
      });
    }
  });
}
