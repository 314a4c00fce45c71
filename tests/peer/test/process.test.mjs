// Process interface: --ports BASE order, state-dir reuse, reset, clean exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startPeer, stateDirFor } from './helpers.mjs';

const ORDER = ['discovery_http', 'discovery_https', 'control', 'chat', 'app', 'user', 'video', 'audio', 'viewer_ws'];

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freeBase() {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; i < ORDER.length && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
  throw new Error('no free port range');
}

test('--ports BASE assigns the documented order; SIGTERM exits 0', async () => {
  const base = await freeBase();
  const dir = stateDirFor('ports');
  const peer = await startPeer(['--eio', '3', '--ports', String(base), '--state-dir', dir]);
  ORDER.forEach((name, i) => assert.equal(peer.ready.ports[name], base + i, name));
  assert.equal(peer.ready.state_dir, dir);
  assert.equal(peer.ready.eio, 3);
  const state = (await peer.get('/_peer/state')).json;
  assert.equal(state.eio, 3);
  assert.deepEqual(state.ports, peer.ready.ports);
  assert.equal(await peer.stop(), 0);
  assert.equal(await portFree(base), true, 'ports released');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('TLS files in --state-dir are reused on restart', async () => {
  const dir = stateDirFor('tls');
  const first = await startPeer(['--state-dir', dir]);
  const ca = fs.readFileSync(first.ready.ca_file, 'utf8');
  const cert = fs.readFileSync(first.ready.cert_file, 'utf8');
  await first.stop();
  const second = await startPeer(['--state-dir', dir]);
  assert.equal(second.ready.ca_file, first.ready.ca_file);
  assert.equal(fs.readFileSync(second.ready.ca_file, 'utf8'), ca);
  assert.equal(fs.readFileSync(second.ready.cert_file, 'utf8'), cert);
  await second.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('reset clears records, faults and settings; bad options fail fast', async () => {
  const peer = await startPeer([]);
  await peer.get('/get_robot_owner/robot1');
  await peer.post('/_peer/fault', { path: '/get_robot_owner', mode: 'status', status: 500 });
  await peer.post('/_peer/settings', { xres: 1 });
  await peer.post('/_peer/moderators', { moderators: ['a', 'b'] });
  assert.deepEqual((await peer.get('/api/v1/accounts/owner1')).json.moderators, ['a', 'b']);
  assert.ok((await peer.get('/_peer/requests')).json.length >= 2);
  const r = await peer.post('/_peer/reset');
  assert.equal(r.status, 200);
  assert.deepEqual((await peer.get('/_peer/requests')).json, []);
  const state = (await peer.get('/_peer/state')).json;
  assert.deepEqual(state.faults, []);
  assert.equal(state.settings.xres, 640);
  assert.equal((await peer.get('/get_robot_owner/robot1')).status, 200);
  assert.deepEqual((await peer.get('/api/v1/accounts/owner1')).json.moderators, ['mod1']);
  await peer.stop();

  await assert.rejects(startPeer(['--eio', '5']), /exited 2/);
});
