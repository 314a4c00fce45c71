// robotd's media against the peer's relays: what arrives is MPEG-TS with MPEG-1 video and
// MP2 audio as jsmpeg needs (checked with ffprobe and the peer's own TS scan), and the
// stream follows VIDOFF/VIDON, a resolution change, mic_enabled, a relay that drops the
// upload and a relay that reads slowly.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startPeer, peerConfig, writeConfig, startRobotd, probe, pictureTypes } from './lib.mjs';

const VIDEO = 'lavfi:testsrc=size=320x240:rate=25';
const AUDIO = 'lavfi:sine=frequency=440:sample_rate=44100';

describe('media', () => {
    let peer;
    // The relay accepts only this key as the first path segment.
    // The site's settings win over the config's size, as in the reference client.
    before(async () => {
        peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] });
        await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
    });
    after(async () => { await peer.stop(); });

    const robot = (opts = {}) => startRobotd(writeConfig(peerConfig(peer, {
        camera: { camera_device: VIDEO, mic_device: AUDIO, x_res: 320, y_res: 240, ...opts.camera },
        misc: { video_status_interval: 1, ...opts.misc },
        robot: opts.robot,
    })));
    const upload = (stream, type, since) => peer.waitUpload(stream, type, since);
    const bytes = (stream, min) => peer.waitRelayBytes(stream, min);
    const recording = (n, stream) => peer.recording(stream, n);

    test('video and audio reach the relay as jsmpeg needs them', async () => {
        const since = await peer.seq();
        const r = robot();
        let v, a;
        try {
            v = await upload('video', 'start', since);
            a = await upload('audio', 'start', since);
            assert.match(v.path, /^\/sk-9f3a7c\/320\/240\/$/);
            assert.match(a.path, /^\/sk-9f3a7c\/640\/480\/$/);
            assert.equal(v.chunked, true);
            const before = (await peer.api('GET', '/_peer/relay')).body.video.bytes;
            await bytes('video', before + 60000);  // a few seconds of video
            const status = await peer.waitEvent('app', 'send_video_status', since);
            assert.ok(status.args[0].send_video_process_exists !== undefined);
            const live = await (async () => {
                for (let seq = since; ;) {
                    const s = await peer.waitEvent('app', 'send_video_status', seq, { timeoutMs: 5000 });
                    if (s.args[0].send_video_process_exists) return s;
                    seq = s.seq;
                }
            })();
            assert.equal(live.args[0].ffmpeg_process_exists, true);
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
        const vend = await upload('video', 'end', since);
        assert.deepEqual(vend.ts.stream_ids, ['0xe0']);
        assert.equal(vend.ts.sync_errors, 0);
        const aend = await upload('audio', 'end', since);
        assert.deepEqual(aend.ts.stream_ids, ['0xc0']);
        const vp = probe((await recording(v.n, 'video')).file);
        assert.match(vp.format.format_name, /mpegts/);
        assert.deepEqual(vp.streams.map((s) => [s.codec_name, s.width, s.height, s.r_frame_rate]),
            [['mpeg1video', 320, 240, '25/1']]);
        assert.deepEqual([...pictureTypes((await recording(v.n, 'video')).file)].sort(), ['I', 'P']);
        const ap = probe((await recording(a.n, 'audio')).file);
        assert.deepEqual(ap.streams.map((s) => [s.codec_name, s.sample_rate, s.channels]), [['mp2', '44100', 1]]);
        assert.match(r.log.text(), / I video: upload closed \(\d+ records, .* capture-to-wire p50 \d+ ms, p99 \d+ ms\)/);
    });

    test('VIDOFF stops the video upload and VIDON starts it again; audio goes on', async () => {
        const since = await peer.seq();
        const r = robot();
        try {
            await upload('video', 'start', since);
            const a = await upload('audio', 'start', since);
            await peer.command({ command: 'VIDOFF', socket: 'app' });
            await upload('video', 'end', since);
            const off = await peer.seq();
            await peer.command({ command: 'VIDON', socket: 'app' });
            const again = await upload('video', 'start', off);
            assert.match(again.path, /\/320\/240\/$/);
            const info = (await peer.api('GET', '/_peer/relay')).body.audio.uploads.find((u) => u.n === a.n);
            assert.equal(info.status, null, 'the audio upload never stopped');
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
    });

    test('a resolution change restarts video at the new size; mic_enabled=false stops audio', async () => {
        const since = await peer.seq();
        const r = robot();
        try {
            await upload('video', 'start', since);
            await upload('audio', 'start', since);
            const mark = await peer.seq();
            await peer.api('POST', '/_peer/settings', { xres: 160, yres: 120, mic_enabled: false, emit: true });
            const v = await upload('video', 'start', mark);
            assert.match(v.path, /\/sk-9f3a7c\/160\/120\/$/);
            await upload('audio', 'end', mark);
            const before = (await peer.api('GET', '/_peer/relay')).body.video.bytes;
            await bytes('video', before + 20000);
            await r.stop();
            const vp = probe((await recording(v.n, 'video')).file);
            assert.deepEqual([vp.streams[0].width, vp.streams[0].height], [160, 120]);
        } finally {
            await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240, mic_enabled: true });
            await r.stop();
        }
    });

    test('the relay drops the upload: robotd reconnects and the new upload starts at a keyframe', async () => {
        const since = await peer.seq();
        const r = robot({ camera: { no_mic: 'true' } });
        try {
            await upload('video', 'start', since);
            // Mid-stream: a couple of seconds in.
            await bytes('video', (await peer.api('GET', '/_peer/relay')).body.video.bytes + 80000);
            const mark = await peer.seq();
            await peer.api('POST', '/_peer/relay/video/kick');
            const again = await upload('video', 'start', mark);
            const before = (await peer.api('GET', '/_peer/relay')).body.video.bytes;
            await bytes('video', before + 30000);
            await r.stop();
            const end = await upload('video', 'end', mark);
            assert.equal(end.ts.sync_errors, 0);
            assert.equal(end.ts.video.width, 320, 'the new upload carries a sequence header');
            assert.match(r.log.text(), / W video: upload to http:\/\/127\.0\.0\.1:\d+\/\*\*\*\*\/320\/240 lost/);
            const vp = probe((await recording(again.n, 'video')).file);
            assert.equal(vp.streams[0].codec_name, 'mpeg1video');
        } finally {
            await r.stop();
        }
    });

    test('a relay that reads slowly: drops are counted, latency stays bounded, memory stays flat', async () => {
        const since = await peer.seq();
        const r = robot({ camera: { no_mic: 'true' }, misc: {} });
        try {
            await upload('video', 'start', since);
            const before = (await peer.api('GET', '/_peer/relay')).body.video.bytes;
            await bytes('video', before + 20000);
            const rss0 = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(r.child.pid)], { encoding: 'utf8' }));
            await peer.api('POST', '/_peer/relay/video/slow', { bytes_per_s: 8000 });  // a fifth of the stream
            // Long enough for socket buffers to fill and skipping to start.
            await r.wait(/ I video: skipping to a fresh keyframe/, { timeoutMs: 30000 });
            const rss1 = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(r.child.pid)], { encoding: 'utf8' }));
            assert.ok(rss1 - rss0 < 8 * 1024, `RSS grew ${rss1 - rss0} KiB while the relay was slow`);
        } finally {
            await peer.api('POST', '/_peer/relay/video/slow', { bytes_per_s: 0 });
            await r.stop();
        }
        const m = / I video: upload closed \((\d+) records, \d+ bytes, (\d+) skipped.*p99 (\d+) ms\)/.exec(r.log.text());
        assert.ok(m, 'the upload summary is logged');
        assert.ok(Number(m[2]) > 0, 'records were skipped');
        assert.ok(Number(m[3]) <= 1100, `p99 capture-to-wire ${m[3]} ms stays bounded`);
    });
});
