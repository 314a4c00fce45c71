// robotd's serial_board driver as a process: --check-config on the reference's [serial] section
// without a board, and the bytes a board gets through a pseudo-terminal that socat makes (its
// master copied to socat's stdout): the new port's stop, f, the dead-man's stop, an unplug
// (socat gone: the slave hangs up) and replug, a SIGHUP moving to another port, the exit stop.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, runRobotd, startRobotd, tempDir, LineWatch, exited }
    from './lib.mjs';

const robotSection = (type) => `[robot]\nrobot_id = r\ncamera_id = c\ntype = ${type}\n\n`;
// The [serial] section of the reference's letsrobot.sample.conf layout, filled in.
const referenceSerial = '[serial]\nserial_device=/dev/ttyUSB1\nserial_name=CH340\nbaud_rate=115200\n';

describe('--check-config', () => {
    for (const type of ['serial_board', 'serial']) {
        test(`type = ${type} with the reference's [serial] section passes with no board present`, async () => {
            const r = await runRobotd(['--check-config', '--config',
                writeConfig(robotSection(type) + referenceSerial)]);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /^\[serial\]\nserial_device=\/dev\/ttyUSB1\nserial_name=CH340\nbaud_rate=115200$/m);
            assert.doesNotMatch(r.stderr, /warning|serial_device|baud_rate/, 'read and acted on');
            assert.match(r.stderr, /config OK/);
        });
    }

    test('a rate termios has no name for is an error at file:line', async () => {
        const path = writeConfig(robotSection('serial_board') + '[serial]\nbaud_rate = 9601\n');
        const r = await runRobotd(['--check-config', '--config', path]);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.stderr.includes(`${path}:7: error: [serial] baud_rate: expected a standard serial ` +
            'rate in bit/s: 50, 75,'), r.stderr);
        assert.match(r.stderr, /got '9601'/);
    });
});

const socat = spawnSync('socat', ['-V'], { encoding: 'utf8' });
const noSocat = socat.error ? `socat is not installed (${socat.error.code})` : false;

// Boards still running, killed when a test ends whatever happened.
const boards = new Set();

// A board: a pty whose slave socat links at `link`; what robotd writes to it, as text.
async function board(link) {
    const child = spawn('socat', ['-d', '-d', '-u', `PTY,raw,echo=0,link=${link}`, 'STDOUT'],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new LineWatch(child.stderr);
    const done = exited(child);
    boards.add(child);
    done.then(() => boards.delete(child));
    let bytes = '';
    child.stdout.on('data', (d) => { bytes += d.toString('latin1'); });
    await log.wait(/PTY is \/dev\//, { timeoutMs: 5000 });
    return {
        bytes: () => bytes,
        // Resolves once what came ends with `tail` (a string, as lines are whole) or matches
        // `tail` (a RegExp); throws after `timeoutMs`.
        until: async (tail, timeoutMs = 10000) => {
            const ok = () => (tail instanceof RegExp ? tail.test(bytes) : bytes.endsWith(tail));
            for (const end = Date.now() + timeoutMs; !ok();) {
                if (Date.now() > end) throw new Error(`${link}: no ${tail instanceof RegExp ? tail : JSON.stringify(tail)} ` +
                    `at the end of ${JSON.stringify(bytes)} within ${timeoutMs} ms`);
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        },
        // The adapter unplugged: the master closes, the slave robotd holds hangs up.
        unplug: async () => { child.kill('SIGTERM'); await done; },
    };
}

describe('a board on a pseudo-terminal', { skip: noSocat }, () => {
    let peer;
    before(async () => { peer = await startPeer(); });
    after(async () => { await peer.stop(); });
    afterEach(async () => {
        for (const child of boards) child.kill('SIGKILL');
        boards.clear();
    });

    test('f, the dead-man stop, unplug and replug, a SIGHUP to another port, the exit stop', { timeout: 60000 }, async () => {
        const dir = tempDir('robotd-serial-');
        const first = join(dir, 'ttyA'), second = join(dir, 'ttyB');
        const text = (device) => peerConfig(peer, { robot: { type: 'serial', straight_delay: 0.3 } }) +
            `\n[serial]\nserial_device = ${device}\nbaud_rate = 115200\n`;
        let a = await board(first);
        const since = await peer.seq();
        const path = writeConfig(text(first), dir);
        const r = startRobotd(path);
        try {
            await peer.waitEvent('control', 'robot_id', since);
            await r.wait(new RegExp(`serial port ${first} open \\(115200 bit/s 8N1`));
            await a.until('stop\r\n');
            const send = (command) => peer.command({ command, key_position: 'down', user: 'u', anonymous: false });
            await send('F');
            await a.until('f\r\nstop\r\n');  // the dead-man's, 0.3 s on
            assert.equal(a.bytes(), 'stop\r\nf\r\nstop\r\n');

            await a.unplug();
            await r.wait(/is gone \(hung up: unplugged\?\): motors considered stopped/);
            a = await board(first);  // the same adapter back
            await r.wait(/open again after/);
            await a.until('stop\r\n');
            await send('L');
            await a.until('l\r\n');
            assert.match(a.bytes(), /^stop\r\nl\r\n/);
            assert.equal(r.log.count(/is gone/), 1, r.log.text());

            // SIGHUP with another serial_device: the old port gets its last stop, the new one a
            // stop before anything else.
            const b = await board(second);
            writeFileSync(path, text(second));
            r.child.kill('SIGHUP');
            await r.wait(new RegExp(`serial port ${second} open`));
            await b.until('stop\r\n');
            await a.until('stop\r\n');  // the old port's last: Motion's stop as it is replaced
            assert.match(a.bytes(), /l\r\n(stop\r\n)+$/);
            await send('R');
            await b.until('r\r\nstop\r\n');  // the dead-man's

            const exit = await r.stop();
            assert.equal(exit.code, 0, r.log.text());
            // After the dead-man's stop, robotd's exit stop (or stops: every owner of the
            // motors stops them as robotd goes).
            await b.until(/^stop\r\nr\r\nstop\r\n(stop\r\n)+$/);
        } finally {
            await r.stop();
        }
    });
});
