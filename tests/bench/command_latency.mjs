// Benchmark: command latency from the peer's emit of command_to_robot to robotd's pipe
// driver line, p50/p99 over N commands (default 10,000), on Engine.IO 3 and 4.
// Printed, not asserted. Usage: node tests/bench/command_latency.mjs [N]
//   robot:    robotd's own receipt stamp (t_us) minus the peer's emit stamp; both are
//             CLOCK_MONOTONIC microseconds (node's hrtime and robotd's mono_us).
//   consumer: the moment this script (the pipe's consumer) reads the line, same clock.
import { startPeer, peerConfig, writeConfig, startRobotd } from '../integration/lib.mjs';

const n = Number(process.argv[2] || 10000);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (us) => (us / 1000).toFixed(3);

async function run(eio) {
    const peer = await startPeer({ eio });
    const robot = startRobotd(writeConfig(peerConfig(peer, {
        robot: { type: 'pipe' }, pipe: { path: '-' }, misc: { eio },
    })), [], { verbose: false });
    try {
        await peer.waitEvent('control', 'robot_id', 0);
        // Each line is matched by its user field; the command is not a motion, so no stops.
        const arrivals = new Map();
        robot.out.lines.length = 0;
        let waiting = null;
        const readline = (await import('node:readline')).default;
        readline.createInterface({ input: robot.child.stdout }).on('line', (line) => {
            const at = nowUs();
            const l = JSON.parse(line);
            arrivals.set(l.user, { at, t_us: l.t_us });
            if (waiting && waiting.user === l.user) waiting.resolve();
        });
        const toRobot = [], toConsumer = [];
        for (let i = 0; i < n; i++) {
            const user = `b${i}`;
            const got = new Promise((resolve) => { waiting = { user, resolve }; });
            const r = await peer.command({ command: 'BENCH', user, anonymous: false });
            if (r.status !== 200) throw new Error(`emit failed: ${JSON.stringify(r.body)}`);
            if (!arrivals.has(user)) await got;
            const a = arrivals.get(user);
            toRobot.push(a.t_us - r.body.emitted_us);
            toConsumer.push(a.at - r.body.emitted_us);
            arrivals.delete(user);
        }
        toRobot.sort((a, b) => a - b);
        toConsumer.sort((a, b) => a - b);
        console.log(`Engine.IO ${eio}: ${n} commands  emit->robotd p50 ${ms(pct(toRobot, 0.5))} ms  p99 ${ms(pct(toRobot, 0.99))} ms` +
            `  |  emit->pipe line read p50 ${ms(pct(toConsumer, 0.5))} ms  p99 ${ms(pct(toConsumer, 0.99))} ms`);
    } finally {
        await robot.stop();
        await peer.stop();
    }
}

for (const eio of [3, 4]) await run(eio);
