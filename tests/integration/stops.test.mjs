// Stops and consumers, robotd against the peer on both Engine.IO versions: a consumer that
// stalls under a flood of F (until the test lets it go on) still ends on the dead-man stop; a consumer that ignores SIGTERM
// (and one it started) is gone after SIGHUP and after robotd exits; the exit stop reaches the
// consumer even when nothing ever moved. The consumer is tests/integration/fixtures/
// stop_consumer.mjs, writing what it reads to a file and telling the test on robotd's stdout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, tempDir, top } from './lib.mjs';

const consumer = join(top, 'tests', 'integration', 'fixtures', 'stop_consumer.mjs');

function lines(file) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { return []; }
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// The process is gone, or only its zombie is left for a parent other than robotd to reap.
function gone(pid) {
    let stat;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return true; }
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
}

// Resolves once `cond()` holds; there is no event for the death of a process robotd reaps,
// so this looks every 20 ms, up to `timeoutMs`.
async function until(cond, timeoutMs = 5000) {
    for (const end = Date.now() + timeoutMs; !cond();) {
        if (Date.now() > end) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
}

// Live processes whose command line mentions `marker`.
function processesWith(marker) {
    const found = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        let cmdline = '';
        try { cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8'); } catch { continue; }
        if (cmdline.includes(marker) && !gone(Number(entry))) found.push(Number(entry));
    }
    return found;
}

for (const eio of [3, 4]) {
    describe(`stops and consumers, Engine.IO ${eio}`, () => {
        let peer;
        before(async () => { peer = await startPeer({ eio }); });
        after(async () => { await peer.stop(); });

        // robotd driving `node stop_consumer.mjs --out <file> ...consumerArgs`, connected.
        const robot = async (consumerArgs = []) => {
            const out = join(tempDir('robotd-stops-'), 'consumer.jsonl');
            const text = (extra = []) => peerConfig(peer, {
                pipe: { command: [process.execPath, consumer, '--out', out, ...consumerArgs, ...extra]
                    .map((a) => `'${a}'`).join(' ') },
                robot: { type: 'pipe', straight_delay: 0.3, turn_delay: 0.2 },
                misc: { eio },
            });
            const since = await peer.seq();
            const path = writeConfig(text());
            const r = startRobotd(path);
            r.consumerOut = out;
            // Another consumer command line (SIGHUP replaces the driver only when it changed).
            r.rewrite = (extra) => writeFileSync(path, text(extra));
            try {
                await peer.waitEvent('control', 'robot_id', since);
                await r.out.wait(/^pid \d+ consumer$/);
            } catch (e) {
                await r.stop();
                throw e;
            }
            return r;
        };

        test('a consumer that stalls under a flood of F reads the dead-man stop last', async () => {
            const r = await robot(['--stall']);
            try {
                const user = 'u'.repeat(200);  // long lines: the pipe fills sooner
                const send = () => peer.command({ command: 'F', key_position: 'down', user, anonymous: false });
                await send();
                const consumerPid = Number(/^pid (\d+)/.exec(await r.out.wait(/^pid \d+ consumer$/))[1]);
                await r.out.wait(/^stalling$/);
                // Flood until robotd has to drop F lines (the consumer's pipe is full), then a
                // little more: the dead-man's stop then finds no room either.
                let dropping = false;
                r.wait(/ W pipe: line dropped \(consumer not reading\)/, { timeoutMs: 30000 })
                    .then(() => { dropping = true; }, () => {});
                let sent = 1;
                while (!dropping && sent < 5000) {
                    await Promise.all(Array.from({ length: 10 }, send));
                    sent += 10;
                }
                assert.ok(dropping, `robotd never dropped a line after ${sent} F`);
                // Short lines for what room is left (a pipe takes a line that fits in its last
                // page): then even the stop, longer than these, cannot go.
                for (let i = 0; i < 30; ++i, ++sent)
                    await peer.command({ command: 'F', key_position: 'down', user: 'a', anonymous: false });
                await r.wait(/ W pipe: stop held \(consumer not reading\)/);
                process.kill(consumerPid, 'SIGUSR2');  // it reads again
                await r.wait(/ I pipe: held stop delivered after/, { timeoutMs: 30000 });
                await r.out.wait(/^got .*"command":"stop".*"reason":"deadman"/, { timeoutMs: 10000 });
                const got = lines(r.consumerOut);
                const last = got.at(-1);
                assert.equal(last.command, 'stop');
                assert.equal(last.reason, 'deadman');
                assert.ok(got.length < sent, 'F lines were dropped, not queued');
                // Nothing more arrives: no F was waiting behind the stop.
                await peer.command({ command: 'LED_ON', user: 'ann', anonymous: false });
                await r.out.wait(/^got .*"command":"LED_ON"/);
                assert.equal(lines(r.consumerOut).at(-2).command, 'stop');
            } finally {
                const res = await r.stop();
                assert.equal(res.code, 0);
            }
        });

        test('a consumer that ignores SIGTERM is gone after SIGHUP and after robotd exits', async () => {
            const r = await robot(['--stubborn', '--grandchild']);
            let pids = [];
            try {
                const pidOf = async (role, from = 0) =>
                    Number(/^pid (\d+)/.exec(await r.out.wait(new RegExp(`^pid \\d+ ${role}$`), { from }))[1]);
                const first = [await pidOf('consumer'), await pidOf('grandchild')];
                const mark = r.out.lines.length;
                r.rewrite(['--generation', '2']);
                r.child.kill('SIGHUP');
                // The new driver's consumer, and the old one killed on the loop's timer.
                const second = [await pidOf('consumer', mark), await pidOf('grandchild', mark)];
                await r.wait(new RegExp(`W child: '.*' \\(pid ${first[0]}\\) still running .* after SIGTERM; killing it`));
                // SIGKILL has been sent to the whole group; the kernel finishes it off.
                assert.ok(await until(() => first.every(gone)), `${first} outlived SIGHUP`);
                // The old consumer got its driver's exit stop before it went; the new one (which
                // started only once the old one was gone) starts from a stop.
                const reasons = () => lines(r.consumerOut).filter((l) => l.command === 'stop').map((l) => l.reason);
                assert.ok(await until(() => reasons().slice(-2).join() === 'exit,new reader'), reasons().join());
                pids = [...first, ...second];
            } finally {
                const res = await r.stop();
                assert.equal(res.code, 0);
                assert.ok(res.ms < 4500, `robotd took ${res.ms} ms to exit`);
            }
            // robotd reaps its consumers before it exits; a grandchild's end is the kernel's.
            for (const pid of [pids[0], pids[2]]) assert.ok(gone(pid), `consumer ${pid} outlived robotd`);
            assert.ok(await until(() => pids.every(gone)), `one of ${pids} outlived robotd`);
            assert.deepEqual(processesWith(r.consumerOut), [], 'no process of the consumer is left');
        });

        test("robotd's exit stop reaches the consumer, even when nothing moved", async () => {
            const r = await robot();
            const res = await r.stop();
            assert.equal(res.code, 0);
            const got = lines(r.consumerOut);
            // Closing the control link stops the robot too; the exit stop comes last.
            assert.ok(got.every((l) => l.command === 'stop'), JSON.stringify(got));
            assert.equal(got.at(-1).reason, 'exit');
            assert.match(r.out.text(), /saw EOF/);  // stdin closed after the stop: it ended on its own
            assert.doesNotMatch(r.log.text(), /killing it/);
        });
    });
}
