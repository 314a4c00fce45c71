// Benchmark on the virtual board (tests/vm): robotd capturing the vivid camera (native V4L2)
// and the snd-aloop microphone (native ALSA, a 440 Hz tone played into it) for SECONDS,
// streaming both to the peer's relays on the host. Prints robotd's CPU seconds (from
// /proc/PID/stat), peak RSS (VmHWM), and its capture-to-wire latency from its own log.
// The board is an emulated Cortex-A57 (QEMU TCG): the figures compare runs of this bench,
// not a real board. Printed, not asserted.
//   node tests/bench/board_bench.mjs [SECONDS] [WIDTHxHEIGHT]   (defaults 30, 640x480)
import { boardConfig, imageMissing, startPeerAndBoard } from '../vm/board.mjs';

const seconds = Number(process.argv[2] || 30);
const [width, height] = (process.argv[3] || '640x480').split('x').map(Number);
const missing = imageMissing();
if (missing) {
    console.error(missing);
    process.exit(2);
}

const { peer, board } = await startPeerAndBoard({ width, height });
try {
    await board.ok('speaker-test -D hw:Loopback,0,0 -t sine -f 440 -c 1 -r 44100 >/dev/null 2>&1 &');
    const r = await board.startRobotd(boardConfig(peer, {
        camera: { mic_device: 'Loopback,1', x_res: width, y_res: height },
    }));
    await r.wait(/ video: streaming /, { timeoutMs: 30000 });
    await r.wait(/ audio: streaming /, { timeoutMs: 30000 });
    const pid = await r.pid();
    // The measured interval is a fixed duration, so a sleep is the measurement here.
    const ticks = async () => {
        const stat = (await board.ok(`cat /proc/${pid}/stat`)).trim();
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(f[11]) + Number(f[12]);  // utime + stime, in clock ticks
    };
    const hz = Number((await board.ok('getconf CLK_TCK 2>/dev/null || echo 100')).trim()) || 100;
    const t0 = await ticks();
    await new Promise((res) => setTimeout(res, seconds * 1000));
    const cpu = ((await ticks()) - t0) / hz;
    const hwm = (await board.ok(`grep VmHWM /proc/${pid}/status`)).trim().split(/\s+/)[1];
    assertExit(await r.stop());
    const closed = (kind) => r.log.lines.find((l) => new RegExp(` I ${kind}: upload closed`).test(l)) || '(none)';
    console.log(`robotd on the virtual board, ${width}x${height} video + audio, ${seconds} s:`);
    console.log(`  CPU ${cpu.toFixed(2)} s (${(100 * cpu / seconds).toFixed(1)} % of one emulated core)`);
    console.log(`  peak RSS ${(Number(hwm) / 1024).toFixed(1)} MiB`);
    console.log(`  video: ${closed('video').replace(/.*upload closed /, '')}`);
    console.log(`  audio: ${closed('audio').replace(/.*upload closed /, '')}`);
} finally {
    await board.shutdown();
    await peer.stop();
}

function assertExit(code) {
    if (code !== 0) throw new Error(`robotd exited ${code}`);
}
