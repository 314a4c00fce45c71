// A robot that runs unattended: started before its network is up, it waits quietly and goes
// live within a second or two of the network coming up, not at the end of a minute's backoff.
// The network change is real: robotd and the peer run in a network namespace this test makes,
// whose loopback is down until the test brings it up (`ip link set lo up`).
// A board without a clock battery meets certificates "not valid yet" until NTP has set the
// clock: one clear line per endpoint, retries, and success once the certificate is valid (the
// server switches to a valid one: the test never changes the system clock).
// A clock that jumps (NTP hours late) must move no timer: every timer, backoff, timeout and
// rate limit runs on the monotonic clock; the audit below lists the wall-clock readings that
// are meant to be (each with its reason) and fails on any other.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { robotdBin, top, tempDir, LineWatch, exited, peerConfig, writeConfig, startPeer,
    startRobotd } from './lib.mjs';

const ns = `robotd-it-${process.pid}`;
const inNs = (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const stop = async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited(child);
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const r = await exited(child);
    clearTimeout(killer);
    return r;
};

// The peer inside the namespace. It binds 0.0.0.0: with loopback down there is no
// 127.0.0.1 to bind, yet it advertises 127.0.0.1, which works once loopback is up.
async function startNsPeer() {
    const child = inNs(process.execPath, [join(top, 'tests', 'peer', 'server.js'), '--eio', '4',
        '--host', '0.0.0.0', '--ports', 'auto', '--state-dir', tempDir('robotd-peer-')]);
    const out = new LineWatch(child.stdout);
    const err = new LineWatch(child.stderr);
    try {
        const line = await out.wait(/^PEER_READY /, { timeoutMs: 30000 });
        return { child, info: JSON.parse(line.slice('PEER_READY '.length)) };
    } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`peer did not start: ${e.message}\n${err.text()}`);
    }
}

function startNsRobotd(config) {
    const child = inNs(robotdBin, ['--config', config, '--stderr', '-v']);
    return { child, log: new LineWatch(child.stderr), out: new LineWatch(child.stdout) };
}

describe('unattended: started before the network', () => {
    let peer;
    before(async () => {
        execFileSync('ip', ['netns', 'add', ns]);
        const lo = execFileSync('ip', ['netns', 'exec', ns, 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' });
        assert.match(lo, /state DOWN/, 'a new namespace starts with loopback down');
        peer = await startNsPeer();
    });
    after(async () => {
        if (peer) await stop(peer.child);
        execFileSync('ip', ['netns', 'del', ns]);
    });

    test('waits quietly, then goes live within 2 s of the network coming up', async (t) => {
        const config = writeConfig(peerConfig(peer, { camera: { no_camera: 'true', no_mic: 'true' } }));
        const robot = startNsRobotd(config);
        try {
            const first = await robot.log.wait(/ W discovery: control lookup failed /);
            assert.match(first, /unreachable|connect|refused/i, 'the first failure says why');
            // Let the backoff grow past 8 s: without the network watch the next attempt, and
            // so the links, would come that much later.
            let delay = 0;
            let from = 0;
            while (delay < 8) {
                const line = await robot.log.wait(/ discovery: control lookup failed .*; attempt \d+, retry in [\d.]+ s/,
                    { from, timeoutMs: 40000 });
                from = robot.log.lines.indexOf(line, from) + 1;
                delay = Number(/retry in ([\d.]+) s/.exec(line)[1]);
            }
            // Quiet meanwhile: one warning per lookup, the rest debug lines (shown by -v).
            assert.equal(robot.log.count(/ W discovery: control lookup failed/), 1);
            assert.equal(robot.log.count(/ I control: connected/), 0);

            const mark = robot.log.lines.length;
            const t0 = performance.now();
            execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
            await robot.log.wait(/ I net: network changed: retrying now$/, { from: mark, timeoutMs: 10000 });
            await robot.log.wait(/ I control: connected to http:\/\/127\.0\.0\.1:/, { from: mark, timeoutMs: 10000 });
            await robot.log.wait(/ I chat: connected to http:\/\/127\.0\.0\.1:/, { from: mark, timeoutMs: 10000 });
            const ms = performance.now() - t0;
            assert.ok(ms < 2000, `control and chat connected ${Math.round(ms)} ms after loopback came up ` +
                `(the backoff said ${delay} s)`);
            t.diagnostic(`live ${Math.round(ms)} ms after loopback came up; the backoff said ${delay} s`);
            // The outage is accounted for: the recovery names the attempts it took.
            assert.match(robot.log.text().split('\n').slice(mark).join('\n'),
                / discovery: control: .*127\.0\.0\.1/);
            assert.equal(robot.log.count(/network changed: retrying now$/), 1, 'one line for the change');
        } finally {
            const r = await stop(robot.child);
            assert.equal(r.code, 0, `robotd exits 0 on SIGTERM\n${robot.log.lines.slice(-20).join('\n')}`);
        }
    });
});

// A server certificate for the peer's names, signed by the peer's CA, whose validity starts
// five years from now: what a board whose clock still says 1970 sees in every certificate.
function futureCert(info) {
    const tls = join(info.state_dir, 'tls');
    const dir = tempDir('robotd-future-');
    const yy = (y) => String(y % 100).padStart(2, '0');  // UTCTime, good until 2049
    const year = new Date().getUTCFullYear() + 5;
    const cnf = join(dir, 'ca.cnf');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(cnf, `[ca]\ndefault_ca = test\n[test]\ndatabase = ${dir}/index.txt\n` +
        `new_certs_dir = ${dir}\nserial = ${dir}/serial\ndefault_md = sha256\npolicy = any\n` +
        '[any]\ncommonName = supplied\n');
    const csr = join(dir, 'server.csr');
    const cert = join(dir, 'future.pem');
    const key = join(tls, 'server.key');
    const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };
    execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=localhost', '-out', csr], quiet);
    execFileSync('openssl', ['ca', '-batch', '-notext', '-config', cnf, '-cert', join(tls, 'ca.pem'),
        '-keyfile', join(tls, 'ca.key'), '-startdate', `${yy(year)}0101000000Z`,
        '-enddate', `${yy(year + 1)}0101000000Z`, '-extfile', join(tls, 'openssl.cnf'),
        '-extensions', 'v3_server', '-in', csr, '-out', cert], quiet);
    const start = execFileSync('openssl', ['x509', '-noout', '-startdate', '-in', cert], { encoding: 'utf8' });
    assert.match(start, new RegExp(`notBefore=Jan  1 00:00:00 ${year} GMT`));
    return { cert_file: cert, key_file: key };
}

describe('unattended: the clock is not set yet', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    test('a certificate not valid yet is one clear line and a retry, and works once valid', async () => {
        const tlsSwitch = await peer.api('POST', '/_peer/tls', futureCert(peer.info));
        assert.equal(tlsSwitch.status, 200);
        const before = (await peer.requests()).length;
        const dates = () => [0, -1].map((d) => new Date(Date.now() + d * 86400000).toISOString().slice(0, 10));
        const today = dates();
        const robot = startRobotd(writeConfig(peerConfig(peer, { https: true,
            camera: { no_camera: 'true', no_mic: 'true' } })));
        try {
            const line = await robot.wait(/ W discovery: control lookup failed /);
            const m = /\(https:\/\/127\.0\.0\.1:\d+\/get_control_host_port\S*: the system clock says (\d{4}-\d\d-\d\d); certificates are not valid yet: waiting for the clock \(NTP\) — check the time\); attempt 1, retry in /.exec(line);
            assert.ok(m, `the clear line: ${line}`);
            assert.ok([...today, ...dates()].includes(m[1]), `the date the clock says: ${m[1]}`);
            // Retried as any failure, quietly: the next attempts are debug lines.
            await robot.wait(/ D discovery: control lookup failed \(.*the system clock says .*; attempt 2, /);
            assert.equal(robot.log.count(/ W discovery: control lookup failed/), 1);
            assert.equal(robot.log.count(/ I discovery: control: /), 0);
            const https = (await peer.requests()).slice(before).filter((r) => r.scheme === 'https');
            assert.deepEqual(https, [], 'nothing got through a certificate not valid yet');

            // The clock is right now, as far as the certificate goes: the lookup answers.
            assert.equal((await peer.api('POST', '/_peer/tls', {})).status, 200);
            await robot.wait(/ I discovery: control lookup answers again after \d+ attempts over /, { timeoutMs: 20000 });
            await robot.wait(/ I control: connected to /, { timeoutMs: 20000 });
        } finally {
            await peer.api('POST', '/_peer/tls', {});
            const r = await robot.stop();
            assert.equal(r.code, 0, 'robotd exits 0 on SIGTERM');
        }
    });
});

describe('unattended: timers run on the monotonic clock', () => {
    // Where src/ reads the wall clock on purpose: a new reading must be added here with its
    // reason, or (for a timer) use mono_us() / steady_clock instead.
    const allowed = {
        'src/robot/robot.cpp': 'moderation timeouts in the state file outlive a restart (clamped on load)',
        'src/robot/chat_commands.cpp': 'a moderator\'s timeout is stored in the state file (wall clock, clamped)',
        'src/hw/motor_hat.cpp': 'night speed follows the time of day',
        'src/net/loop.cpp': 'the date a certificate "not valid yet" was checked against, for the log line',
        'src/net/net_watch.cpp': 'a timerfd the kernel cancels when the wall clock is set, and how far it was set (never used to time anything)',
    };
    const wallClock = /\btime\(|system_clock|gettimeofday|CLOCK_REALTIME|CLOCK_TAI|localtime|gmtime|\bftime\(|lws_now_secs/;

    test('no wall-clock reading in src/ outside the deliberate ones', () => {
        const files = (dir) => readdirSync(join(top, dir), { withFileTypes: true }).flatMap((e) =>
            e.isDirectory() ? files(join(dir, e.name)) : /\.(cpp|h)$/.test(e.name) ? [join(dir, e.name)] : []);
        const found = [];
        for (const f of files('src')) {
            readFileSync(join(top, f), 'utf8').split('\n').forEach((line, i) => {
                const code = line.replace(/\/\/.*$/, '');
                if (wallClock.test(code) && !allowed[f]) found.push(`${f}:${i + 1}: ${line.trim()}`);
            });
        }
        assert.deepEqual(found, [], 'wall-clock readings outside the allowed list');
    });

    test('libwebsockets times its timers (lws_sul) on CLOCK_MONOTONIC', () => {
        // Without clock_gettime lws falls back to gettimeofday(), and a clock set by NTP would
        // move every lws timer; src/net/loop.cpp refuses to build against such an lws.
        const cfg = readFileSync(join(top, 'build', 'host', 'lws', 'include', 'lws_config.h'), 'utf8');
        assert.match(cfg, /^#define LWS_HAVE_CLOCK_GETTIME\b/m);
        assert.match(readFileSync(join(top, 'src', 'net', 'loop.cpp'), 'utf8'),
            /#if !defined\(LWS_HAVE_CLOCK_GETTIME\)\n#error/);
    });
});
