// robotd's four socket.io sessions against the peer's real socket.io servers (2.x for
// Engine.IO 3 and 4.x for Engine.IO 4): identification, events both ways, reconnection,
// rediscovery, dead links, bad input, the command policy and the dead-man stop, with the
// pipe driver writing to robotd's stdout.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startPeer, peerConfig, writeConfig, startRobotd, sioProbeBin } from './lib.mjs';

const PIPE = { path: '-' };

for (const eio of [3, 4]) {
    describe(`sessions, Engine.IO ${eio}`, () => {
        let peer;
        before(async () => {
            peer = await startPeer({ eio, args: ['--ping-interval', '1000', '--ping-timeout', '1000'] });
        });
        after(async () => { await peer.stop(); });

        // robotd with the pipe driver on stdout, connected on all four sessions.
        const robot = async (opts = {}, sockets = ['control', 'chat', 'app', 'user']) => {
            const since = await peer.seq();
            const r = startRobotd(writeConfig(peerConfig(peer, {
                ...opts, pipe: PIPE,
                robot: { type: 'pipe', straight_delay: 0.3, turn_delay: 0.2, ...opts.robot },
                misc: { eio, video_status_interval: 1, ...opts.misc },
            })));
            r.since = since;
            try {
                for (const s of sockets) await peer.waitEvent(s, null, since, { type: 'connect' });
                await peer.waitEvent('control', 'robot_id', since);
            } catch (e) {
                await r.stop();  // never leave a robotd behind a failed start
                throw e;
            }
            return r;
        };
        const done = async (r) => {
            const res = await r.stop();
            assert.equal(res.code, 0, 'robotd exits 0');
        };

        test('identifies on every session and reports its state on app', async () => {
            const r = await robot();
            try {
                const id = await peer.waitEvent('control', 'robot_id', r.since);
                assert.deepEqual(id.args, ['robot1']);
                assert.equal(id.eio, eio);
                assert.deepEqual((await peer.waitEvent('chat', 'identify_robot_id', r.since)).args, ['robot1']);
                assert.deepEqual((await peer.waitEvent('app', 'identify_robot_id', r.since)).args, ['robot1']);
                const status = await peer.waitEvent('app', 'send_video_status', r.since);
                assert.deepEqual(status.args, [{ send_video_process_exists: false, ffmpeg_process_exists: false, camera_id: 'camera1' }]);
                // video_status_interval = 1 s: a second report follows.
                await peer.waitEvent('app', 'send_video_status', status.seq, { timeoutMs: 3000 });
                const ip = await peer.waitEvent('app', 'ip_information', r.since);
                assert.equal(ip.args[0].robot_id, 'robot1');
                assert.match(ip.args[0].ip, /^[0-9a-f.:]*$/);
                assert.match(r.log.text(), new RegExp(`I user: connected to https://127\\.0\\.0\\.1:\\d+ \\(Engine\\.IO ${eio}`));
            } finally { await done(r); }
        });

        test('eio=auto finds the server\'s Engine.IO version on every session', async () => {
            const r = await robot({ misc: { eio: 'auto' } });
            try {
                for (const [socket, event] of [['control', 'robot_id'], ['chat', 'identify_robot_id'], ['app', 'identify_robot_id']])
                    assert.deepEqual((await peer.waitEvent(socket, event, r.since)).args, ['robot1']);
                for (const s of ['control', 'chat', 'app', 'user'])
                    assert.match(r.log.text(), new RegExp(` I ${s}: connected to .*\\(Engine\\.IO ${eio},`));
                if (eio === 3) assert.match(r.log.text(), /server speaks Engine\.IO 3; following it/);
            } finally { await done(r); }
        });

        test('F drives, then the dead-man stops it after straight_delay', async () => {
            const r = await robot();
            try {
                const from = r.out.lines.length;
                assert.equal((await peer.command({ command: 'F', key_position: 'down', user: 'ann', anonymous: false })).status, 200);
                const f = await r.line({ command: 'F' }, { from });
                assert.equal(f.user, 'ann');
                assert.equal(f.anonymous, false);
                assert.equal(f.key_position, 'down');
                const t0 = performance.now();
                const stop = await r.line({ command: 'stop', reason: 'deadman' }, { from });
                const ms = performance.now() - t0;
                assert.ok(ms > 150 && ms < 1500, `stop came ${ms.toFixed(0)} ms after F (straight_delay 300 ms)`);
                // A turn uses turn_delay.
                await peer.command({ command: 'L', key_position: 'down', user: 'ann', anonymous: false });
                const from2 = r.out.lines.length;
                await r.line({ command: 'stop', reason: 'deadman' }, { from: from2 });
            } finally { await done(r); }
        });

        test('dropping the control socket mid-drive stops at once, and it comes back re-identified', async () => {
            const r = await robot({ robot: { straight_delay: 30 } });
            try {
                const from = r.out.lines.length;
                await peer.command({ command: 'F', key_position: 'down', user: 'ann', anonymous: false });
                await r.line({ command: 'F' }, { from });
                const seq = await peer.seq();
                const t0 = performance.now();
                await peer.socketOp('control', 'stop');
                await r.line({ command: 'stop', reason: 'control session lost' }, { from });
                assert.ok(performance.now() - t0 < 2000, 'stop well before straight_delay (30 s)');
                await peer.socketOp('control', 'start');
                // Reconnect backoff starts at 0.5 s; a few attempts may fail while the port is down.
                const again = await peer.waitEvent('control', 'robot_id', seq, { timeoutMs: 10000 });
                assert.deepEqual(again.args, ['robot1']);
            } finally { await done(r); }
        });

        test('the control server moves: after 3 failures robotd looks it up again and follows', async () => {
            const r = await robot();
            try {
                const seq = await peer.seq();
                const moved = await peer.socketOp('control', 'move', { port: 0 });
                assert.equal(moved.status, 200);
                // The first failure is a warning; later ones of the same outage are debug lines.
                await r.wait(/ [WD] control: cannot connect to .*attempt 3,/, { timeoutMs: 15000 });
                await r.wait(/ D discovery: looking up control again/);
                const again = await peer.waitEvent('control', 'robot_id', seq, { timeoutMs: 20000 });
                assert.deepEqual(again.args, ['robot1']);
                assert.match(r.log.text(), new RegExp(`I control: connected to http://127\\.0\\.0\\.1:${(await peer.api('GET', '/_peer/state')).body.sockets.control.port} `));
            } finally { await done(r); }
        });

        test('a server that stops pinging is declared dead within pingInterval + pingTimeout + 1 s', async () => {
            const r = await robot();
            try {
                const seq = await peer.seq();
                await peer.socketOp('control', 'noping', { on: true });
                const t0 = performance.now();
                await r.wait(/ W control: connection lost \(no traffic for 2000 ms/, { timeoutMs: 8000 });
                const ms = performance.now() - t0;
                assert.ok(ms < 2000 + 1000 + 500, `declared dead after ${ms.toFixed(0)} ms`);
                await peer.socketOp('control', 'noping', { on: false });
                await peer.waitEvent('control', 'robot_id', seq, { timeoutMs: 10000 });
            } finally { await done(r); }
        });

        test('bad input is logged and the session survives (or comes back)', async () => {
            const r = await robot();
            try {
                const from = r.out.lines.length;
                for (const data of ['42["command_to_robot",{"robot_id":', '4', '42[1,2]', '4{"a":1}', '42["no_such_event",{}]',
                    '42["command_to_robot","not an object"]', '42["command_to_robot",{"robot_id":"robot1","command":7}]'])
                    assert.equal((await peer.raw('control', data)).status, 200);
                await peer.command({ command: 'F', robot_id: 'someone-else', user: 'ann', anonymous: false });
                await peer.command({ command: 'R', key_position: 'down', user: 'ann', anonymous: false });
                const first = await r.line({ command: 'R' }, { from });
                assert.equal(first.user, 'ann', 'the R after the junk is the first command through');
                assert.ok(!r.out.lines.slice(from).some((l) => l.includes('"command":"F"')), 'another robot\'s F never drove');
                assert.match(r.log.text(), /bad Socket\.IO packet ignored/);
                assert.match(r.log.text(), /command_to_robot ignored: /);

                // A 10 MB frame closes the link; it reconnects and identifies again.
                const seq = await peer.seq();
                await peer.raw('control', '42["big","{{PAD:10000000}}"]');
                await r.wait(/ W control: connection lost \(a frame over \d+ bytes\)/);
                await peer.waitEvent('control', 'robot_id', seq, { timeoutMs: 10000 });
            } finally { await done(r); }
        });

        test('a connect error (string or object) and a namespace disconnect: logged, then reconnected', async () => {
            const r = await robot();
            try {
                // Protocol 4 (EIO3) sends the error as a string, protocol 5 (EIO4) as an object.
                const packets = eio === 3 ? ['44"not authorized"'] : ['44{"message":"not authorized"}'];
                for (const packet of [...packets, '41']) {
                    const seq = await peer.seq();
                    const since = r.log.lines.length;
                    await peer.raw('chat', packet);
                    const why = packet === '41' ? 'the server disconnected the namespace' : 'connect error: not authorized';
                    // The second drop comes within 10 s of the reconnect: the same outage going
                    // on, logged at debug (a fresh outage is a warning).
                    await r.wait(new RegExp(` [WID] chat: connection lost \\(${why}\\)`), { from: since });
                    await peer.waitEvent('chat', 'identify_robot_id', seq, { timeoutMs: 10000 });
                }
            } finally { await done(r); }
        });

        test('a binary event is received whole, attachments counted, and dropped with a log line', async () => {
            const r = await robot();
            try {
                await peer.raw('control', '452-["photo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
                const bytes = (b) => Buffer.from(eio === 3 ? [4, ...b] : b).toString('base64');
                for (const b of [[1, 2, 3], [4, 5]])
                    assert.equal((await peer.api('POST', '/_peer/raw', { socket: 'control', base64: bytes(b) })).status, 200);
                await r.wait(/ W control: binary_event 'photo' with 2 attachment\(s\) received whole and dropped/);
                // The session is still fine.
                const from = r.out.lines.length;
                await peer.command({ command: 'R', key_position: 'down', user: 'ann', anonymous: false });
                await r.line({ command: 'R' }, { from });
            } finally { await done(r); }
        });

        test('the app session works over wss too, and settings changes apply anonymous_control', async () => {
            // Point the app session at the peer's TLS socket server.
            const r = await robot({ misc: { app_server: peer.info.urls.user } }, ['control', 'chat', 'user']);
            try {
                assert.deepEqual((await peer.waitEvent('user', 'identify_robot_id', r.since)).args, ['robot1']);
                const status = await peer.waitEvent('user', 'send_video_status', r.since);
                assert.equal(status.args[0].camera_id, 'camera1');
                await peer.api('POST', '/_peer/settings', { anonymous_control: false });
                // This robot's app session is on the peer's user server: tell it there.
                await peer.emit('user', 'robot_settings_changed', [{ robot_id: 'robot1' }]);
                await r.wait(/ I discovery: robot settings: .*anonymous_control=false/);
                const from = r.out.lines.length;
                await peer.command({ command: 'L', user: '', anonymous: true, key_position: 'down' });
                await peer.command({ command: 'R', user: 'ann', anonymous: false, key_position: 'down' });
                assert.equal((await r.line({ command: 'R' }, { from })).user, 'ann');
                assert.ok(!r.out.lines.slice(from).some((l) => l.includes('"command":"L"')), 'anonymous L refused');
            } finally {
                await peer.api('POST', '/_peer/settings', { anonymous_control: true });
                await done(r);
            }
        });

        test('the robot\'s own ack requests get their answers (SioClient through sio-probe)', async () => {
            await peer.socketOp('app', 'ack', { mode: 'args', args: ['ok', { n: 42 }] });
            try {
                for (const mode of [String(eio), 'auto']) {
                    const out = await new Promise((resolve, reject) => execFile(
                        sioProbeBin,
                        [peer.info.urls.app, mode, 'probe_event', '{"q":1}'], { timeout: 15000 },
                        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
                    assert.deepEqual(JSON.parse(out), ['ok', { n: 42 }], `eio ${mode}`);
                }
                const ev = await peer.waitEvent('app', 'probe_event', 0);
                assert.deepEqual(ev.args, [{ q: 1 }]);
                assert.equal(ev.ack_requested, true);
            } finally { await peer.socketOp('app', 'ack', { mode: 'auto' }); }
        });

        test('server ack requests are answered', async () => {
            const r = await robot();
            try {
                const res = await peer.emit('app', 'robot_settings_changed', [{}], { ack: true, ack_timeout_ms: 5000 });
                assert.equal(res.status, 200, JSON.stringify(res.body));
                await r.wait(/ I app: robot settings changed: fetching them again/);
                // The same answer again is a debug line.
                await r.wait(/ [ID] discovery: robot settings: /, { from: r.log.lines.length - 1 });
            } finally { await done(r); }
        });

        test('policy: anonymous off, table mode, owner-only commands', async () => {
            const r = await robot({ robot: { anon_control: 'false', table_mode: 'true', owner_commands: 'LED_ON' } });
            try {
                const from = r.out.lines.length;
                await peer.command({ command: 'L', user: '', anonymous: true, key_position: 'down' });
                await peer.command({ command: 'F', user: 'ann', anonymous: false, key_position: 'down' });
                await peer.command({ command: 'LED_ON', user: 'ann', anonymous: false });
                await peer.command({ command: 'LED_ON', user: 'owner1', anonymous: false });
                await peer.command({ command: 'L', user: 'ann', anonymous: false, key_position: 'down' });
                const led = await r.line({ command: 'LED_ON' }, { from });
                assert.equal(led.user, 'owner1');
                const turn = await r.line({ command: 'L' }, { from });
                assert.equal(turn.user, 'ann');
                const driven = r.out.lines.slice(from).map((l) => JSON.parse(l)).filter((l) => l.command !== 'stop');
                assert.deepEqual(driven.map((l) => `${l.command}/${l.user}`), ['LED_ON/owner1', 'L/ann']);
                assert.match(r.log.text(), /command L from \(anonymous\) refused/);
                assert.match(r.log.text(), /command F from ann refused: .*table/i);
                assert.match(r.log.text(), /command LED_ON from ann refused/);
                // The owner sees the robot obey: the first accepted command at info level, the
                // rest of that second as a count.
                assert.match(r.log.text(), / I control: LED_ON from owner1$/m);
                await r.wait(/ I robotd: 1 more commands in the last second \(the last: L down from ann\)/);
            } finally { await done(r); }
        });

        // Defect 3: pointer events reached the driver from anonymous users with anonymous
        // control off, and from anyone during exclusive control.
        test('pointer events pass the same policy as commands', async () => {
            const r = await robot({ robot: { anon_control: 'false' } });
            const pointer = (user, anonymous, x) => peer.emit('control', 'custom_event',
                [{ robot_id: 'robot1', data: `mousedown:${x}:0.5`, user, anonymous }]);
            const pointers = (from) => r.out.lines.slice(from).map((l) => JSON.parse(l))
                .filter((l) => l.command === 'pointer').map((l) => `${l.user}@${l.x}`);
            try {
                let from = r.out.lines.length;
                await pointer('', true, 0.1);
                await pointer('ann', true, 0.2);   // anonymous, whatever name it carries
                await pointer('ann', false, 0.3);
                await r.line({ command: 'pointer', x: 0.3 }, { from });
                assert.deepEqual(pointers(from), ['ann@0.3']);
                assert.match(r.log.text(), /pointer event mousedown from \(anonymous\) refused: anonymous control is off/);

                await peer.emit('app', 'exclusive_control', [{ status: 'start', robot_id: 'robot1', user: 'alice' }]);
                await r.wait(/ I app: exclusive control for alice/);
                from = r.out.lines.length;
                await pointer('bob', false, 0.4);
                await pointer('alice', false, 0.5);
                await r.line({ command: 'pointer', x: 0.5 }, { from });
                assert.deepEqual(pointers(from), ['alice@0.5']);
                assert.match(r.log.text(), /pointer event mousedown from bob refused: exclusive control by 'alice'/);
            } finally {
                await peer.emit('app', 'exclusive_control', [{ status: 'end', robot_id: 'robot1' }]);
                await done(r);
            }
        });

        test('exclusive control: only the named user drives while it runs', async () => {
            const r = await robot();
            try {
                await peer.emit('app', 'exclusive_control', [{ status: 'start', robot_id: 'robot1', user: 'alice' }]);
                await r.wait(/ I app: exclusive control for alice/);
                const from = r.out.lines.length;
                await peer.command({ command: 'R', user: 'bob', anonymous: false, key_position: 'down' });
                await peer.command({ command: 'R', user: 'alice', anonymous: false, key_position: 'down' });
                assert.equal((await r.line({ command: 'R' }, { from })).user, 'alice');
                // Another robot's exclusive_control changes nothing (the reference crashed here).
                await peer.emit('app', 'exclusive_control', [{ status: 'end', robot_id: 'other' }]);
                await peer.emit('app', 'exclusive_control', [{ status: 'end', robot_id: 'robot1' }]);
                await r.wait(/ I app: exclusive control ended/);
                const from2 = r.out.lines.length;
                await peer.command({ command: 'R', user: 'bob', anonymous: false, key_position: 'down' });
                assert.equal((await r.line({ command: 'R' }, { from: from2 })).user, 'bob');
                assert.ok(!r.out.lines.slice(from, from2).some((l) => l.includes('"user":"bob"')));
            } finally { await done(r); }
        });

        test('chat, chat commands, custom events, VIDOFF/VIDON, user-socket events', async () => {
            const r = await robot({ misc: { woot_room: 'woot1' } });
            try {
                await peer.chat({ name: 'ann', text: 'hello robot' });
                await r.wait(/ I chat: ann: hello robot$/);
                await peer.chat({ name: 'owner1', text: '.table on' });
                await r.wait(/ I chat: chat command \.table on from owner1/);
                await peer.chat({ name: 'ann', text: 'not for us', robot_id: 'other' });
                const from = r.out.lines.length;
                await peer.emit('control', 'custom_event', [{ robot_id: 'robot1', data: 'mousedown:0.52:0.31', user: 'ann' }]);
                const ptr = await r.line({ command: 'pointer' }, { from });
                assert.equal(ptr.kind, 'mousedown');
                assert.equal(ptr.x, 0.52);
                assert.equal(ptr.y, 0.31);
                await peer.command({ command: 'VIDOFF', socket: 'app' });
                await r.wait(/ I app: video off requested/);
                await peer.command({ command: 'VIDON', socket: 'app' });
                await r.wait(/ I app: video on requested/);
                // The user socket is the TLS one (wss).
                await peer.emit('user', 'message_removed', [{ message_id: 'abc123' }]);
                await r.wait(/ I user: message abc123 removed/);
                await peer.chat({ name: 'wooter', text: 'from the woot room', socket: 'user', room: 'woot1' });
                await r.wait(/ I user: wooter: from the woot room/);
                await peer.emit('user', 'user_blocked', [{ username: 'troll' }]);
                await r.wait(/ I user: user_blocked: \{"username":"troll"\}/);
                assert.ok(!r.log.text().includes('not for us'));
            } finally { await done(r); }
        });

        test('reverse ssh: ignored without a command; started and stopped (argv, no shell) with one', async () => {
            const r1 = await robot();
            try {
                await peer.emit('app', 'reverse_ssh_8872381747239', [{}]);
                await r1.wait(/ I app: reverse ssh request ignored: no \[misc\] reverse_ssh_command/);
            } finally { await done(r1); }
            const r2 = await robot({ misc: { reverse_ssh_command: 'sleep 60' } });
            try {
                await peer.emit('app', 'reverse_ssh_8872381747239', [{}]);
                const started = await r2.wait(/ I app: reverse ssh started \(pid (\d+)\)/);
                const pid = Number(/pid (\d+)/.exec(started)[1]);
                process.kill(pid, 0);  // it runs
                await peer.emit('app', 'end_reverse_ssh_8872381747239', [{}]);
                await r2.wait(/ I app: reverse ssh killed by signal 15/);
                assert.throws(() => process.kill(pid, 0), 'the child is gone');
            } finally { await done(r2); }
        });
    });
}
