// No redirects anywhere: servers written here answer every request with a 302 to a second
// loopback server that records every connection. robotd must refuse each 302 (lookups on the
// info and api servers, a relay POST, a WebSocket upgrade), log one line naming the status
// and the Location, retry the same server, and never reach the target.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { iniText, writeConfig, startRobotd } from './lib.mjs';

// An HTTP server on an ephemeral loopback port; `handle(req, res)` answers, every request
// and every TCP connection is recorded, and `next(pred)` awaits a request matching `pred`.
async function server(name, handle) {
    const s = { name, requests: [], connections: 0, waiters: [] };
    s.http = http.createServer((req, res) => {
        const r = { method: req.method, url: req.url, upgrade: req.headers.upgrade || null };
        s.requests.push(r);
        s.waiters = s.waiters.filter((w) => !(w.pred(r) && (w.resolve(r), true)));
        handle(req, res);
    });
    s.http.on('connection', () => { s.connections += 1; });
    await new Promise((resolve) => s.http.listen(0, '127.0.0.1', resolve));
    s.port = s.http.address().port;
    s.url = `http://127.0.0.1:${s.port}`;
    s.count = (pred) => s.requests.filter(pred).length;
    s.next = (pred, timeoutMs = 20000) => {
        const seen = s.requests.find(pred);
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${name}: no matching request within ${timeoutMs} ms; ` +
                `saw ${s.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`)), timeoutMs);
            s.waiters.push({ pred, resolve: (r) => { clearTimeout(timer); resolve(r); } });
        });
    };
    s.close = () => new Promise((resolve) => {
        s.http.closeAllConnections();
        s.http.close(resolve);
    });
    return s;
}

// Awaits the `n`th request matching `pred` (a retry after a refused redirect).
const nth = (s, pred, n, timeoutMs = 20000) => s.next(() => s.count(pred) >= n, timeoutMs);

const esc = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('redirects', () => {
    let target, redirector, info;
    before(async () => {
        target = await server('target', (req, res) => { res.writeHead(200); res.end('{}'); });
        // Every answer a redirect to the same path on the target; the request body (a relay
        // POST never ends) is left unread.
        redirector = await server('redirector', (req, res) => {
            res.writeHead(302, { location: `${target.url}${req.url}`, 'content-length': 0 });
            res.end();
        });
        // An info server that names the redirector as the relay and the control server.
        info = await server('info', (req, res) => {
            const body = (() => {
                if (req.url.startsWith('/get_control_host_port/') || req.url.startsWith('/get_chat_host_port/'))
                    return { host: '127.0.0.1', port: redirector.port };
                if (req.url.startsWith('/get_websocket_relay_host/')) return { host: '127.0.0.1' };
                if (req.url.startsWith('/get_video_port/')) return { mpeg_stream_port: redirector.port };
                if (req.url.startsWith('/get_robot_owner/')) return { owner: 'owner1' };
                return null;
            })();
            res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body || { error: 'unknown' }));
        });
    });
    after(async () => {
        await Promise.all([target, redirector, info].map((s) => s?.close()));
    });

    const robot = (misc, camera = { no_camera: 'true', no_mic: 'true' }) => startRobotd(writeConfig(iniText({
        robot: { owner: 'owner1', robot_id: 'robot1', camera_id: 'camera1', type: 'none',
            stream_key: 'sk-3c9e10', api_key: 'ak-51d2f7' },
        camera,
        misc: { lookup_timeout: 3, ...misc },
    })));

    const refused = (path) => new RegExp(`redirected \\(HTTP 302\\) to '${esc(target.url + path)}', ` +
        'which robotd does not follow');

    test('lookups on the info and api servers refuse the 302 and retry the same server', async () => {
        const control = (r) => r.url === '/get_control_host_port/robot1?version=2';
        const settings = (r) => r.url === '/api/v1/robots/robot1';
        const r = robot({ info_server: redirector.url, api_server: redirector.url,
            app_server: redirector.url, user_server: redirector.url });
        try {
            const line = await r.wait(/ W discovery: control lookup failed /);
            assert.match(line, refused('/get_control_host_port/robot1?version=2'));
            assert.match(await r.wait(/ W discovery: robot settings lookup failed /),
                refused('/api/v1/robots/robot1'));
            // The normal retry goes back to the configured server.
            await nth(redirector, control, 2);
            await nth(redirector, settings, 2);
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
        assert.equal(target.connections, 0, 'robotd never connected to the redirect target');
    });

    test('a WebSocket upgrade answered with a 302 is refused, not followed', async () => {
        const upgrade = (r) => r.upgrade === 'websocket' && r.url.startsWith('/socket.io/');
        const r = robot({ info_server: info.url, api_server: info.url,
            app_server: redirector.url, user_server: redirector.url });
        try {
            // Four sessions' first attempts, then at least one retry on the same server.
            await nth(redirector, upgrade, 5);
            await r.wait(/ W (app|user|control|chat): cannot connect to /);
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
        assert.equal(target.connections, 0, 'robotd never connected to the redirect target');
    });

    test('the WebSocket refusal names the status and the Location', async () => {
        const r = robot({ info_server: info.url, api_server: info.url,
            app_server: redirector.url, user_server: redirector.url });
        try {
            await r.wait(/ W app: .*redirected \(HTTP 302\) to '.*\/socket\.io\/.*', which robotd does not follow; check \[misc\] app_server/,
                { timeoutMs: 10000 });
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
    });

    test('a relay POST answered with a 302 is refused, not followed', async () => {
        const post = (r) => r.method === 'POST' && /^\/sk-3c9e10\/\d+\/\d+\/$/.test(r.url);
        const r = robot({ info_server: info.url, api_server: info.url,
            app_server: redirector.url, user_server: redirector.url },
        { no_camera: 'false', no_mic: 'true', camera_device: 'lavfi:testsrc=size=320x240:rate=25',
            x_res: 320, y_res: 240 });
        try {
            const line = await r.wait(/ W video: cannot upload to /);
            // The stream key is a secret: masked in the URL and in the Location alike.
            assert.match(line, new RegExp(`cannot upload to ${esc(redirector.url)}/\\*\\*\\*\\*/320/240: ` +
                `the relay redirected \\(HTTP 302\\) to '${esc(target.url)}/\\*\\*\\*\\*/320/240/', ` +
                'which robotd does not follow: the info server must name the relay\'s final address'));
            await nth(redirector, post, 2);
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
        assert.equal(target.connections, 0, 'robotd never connected to the redirect target');
    });
});
