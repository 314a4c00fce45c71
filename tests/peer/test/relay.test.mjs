// Video/audio relays: stream-key check, recording, forwarding to ws viewers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { startPeer, once } from './helpers.mjs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

// One 188-byte TS packet starting a PES with the given stream id and ES bytes.
function pesPacket(pid, streamId, es) {
  const pes = Buffer.from([0, 0, 1, streamId, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1, ...es]);
  const head = Buffer.from([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10]);
  return Buffer.concat([head, pes, Buffer.alloc(184 - pes.length, 0xff)]);
}
function plainPacket(pid, fill) {
  return Buffer.concat([Buffer.from([0x47, pid >> 8, pid & 0xff, 0x11]), Buffer.alloc(184, fill)]);
}
// MPEG-1 sequence header: 320x240, aspect 1, frame rate code 3 (25 fps)
const VIDEO = Buffer.concat([pesPacket(0x100, 0xe0, [0, 0, 1, 0xb3, 0x14, 0x00, 0xf0, 0x13]), plainPacket(0x100, 7), plainPacket(0x100, 8)]);
// MP2 frame header: MPEG-1 layer II, 32 kbit/s, 44.1 kHz, mono
const AUDIO = Buffer.concat([pesPacket(0x101, 0xc0, [0xff, 0xfd, 0x10, 0xc0]), plainPacket(0x101, 9)]);

let peer;
let viewer;
const received = [];
let receivedBytes = 0;
const viewerEvents = new (require('node:events'))();

before(async () => {
  peer = await startPeer(['--stream-key', 'sekrit']);
  viewer = new WebSocket(peer.ready.urls.viewer_ws);
  viewer.on('message', (data, isBinary) => {
    assert.equal(isBinary, true);
    received.push(Buffer.from(data));
    receivedBytes += data.length;
    viewerEvents.emit('bytes', receivedBytes);
  });
  await once(viewer, 'open');
});
after(async () => { viewer.close(); await peer.stop(); });

function untilViewerHas(total) {
  return new Promise((resolve) => {
    if (receivedBytes >= total) { resolve(); return; }
    const on = (n) => { if (n >= total) { viewerEvents.off('bytes', on); resolve(); } };
    viewerEvents.on('bytes', on);
  });
}

test('chunked video upload is recorded, scanned and forwarded; no answer before the end', async () => {
  const start = receivedBytes;
  let answered = false;
  const url = new URL('sekrit/320/240/', `http://127.0.0.1:${peer.ready.ports.video}/`);
  const req = http.request(url, { method: 'POST' });
  const response = new Promise((resolve) => req.on('response', (res) => { answered = true; res.resume(); resolve(res.statusCode); }));
  req.write(VIDEO.subarray(0, 200));
  await untilViewerHas(start + 200);
  const mid = await peer.wait({ kind: 'relay_bytes', stream: 'video', min_bytes: '200' });
  assert.equal(mid.active, 1);
  assert.equal(answered, false, 'relay must not answer before the upload ends');
  req.write(VIDEO.subarray(200));
  req.end();
  assert.equal(await response, 200);
  await untilViewerHas(start + VIDEO.length);
  assert.deepEqual(Buffer.concat(received).subarray(start, start + VIDEO.length), VIDEO);

  const end = await peer.wait({ kind: 'uploads', stream: 'video', type: 'end' });
  assert.equal(end.bytes, VIDEO.length);
  assert.deepEqual(end.ts.video, { width: 320, height: 240, fps: 25 });
  assert.equal(end.ts.packets, 3);
  assert.equal(end.ts.sync_errors, 0);

  const relay = (await peer.get('/_peer/relay')).json;
  assert.equal(relay.video.connections, 1);
  assert.equal(relay.video.bytes, VIDEO.length);
  assert.equal(relay.video.active, 0);
  assert.equal(relay.video.uploads[0].chunked, true);
  assert.equal(relay.video.uploads[0].path, '/sekrit/320/240/');
  const file = relay.recordings.find((f) => f.endsWith('video-1.ts'));
  assert.ok(file, 'recording listed');
  assert.deepEqual(fs.readFileSync(file), VIDEO);
});

test('sized audio upload goes to the same viewers and its own file', async () => {
  const start = receivedBytes;
  const res = await fetch(`http://127.0.0.1:${peer.ready.ports.audio}/sekrit/640/480/`, { method: 'POST', body: AUDIO });
  assert.equal(res.status, 200);
  await untilViewerHas(start + AUDIO.length);
  const end = await peer.wait({ kind: 'uploads', stream: 'audio', type: 'end' });
  assert.deepEqual(end.ts.audio, { mpeg_version: 1, layer: 2, kbps: 32, sample_rate: 44100, mono: true });
  assert.deepEqual(end.ts.stream_ids, ['0xc0']);
  assert.deepEqual(fs.readFileSync(`${peer.ready.state_dir}/recordings/audio-1.ts`), AUDIO);
  const relay = (await peer.get('/_peer/relay')).json;
  assert.equal(relay.audio.bytes, AUDIO.length);
  assert.equal(relay.viewers.connected, 1);
});

test('a wrong stream key is refused with 403 and nothing is forwarded', async () => {
  const before = receivedBytes;
  const res = await fetch(`http://127.0.0.1:${peer.ready.ports.video}/wrong/640/480/`, { method: 'POST', body: VIDEO });
  assert.equal(res.status, 403);
  const rec = await peer.wait({ kind: 'uploads', stream: 'video', type: 'rejected' });
  assert.equal(rec.path, '/wrong/640/480/');
  const relay = (await peer.get('/_peer/relay')).json;
  assert.equal(relay.video.rejected, 1);
  assert.equal(relay.video.connections, 1, 'refused upload not counted as a connection');
  assert.equal(receivedBytes, before);
});

test('kick drops an active upload', async () => {
  const req = http.request(`http://127.0.0.1:${peer.ready.ports.video}/sekrit/640/480/`, { method: 'POST' });
  const closed = new Promise((resolve) => req.on('error', resolve));
  req.write(VIDEO.subarray(0, 188));
  const since = (await peer.wait({ kind: 'uploads', stream: 'video', type: 'start', since: '0', n: '2' })).seq;
  const r = await peer.post('/_peer/relay/video/kick');
  assert.equal(r.json.dropped, 1);
  await closed;
  const end = await peer.wait({ kind: 'uploads', stream: 'video', type: 'end', since: String(since) });
  assert.equal(end.status, 'aborted');
});

test('redirect: uploads answered 302 without being read; a follower is recorded; null turns it off', async () => {
  const set = await peer.post('/_peer/relay/audio/redirect', {});
  const target = `http://127.0.0.1:${peer.ready.ports.discovery_http}/_peer/redirect_target/relay/audio`;
  assert.equal(set.json.redirect, target);
  const url = `http://127.0.0.1:${peer.ready.ports.audio}/sekrit/640/480/`;
  const res = await fetch(url, { method: 'POST', body: AUDIO, redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), target);
  const rec = await peer.wait({ kind: 'uploads', stream: 'audio', type: 'redirect' });
  assert.equal(rec.location, target);
  assert.equal(rec.path, '/sekrit/640/480/');
  let relay = (await peer.get('/_peer/relay')).json;
  assert.equal(relay.audio.redirected, 1);
  assert.equal(relay.audio.redirect, target);
  const bytes = relay.audio.bytes;

  // fetch follows a 302 of a POST with a GET: the target records it.
  const followed = await fetch(url, { method: 'POST', body: AUDIO });
  assert.equal(followed.status, 200);
  const hit = await peer.wait({ kind: 'requests', path: '/_peer/redirect_target/relay/audio' });
  assert.equal(hit.redirect_target, true);

  await peer.post('/_peer/relay/audio/redirect', { location: null });
  const normal = await fetch(url, { method: 'POST', body: AUDIO });
  assert.equal(normal.status, 200);
  relay = (await peer.get('/_peer/relay')).json;
  assert.equal(relay.audio.redirected, 2);
  assert.equal(relay.audio.bytes, bytes + AUDIO.length, 'redirected uploads were not recorded');
  assert.equal((await peer.post('/_peer/relay/nope/redirect', {})).status, 404);
});

test('reset turns a relay redirect off', async () => {
  await peer.post('/_peer/relay/video/redirect', { location: 'http://127.0.0.1:9/x' });
  assert.equal((await peer.get('/_peer/relay')).json.video.redirect, 'http://127.0.0.1:9/x');
  await peer.post('/_peer/reset');
  assert.equal((await peer.get('/_peer/relay')).json.video.redirect, null);
});
