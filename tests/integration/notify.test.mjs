// systemd's notify protocol from the real robotd, to a datagram socket standing in for
// systemd (build/host/notify-sink): READY once the loop runs, STATUS as the robot goes LIVE or
// waits for the network, WATCHDOG at half of WATCHDOG_USEC, RELOADING/READY on SIGHUP,
// STOPPING on SIGTERM; no child inherits the variables; the hardware watchdog (a fake file
// standing in for /dev/watchdog) is fed and closed with the magic 'V' on a clean stop.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, tempDir, top, LineWatch, exited, iniText } from './lib.mjs';

const sinkBin = join(top, 'build', 'host', 'notify-sink');
const VIDEO = 'lavfi:testsrc=size=320x240:rate=25';
const AUDIO = 'lavfi:sine=frequency=440:sample_rate=44100';

// The systemd side: every datagram as one line (its newlines written as \n).
async function startSink(name) {
    assert.ok(existsSync(sinkBin), `${sinkBin} is missing: make build/host/notify-sink`);
    const child = spawn(sinkBin, [name], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out = new LineWatch(child.stdout);
    await out.wait(/^bound$/, { timeoutMs: 5000 });
    return { out, stop: async () => { child.kill('SIGTERM'); await exited(child); } };
}

// A file robotd writes to has no event to await: look every 50 ms.
async function until(pred, timeoutMs) {
    const end = performance.now() + timeoutMs;
    while (!pred()) {
        assert.ok(performance.now() < end, `not within ${timeoutMs} ms: ${pred}`);
        await new Promise((res) => setTimeout(res, 50));
    }
}

describe('systemd notify protocol', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] }); });
    after(async () => { await peer.stop(); });

    test('READY, STATUS LIVE, keep-alives at half WATCHDOG_USEC, RELOADING/READY, STOPPING', async () => {
        const dir = tempDir();
        const envFile = join(dir, 'consumer-env');
        const sink = await startSink(join(dir, 'notify'));
        const path = writeConfig(peerConfig(peer, {
            camera: { camera_device: VIDEO, mic_device: AUDIO, x_res: 320, y_res: 240 },
            robot: { type: 'pipe' },
            // The consumer writes down the environment it was given, then consumes.
            pipe: { command: `sh -c "env > ${envFile}; exec cat"` },
        }), dir);
        const r = startRobotd(path, [], { env: { NOTIFY_SOCKET: join(dir, 'notify'), WATCHDOG_USEC: '2000000' } });
        try {
            const ready = await sink.out.wait(/^READY=1/, { timeoutMs: 10000 });
            assert.match(ready, /^READY=1\\nSTATUS=/);
            // The consumer ran with neither variable: it cannot talk to systemd as robotd.
            await r.wait(/status: LIVE/, { timeoutMs: 20000 });
            assert.ok(existsSync(envFile));
            const env = readFileSync(envFile, 'utf8');
            assert.doesNotMatch(env, /NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID/);
            await sink.out.wait(/^STATUS=LIVE: control, chat, app, user connected; video and audio streaming$/,
                { timeoutMs: 20000 });

            // Keep-alives every second: five more take about four seconds. The bounds only
            // say the rate is half the interval and not much faster.
            const count = () => sink.out.count(/^WATCHDOG=1$/);
            const n0 = count();
            const t0 = performance.now();
            const target = n0 + 5;
            while (count() < target)
                await sink.out.wait(/^WATCHDOG=1$/, { from: sink.out.lines.length, timeoutMs: 15000 });
            const elapsed = performance.now() - t0;
            assert.ok(elapsed >= 3000, `5 keep-alives in ${elapsed} ms: faster than one a second`);
            assert.ok(elapsed < 15000, `5 keep-alives took ${elapsed} ms`);

            let from = sink.out.lines.length;
            r.child.kill('SIGHUP');
            const reloading = await sink.out.wait(/^RELOADING=1\\nMONOTONIC_USEC=\d+$/, { from });
            const at = sink.out.lines.indexOf(reloading, from);
            await sink.out.wait(/^READY=1$|^READY=1\\n/, { from: at + 1 });

            from = sink.out.lines.length;
            const stopped = r.stop();
            await sink.out.wait(/^STOPPING=1$/, { from });
            assert.equal((await stopped).code, 0);
        } finally {
            await r.stop();
            await sink.stop();
        }
    });
});

test('waiting for the network, an abstract socket, and the hardware watchdog fed and closed', async () => {
    const dir = tempDir();
    const name = `@robotd-notify-it-${process.pid}`;
    const sink = await startSink(name);
    const fake = join(dir, 'fake-watchdog');
    writeFileSync(fake, '');
    const config = (timeout) => iniText({
        robot: { robot_id: 'robot1', camera_id: 'camera1', type: 'none' },
        camera: { no_camera: 'true', no_mic: 'true' },
        misc: {
            // Nothing listens there: every lookup fails.
            info_server: 'http://127.0.0.1:1', api_server: 'http://127.0.0.1:1',
            app_server: 'http://127.0.0.1:1', user_server: 'http://127.0.0.1:1',
            lookup_timeout: 2, state_file: join(dir, 'state.json'),
            watchdog_device: fake, watchdog_timeout: timeout,
        },
    });
    const path = writeConfig(config(3), dir);
    const r = startRobotd(path, [], { env: { NOTIFY_SOCKET: name } });
    try {
        await sink.out.wait(/^READY=1/, { timeoutMs: 10000 });
        await sink.out.wait(/^STATUS=waiting for the network: \S.* lookup failing: /, { timeoutMs: 15000 });
        await r.wait(/status: waiting for the network/);
        // No WATCHDOG_USEC: no keep-alives.
        assert.equal(sink.out.count(/^WATCHDOG=1$/), 0);
        // A file takes no watchdog timeout: said, and fed every second anyway.
        await r.wait(/fake-watchdog takes no timeout/);
        await until(() => readFileSync(fake).length >= 2, 10000);
        // A watchdog is never reopened live: a changed key waits for the next start.
        writeFileSync(path, config(10));
        r.child.kill('SIGHUP');
        await r.wait(/\[misc\] watchdog_timeout changed: it takes effect when robotd restarts/);
        await sink.out.wait(/^RELOADING=1\\nMONOTONIC_USEC=\d+$/);
        const res = await r.stop();
        assert.equal(res.code, 0);
        const fed = readFileSync(fake, 'latin1');
        assert.ok(fed.length >= 3, `fed ${JSON.stringify(fed)}`);
        assert.equal(fed.at(-1), 'V', 'the magic close on a clean stop');
        assert.ok(!fed.slice(0, -1).includes('V'), 'a keep-alive is never the magic character');
        assert.match(r.log.text(), /closed \(magic close\)/);
    } finally {
        await r.stop();
        await sink.stop();
    }
});
