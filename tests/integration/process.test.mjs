// robotd as a process: command line, --check-config, signals, and what it links.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, iniText, writeConfig, startRobotd, runRobotd, robotdBin, tempDir, top,
    LineWatch, exited } from './lib.mjs';

// The project's own complete file in the reference client's letsrobot.conf layout.
const fixture = join(top, 'tests', 'fixtures', 'letsrobot.conf');
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// How to run a command in a private mount namespace (to hide /dev/log from robotd alone):
// unshare as root, or as an unprivileged user through a user namespace; null with the reason
// when neither works here.
function mountNamespace() {
    for (const extra of [[], ['--map-root-user']]) {
        const r = spawnSync('unshare', [...extra, '--mount', '--propagation', 'private', 'true'],
            { encoding: 'utf8' });
        if (r.status === 0) return { args: extra };
        if (r.error) return { skip: `unshare is not available (${r.error.code})` };
    }
    return { skip: 'unshare cannot make a mount namespace here (not root, no user namespaces)' };
}

// robotd with no syslog daemon reachable: /dev/log, when there is one, is covered by
// /dev/null in a mount namespace of its own, so connecting to it is refused.
function robotdWithoutSyslog(ns, args) {
    const script = '[ -e /dev/log ] || [ -L /dev/log ] || exec "$@"; ' +
        'mount --bind /dev/null /dev/log || exit 97; exec "$@"';
    return spawn('unshare', [...ns.args, '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh',
        robotdBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('command line', () => {
    test('--help tells every option and exits 0', async () => {
        const r = await runRobotd(['--help']);
        assert.equal(r.code, 0);
        for (const opt of ['--config', '--set', '--check-config', '--syslog', '--version', 'SIGHUP'])
            assert.ok(r.stdout.includes(opt), opt);
    });

    test('--version names robotd and libwebsockets', async () => {
        const r = await runRobotd(['--version']);
        assert.equal(r.code, 0);
        // tests/system/run.sh names the lws of the set it built robotd against.
        const lws = (process.env.ROBOTD_LWS_VERSION || '4.1.6').replaceAll('.', '\\.');
        assert.match(r.stdout, new RegExp(`^robotd \\d+\\.\\d+\\.\\d+ \\(libwebsockets ${lws}`));
    });

    test('an unknown option is exit 2 with the usage', async () => {
        const r = await runRobotd(['--frobnicate']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /unknown argument '--frobnicate'/);
        assert.match(r.stderr, /Usage: robotd/);
    });

    test('--check-config accepts a whole file in the reference layout, warning for what it does not act on', async () => {
        const r = await runRobotd(['--check-config', '--config', fixture]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^\[robot\]/m);
        assert.match(r.stdout, /^x_res=800$/m);
        assert.match(r.stdout, /^stream_key=\*\*\*\*$/m, 'stream key masked');
        assert.ok(!r.stdout.includes('fx-stream-Key') && !r.stderr.includes('fx-stream-Key'),
            'the stream key is not printed');
        // Speech and chat act on every [tts] key and api_key now: no warning names them.
        assert.doesNotMatch(r.stderr, /\[(tts|robot)\] [a-z_]+: accepted but not acted on/);
        for (const key of ['[motor_hat] slow_for_low_battery', '[motor_hat] charge_hours'])
            assert.match(r.stderr, new RegExp(`${escapeRe(fixture)}:\\d+: warning: ${escapeRe(key)}: ` +
                'accepted but not acted on by this version'), key);
        assert.match(r.stderr, /note: not used by this version of robotd: .*\[ffmpeg\] ffmpeg_location/);
        assert.match(r.stderr, /config OK/);
    });

    test('--check-config fails for a robot type robotd cannot drive, naming those it can', async () => {
        const r = await runRobotd(['--check-config', '--config',
            writeConfig('[robot]\nrobot_id = r\ncamera_id = c\ntype = gopigo3\n')]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /\[robot\] type 'gopigo3' is not supported by this version \(supported: none, pipe[,)]/);
        assert.match(r.stderr, /config has errors/);
        assert.equal(r.stdout, '');
    });

    test('--check-config shows a hostile value escaped, not raw', async () => {
        const r = await runRobotd(['--check-config', '--config',
            writeConfig('[camera]\nx_res = 6\x1b[2J40\n')]);
        assert.equal(r.code, 2);
        assert.ok(!r.stderr.includes('\x1b'), 'no raw ESC on stderr');
        assert.match(r.stderr, /got '6\\x1b\[2J40'/);
    });

    test('--check-config names file:line of a bad value and exits 2', async () => {
        const dir = tempDir();
        const path = join(dir, 'bad.conf');
        writeFileSync(path, '[robot]\nrobot_id = r\ncamera_id = c\n[camera]\nx_res = wide\n[robot]\nrobt_id = x\n');
        const r = await runRobotd(['--check-config', '--config', path]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, new RegExp(`${path.replace(/[.]/g, '\\.')}:5: error: .*x_res`));
        assert.match(r.stderr, new RegExp(`${path.replace(/[.]/g, '\\.')}:7: warning: .*robt_id`));
    });

    test('--set overrides the file, and a bad --set is exit 2', async () => {
        const path = writeConfig('[robot]\nrobot_id = r\ncamera_id = c\n');
        const ok = await runRobotd(['--check-config', '--config', path, '--set', 'camera.x_res=320', '--set', 'misc.eio=3']);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^x_res=320$/m);
        assert.match(ok.stdout, /^eio=3$/m);
        const bad = await runRobotd(['--check-config', '--config', path, '--set', 'misc.eio=5']);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--set misc\.eio/);
    });

    test('a missing config file is a clear error, exit 2', async () => {
        const r = await runRobotd(['--config', '/nonexistent/robotd.conf', '--stderr']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /\/nonexistent\/robotd\.conf.*No such file/);
    });

    test('without a robot_id robotd refuses to start, exit 2', async () => {
        const r = await runRobotd(['--config', writeConfig('[robot]\ncamera_id = c\n'), '--stderr']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /robot_id is required/);
    });

    test('start-up errors reach stderr once, whatever the log sink, with stderr a pipe', async () => {
        const conf = writeConfig('[robot]\ncamera_id = c\n[camera]\nx_res = wide\n');
        for (const args of [[], ['--syslog'], ['--stderr']]) {
            const r = await runRobotd(['--config', conf, ...args]);
            assert.equal(r.code, 2, JSON.stringify(args));
            const lines = r.stderr.split('\n');
            assert.equal(lines.filter((l) => / E config: .*:4: \[camera\] x_res: expected/.test(l)).length, 1,
                `the config error once on stderr with ${JSON.stringify(args)}:\n${r.stderr}`);
            assert.equal(lines.filter((l) => / E robotd: .* has errors; not starting/.test(l)).length, 1,
                `why it stops, once, with ${JSON.stringify(args)}:\n${r.stderr}`);
        }
    });

    test('without a syslog socket, logging falls back to stderr and says so', async (t) => {
        const ns = mountNamespace();
        if (ns.skip) {
            console.log(`# skipped: ${ns.skip}`);
            t.skip(ns.skip);
            return;
        }
        const conf = writeConfig(iniText({
            robot: { robot_id: 'r', camera_id: 'c', stream_key: 'sk-hidden-1' },
            camera: { no_camera: true, no_mic: true },
            misc: { info_server: 'http://127.0.0.1:1', api_server: 'http://127.0.0.1:1' },
        }));
        for (const args of [['--syslog'], []]) {
            const child = robotdWithoutSyslog(ns, ['--config', conf, ...args]);
            const log = new LineWatch(child.stderr);
            const done = exited(child);
            try {
                await log.wait(/ W robotd: syslog is not available \(\/dev\/log: .*\); logging to stderr$/);
                await log.wait(/ I robotd: robotd \S+ starting \(pid \d+/);
            } finally {
                child.kill('SIGTERM');
            }
            const r = await done;
            assert.notEqual(r.code, 97, 'could not hide /dev/log in the namespace');
            assert.equal(r.code, 0, `${JSON.stringify(args)}:\n${log.text()}`);
            assert.equal(log.count(/syslog is not available/), 1);
            assert.match(log.text(), / I robotd: stopped$/m);
        }
    });

    test('links mbedTLS and no OpenSSL', () => {
        const ldd = execFileSync('ldd', [robotdBin], { encoding: 'utf8' });
        assert.doesNotMatch(ldd, /libssl|libcrypto/);
        assert.match(ldd, /libmbedtls/);
    });
});

describe('signals', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    test('SIGTERM stops within 1 s, even with a lookup hanging', async () => {
        await peer.clearFaults();
        await peer.fault({ path: '/get_control_host_port', mode: 'hang' });
        const robot = startRobotd(writeConfig(peerConfig(peer, { misc: { lookup_timeout: 30 } })));
        await robot.wait(/ I discovery: chat: /);
        await peer.waitRequest('/get_control_host_port');
        const r = await robot.stop('SIGTERM');
        await peer.clearFaults();
        assert.equal(r.code, 0);
        assert.ok(r.ms < 1000, `exit took ${r.ms.toFixed(0)} ms`);
        assert.match(robot.log.text(), /Terminated: stopping/);
    });

    test('SIGINT stops cleanly too', async () => {
        await peer.clearFaults();
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        await robot.wait(/ I discovery: all \d+ lookups answered/);
        const r = await robot.stop('SIGINT');
        assert.equal(r.code, 0);
        assert.ok(r.ms < 1000, `exit took ${r.ms.toFixed(0)} ms`);
    });

    test('SIGHUP re-reads the config; a broken file keeps the running one', async () => {
        await peer.clearFaults();
        const dir = tempDir();
        const path = writeConfig(peerConfig(peer), dir);
        const robot = startRobotd(path);
        try {
            await robot.wait(/ I discovery: all \d+ lookups answered/);
            // Switch to https and another robot id: the new lookups must follow.
            writeFileSync(path, peerConfig(peer, { https: true, robot: { robot_id: 'robot2' } }));
            const since = robot.log.lines.length;
            const seq = await peer.seq();
            robot.child.kill('SIGHUP');
            await robot.wait(/ I robotd: config reloaded/, { from: since });
            await robot.wait(/ W discovery: control lookup failed .*\/get_control_host_port\/robot2.*HTTP 404/, { from: since });
            // The lookups run concurrently: await the chat one rather than expect it already there.
            const chat = await peer.waitRequest('/get_chat_host_port/robot2', seq);
            assert.equal(chat.scheme, 'https');

            writeFileSync(path, '[camera]\nx_res = seven\n');
            const since2 = robot.log.lines.length;
            robot.child.kill('SIGHUP');
            await robot.wait(/ E robotd: config not reloaded .*; the running config stays/, { from: since2 });
            assert.equal(robot.child.exitCode, null, 'still running');
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
    });
});

describe('hostile strings in the log', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    test('a secret is masked in its percent-encoded form too (defect 5)', async () => {
        await peer.clearFaults();
        const secret = 'w1f1 k/y+%x';
        const mark = (await peer.requests()).length;
        const robot = startRobotd(writeConfig(peerConfig(peer, { misc: { secret_key: secret } })));
        try {
            await robot.wait(/ I discovery: wifi login: network 'peerwifi'/);
            // The peer got it percent-encoded in the path; the log shows only the mask.
            const asked = (await peer.requests()).slice(mark).find((r) => r.path.startsWith('/get_wifi_login/'));
            assert.equal(asked.path, `/get_wifi_login/${encodeURIComponent(secret).replace(/[!'()*]/g, '')}`);
            await robot.wait(/ D discovery: GET http:\/\/\S+\/get_wifi_login\/\*\*\*\*$/);
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
        const text = robot.log.text();
        for (const form of ['w1f1', 'k/y', 'k%2Fy', 'k%2fy'])
            assert.ok(!text.includes(form), `'${form}' in the log`);
    });

    test('a user name or chat text cannot forge a line or reach the terminal (defect 11)', async () => {
        await peer.clearFaults();
        const seq = await peer.seq();
        const robot = startRobotd(writeConfig(peerConfig(peer)));
        try {
            // The chat session is up (its identification arrived): the message reaches robotd.
            await peer.waitEvent('chat', 'identify_robot_id', seq);
            await peer.chat({ name: 'ann\n[    1.000] E robotd: forged', text: 'hi\x1b[2J\r\u009b31m there\xff' });
            await robot.wait(/ I chat: ann\\n\[    1\.000\] E robotd: forged: hi\\x1b\[2J\\r\\xc2\\x9b31m there\u00ff$/);
        } finally {
            assert.equal((await robot.stop()).code, 0);
        }
        const text = robot.log.text();
        assert.ok(!robot.log.lines.some((l) => l.startsWith('[    1.000]')), 'no forged line');
        assert.ok(!/[\x1b\r\u009b]/.test(text), 'no raw control character in the log');
    });
});
