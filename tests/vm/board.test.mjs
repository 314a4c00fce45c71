// robotd on the virtual board (tests/vm/board.mjs): native V4L2 capture from the vivid
// camera and ALSA capture from the snd-aloop card, both streamed to the peer's relays on the
// host; a camera that vanishes and comes back; an ALSA overrun; the board's own devices.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { probe, pictureTypes } from '../integration/lib.mjs';
import { join } from 'node:path';
import { boardConfig, imageDir, imageMissing, startPeerAndBoard } from './board.mjs';

const missing = imageMissing();

// Every decoded frame of a picture or video file as 32x24 grey pixels (scaled down: the
// brightness and the layout of the picture are what the tests compare).
const GREY_FRAME = 32 * 24;
function greyFrames(file) {
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'scale=32:24', '-pix_fmt', 'gray',
        '-f', 'rawvideo', '-'], { maxBuffer: 64 << 20 });
    const frames = [];
    for (let off = 0; off + GREY_FRAME <= raw.length; off += GREY_FRAME) frames.push(raw.subarray(off, off + GREY_FRAME));
    return frames;
}

// Mean luma of each decoded frame.
function frameLumas(file) {
    return greyFrames(file).map((f) => f.reduce((sum, v) => sum + v, 0) / f.length);
}

// The last decoded frame.
function lastFrameGrey(file) {
    return greyFrames(file).at(-1);
}

// Peak absolute sample of an audio file, decoded by ffmpeg to 16-bit mono.
function peakSample(file) {
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-'],
        { maxBuffer: 64 << 20 });
    let peak = 0;
    for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
    return peak;
}

describe('virtual board', { skip: missing || false }, () => {
    let peer, board;
    before(async () => {
        ({ peer, board } = await startPeerAndBoard({ width: 320, height: 240 }));
    });
    after(async () => {
        await board?.shutdown();
        await peer?.stop();
    });

    // The board is slower than the host: longer waits.
    const upload = (stream, type, since) => peer.waitUpload(stream, type, since, 30000);
    const bytes = (stream, min) => peer.waitRelayBytes(stream, min, 30000);
    const relayBytes = (stream) => peer.relayBytes(stream);
    const recording = async (n, stream) => (await peer.recording(stream, n)).file;

    test('the board has the devices robotd drives', async () => {
        assert.match(await board.ok('cat /sys/class/video4linux/video0/name'), /vivid/);
        assert.match(await board.ok('cat /sys/class/video4linux/video9/name'), /loopcam/);
        assert.match(await board.ok('cat /proc/asound/cards'), /\[Loopback\s*\]/);
        // PL061: 8 lines, for the GPIO drivers.
        assert.match(await board.ok('cat /sys/kernel/debug/gpio'), /gpiochip0: GPIOs \d+-\d+, parent: amba\/\w+\.pl061/);
        assert.match(await board.ok('for c in /sys/class/gpio/gpiochip*; do echo $(cat $c/label) $(cat $c/ngpio); done'),
            /^9030000\.pl061 8$/m);
        assert.match(await board.ok('uname -m'), /aarch64/);
    });

    test('the vivid camera and the loopback microphone stream to the relay', async () => {
        // A 440 Hz tone into the loopback's playback side; robotd records the capture side
        // (device 1 by the card's name and number).
        await board.ok('speaker-test -D hw:Loopback,0,0 -t sine -f 440 -c 1 -r 44100 >/dev/null 2>&1 &');
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, { camera: { mic_device: 'Loopback,1' } }));
        let v, a;
        try {
            // vivid's webcam has fixed sizes: 640x480 in YUV420, scaled down, keeps the 4:3
            // picture (its nearest, 320x180, would squash it).
            const opened = await r.wait(/ v4l2: opened /);
            assert.match(opened, /\/dev\/video0 \(vivid: .*YU12 640x480 -> yuv420p 320x240/);
            await r.wait(/ alsa: opened .*hw:CARD=Loopback,DEV=1/);
            v = await upload('video', 'start', since);
            a = await upload('audio', 'start', since);
            assert.match(v.path, /^\/sk-vm\/320\/240\/$/);
            await bytes('video', (await relayBytes('video')) + 40000);
            await bytes('audio', (await relayBytes('audio')) + 8000);
        } finally {
            assert.equal(await r.stop(), 0);
            await board.sh('killall speaker-test');
        }
        const vp = probe(await recording(v.n, 'video'));
        assert.match(vp.format.format_name, /mpegts/);
        assert.deepEqual(vp.streams.map((s) => [s.codec_name, s.width, s.height, s.r_frame_rate]),
            [['mpeg1video', 320, 240, '25/1']]);
        assert.deepEqual([...pictureTypes(await recording(v.n, 'video'))].sort(), ['I', 'P']);
        const audioFile = await recording(a.n, 'audio');
        const ap = probe(audioFile);
        assert.deepEqual(ap.streams.map((s) => [s.codec_name, s.sample_rate, s.channels]), [['mp2', '44100', 1]]);
        // The tone went through the loopback, not silence.
        assert.ok(peakSample(audioFile) > 2000, 'the recorded audio carries the tone');
    });

    test('a camera that vanishes is retried with backoff and streams again when it is back', async () => {
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, { camera: { no_mic: 'true' } }));
        try {
            const from = (await r.wait(/ video: streaming \/dev\/video0/), r.log.lines.length);
            await upload('video', 'start', since);
            // The driver lets go of the device, as a USB camera pulled out does.
            await board.ok('echo vivid.0 > /sys/bus/platform/drivers/vivid/unbind');
            await r.wait(/ W video: .*\(retrying with backoff\)/, { from });
            assert.equal((await board.sh('pidof robotd')).rc, 0, 'robotd runs on without its camera');
            const gone = r.log.lines.length;
            await board.ok('echo vivid.0 > /sys/bus/platform/drivers/vivid/bind');
            // A reopen after an outage is "reopened" (debug), then "streaming again" once healthy.
            await r.wait(/ video: (streaming|reopened) \/dev\/video0/, { from: gone, timeoutMs: 60000 });
            await bytes('video', (await relayBytes('video')) + 20000);
        } finally {
            assert.equal(await r.stop(), 0);
        }
        assert.doesNotMatch(r.log.text(), / E /);
    });

    test('an ALSA overrun is recovered and counted (hw:N,M names the card; stereo at 48 kHz)', async () => {
        await board.ok('speaker-test -D hw:0,0 -t sine -f 440 -c 2 -r 48000 >/dev/null 2>&1 &');
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_camera: 'true', mic_device: 'hw:0,1' },
            ffmpeg: { audio_channels: 2, audio_sample_rate: 48000 },
        }));
        let a;
        try {
            a = await upload('audio', 'start', since);
            await r.wait(/ audio: streaming ALSA hw:0,1/);
            const from = r.log.lines.length;
            // robotd stopped for a second: the card's 80 ms buffer overflows meanwhile.
            await board.ok('kill -STOP $(pidof robotd); sleep 1; kill -CONT $(pidof robotd)');
            await r.wait(/ W alsa: hw:0,1: overrun, samples lost \(1 so far\)/, { from });
            const more = await relayBytes('audio');
            await bytes('audio', more + 8000);  // and the audio goes on
        } finally {
            assert.equal(await r.stop(), 0);
            await board.sh('killall speaker-test');
        }
        const ap = probe(await recording(a.n, 'audio'));
        assert.deepEqual(ap.streams.map((s) => [s.codec_name, s.sample_rate, s.channels]), [['mp2', '48000', 2]]);
    });

    test("the owner's .brightness from chat changes the camera's picture", async () => {
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, { camera: { no_mic: 'true' } }));
        let v;
        try {
            await peer.waitEvent('chat', 'identify_robot_id', since, { timeoutMs: 30000 });
            v = await upload('video', 'start', since);
            await r.wait(/ video: streaming \/dev\/video0/);
            for (const level of [0, 100]) {
                const from = r.log.lines.length;
                await peer.chat({ name: 'owner1', text: `.brightness ${level}` });
                await r.wait(new RegExp(` I video: brightness ${level} % applied to /dev/video0`), { from });
                await bytes('video', (await relayBytes('video')) + 30000);  // a second or two of it
            }
        } finally {
            assert.equal(await r.stop(), 0);
        }
        const lumas = frameLumas(await recording(v.n, 'video'));
        const series = lumas.map((l) => l.toFixed(0)).join(' ');
        const dark = Math.min(...lumas);
        const darkAt = lumas.indexOf(dark);
        // Dark after .brightness 0, then bright to the end after .brightness 100.
        assert.ok(lumas.at(-1) - dark > 60, `the picture went from dark to bright: ${series}`);
        assert.ok(darkAt < lumas.length - 1 && lumas.slice(darkAt + 1).some((l) => l - dark > 60), series);
    });

    test('an RGB camera is converted and scaled on the V4L2 M2M device (vim2m), as by swscale', async () => {
        const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const run = async (m2m) => {
            const since = await peer.seq();
            const r = await board.startRobotd(boardConfig(peer, {
                camera: { no_mic: 'true' }, media: { camera_format: 'RGB3', m2m },
            }));
            let v, opened;
            try {
                opened = await r.wait(/ v4l2: opened /);
                v = await upload('video', 'start', since);
                await bytes('video', (await relayBytes('video')) + 30000);
            } finally {
                assert.equal(await r.stop(), 0);
            }
            const file = await recording(v.n, 'video');
            const vp = probe(file);
            assert.deepEqual(vp.streams.map((s) => [s.codec_name, s.width, s.height]), [['mpeg1video', 320, 240]]);
            return { r, opened, luma: mean(frameLumas(file)) };
        };
        const hw = await run('auto');
        assert.match(hw.r.log.text(), / I media: V4L2 M2M: \/dev\/video\d+ \(vim2m: vim2m\): roles convert\/scale; takes RGBP,RGBR,RGB3,BGR3 -> produces /);
        assert.match(hw.r.log.text(), / I v4l2: \/dev\/video0: converting on \/dev\/video\d+ \(vim2m\): RGB3 640x480 -> YUYV 320x240/);
        assert.match(hw.opened, /RGB3 640x480 -> M2M .* -> yuv420p 320x240/);
        const sw = await run('off');
        assert.doesNotMatch(sw.r.log.text(), /converting on/);
        assert.match(sw.opened, /RGB3 640x480 -> yuv420p 320x240/);
        // The same picture either way (vim2m's colour maths is not swscale's: close, not equal).
        assert.ok(Math.abs(hw.luma - sw.luma) < 12, `mean luma ${hw.luma.toFixed(1)} (M2M) vs ${sw.luma.toFixed(1)} (swscale)`);
    });

    test('a YUYV camera (camera_format) streams through swscale; an M2M device that cannot take it is passed over', async () => {
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_mic: 'true' }, media: { camera_format: 'YUYV' },
        }));
        let v;
        try {
            assert.match(await r.wait(/ v4l2: opened /), /YUYV 640x480 -> yuv420p 320x240/);
            assert.match(r.log.text(), / I v4l2: \/dev\/video0: no V4L2 M2M converter for YUYV \(\/dev\/video\d+ does not take YUYV\); using swscale/);
            v = await upload('video', 'start', since);
            await bytes('video', (await relayBytes('video')) + 20000);
        } finally {
            assert.equal(await r.stop(), 0);
        }
        const vp = probe(await recording(v.n, 'video'));
        assert.deepEqual(vp.streams.map((s) => [s.codec_name, s.width, s.height]), [['mpeg1video', 320, 240]]);
    });

    test('a camera_format the camera lacks is a clear error, retried, never a crash', async () => {
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_mic: 'true' }, media: { camera_format: 'MJPG' },
        }));
        try {
            const line = await r.wait(/ W video: .*\(retrying with backoff\)/);
            assert.match(line, /\/dev\/video0 does not give \[media\] camera_format MJPG \(it has .*YU12.*\)/);
        } finally {
            assert.equal(await r.stop(), 0);
        }
    });

    test('an MJPEG camera (v4l2loopback fed JPEG files) is decoded and streamed', async () => {
        // The feeder returns once its first frame is in: from then on /dev/video9 is a camera
        // that gives MJPG 640x480 and nothing else (the JPEGs are FFmpeg's testsrc pattern).
        assert.match(await board.ok('mjpeg_feeder -b /dev/video9 640 480 25 /usr/share/robotd-test/*.jpg'),
            /: \/dev\/video9: MJPG 640x480 at 25 fps, 10 file/);
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_mic: 'true', camera_device: '/dev/video9' },
        }));
        let v;
        try {
            // Decoded by libavcodec's mjpeg, then scaled by swscale (no M2M device takes JPEG).
            const opened = await r.wait(/ v4l2: opened /);
            assert.match(opened, /\/dev\/video9 \(v4l2 loopback: loopcam, MJPG 640x480 -> yuv420p 320x240/);
            v = await upload('video', 'start', since);
            await bytes('video', (await relayBytes('video')) + 30000);
        } finally {
            assert.equal(await r.stop(), 0);
            await board.sh('killall mjpeg_feeder');
        }
        assert.doesNotMatch(r.log.text(), / E |undecodable MJPEG/);
        const file = await recording(v.n, 'video');
        const vp = probe(file);
        assert.deepEqual(vp.streams.map((s) => [s.codec_name, s.width, s.height, s.r_frame_rate]),
            [['mpeg1video', 320, 240, '25/1']]);
        // The test pattern, not a flat or garbled picture: its colour bars span dark to bright,
        // and the picture is close to the JPEG files' own (the nearest of them: the pattern's
        // gradient moves from frame to frame). The JPEGs' full-range luma taken as limited
        // range would be 14 off; a right picture is within 1 to 4.
        const got = lastFrameGrey(file);
        const spread = Math.max(...got) - Math.min(...got);
        assert.ok(spread > 100, `luma spread ${spread} in the last frame`);
        const jpegs = readdirSync(join(imageDir, 'jpeg')).filter((f) => f.endsWith('.jpg'));
        const diffs = jpegs.map((f) => {
            const want = lastFrameGrey(join(imageDir, 'jpeg', f));
            return got.reduce((sum, g, i) => sum + Math.abs(g - want[i]), 0) / got.length;
        });
        assert.ok(Math.min(...diffs) < 8, `mean luma difference to the nearest JPEG: ${diffs.map((d) => d.toFixed(1)).join(' ')}`);
    });

    test('a sound card that vanishes is retried with backoff and records again when it is back', async () => {
        const r = await board.startRobotd(boardConfig(peer, { camera: { no_camera: 'true', mic_device: 'Loopback,1' } }));
        try {
            await r.wait(/ audio: streaming ALSA hw:CARD=Loopback,DEV=1/);
            const from = r.log.lines.length;
            // The card's driver lets go of it, as a USB microphone pulled out does.
            await board.ok('echo snd_aloop.0 > /sys/bus/platform/drivers/snd_aloop/unbind');
            await r.wait(/ W audio: .*\(retrying with backoff\)/, { from });
            assert.equal((await board.sh('pidof robotd')).rc, 0, 'robotd runs on without its microphone');
            const gone = r.log.lines.length;
            await board.ok('echo snd_aloop.0 > /sys/bus/platform/drivers/snd_aloop/bind');
            // By its name, whatever number the card gets this time.
            await r.wait(/ audio: (streaming|reopened) ALSA hw:CARD=Loopback,DEV=1/, { from: gone, timeoutMs: 60000 });
            await bytes('audio', (await relayBytes('audio')) + 8000);
        } finally {
            assert.equal(await r.stop(), 0);
        }
        assert.doesNotMatch(r.log.text(), / E /);
    });

    // NTP's first step on a board without an RTC: the kernel cancels robotd's CLOCK_REALTIME
    // timerfd, and a lookup waiting out its backoff runs at once. A step of under a minute (a
    // time daemon's correction) is no reason to. The guest's own clock: the host's is never set.
    test('the clock set an hour forward cuts a backoff short; a step of a second does not', async () => {
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_camera: 'true', no_mic: 'true' },
            // Nothing listens there: the control lookup fails at once, every time.
            misc: { info_server: 'http://127.0.0.1:1', api_server: 'http://127.0.0.1:1' },
        }));
        let stepped = false;
        const attempt = (n) => new RegExp(` discovery: control lookup failed \\(.*\\); attempt ${n}, retry in ([0-9.]+) s`);
        try {
            // The fourth failure waits 4 to 8 s before the fifth attempt.
            const fourth = await r.wait(attempt(4), { timeoutMs: 60000 });
            const small = r.log.lines.length;
            await board.ok('date -s "@$(date +%s)" >/dev/null');  // back to the whole second
            await r.wait(/ D net: the clock was set by -[01]\.\d{3} s: too small a step to retry for$/, { from: small });
            assert.equal(r.log.lines.slice(small).some((l) => / attempt 5, /.test(l)), false,
                'a step of under a second cut the backoff short');

            const big = r.log.lines.length;
            const t0 = performance.now();
            await board.ok('date -s "@$(( $(date +%s) + 3630 ))" >/dev/null');
            stepped = true;
            // Info, or debug when a network change was told less than a minute before.
            await r.wait(/ [ID] net: the clock was set forward 1 h: retrying now( \(\d+ waiting\))?$/, { from: big });
            await r.wait(attempt(5), { from: big });
            const waited = performance.now() - t0;
            const backoff = Number(attempt(4).exec(fourth)[1]) * 1000;
            assert.ok(waited < backoff * 0.75, `the fifth attempt came ${waited} ms after the step, its backoff was ${backoff} ms`);
        } finally {
            if (stepped) await board.ok('date -s "@$(( $(date +%s) - 3630 ))" >/dev/null');
            assert.equal(await r.stop(), 0);
        }
    });
});
