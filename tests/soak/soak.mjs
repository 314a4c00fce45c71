#!/usr/bin/env node
// The chaos soak: robotd against the peer while random faults hit it (servers killed, moved,
// kicking, sending garbage or frames out of order, stalling; relays stalling and dropping;
// lookups failing; the driver's consumer stalling or ignoring SIGTERM; SIGHUP storms that
// toggle the CA file and replace the driver; floods of commands). At the end: exactly one
// link per session, fds and RSS flat (printed over time), no child but the current consumer,
// every motion line followed by its stop in order, no crash, a clean exit.
//   node tests/soak/soak.mjs [--minutes N] [--eio 3|4|both] [--seed S] [--actions a,b]
// TAP on stdout ("# pass N" / "# fail N"), as tests/run-all.sh counts it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeer, peerConfig, writeConfig, startRobotd, tempDir } from '../integration/lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
};
const minutes = Number(opt('minutes', process.env.MINUTES || 5));
const eios = opt('eio', 'both') === 'both' ? [4, 3] : [Number(opt('eio'))];
let seed = Number(opt('seed', Date.now() % 100000));

// A small seeded generator, so a failing run can be replayed with --seed.
const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
};
const pick = (list) => list[Math.floor(rand() * list.length)];
const between = (lo, hi) => lo + rand() * (hi - lo);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let testNo = 0, passed = 0, failed = 0;
const check = (name, fn) => {
    testNo++;
    try {
        fn();
        passed++;
        console.log(`ok ${testNo} - ${name}`);
    } catch (e) {
        failed++;
        console.log(`not ok ${testNo} - ${name}`);
        for (const line of String(e.message).split('\n').slice(0, 12)) console.log(`# ${line}`);
    }
};

// ---- What the soak watches in /proc ----
const procStat = (pid) => {
    try {
        const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        return { state: fields[0], ppid: Number(fields[1]) };
    } catch { return null; }
};
const alive = (pid) => {
    const s = procStat(pid);
    return s !== null && s.state !== 'Z';
};
const childrenOf = (ppid) => readdirSync('/proc').filter((d) => /^\d+$/.test(d))
    .map(Number).filter((pid) => procStat(pid)?.ppid === ppid && alive(pid));
const fdCount = (pid) => { try { return readdirSync(`/proc/${pid}/fd`).length; } catch { return -1; } };
const rssKiB = (pid) => {
    try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return -1; }
};

// ---- One soak run on one Engine.IO version ----
async function soak(eio, ms) {
    const dir = tempDir('robotd-soak-');
    const peer = await startPeer({ eio, args: ['--stream-key', 'sk-soak', '--quiet'] });
    const caA = peer.info.ca_file;
    const caB = join(dir, 'ca-copy.pem');  // the same CA under another path: a new vhost each toggle
    copyFileSync(caA, caB);
    const outDir = join(dir, 'consumers');
    mkdirSync(outDir, { recursive: true });
    // Consumers write every line to a file named by their pid; the stubborn kind ignores
    // SIGTERM and its stdin's end, so robotd must SIGKILL it.
    const script = join(dirname(fileURLToPath(import.meta.url)), 'consumer.mjs');
    const consumer = (stubborn) => `${process.execPath} ${script} ${outDir}${stubborn ? ' --stubborn' : ''}`;
    let state = { ca: caA, stubborn: false, hups: 0 };
    const configText = () => peerConfig(peer, {
        camera: { camera_device: 'lavfi:testsrc=size=320x240:rate=25',
            mic_device: 'lavfi:sine=frequency=440:sample_rate=44100', x_res: 320, y_res: 240 },
        misc: { eio, video_status_interval: 2, lookup_timeout: 3, ca_file: state.ca },
        robot: { type: 'pipe', stream_key: 'sk-soak', straight_delay: 0.3, turn_delay: 0.2 },
        pipe: { command: consumer(state.stubborn) },
    });
    const path = writeConfig(configText(), dir);
    const seq0 = await peer.seq();
    const robot = startRobotd(path, [], { verbose: false });
    const pid = robot.child.pid;
    const tag = `eio${eio}`;
    const samples = [];
    const sample = (label) => {
        const s = { t: Math.round((Date.now() - t0) / 1000), fds: fdCount(pid), rss: rssKiB(pid),
            children: childrenOf(pid).length, label };
        samples.push(s);
        return s;
    };
    const print = (s) => console.log(`# ${tag} t=${s.t}s fds=${s.fds} rss=${(s.rss / 1024).toFixed(1)}MiB ` +
        `children=${s.children}${s.label ? ` (${s.label})` : ''}`);
    const t0 = Date.now();
    const faults = {};
    let stalled = null;  // a SIGSTOPped consumer pid
    const pending = new Set();
    const later = (delay, fn) => {
        const p = sleep(delay).then(fn).catch(() => {}).finally(() => pending.delete(p));
        pending.add(p);
    };
    const sockets = ['control', 'chat', 'app', 'user'];
    const stopped = new Set();
    let delivered = 0;  // commands the peer handed to a connected robot
    const currentConsumers = () => childrenOf(pid);

    try {
        for (const s of sockets) await peer.waitEvent(s, null, seq0, { type: 'connect', timeoutMs: 30000 });
        await peer.waitUpload('video', 'start', seq0, 30000);
        await peer.waitUpload('audio', 'start', seq0, 30000);
        await sleep(3000);
        print(sample('warm'));
        const baseline = samples[samples.length - 1];

        const actions = {
            async kill() {  // a server dies and comes back on the same port
                const s = pick(sockets.filter((x) => !stopped.has(x)));
                if (!s) return;
                stopped.add(s);
                await peer.socketOp(s, 'stop', { abrupt: rand() < 0.5 });
                later(between(1000, 6000), async () => { await peer.socketOp(s, 'start'); stopped.delete(s); });
            },
            async move() {  // a discovered server moves: found again after 3 failures
                const s = pick(['control', 'chat'].filter((x) => !stopped.has(x)));
                if (!s) return;
                stopped.add(s);
                await peer.socketOp(s, 'stop');
                later(between(500, 4000), async () => { await peer.socketOp(s, 'move', { port: 0 }); stopped.delete(s); });
            },
            async kick() { await peer.socketOp(pick(sockets), 'kick', { abrupt: rand() < 0.3 }); },
            async kickOnConnect() {
                await peer.socketOp(pick(sockets), 'kick_on_connect', { delay_ms: Math.floor(between(0, 300)), count: 2 });
            },
            async garbage() {
                const frames = ['42["command_to_robot",{"robot_id":', '4', '42[1,2]', '9', '0{"sid":"late"}',
                    '42["command_to_robot",{"robot_id":"robot1","command":"F\\n I forged","user":"x\\u001b[2J"}]',
                    '42["chat_message_with_name",{"name":"a\\nb","message":"[r] \\u0007hi"}]', '42["big","{{PAD:2000000}}"]'];
                await peer.raw(pick(sockets), pick(frames));
            },
            async outOfOrder() {
                const s = pick(sockets);
                await peer.socketOp(s, 'script', { frames: pick([['40'], ['0{"sid":"x","pingInterval":1000,"pingTimeout":1000}'],
                    ['garbage', '40']]), on: pick(['upgrade', 'connect']), close_after_ms: 3000 });
                await peer.socketOp(s, 'kick', { abrupt: true });
            },
            async stall() {
                const s = pick(sockets);
                await peer.socketOp(s, 'stall', { mode: pick(['upgrade', 'silent']), count: 1 });
                await peer.socketOp(s, 'kick', { abrupt: true });
            },
            async relay() {
                const stream = pick(['video', 'audio']);
                if (rand() < 0.5) {
                    await peer.api('POST', `/_peer/relay/${stream}/slow`, { bytes_per_s: 2000 });
                    later(between(2000, 8000), () => peer.api('POST', `/_peer/relay/${stream}/slow`, { bytes_per_s: 0 }));
                } else {
                    await peer.api('POST', `/_peer/relay/${stream}/kick`, {});
                }
            },
            async lookup() {
                const path = pick(['/get_control_host_port', '/get_chat_host_port', '/get_video_port', '/api/v1/robots']);
                await peer.fault({ path, mode: pick(['status', 'garbage', 'hang', 'close', 'redirect']), count: 2 });
            },
            async consumerStall() {
                if (stalled) return;
                const [c] = currentConsumers();
                if (!c) return;
                stalled = c;
                process.kill(c, 'SIGSTOP');
                later(between(1000, 5000), () => { stalled = null; process.kill(c, 'SIGCONT'); });
            },
            async hupStorm() {
                // A stalled consumer cannot take its exit stop: it is killed, and its successor
                // starts from a stop (the stop check follows the stream across consumers).
                for (let i = 0, n = Math.floor(between(2, 5)); i < n; i++) {
                    state.ca = state.ca === caA ? caB : caA;
                    if (rand() < 0.5) state.stubborn = !state.stubborn;
                    writeFileSync(path, configText());
                    robot.child.kill('SIGHUP');
                    state.hups++;
                    await sleep(between(50, 300));
                }
            },
            async flood() {
                // Long user names fill the consumer's pipe quickly when it is stalled.
                const long = 'u'.repeat(180);
                const sends = [];
                for (let i = 0; i < 150; i++) {
                    sends.push(peer.command({ command: pick(['F', 'B', 'L', 'R']), key_position: 'down',
                        user: `${long}${i % 7}`, anonymous: rand() < 0.2 })
                        .then((res) => { if (res.status === 200) delivered++; }, () => {}));
                    if (i % 10 === 0) sends.push(peer.emit('control', 'custom_event',
                        [{ robot_id: 'robot1', data: `mousedown:${rand().toFixed(2)}:0.5`, user: 'ann' }]).catch(() => {}));
                }
                await Promise.all(sends);
            },
            async video() { await peer.command({ command: pick(['VIDOFF', 'VIDON']), socket: 'app' }).catch(() => {}); },
        };
        const only = opt('actions', '');  // --actions flood,kill: replay a subset while debugging
        // Floods weigh double: motion lines under faults are what the stop checks need.
        const names = [...Object.keys(actions), 'flood'].filter((n) => !only || only.split(',').includes(n));
        const counts = Object.fromEntries(Object.keys(actions).map((n) => [n, 0]));
        let nextPrint = Date.now() + 30000;
        while (Date.now() - t0 < ms) {
            const name = pick(names);
            counts[name]++;
            try { await actions[name](); } catch (e) { faults[name] = (faults[name] || 0) + 1; }
            await sleep(between(300, 2500));
            if (Date.now() >= nextPrint) {
                print(sample());
                nextPrint += 30000;
            }
            if (robot.child.exitCode !== null || robot.child.signalCode !== null) break;
        }
        console.log(`# ${tag} faults injected: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}; ` +
            `SIGHUPs ${state.hups}; commands delivered to robotd ${delivered}`);

        // ---- Settle: every fault off, every server up ----
        await Promise.all([...pending]);
        if (stalled) { try { process.kill(stalled, 'SIGCONT'); } catch { /* replaced and killed meanwhile */ } }
        await peer.api('POST', '/_peer/reset');
        for (const s of stopped) await peer.socketOp(s, 'start').catch(() => {});
        for (const stream of ['video', 'audio']) await peer.api('POST', `/_peer/relay/${stream}/slow`, { bytes_per_s: 0 });
        await peer.command({ command: 'VIDON', socket: 'app' }).catch(() => {});
        const settleStart = Date.now();
        const links = async () => {
            const st = (await peer.api('GET', '/_peer/state')).body.sockets;
            return Object.fromEntries(sockets.map((s) => [s, st[s].connections.length]));
        };
        let l = await links();
        // The backoff is capped at 30 s (plus jitter): every link is back well within 75 s.
        while (Object.values(l).some((n) => n !== 1) && Date.now() - settleStart < 75000) {
            await sleep(500);
            l = await links();
        }
        const alivePid = robot.child.exitCode === null && robot.child.signalCode === null;
        check(`${tag}: robotd survived ${minutes} min of chaos (no crash)`, () => assert.ok(alivePid,
            `exited: ${robot.child.exitCode} ${robot.child.signalCode}\n${robot.log.lines.slice(-10).join('\n')}`));
        check(`${tag}: exactly one link per session at the end (${JSON.stringify(l)})`,
            () => assert.deepEqual(l, { control: 1, chat: 1, app: 1, user: 1 }));
        // A last pulse: its dead-man stop reaches the consumer (checked with the files below).
        await peer.command({ command: 'F', key_position: 'down', user: 'final', anonymous: false });
        await sleep(3000);
        const end = sample('settled');
        print(end);
        const kids = childrenOf(pid);
        check(`${tag}: no child but the current consumer (${kids.length})`, () => assert.equal(kids.length, 1));
        check(`${tag}: fds flat (${baseline.fds} after warm-up, ${end.fds} at the end)`,
            () => assert.ok(end.fds <= baseline.fds + 4, `fd series: ${samples.map((s) => s.fds).join(' ')}`));
        const mid = samples[Math.floor(samples.length / 2)];
        check(`${tag}: RSS flat (${(baseline.rss / 1024).toFixed(1)} MiB after warm-up, ` +
            `${(mid.rss / 1024).toFixed(1)} mid-run, ${(end.rss / 1024).toFixed(1)} at the end)`,
        () => assert.ok(end.rss <= baseline.rss + 8192 && end.rss <= mid.rss + 4096,
            `RSS series (KiB): ${samples.map((s) => s.rss).join(' ')}`));
    } finally {
        // The exit: SIGTERM, then the exit stop and no consumer left behind.
        const kids = childrenOf(pid);
        const r = await robot.stop();
        check(`${tag}: exits 0 on SIGTERM`, () => assert.equal(r.code, 0));
        await sleep(1500);  // SIGKILL of a stubborn consumer comes after a 1 s grace
        const left = readdirSync(outDir).map((f) => Number(f.slice(2))).filter((p) => alive(p));
        check(`${tag}: no consumer process left after exit (${kids.length} at exit)`, () => assert.deepEqual(left, []));
        check(`${tag}: every motion line is followed by its stop, in order, for every consumer`,
            () => checkStops(outDir));
        await peer.stop();
    }
}

// Each consumer's file: JSON lines in the order robotd wrote them. Motion may be dropped under
// back-pressure, never a stop. Followed across consumers in the order they started (a killed
// consumer may miss its last stop; its successor starts from one), every motion line has a
// stop after it, and each consumer's lines are in order.
function checkStops(outDir) {
    const problems = [];
    const streams = [];
    for (const f of readdirSync(outDir)) {
        const lines = [];
        for (const text of readFileSync(join(outDir, f), 'utf8').split('\n').filter(Boolean)) {
            try { lines.push(JSON.parse(text)); } catch { problems.push(`${f}: not JSON: ${text.slice(0, 60)}`); }
        }
        if (lines.length) streams.push({ f, lines });
    }
    streams.sort((a, b) => a.lines[0].t_us - b.lines[0].t_us);
    let motions = 0, stops = 0, open = null;
    for (const { f, lines } of streams) {
        if (lines[0].command !== 'stop') problems.push(`${f}: starts with ${lines[0].command}, not a stop`);
        let lastT = -1;
        for (const l of lines) {
            if (l.t_us < lastT) problems.push(`${f}: out of order at t_us ${l.t_us}`);
            lastT = l.t_us;
            if (l.command === 'stop') { stops++; open = null; } else if (l.command !== 'pointer') { motions++; open = { f, l }; }
        }
    }
    if (open) problems.push(`${open.f}: the last motion line (${open.l.command} at ${open.l.t_us}) has no stop after it`);
    console.log(`# ${streams.length} consumers read ${motions} motion lines and ${stops} stops`);
    assert.ok(streams.length > 0, 'no consumer wrote anything');
    assert.ok(motions > 0, 'no motion line reached a consumer: the stop checks proved nothing');
    assert.deepEqual(problems, []);
}

console.log('TAP version 13');
console.log(`# soak: ${minutes} min over Engine.IO ${eios.join(' and ')}, seed ${seed}`);
for (const eio of eios) {
    try {
        await soak(eio, (minutes * 60000) / eios.length);
    } catch (e) {
        check(`eio${eio}: soak ran`, () => { throw e; });
    }
}
console.log(`1..${testNo}`);
console.log(`# pass ${passed}`);
console.log(`# fail ${failed}`);
process.exit(failed ? 1 : 0);
