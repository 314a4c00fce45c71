// The virtual board for tests: QEMU's aarch64 'virt' machine running Debian's arm64 kernel
// with real drivers (vivid camera, snd-aloop sound card, PL061 GPIO) and the aarch64 robotd
// (tests/vm/make-image.sh builds it). The guest reaches only the host loopback ports a test
// names, through QEMU's user network (restrict=on) and one guestfwd rule per port; its
// serial console is a shell the test drives; each robotd in it sends its log to a host port.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineWatch, exited, iniText, startPeer, top } from '../integration/lib.mjs';

export const imageDir = process.env.ROBOTD_VM_DIR || join(top, 'build', 'vm');
// Where the guest sees the host: QEMU's user network forwards this address's ports.
export const hostAddr = '10.0.2.100';

export function imageMissing() {
    const need = ['vmlinuz', 'initramfs.cpio.gz'].map((f) => join(imageDir, f));
    const gone = need.filter((f) => !existsSync(f));
    return gone.length ? `no virtual board image (${gone.join(', ')}): make vm-image` : null;
}

function shellQuote(s) {
    return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

// Boots the board; resolves once its shell is ready. `ports`: host loopback ports the guest
// may reach (at hostAddr, same number).
export async function bootBoard({ ports = [], memoryMiB = 512, bootTimeoutMs = 60000 } = {}) {
    // Connections from the board: its shell first, then one per robotd run (its log).
    const server = createServer();
    const pending = [];
    const waiters = [];
    server.on('connection', (sock) => {
        const w = waiters.shift();
        if (w) w(sock); else pending.push(sock);
    });
    const nextConnection = () => new Promise((resolve) => {
        const s = pending.shift();
        if (s) resolve(s); else waiters.push(resolve);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const boardPort = server.address().port;

    const forwards = [...ports, boardPort].map((p) =>
        `,guestfwd=tcp:${hostAddr}:${p}-cmd:socat - TCP:127.0.0.1:${p}`).join('');
    const qemu = spawn('qemu-system-aarch64', [
        '-M', 'virt', '-cpu', 'cortex-a57', '-smp', '2', '-m', String(memoryMiB),
        '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
        '-kernel', join(imageDir, 'vmlinuz'), '-initrd', join(imageDir, 'initramfs.cpio.gz'),
        '-append', `console=ttyAMA0 quiet panic=-1 robotd.shell=${boardPort}`,
        '-netdev', `user,id=n0,restrict=on,net=10.0.2.0/24${forwards}`,
        '-device', 'virtio-net-device,netdev=n0',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const console_ = new LineWatch(qemu.stdout);
    const stderr = new LineWatch(qemu.stderr);
    const done = exited(qemu);
    const t0 = performance.now();
    let shellSock;
    const booted = new AbortController();  // ends the wait for an error line once up
    try {
        shellSock = await Promise.race([
            nextConnection(),
            console_.wait(/BOARD_ERROR/, { timeoutMs: bootTimeoutMs, signal: booted.signal })
                .then((l) => { throw new Error(l); }),
            done.then((r) => { throw new Error(`qemu exited (${JSON.stringify(r)}): ${stderr.text()}`); }),
        ]);
        booted.abort();
    } catch (e) {
        booted.abort();
        qemu.kill('SIGKILL');
        server.close();
        throw new Error(`the board did not boot: ${e.message}\n${console_.text()}`);
    }
    const bootMs = performance.now() - t0;
    const shell = new LineWatch(shellSock);

    let serial = 0;
    let queue = Promise.resolve();
    // Runs a shell command on the board; resolves with { out, rc }. One at a time.
    const sh = (cmd, { timeoutMs = 30000 } = {}) => {
        const run = async () => {
            const id = ++serial;
            const from = shell.lines.length;
            // The marker starts a line of its own even after output without a final newline.
            shellSock.write(`{\n${cmd}\n} 2>&1; rc=$?; echo; echo "__rc_${id}_$rc"\n`);
            const end = await shell.wait(new RegExp(`^__rc_${id}_(\\d+)$`), { from, timeoutMs });
            const lines = shell.lines.slice(from, shell.lines.lastIndexOf(end));
            if (lines.at(-1) === '') lines.pop();
            return { out: lines.join('\n'), rc: Number(end.match(/_(\d+)$/)[1]) };
        };
        const p = queue.then(run);
        queue = p.catch(() => {});
        return p;
    };
    // Like sh, but a non-zero exit status is an error.
    const ok = async (cmd, opts) => {
        const r = await sh(cmd, opts);
        if (r.rc !== 0) throw new Error(`board: '${cmd}' exited ${r.rc}: ${r.out}`);
        return r.out;
    };

    let runs = 0;
    const poweroff = new AbortController();
    return {
        bootMs, console: console_, sh, ok,
        writeFile: (path, text) => ok(`cat > ${shellQuote(path)} <<'__ROBOTD_EOF__'\n${text}\n__ROBOTD_EOF__`),
        // Starts robotd on the board with `config` (text); its log comes back over the network.
        startRobotd: async (config, args = []) => {
            const n = ++runs;
            const path = `/tmp/robotd-${n}.conf`;
            await ok(`cat > ${path} <<'__ROBOTD_EOF__'\n${config}\n__ROBOTD_EOF__`);
            const argv = ['--config', path, '--stderr', '-v', ...args].map(shellQuote).join(' ');
            const conn = nextConnection();
            await ok(`(robotd ${argv} 2>&1; echo "ROBOTD_EXIT $?") | nc ${hostAddr} ${boardPort} >/dev/null 2>&1 &`);
            const sock = await conn;
            const log = new LineWatch(sock);
            // Waits as long as the board runs (shutdown() drops the wait).
            const exit = log.wait(/^ROBOTD_EXIT \d+$/, { timeoutMs: 24 * 3600 * 1000, signal: poweroff.signal })
                .then((l) => Number(l.split(' ')[1]));
            exit.catch(() => {});
            return {
                log, exit,
                wait: (re, opts) => log.wait(re, opts),
                pid: async () => (await ok('pidof robotd')).trim(),
                // SIGTERM; resolves with robotd's exit status.
                stop: async () => {
                    await sh('kill -TERM $(pidof robotd) 2>/dev/null');
                    let timer;
                    const code = await Promise.race([exit, new Promise((_, reject) => {
                        timer = setTimeout(() => reject(new Error('robotd did not exit on SIGTERM')), 10000);
                    })]);
                    clearTimeout(timer);
                    sock.destroy();
                    return code;
                },
            };
        },
        // Powers the board off, killing QEMU if it lingers.
        shutdown: async () => {
            poweroff.abort();
            shellSock.end('poweroff -f\n');
            const killer = setTimeout(() => qemu.kill('SIGKILL'), 10000);
            await done;
            clearTimeout(killer);
            server.close();
            for (const s of pending) s.destroy();
        },
    };
}

// The stream key the peer's relays take; boardConfig() gives it to robotd.
const STREAM_KEY = 'sk-vm';

// The peer on the host, set up for a robot on the board (discovery answers hostAddr, the
// site's size is width x height), and the board booted with a way to every peer port and
// the peer's CA in /tmp/peer-ca.pem. Resolves with { peer, board }; the caller stops both.
export async function startPeerAndBoard({ width = 320, height = 240 } = {}) {
    const peer = await startPeer({ eio: 4, args: ['--stream-key', STREAM_KEY, '--advertise-host', hostAddr] });
    try {
        await peer.api('POST', '/_peer/settings', { xres: width, yres: height });
        const board = await bootBoard({ ports: Object.values(peer.info.ports) });
        await board.writeFile('/tmp/peer-ca.pem', readFileSync(peer.info.ca_file, 'utf8').trim());
        return { peer, board };
    } catch (e) {
        await peer.stop();
        throw e;
    }
}

// A config in the reference layout for a robot on the board, every server at the peer.
export function boardConfig(peer, { robot = {}, camera = {}, misc = {}, media = null, ffmpeg = null } = {}) {
    const p = peer.info.ports;
    const at = (port) => `http://${hostAddr}:${port}`;
    const sections = {
        robot: { owner: 'owner1', robot_id: 'robot1', camera_id: 'camera1', type: 'none',
            stream_key: STREAM_KEY, ...robot },
        camera: { no_camera: 'false', no_mic: 'false', x_res: 320, y_res: 240,
            camera_device: '/dev/video0', mic_device: 'Loopback', ...camera },
        misc: { info_server: at(p.discovery_http), api_server: at(p.discovery_http),
            app_server: at(p.app), user_server: `https://${hostAddr}:${p.user}`,
            ca_file: '/tmp/peer-ca.pem', lookup_timeout: 5, ...misc },
    };
    if (media) sections.media = media;
    if (ffmpeg) sections.ffmpeg = ffmpeg;
    return iniText(sections);
}
