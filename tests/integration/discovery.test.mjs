// robotd against the peer: every lookup over http and https, TLS verification, and
// lookups that fail (500, garbage, delays, hangs, oversize) being retried while the loop
// stays responsive.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, peerConfig, writeConfig, startRobotd, allLookups } from './lib.mjs';

const answered = (name) => new RegExp(` I discovery: ${name}: `);
// The first failure of an outage is a warning, the next ones debug lines (robotd runs with -v).
const failed = (name, n) => new RegExp(` ${n === 1 ? 'W' : 'D'} discovery: ${name} lookup failed .*; attempt ${n}, retry in `);

describe('discovery', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    const run = async (opts, body) => {
        await peer.clearFaults();
        const robot = startRobotd(writeConfig(peerConfig(peer, opts)));
        try {
            await body(robot);
        } finally {
            const r = await robot.stop();
            assert.equal(r.code, 0, 'robotd exits 0 on SIGTERM');
        }
        return robot;
    };

    for (const https of [false, true]) {
        test(`resolves every endpoint over ${https ? 'https' : 'http'}`, async () => {
            const before = (await peer.requests()).length;
            const robot = await run({ https, misc: { secret_key: 'wk-5511aa' } }, async (robot) => {
                await robot.wait(/ I discovery: all 9 lookups answered in \d+ ms/);
                const ports = peer.info.ports;
                assert.match(await robot.wait(answered('control')), new RegExp(`: 127\\.0\\.0\\.1:${ports.control}$`));
                assert.match(await robot.wait(answered('chat')), new RegExp(`: 127\\.0\\.0\\.1:${ports.chat}$`));
                assert.match(await robot.wait(answered('relay host')), /: 127\.0\.0\.1$/);
                assert.match(await robot.wait(answered('video port')), new RegExp(`: ${ports.video}$`));
                assert.match(await robot.wait(answered('audio port')), new RegExp(`: ${ports.audio}$`));
                assert.match(await robot.wait(answered('owner')), /: 'owner1'$/);
                assert.match(await robot.wait(answered('robot settings')), /xres=640 yres=480 mic_enabled=true/);
                assert.match(await robot.wait(answered('moderators')), /: mod1$/);
                assert.match(await robot.wait(answered('wifi login')), /: network 'peerwifi'$/);
            });
            const seen = (await peer.requests()).slice(before);
            const paths = seen.map((r) => r.path);
            for (const p of ['/get_control_host_port/robot1?version=2', '/get_chat_host_port/robot1',
                '/get_websocket_relay_host/camera1', '/get_video_port/camera1', '/get_audio_port/camera1',
                '/get_robot_owner/robot1', '/api/v1/robots/robot1', '/api/v1/accounts/owner1',
                '/get_wifi_login/wk-5511aa'])
                assert.ok(paths.includes(p), `peer saw ${p}; it saw ${paths.join(' ')}`);
            assert.ok(seen.every((r) => r.scheme === (https ? 'https' : 'http')), 'every lookup used the configured scheme');
            // Secrets never reach the log, not even inside a URL.
            for (const secret of ['sk-9f3a7c', 'ak-77e1d0', 'wk-5511aa', 'peerpass'])
                assert.ok(!robot.log.text().includes(secret), `log leaks ${secret}`);
            assert.match(robot.log.text(), /get_wifi_login\/\*\*\*\*/);
        });
    }

    test('a server named by host name is resolved off the loop and answered', async () => {
        // "localhost" comes from /etc/hosts: the resolver thread runs, no DNS traffic leaves.
        const url = peer.info.urls.discovery_https.replace('127.0.0.1', 'localhost');
        await run({ https: true, misc: { info_server: url, api_server: url } }, async (robot) => {
            await robot.wait(/ I discovery: all 8 lookups answered/);
            assert.match(robot.log.text(), / D net: localhost is (127\.0\.0\.1|::1)$/m);
        });
    });

    test('a CA that did not sign the server fails the https lookup clearly, and it is retried', async () => {
        const before = (await peer.requests()).length;
        await run({ https: true, misc: { ca_file: peer.info.wrong_ca_file } }, async (robot) => {
            const line = await robot.wait(failed('control', 2));
            assert.match(line, /https:\/\/127\.0\.0\.1:\d+\/get_control_host_port/);
            assert.match(robot.log.text(), /control lookup failed \(.*(certificate|verif|tls|TLS|ssl|SSL)/i);
            assert.equal(robot.log.count(answered('control')), 0);
        });
        const paths = (await peer.requests()).slice(before).map((r) => r.path);
        assert.deepEqual(paths, [], 'no request got through the unverified TLS');
    });

    test('a missing ca_file is warned about: http works, https is refused, nothing unverified', async () => {
        // A board without a CA bundle whose servers speak plain http, as the reference's do.
        const before = (await peer.requests()).length;
        const missing = '/nonexistent/ca-bundle.pem';
        await run({ misc: { ca_file: missing } }, async (robot) => {
            await robot.wait(new RegExp(` W tls: ca_file '${missing}': No such file or directory: https servers cannot be verified`));
            await robot.wait(answered('control'));
            // The user server is https: it is refused, never connected unverified.
            await robot.wait(/ W user: .*(certificate|verif|tls|TLS|ssl|SSL|CA)/i);
            assert.equal(robot.log.count(/ I user: connected/), 0);
        });
        const users = (await peer.requests()).slice(before).filter((r) => r.scheme === 'https');
        assert.deepEqual(users, [], 'no https request got through');
    });

    test('secure_cert=false turns verification off, with a warning', async () => {
        await run({ https: true, misc: { ca_file: peer.info.wrong_ca_file, secure_cert: 'false' } }, async (robot) => {
            await robot.wait(answered('control'));
            assert.match(robot.log.text(), / W robotd: TLS certificate verification is OFF/);
        });
    });

    test('HTTP 500 is retried until the server answers', async () => {
        await peer.clearFaults();
        // The fault is in place before robotd starts, so its first lookups meet it.
        await peer.fault({ path: '/get_control_host_port', mode: 'status', status: 500, count: 2 });
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        try {
            assert.match(await robot.wait(failed('control', 1)), /HTTP 500/);
            await robot.wait(failed('control', 2));
            await robot.wait(answered('control'));
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });

    test('garbage, empty, oversize and key-less replies are each a clear line and a retry', async () => {
        const cases = [
            ['/get_chat_host_port', 'garbage', 'chat', /not JSON/],
            ['/get_robot_owner', 'empty', 'owner', /empty reply/],
            ['/get_websocket_relay_host', 'big', 'relay host', /64 KiB/],
            ['/get_audio_port', 'missing_key', 'audio port', /neither 'audio_stream_port' nor 'port'/],
        ];
        await peer.clearFaults();
        for (const [path, mode] of cases) await peer.fault({ path, mode, count: 1 });
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        try {
            for (const [, , name, why] of cases) {
                assert.match(await robot.wait(failed(name, 1)), why);
                await robot.wait(answered(name));
            }
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });

    test('ports as strings and the document\'s key spelling are accepted', async () => {
        await peer.clearFaults();
        await peer.fault({ path: '/get_control_host_port', mode: 'string_port' });
        await peer.fault({ path: '/get_video_port', mode: 'doc_keys' });
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        try {
            assert.match(await robot.wait(answered('control')), new RegExp(`:${peer.info.ports.control}$`));
            assert.match(await robot.wait(answered('video port')), new RegExp(`: ${peer.info.ports.video}$`));
            assert.equal(robot.log.count(/lookup failed/), 0);
        } finally {
            await peer.clearFaults();
            assert.equal((await robot.stop()).code, 0);
        }
    });

    test('a lookup that hangs times out and is retried while the others complete', async () => {
        await peer.clearFaults();
        await peer.fault({ path: '/get_control_host_port', mode: 'hang', count: 1 });
        await peer.fault({ path: '/get_chat_host_port', mode: 'delay', delay_ms: 1500, count: 1 });
        const robot = startRobotd(writeConfig(peerConfig(peer, { misc: { lookup_timeout: 2 } })));
        try {
            // While control hangs, the rest of the loop works: a delayed lookup and all the
            // others are answered before control's timeout fires.
            for (const name of allLookups.filter((n) => n !== 'control')) await robot.wait(answered(name));
            assert.equal(robot.log.count(/control lookup failed/), 0, 'control still pending');
            assert.match(await robot.wait(failed('control', 1)), /no complete reply within 2000 ms/);
            await robot.wait(answered('control'));
            await robot.wait(/ I discovery: all 8 lookups answered/);
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });

    test('a server that closes without answering is retried', async () => {
        await peer.clearFaults();
        await peer.fault({ path: '/api/v1/robots', mode: 'close', count: 1 });
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        try {
            await robot.wait(failed('robot settings', 1));
            await robot.wait(answered('robot settings'));
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });

    test('a dead server is retried with growing delays', async () => {
        await peer.clearFaults();
        const robot = startRobotd(writeConfig(peerConfig(peer, { misc: { info_server: 'http://127.0.0.1:1' } })));
        try {
            const first = await robot.wait(failed('control', 1));
            const second = await robot.wait(failed('control', 2), { timeoutMs: 5000 });
            const delay = (l) => Number(/retry in ([\d.]+) s/.exec(l)[1]);
            assert.equal(delay(first), 1.0);
            assert.ok(delay(second) >= 1.0 && delay(second) <= 2.0, second);
            // The api server still answers: one dead server does not stop the others.
            await robot.wait(answered('robot settings'));
            // Offline, the log stays readable: one warning per endpoint, not one per attempt.
            await robot.wait(failed('control', 4), { timeoutMs: 15000 });
            assert.equal(robot.log.count(/ W discovery: control lookup/), 1);
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });
});
