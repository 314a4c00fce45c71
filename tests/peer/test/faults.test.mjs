// Fault servers under both Engine.IO majors.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startPeer, connectClient, once } from './helpers.mjs';

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  });
}

for (const eio of [3, 4]) {
  describe(`fault servers, --eio ${eio}`, () => {
    let peer;
    const open = [];

    before(async () => {
      peer = await startPeer(['--eio', String(eio)]);
    });
    after(async () => {
      for (const c of open.splice(0)) c.close();
      await peer.stop();
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
  });
}
