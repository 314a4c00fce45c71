// Discovery lookups, api endpoints and HTTP faults, over http and https.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startPeer, httpsGet } from './helpers.mjs';

let peer;
before(async () => { peer = await startPeer(['--eio', '4', '--robot-id', 'r9', '--camera-id', 'c9', '--owner', 'bob']); });
after(async () => { await peer.stop(); });

test('PEER_READY carries ports, urls, CA files', () => {
  const r = peer.ready;
  for (const k of ['discovery_http', 'discovery_https', 'control', 'chat', 'app', 'user', 'video', 'audio', 'viewer_ws']) {
    assert.ok(Number.isInteger(r.ports[k]) && r.ports[k] > 0, k);
  }
  assert.equal(new Set(Object.values(r.ports)).size, 9, 'all ports distinct');
  assert.equal(r.urls.discovery_https, `https://127.0.0.1:${r.ports.discovery_https}`);
  assert.equal(r.urls.user, `https://127.0.0.1:${r.ports.user}`);
  assert.equal(r.urls.page, `http://127.0.0.1:${r.ports.discovery_http}/`);
  assert.equal(r.eio, 4);
  assert.match(fs.readFileSync(r.ca_file, 'utf8'), /BEGIN CERTIFICATE/);
  assert.notEqual(fs.readFileSync(r.wrong_ca_file, 'utf8'), fs.readFileSync(r.ca_file, 'utf8'));
});

test('every lookup answers over http and https', async () => {
  const p = peer.ready.ports;
  const expected = {
    '/get_control_host_port/r9?version=2': { host: '127.0.0.1', port: p.control },
    '/get_chat_host_port/r9': { host: '127.0.0.1', port: p.chat },
    '/get_websocket_relay_host/c9': { host: '127.0.0.1' },
    '/get_video_port/c9': { mpeg_stream_port: p.video },
    '/get_audio_port/c9': { audio_stream_port: p.audio },
    '/get_robot_owner/r9': { owner: 'bob' },
    '/get_wifi_login/anything': { wifi_name: 'peerwifi', wifi_password: 'peerpass' },
    '/api/v1/accounts/bob': { username: 'bob', moderators: ['mod1'] },
  };
  for (const [path, body] of Object.entries(expected)) {
    const plain = await fetch(peer.ready.urls.discovery_http + path);
    assert.equal(plain.status, 200, path);
    assert.deepEqual(await plain.json(), body, path);
    const secure = await httpsGet(peer.ready.urls.discovery_https + path, peer.ca);
    assert.equal(secure.status, 200, path);
    assert.deepEqual(JSON.parse(secure.body), body, `https ${path}`);
  }
  const settings = await (await fetch(`${peer.base}/api/v1/robots/r9`)).json();
  assert.equal(settings.robot_id, 'r9');
  assert.equal(settings.xres, 640);
  assert.equal(settings.yres, 480);
  assert.equal(settings.mic_enabled, true);
  assert.equal(settings['mute_text-to-speech'], false);
});

test('https with the wrong CA fails verification', async () => {
  const wrong = fs.readFileSync(peer.ready.wrong_ca_file);
  await assert.rejects(httpsGet(`${peer.ready.urls.discovery_https}/get_robot_owner/r9`, wrong),
    (e) => /certificate|self.signed|verify/i.test(e.message));
});

test('unknown ids are 404 with a JSON error', async () => {
  for (const path of ['/get_control_host_port/nope', '/get_video_port/nope', '/api/v1/robots/nope', '/no/such/thing']) {
    const r = await peer.get(path);
    assert.equal(r.status, 404, path);
    assert.equal(typeof r.json.error, 'string', path);
  }
});

test('requests are recorded with scheme, path, auth and status', async () => {
  const since = await peer.seq();
  await httpsGet(`${peer.ready.urls.discovery_https}/get_chat_host_port/r9`, peer.ca, { Authorization: 'Bearer x' });
  const rec = await peer.wait({ kind: 'requests', path: '/get_chat_host_port/', since });
  assert.equal(rec.scheme, 'https');
  assert.equal(rec.method, 'GET');
  assert.equal(rec.path, '/get_chat_host_port/r9');
  assert.equal(rec.authorization, 'Bearer x');
  assert.equal(rec.status, 200);
  assert.ok(rec.seq > since && rec.t_ms > 0);
  const list = (await peer.get(`/_peer/requests?since=${since}`)).json;
  assert.deepEqual(list.map((r) => r.path), ['/get_chat_host_port/r9']);
});

test('wait times out with 408 when nothing matches', async () => {
  const r = await peer.get('/_peer/wait?kind=requests&path=/never&timeout_ms=200');
  assert.equal(r.status, 408);
});

test('api POST needs the bearer key and emits nothing without robots', async () => {
  const url = `${peer.base}/api/v1/robots/r9`;
  const body = JSON.stringify({ xres: 320, public: false });
  const none = await fetch(url, { method: 'POST', body });
  assert.equal(none.status, 401);
  const wrong = await fetch(url, { method: 'POST', body, headers: { Authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  assert.equal((await peer.get('/api/v1/robots/r9')).json.xres, 640, 'unchanged after 401');
  const ok = await fetch(url, { method: 'POST', body, headers: { Authorization: 'Bearer apikey1' } });
  assert.equal(ok.status, 200);
  const after = (await peer.get('/api/v1/robots/r9')).json;
  assert.equal(after.xres, 320);
  assert.equal(after.public, false);
  assert.equal(after.yres, 480);
});

test('faults: status with count, then normal again', async () => {
  await peer.api('DELETE', '/_peer/fault');
  const f = await peer.post('/_peer/fault', { path: '/get_control_host_port', mode: 'status', status: 503, count: 2 });
  assert.equal(f.status, 200);
  assert.equal((await peer.get('/get_control_host_port/r9')).status, 503);
  assert.equal((await peer.get('/get_control_host_port/r9?version=2')).status, 503);
  const third = await peer.get('/get_control_host_port/r9');
  assert.equal(third.status, 200);
  assert.equal(third.json.port, peer.ready.ports.control);
  assert.equal((await peer.get('/get_chat_host_port/r9')).status, 200, 'other paths unaffected');
});

test('faults: garbage, empty, missing_key, big, string_port, doc_keys', async () => {
  const set = (mode, path = '/get_video_port') => peer.post('/_peer/fault', { path, mode, count: 1 });
  await set('garbage');
  const g = await peer.get('/get_video_port/c9');
  assert.equal(g.status, 200);
  assert.equal(g.json, null, 'garbage must not parse');
  await set('empty');
  assert.equal((await peer.get('/get_video_port/c9')).text, '');
  await set('missing_key');
  assert.deepEqual((await peer.get('/get_video_port/c9')).json, {});
  await set('big');
  const big = await peer.get('/get_video_port/c9');
  assert.ok(big.text.length >= 100 * 1024);
  assert.equal(big.json.mpeg_stream_port, peer.ready.ports.video);
  await set('string_port');
  assert.deepEqual((await peer.get('/get_video_port/c9')).json, { mpeg_stream_port: String(peer.ready.ports.video) });
  await set('doc_keys', '/get_audio_port');
  assert.deepEqual((await peer.get('/get_audio_port/c9')).json, { port: peer.ready.ports.audio });
  assert.deepEqual((await peer.get('/get_audio_port/c9')).json, { audio_stream_port: peer.ready.ports.audio }, 'count 1 used up');
});

test('faults: delay, close, hang; https too', async () => {
  await peer.post('/_peer/fault', { path: '/get_robot_owner', mode: 'delay', delay_ms: 300, count: 1 });
  const t0 = performance.now();
  const slow = await httpsGet(`${peer.ready.urls.discovery_https}/get_robot_owner/r9`, peer.ca);
  assert.ok(performance.now() - t0 >= 280, 'delayed');
  assert.equal(JSON.parse(slow.body).owner, 'bob');

  await peer.post('/_peer/fault', { path: '/get_robot_owner', mode: 'close', count: 1 });
  await assert.rejects(fetch(`${peer.base}/get_robot_owner/r9`));

  await peer.post('/_peer/fault', { path: '/get_robot_owner', mode: 'hang', count: 1 });
  const since = await peer.seq();
  const ac = new AbortController();
  const hung = fetch(`${peer.base}/get_robot_owner/r9`, { signal: ac.signal });
  const rec = await peer.wait({ kind: 'requests', path: '/get_robot_owner', since });
  assert.equal(rec.fault, 'hang');
  assert.equal(rec.status, null);
  const state = (await peer.get('/_peer/state')).json;
  assert.equal(state.faults.length, 0, 'counted faults removed');
  ac.abort();
  await assert.rejects(hung);
});

test('scheme-limited fault hits https only; DELETE clears', async () => {
  await peer.post('/_peer/fault', { path: '/get_chat_host_port', mode: 'status', status: 500, scheme: 'https' });
  assert.equal((await peer.get('/get_chat_host_port/r9')).status, 200);
  assert.equal((await httpsGet(`${peer.ready.urls.discovery_https}/get_chat_host_port/r9`, peer.ca)).status, 500);
  assert.equal((await httpsGet(`${peer.ready.urls.discovery_https}/get_chat_host_port/r9`, peer.ca)).status, 500, 'uncounted fault stays');
  await peer.api('DELETE', '/_peer/fault');
  assert.equal((await httpsGet(`${peer.ready.urls.discovery_https}/get_chat_host_port/r9`, peer.ca)).status, 200);
  const bad = await peer.post('/_peer/fault', { path: '/x', mode: 'nonsense' });
  assert.equal(bad.status, 400);
});

test('faults: redirect answers 302 (default target or a given location); a follower is recorded', async () => {
  const target = `http://127.0.0.1:${peer.ready.ports.discovery_http}/_peer/redirect_target/lookup`;
  const f = await peer.post('/_peer/fault', { path: '/get_control_host_port', mode: 'redirect', count: 2 });
  assert.equal(f.json.location, target);
  const since = await peer.seq();
  const manual = await fetch(`${peer.base}/get_control_host_port/r9`, { redirect: 'manual' });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get('location'), target);
  const rec = await peer.wait({ kind: 'requests', path: '/get_control_host_port/', since });
  assert.equal(rec.status, 302);
  assert.equal(rec.fault, 'redirect');
  assert.equal(rec.location, target);
  assert.deepEqual((await peer.get(`/_peer/requests?since=${since}&redirect_target=true`)).json, [], 'nothing followed yet');

  // A client that follows (https too): the target records the request and answers 200.
  const followed = await httpsGet(`${peer.ready.urls.discovery_https}/get_control_host_port/r9`, peer.ca);
  assert.equal(followed.status, 302);
  const hop = await fetch(`${peer.base}/get_control_host_port/r9`);
  assert.equal(hop.status, 200, 'count 2 used up: the third lookup is normal');
  const viaFetch = await fetch(target, { method: 'POST', body: 'x' });
  assert.equal(viaFetch.status, 200);
  const hit = await peer.wait({ kind: 'requests', path: '/_peer/redirect_target/lookup', since });
  assert.equal(hit.redirect_target, true);
  assert.equal(hit.method, 'POST');

  await peer.post('/_peer/fault', { path: '/get_chat_host_port', mode: 'redirect', location: 'http://192.0.2.1:9/elsewhere', count: 1 });
  const elsewhere = await fetch(`${peer.base}/get_chat_host_port/r9`, { redirect: 'manual' });
  assert.equal(elsewhere.headers.get('location'), 'http://192.0.2.1:9/elsewhere');
  assert.equal((await peer.post('/_peer/fault', { path: '/x', mode: 'redirect', location: null })).status, 400);
  assert.equal((await peer.post('/_peer/fault', { path: '/x', mode: 'redirect', location: 'a\nb' })).status, 400);
});

test('page and jsmpeg asset are served', async () => {
  const page = await fetch(peer.ready.urls.page);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /jsmpeg\.min\.js/);
  assert.match(html, /data-cmd="F"/);
  const js = await fetch(`${peer.base}/static/jsmpeg.min.js`);
  assert.equal(js.status, 200);
  assert.match(await js.text(), /JSMpeg/);
  const app = await fetch(`${peer.base}/static/app.js`);
  assert.match(await app.text(), /_peer\/command/);
});
