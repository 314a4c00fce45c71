// The virtual board started the way a BusyBox board starts robotd: tests/vm/init runs
// board/rootfs's S90robotd with a config made from board/qemu-aarch64-virt/robotd.conf; its
// loop respawns a killed robotd; robotd feeds QEMU's i6300esb watchdog through the kernel's
// i6300esb driver, closes it cleanly on a stop, and a stopped (SIGSTOP) loop resets the board.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, top } from '../integration/lib.mjs';
import { STREAM_KEY, bootBoard, hostAddr, imageMissing } from './board.mjs';

const missing = imageMissing();
const WATCHDOG_S = 10;

// `text` (an ini file) with `overrides` ({ section: { key: value } }): a key's line replaced
// where the file has it, else added at the end of its section (or a new section).
function withKeys(text, overrides) {
    const lines = text.split('\n');
    for (const [section, keys] of Object.entries(overrides)) {
        for (const [key, value] of Object.entries(keys)) {
            const start = lines.findIndex((l) => l.trim() === `[${section}]`);
            if (start < 0) {
                lines.push(`[${section}]`, `${key}=${value}`);
                continue;
            }
            let end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
            if (end < 0) end = lines.length;
            const at = lines.findIndex((l, i) => i > start && i < end && new RegExp(`^\\s*${key}\\s*=`).test(l));
            if (at >= 0) lines[at] = `${key}=${value}`;
            else lines.splice(end, 0, `${key}=${value}`);
        }
    }
    return lines.join('\n');
}

describe('the board boots robotd through S90robotd', { skip: missing || false }, () => {
    let peer, board;
    const upload = (since) => peer.waitUpload('video', 'start', since, 60000);
    const pid = async () => (await board.ok('pidof robotd')).trim();

    before(async () => {
        peer = await startPeer({ eio: 4, args: ['--stream-key', STREAM_KEY, '--advertise-host', hostAddr] });
        await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
        const p = peer.info.ports;
        const at = (port) => `http://${hostAddr}:${port}`;
        // The board's default config with the peer's addresses and ids filled in, as an
        // owner fills in theirs, and the watchdog on.
        const config = withKeys(readFileSync(join(top, 'board', 'qemu-aarch64-virt', 'robotd.conf'), 'utf8'), {
            robot: { owner: 'owner1', robot_id: 'robot1', camera_id: 'camera1', stream_key: STREAM_KEY },
            misc: { info_server: at(p.discovery_http), api_server: at(p.discovery_http), app_server: at(p.app),
                user_server: `https://${hostAddr}:${p.user}`, ca_file: '/etc/robotd/peer-ca.pem',
                lookup_timeout: 5, watchdog_device: '/dev/watchdog', watchdog_timeout: WATCHDOG_S },
        });
        board = await bootBoard({
            ports: Object.values(p), watchdog: true, files: {
                '/etc/robotd/robotd.conf': config,
                '/etc/robotd/peer-ca.pem': readFileSync(peer.info.ca_file, 'utf8'),
            },
        });
    });
    after(async () => {
        await board?.shutdown({ kill: true });
        await peer?.stop();
    });

    test('init starts robotd through S90robotd; it streams and feeds /dev/watchdog', async () => {
        assert.match(await board.ok('ls /dev/watchdog*'), /\/dev\/watchdog\b/);
        assert.match(await board.ok('/etc/init.d/S90robotd status'), /robotd: running \(pid \d+\)/);
        await board.console.wait(/\/dev\/watchdog open: the board resets if robotd's loop stops for 10 s/, { timeoutMs: 60000 });
        await upload(0);
        await peer.waitRelayBytes('video', 20000, 60000);
    });

    test('SIGKILL: the loop starts robotd again and it streams again', async () => {
        const old = await pid();
        const since = await peer.seq();
        const from = board.console.lines.length;
        await board.ok(`kill -9 ${old}`);
        await board.console.wait(new RegExp(`robotd \\(pid ${old}\\) ended with status 137`), { from, timeoutMs: 30000 });
        await board.waitFor(`[ -n "$(pidof robotd)" ] && [ "$(pidof robotd)" != ${old} ]`, { timeoutMs: 30000 });
        await upload(since);
        await board.console.wait(/\/dev\/watchdog open/, { from, timeoutMs: 30000 });
    });

    test('a clean stop closes the watchdog: no reset', async () => {
        const from = board.console.lines.length;
        const events = board.qmp.events.length;
        await board.ok('/etc/init.d/S90robotd stop');
        await board.console.wait(/\/dev\/watchdog closed \(magic close\)/, { from, timeoutMs: 30000 });
        // The watchdog's time and a margin pass without a reset; the board still answers.
        await assert.rejects(board.qmp.waitEvent((e) => e.event === 'WATCHDOG' || e.event === 'RESET',
            { from: events, timeoutMs: (WATCHDOG_S + 10) * 1000 }));
        assert.equal((await board.ok('echo alive')).trim(), 'alive');
        assert.equal(board.console.lines.slice(from).some((l) => /BOARD_READY/.test(l)), false);
    });

    test('SIGSTOP: the watchdog is not fed and resets the board, which starts robotd again', async () => {
        let from = board.console.lines.length;
        const since = await peer.seq();
        await board.ok('/etc/init.d/S90robotd start');
        await board.console.wait(/\/dev\/watchdog open/, { from, timeoutMs: 30000 });
        await upload(since);
        from = board.console.lines.length;
        const events = board.qmp.events.length;
        await board.ok('kill -STOP $(pidof robotd)');
        const t0 = performance.now();
        const dog = await board.qmp.waitEvent((e) => e.event === 'WATCHDOG', { from: events, timeoutMs: (WATCHDOG_S + 30) * 1000 });
        const ms = performance.now() - t0;
        assert.equal(dog.data.action, 'reset');
        // Not before the timeout (a little early: the last keep-alive came before the stop).
        assert.ok(ms > (WATCHDOG_S - 2) * 1000, `reset after ${ms} ms`);
        // The board boots again and its init starts robotd, which streams.
        const again = await peer.seq();
        await board.console.wait(/BOARD_READY/, { from, timeoutMs: 90000 });
        await upload(again);
    });
});
