// A robot that runs unattended: started before its network is up, it waits quietly and goes
// live within a second or two of the network coming up, not at the end of a minute's backoff.
// The network change is real: robotd and the peer run in a network namespace this test makes,
// whose loopback is down until the test brings it up (`ip link set lo up`).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { robotdBin, top, tempDir, LineWatch, exited, peerConfig, writeConfig } from './lib.mjs';

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
