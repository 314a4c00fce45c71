// robotd as a process: command line, --check-config, signals, and what it links.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, runRobotd, robotdBin, sharedDir, tempDir } from './lib.mjs';

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
        assert.match(r.stdout, /^robotd \d+\.\d+\.\d+ \(libwebsockets 4\.1\.6/);
    });

    test('an unknown option is exit 2 with the usage', async () => {
        const r = await runRobotd(['--frobnicate']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /unknown argument '--frobnicate'/);
        assert.match(r.stderr, /Usage: robotd/);
    });

    test('--check-config accepts the reference client\'s own sample unchanged', async () => {
        const r = await runRobotd(['--check-config', '--config', join(sharedDir, 'reference', 'letsrobot.sample.conf')]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^\[robot\]/m);
        assert.match(r.stdout, /^x_res=768$/m);
        assert.match(r.stdout, /^stream_key=\*\*\*\*$/m, 'stream key masked');
        assert.ok(!r.stdout.includes('hello'), 'the sample stream key is not printed');
        assert.match(r.stderr, /config OK/);
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

    test('logs go to syslog, not stderr, when stderr is not a terminal or with --syslog', async () => {
        const conf = writeConfig('[robot]\ncamera_id = c\n');  // refused: no robot_id
        for (const args of [[], ['--syslog']]) {
            const r = await runRobotd(['--config', conf, ...args]);
            assert.equal(r.code, 2);
            assert.equal(r.stderr, '', `stderr stays empty with ${JSON.stringify(args)}`);
        }
        const loud = await runRobotd(['--config', conf, '--stderr']);
        assert.match(loud.stderr, / E robotd: \[robot\] robot_id is required/);
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
            const mark = (await peer.requests()).length;
            robot.child.kill('SIGHUP');
            await robot.wait(/ I robotd: config reloaded/, { from: since });
            await robot.wait(/ W discovery: control lookup failed .*\/get_control_host_port\/robot2.*HTTP 404/, { from: since });
            const after = (await peer.requests()).slice(mark);
            assert.ok(after.some((r) => r.scheme === 'https' && r.path.startsWith('/get_chat_host_port/robot2')));

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
