// robotd's media under a burst of stops and starts: VIDOFF/VIDON and a size change in quick
// succession end with exactly one capture thread and one video upload, at the last size (a
// start waits for the old thread to end, so the device is never opened twice), and robotd
// still exits with status 0. The slow-device cases (an open or a control write that takes
// seconds) are unit tests with a fake camera: tests/unit/media_test.cpp.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, peerConfig, writeConfig, startRobotd } from './lib.mjs';

const VIDEO = 'lavfi:testsrc=size=320x240:rate=25';

describe('media faults', () => {
    let peer;
    before(async () => {
        peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] });
        await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
    });
    after(async () => { await peer.stop(); });

    // Awaits `done()` by polling the peer (its state has no event for "an upload ended").
    const until = async (done, what, timeoutMs = 10000) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const value = await done();
            if (value) return value;
            if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    };
    const openUploads = async () =>
        (await peer.api('GET', '/_peer/relay')).body.video.uploads.filter((u) => u.status === null);

    test('a burst of VIDOFF/VIDON and a size change ends with one video upload at the last size', async () => {
        const since = await peer.seq();
        const r = startRobotd(writeConfig(peerConfig(peer, {
            camera: { camera_device: VIDEO, no_mic: 'true', x_res: 320, y_res: 240 },
        })));
        try {
            await peer.waitUpload('video', 'start', since);
            await r.wait(/ I video: streaming lavfi:testsrc/);
            // Back to back: each lands while the capture thread before it may still be ending.
            for (const command of ['VIDOFF', 'VIDON', 'VIDOFF', 'VIDON'])
                await peer.command({ command, socket: 'app' });
            await peer.api('POST', '/_peer/settings', { xres: 160, yres: 120, emit: true });
            for (const command of ['VIDOFF', 'VIDON'])
                await peer.command({ command, socket: 'app' });
            await r.wait(/ I video: size 320x240 -> 160x120: restarting capture and encoder/);

            const [last] = await until(async () => {
                const open = await openUploads();
                return open.length === 1 && /\/sk-9f3a7c\/160\/120\/$/.test(open[0].path) && open;
            }, 'exactly one video upload, at 160x120');
            const before = (await peer.api('GET', '/_peer/relay')).body.video.bytes;
            await peer.waitRelayBytes('video', before + 20000);
            assert.deepEqual((await openUploads()).map((u) => u.n), [last.n], 'still only that one');
            // Every capture thread but the running one was joined, and no open failed (as it
            // could if a new thread opened the device while the old one held it).
            const started = r.log.count(/ I video: started: lavfi:testsrc/);
            const stopped = r.log.count(/ I video: encoder stopped/);
            assert.equal(started - stopped, 1, r.log.text());
            assert.ok(started >= 3, r.log.text());
            assert.equal(r.log.count(/ W video: (cannot open|.* failed)/), 0, r.log.text());
        } finally {
            await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
            assert.equal((await r.stop()).code, 0, 'robotd exits 0');
        }
        assert.equal(r.log.count(/ I video: encoder stopped/), r.log.count(/ I video: started: /),
            'the exit joined the last thread');
    });
});
