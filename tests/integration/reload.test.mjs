// SIGHUP re-applies only what changed: an unchanged file changes nothing; a changed owner
// touches no link; a changed app_server reconnects app alone; a changed consumer command
// replaces the driver alone; a changed size restarts video alone.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, tempDir } from './lib.mjs';

const VIDEO = 'lavfi:testsrc=size=320x240:rate=25';
const AUDIO = 'lavfi:sine=frequency=440:sample_rate=44100';

describe('SIGHUP re-applies only what changed', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] }); });
    after(async () => { await peer.stop(); });

    const config = (over = {}) => peerConfig(peer, {
        camera: { camera_device: VIDEO, mic_device: AUDIO, x_res: 320, y_res: 240, ...over.camera },
        misc: { video_status_interval: 1, ...over.misc },
        robot: { type: 'pipe', ...over.robot },
        pipe: over.pipe ?? { command: 'cat' },
    });

    // What the peer saw after `seq`: connects per socket and upload starts per stream.
    const since = async (seq) => {
        const events = (await peer.api('GET', `/_peer/events?since=${seq}`)).body;
        const uploads = (await peer.api('GET', `/_peer/uploads?since=${seq}&type=start`)).body;
        const count = (list, key, value) => list.filter((e) => e[key] === value).length;
        const connects = events.filter((e) => e.type === 'connect');
        return {
            connects: Object.fromEntries(['control', 'chat', 'app', 'user'].map((s) => [s, count(connects, 'socket', s)])),
            uploads: { video: count(uploads, 'stream', 'video'), audio: count(uploads, 'stream', 'audio') },
        };
    };
    // Two video status reports after `seq`: more than a second has passed with the app link up.
    let appSocket = 'app';  // the peer's socket server the app link reports to
    const twoReports = async (seq) => {
        const first = await peer.waitEvent(appSocket, 'send_video_status', seq);
        await peer.waitEvent(appSocket, 'send_video_status', first.seq);
    };

    test('each change touches only its own part', async () => {
        const dir = tempDir();
        const path = writeConfig(config(), dir);
        const seq0 = await peer.seq();
        const r = startRobotd(path);
        const hup = async (text, expect) => {
            if (text !== null) writeFileSync(path, text);
            const from = r.log.lines.length;
            const seq = await peer.seq();
            r.child.kill('SIGHUP');
            await r.wait(expect, { from });
            await twoReports(seq);
            return { seq, from };
        };
        try {
            for (const s of ['control', 'chat', 'app', 'user']) await peer.waitEvent(s, null, seq0, { type: 'connect' });
            await peer.waitUpload('video', 'start', seq0);
            await peer.waitUpload('audio', 'start', seq0);
            await r.wait(/ I pipe: consumer 'cat' started/);

            // The same file: nothing at all.
            let { seq, from } = await hup(null, / I robotd: config unchanged: nothing to re-apply/);
            assert.deepEqual(await since(seq), {
                connects: { control: 0, chat: 0, app: 0, user: 0 }, uploads: { video: 0, audio: 0 },
            });
            assert.equal(r.log.lines.slice(from).filter((l) => /consumer 'cat' started/.test(l)).length, 0);

            // Another owner: policy only.
            ({ seq } = await hup(config({ robot: { owner: 'someone' } }), / I robotd: config changed: robot\.owner$/));
            assert.deepEqual(await since(seq), {
                connects: { control: 0, chat: 0, app: 0, user: 0 }, uploads: { video: 0, audio: 0 },
            });

            // Another consumer command: the driver alone (the old consumer gets its stop).
            ({ seq, from } = await hup(config({ robot: { owner: 'someone' }, pipe: { command: 'cat -u' } }),
                / I robotd: hardware driver: pipe \(was pipe\)/));
            await r.wait(/ I pipe: consumer 'cat' started/, { from });
            assert.deepEqual(await since(seq), {
                connects: { control: 0, chat: 0, app: 0, user: 0 }, uploads: { video: 0, audio: 0 },
            });

            // Another app server (the TLS one, as wss): app alone reconnects.
            const app = { misc: { app_server: peer.info.urls.user } };
            appSocket = 'user';
            ({ seq } = await hup(config({ ...app, robot: { owner: 'someone' }, pipe: { command: 'cat -u' } }),
                / I robotd: config changed: misc\.app_server$/));
            await peer.waitEvent('user', 'identify_robot_id', seq);
            const moved = await since(seq);
            assert.deepEqual(moved.connects, { control: 0, chat: 0, app: 0, user: 1 }, 'the app link moved to the wss server');
            assert.deepEqual(moved.uploads, { video: 0, audio: 0 });

            // Another size: video alone restarts.
            ({ seq } = await hup(config({ ...app, robot: { owner: 'someone' }, pipe: { command: 'cat -u' },
                camera: { x_res: 160, y_res: 120 } }), / I robotd: config changed: camera\.x_res, camera\.y_res$/));
            const v = await peer.waitUpload('video', 'start', seq);
            assert.match(v.path, /\/160\/120\/$/);
            const after = await since(seq);
            assert.deepEqual(after.connects, { control: 0, chat: 0, app: 0, user: 0 });
            assert.equal(after.uploads.audio, 0, 'audio untouched');
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
    });

    // Defect 10: each CA change left its TLS vhost behind (~440 KB a SIGHUP).
    test('SIGHUPs that toggle the CA file leave RSS flat and the links up', async () => {
        const dir = tempDir();
        const caB = join(dir, 'ca-copy.pem');
        copyFileSync(peer.info.ca_file, caB);
        let ca = peer.info.ca_file;
        const text = () => peerConfig(peer, { camera: { no_camera: 'true', no_mic: 'true' }, misc: { ca_file: ca } });
        const path = writeConfig(text(), dir);
        const r = startRobotd(path, [], { verbose: false });
        const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${r.child.pid}/status`, 'utf8'))[1]);
        const toggle = async (n) => {
            for (let i = 0; i < n; i++) {
                ca = ca === caB ? peer.info.ca_file : caB;
                writeFileSync(path, text());
                const from = r.log.lines.length;
                r.child.kill('SIGHUP');
                await r.wait(/ I robotd: config reloaded/, { from });
                await r.wait(/ I user: connected to /, { from });  // the TLS link came back
            }
        };
        try {
            await r.wait(/ I user: connected to /);
            await toggle(10);  // allocator and TLS caches warm
            const before = rss();
            await toggle(60);
            const after = rss();
            // 60 leaked vhosts were some 26 MB.
            assert.ok(after - before < 3072, `RSS ${before} -> ${after} KiB over 60 CA changes`);
        } finally {
            assert.equal((await r.stop()).code, 0);
        }
    });

    // A SIGHUP during the exit (which may wait up to a second for a stop to be taken) found
    // the daemon half torn down, and crashed it.
    test('a SIGHUP while robotd stops is ignored; the exit is clean', async () => {
        const dir = tempDir();
        const fifo = join(dir, 'fifo');
        execFileSync('mkfifo', [fifo]);
        const path = writeConfig(peerConfig(peer, { camera: { no_camera: 'true', no_mic: 'true' },
            robot: { type: 'pipe', owner: 'a' }, pipe: { path: fifo } }), dir);
        const r = startRobotd(path);
        await r.wait(/ I control: connected to /);
        // A FIFO nobody reads: the exit stop is held, and the exit waits for it (1 s at most).
        writeFileSync(path, peerConfig(peer, { camera: { no_camera: 'true', no_mic: 'true' },
            robot: { type: 'pipe', owner: 'b' }, pipe: { path: fifo } }));
        r.child.kill('SIGTERM');
        await r.wait(/ I robotd: Terminated: stopping/);
        r.child.kill('SIGHUP');
        const res = await r.done;
        assert.equal(res.code, 0, r.log.lines.slice(-5).join('\n'));
        assert.match(r.log.text(), / I robotd: SIGHUP ignored: robotd is stopping/);
    });
});
