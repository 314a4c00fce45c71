// robotd on the virtual board (tests/vm/board.mjs): native V4L2 capture from the vivid
// camera and ALSA capture from the snd-aloop card, both streamed to the peer's relays on the
// host; a camera that vanishes and comes back; an ALSA overrun; the board's own devices.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startPeer, probe, pictureTypes } from '../integration/lib.mjs';
import { bootBoard, boardConfig, imageMissing } from './board.mjs';

const missing = imageMissing();

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
        peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-vm', '--advertise-host', '10.0.2.100'] });
        await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
        board = await bootBoard({ ports: Object.values(peer.info.ports) });
        await board.writeFile('/tmp/peer-ca.pem', readFileSync(peer.info.ca_file, 'utf8').trim());
    });
    after(async () => {
        await board?.shutdown();
        await peer?.stop();
    });

    const upload = async (stream, type, since, timeoutMs = 30000) => {
        const q = new URLSearchParams({ kind: 'uploads', stream, type, since: String(since), timeout_ms: String(timeoutMs) });
        const r = await peer.api('GET', `/_peer/wait?${q}`);
        if (r.status !== 200) throw new Error(`no ${stream} upload ${type} after ${since}`);
        return r.body;
    };
    const bytes = async (stream, min) => {
        const r = await peer.api('GET', `/_peer/wait?kind=relay_bytes&stream=${stream}&min_bytes=${min}&timeout_ms=30000`);
        if (r.status !== 200) throw new Error(`${stream} relay never got ${min} bytes`);
        return r.body;
    };
    const relayBytes = async (stream) => (await peer.api('GET', '/_peer/relay')).body[stream].bytes;
    const recording = async (n, stream) =>
        (await peer.api('GET', '/_peer/relay')).body[stream].uploads.find((u) => u.n === n).file;

    test('the board has the devices robotd drives', async () => {
        assert.match(await board.ok('cat /sys/class/video4linux/video0/name'), /vivid/);
        assert.match(await board.ok('cat /proc/asound/cards'), /\[Loopback\s*\]/);
        // PL061: 8 lines, for the GPIO drivers.
        assert.match(await board.ok('cat /sys/kernel/debug/gpio'), /gpiochip0: GPIOs \d+-\d+, parent: amba\/\w+\.pl061/);
        assert.equal((await board.ok('cat /sys/class/gpio/gpiochip*/ngpio')).trim(), '8');
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
            const opened = await r.wait(/ v4l2: opened /);
            assert.match(opened, /\/dev\/video0/);
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
});
