// Benchmark: robotd (video, audio and its four sockets) against the reference's two ffmpeg
// processes, same input (lavfi testsrc 640x480@25 and a 440 Hz sine), same settings, for
// the same time, both posting to the same local sink (the peer's relays). Prints CPU
// seconds and peak RSS of each side with the ratios, and robotd's capture-to-wire latency
// from its own timestamps. Printed, not asserted.
//   node tests/bench/media_bench.mjs [SECONDS]   (default 30)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, robotdBin, tempDir } from '../integration/lib.mjs';

const seconds = Number(process.argv[2] || 30);
const KEY = 'sk-bench';
const VIDEO_IN = 'testsrc=size=640x480:rate=25';
const AUDIO_IN = 'sine=frequency=440:sample_rate=44100';
const dir = tempDir('robotd-bench-');

// Runs argv under GNU time; resolves with {user, sys, rss_kib, stderr} when it exits.
function timed(name, argv) {
    const out = join(dir, `${name}.time`);
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', out, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const done = new Promise((resolve) => child.on('exit', () => {
        const [user, sys, rss] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        resolve({ user, sys, cpu: user + sys, rss_kib: rss, stderr });
    }));
    return { child, done };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const peer = await startPeer({ eio: 4, args: ['--stream-key', KEY] });
try {
    await peer.api('POST', '/_peer/settings', { xres: 640, yres: 480 });
    const { video, audio } = peer.info.ports;

    // robotd: the measured interval is a fixed duration, so a sleep is the measurement here.
    const conf = writeConfig(peerConfig(peer, {
        robot: { stream_key: KEY },
        camera: { camera_device: `lavfi:${VIDEO_IN}`, mic_device: `lavfi:${AUDIO_IN}`, x_res: 640, y_res: 480 },
    }), dir);
    const robot = timed('robotd', [robotdBin, '--config', conf, '--stderr']);
    await sleep(seconds * 1000);
    // GNU time does not pass signals on: stop robotd itself, time reports when it is gone.
    spawn('pkill', ['-TERM', '-P', String(robot.child.pid)]);
    const r = await robot.done;
    const lat = / I video: upload closed \((\d+) records, (\d+) bytes, (\d+) skipped.*p50 (\d+) ms, p99 (\d+) ms\)/.exec(r.stderr);
    const alat = / I audio: upload closed \((\d+) records.*p50 (\d+) ms, p99 (\d+) ms\)/.exec(r.stderr);

    // The seed's two ffmpeg command lines, with the same input made real-time by -re.
    const ff = (name, input, codec) => timed(name, ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi',
        '-i', input, '-t', String(seconds), '-f', 'mpegts', ...codec, '-muxdelay', '0.001',
        `http://127.0.0.1:${codec[1] === 'mpeg1video' ? video : audio}/${KEY}/640/480/`]);
    const fv = ff('ffmpeg-video', VIDEO_IN, ['-codec:v', 'mpeg1video', '-b:v', '350k', '-bf', '0']);
    const fa = ff('ffmpeg-audio', AUDIO_IN, ['-codec:a', 'mp2', '-b:a', '32k']);
    const [v, a] = await Promise.all([fv.done, fa.done]);

    const refCpu = v.cpu + a.cpu, refRss = v.rss_kib + a.rss_kib;
    const f2 = (x) => x.toFixed(2);
    console.log(`media benchmark: ${seconds} s of lavfi ${VIDEO_IN} + ${AUDIO_IN}, mpeg1video 350k + mp2 32k, to the local relay`);
    console.log(`  robotd          CPU ${f2(r.cpu)} s (user ${f2(r.user)}, sys ${f2(r.sys)})  peak RSS ${(r.rss_kib / 1024).toFixed(1)} MiB`);
    console.log(`  ffmpeg video    CPU ${f2(v.cpu)} s  peak RSS ${(v.rss_kib / 1024).toFixed(1)} MiB`);
    console.log(`  ffmpeg audio    CPU ${f2(a.cpu)} s  peak RSS ${(a.rss_kib / 1024).toFixed(1)} MiB`);
    console.log(`  ratio robotd/ffmpeg pair: CPU ${f2(r.cpu / refCpu)}x (target <= 0.8)  peak RSS ${f2(r.rss_kib / refRss)}x of their sum (target <= 0.25)`);
    if (lat) console.log(`  robotd video capture-to-wire p50 ${lat[4]} ms, p99 ${lat[5]} ms (target p99 < 50) over ${lat[1]} records, ${lat[3]} skipped`);
    if (alat) console.log(`  robotd audio capture-to-wire p50 ${alat[2]} ms, p99 ${alat[3]} ms over ${alat[1]} records`);
    if (!lat) console.log(`  robotd did not log its upload summary:\n${r.stderr.split('\n').slice(-10).join('\n')}`);
} finally {
    await peer.stop();
}
