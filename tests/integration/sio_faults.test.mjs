// robotd's sessions against servers that misbehave, on both Engine.IO versions: a server that
// kicks right after every connect, frames out of protocol order, a server that stalls, and
// moves while the session is failing; at the end there is one link per session.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, peerConfig, writeConfig, startRobotd } from './lib.mjs';

for (const eio of [3, 4]) {
    describe(`sio faults, Engine.IO ${eio}`, () => {
        let peer;
        before(async () => { peer = await startPeer({ eio }); });
        after(async () => { await peer.stop(); });

        const robot = async () => {
            await peer.api('POST', '/_peer/reset');
            const seq = await peer.seq();
            const r = startRobotd(writeConfig(peerConfig(peer, {
                camera: { no_camera: 'true', no_mic: 'true' }, misc: { eio },
            })));
            await peer.waitEvent('control', 'robot_id', seq);
            await peer.waitEvent('chat', 'identify_robot_id', seq);
            return r;
        };
        const done = async (r) => {
            await peer.api('POST', '/_peer/reset');
            assert.equal((await r.stop()).code, 0);
        };
        const connections = async (socket) => (await peer.api('GET', '/_peer/state')).body.sockets[socket].connections.length;
        const connects = async (socket, since) =>
            (await peer.api('GET', `/_peer/events?socket=${socket}&type=connect&since=${since}`)).body.length;

        // Defect 6: the backoff was reset by every connect, so this was ~2 reconnects a second.
        test('a server that kicks right after each connect is retried with growing delays', async () => {
            const r = await robot();
            try {
                const seq = await peer.seq();
                await peer.socketOp('control', 'kick_on_connect', { delay_ms: 0 });
                await peer.socketOp('control', 'kick');
                await peer.waitEvent('control', null, seq, { type: 'kick' });
                const t0 = Date.now();
                // Watch 7 s of it: delays 0.5, 0.5-1, 1-2, 2-4 s allow at most 5 connects (a
                // rate is measured over a window: there is no event to await instead).
                await r.wait(/ D discovery: looking up control again/, { timeoutMs: 10000 });
                await new Promise((resolve) => setTimeout(resolve, Math.max(0, 7000 - (Date.now() - t0))));
                const n = await connects('control', seq);
                assert.ok(n >= 3 && n <= 6, `${n} connects in about 7 s`);
                // The status (systemd's STATUS=) names the failing link and why.
                await r.wait(/status: connecting: control; chat, app, user connected; control failing: \S/);
                await peer.socketOp('control', 'kick_on_connect', { on: false });
                await peer.waitEvent('control', 'robot_id', (await peer.seq()), { timeoutMs: 35000 });
                assert.equal(await connections('control'), 1);
            } finally { await done(r); }
        });

        // Defect 7: `40` before the Engine.IO open used to connect the session with no
        // liveness deadline; a second open reset it so that every later event was ignored.
        test('frames out of protocol order drop the link, which comes back', async () => {
            const r = await robot();
            try {
                for (const [frames, on, why] of [
                    [['40', '0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'], 'upgrade',
                        /protocol error: 'message' before the Engine.IO handshake/],
                    [['0{"sid":"y","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'], 'connect',
                        /protocol error: a second Engine.IO handshake/],
                ]) {
                    const seq = await peer.seq();
                    const from = r.log.lines.length;
                    await peer.socketOp('chat', 'script', { frames, on });
                    await peer.socketOp('chat', 'kick', { abrupt: true });
                    const line = await r.wait(why, { from, timeoutMs: 15000 });
                    // The link that comes back after the refused one.
                    await r.wait(/ [ID] chat: connected to /, { from: r.log.lines.indexOf(line, from) + 1, timeoutMs: 15000 });
                    await peer.waitEvent('chat', 'identify_robot_id', seq, { timeoutMs: 15000 });
                }
                assert.equal(await connections('chat'), 1);
                // And events flow on the link that came back.
                const from = r.log.lines.length;
                await peer.chat({ name: 'ann', text: 'still here' });
                await r.wait(/ I chat: ann: still here/, { from });
            } finally { await done(r); }
        });

        test('a server that accepts and then says nothing is given up after 10 s and retried', async () => {
            const r = await robot();
            try {
                const seq = await peer.seq();
                const from = r.log.lines.length;
                await peer.socketOp('app', 'stall', { mode: 'upgrade', count: 1 });
                await peer.socketOp('app', 'kick', { abrupt: true });
                await r.wait(/ [WID] app: .*no connection within 10 s/, { from, timeoutMs: 20000 });
                await peer.waitEvent('app', 'identify_robot_id', seq, { timeoutMs: 20000 });
                assert.equal(await connections('app'), 1);
            } finally { await done(r); }
        });

        // Defect 1: rediscovery after 3 failures opened a second connection beside the pending
        // retry; the orphan then dropped the healthy link, forever.
        test('a server that moves while the session fails ends with exactly one link', async () => {
            const r = await robot();
            try {
                const seq = await peer.seq();
                await peer.socketOp('control', 'stop');
                await r.wait(/ [WD] control: cannot connect to .*attempt 3,/, { timeoutMs: 20000 });
                await peer.socketOp('control', 'move', { port: 0 });
                await peer.waitEvent('control', 'robot_id', seq, { timeoutMs: 40000 });
                const back = r.log.lines.length;
                // Past every retry the outage had armed: nothing more connects.
                const settled = await peer.seq();
                await new Promise((resolve) => setTimeout(resolve, 4000));
                assert.equal(await connects('control', settled), 0, 'no second connection');
                assert.equal(await connections('control'), 1);
                assert.ok(!r.log.lines.slice(back).some((l) => / control: connection lost/.test(l)),
                    'the healthy link was never dropped');
            } finally { await done(r); }
        });
    });
}
