// The virtual board for tests: QEMU's aarch64 'virt' machine running Debian's arm64 kernel
// with real drivers (vivid camera, snd-aloop sound card, PL061 GPIO, the gpio-sim chip
// robotd-sim, i2c-stub's PCA9685 addresses, a USB serial adapter on xHCI through ftdi_sio)
// and the aarch64 robotd (tests/vm/make-image.sh builds it). The guest reaches only the host
// loopback ports a test names, through QEMU's user network (restrict=on) and one guestfwd
// rule per port; its serial console is a shell the test drives; each robotd in it sends its
// log to a host port. The USB serial adapter's far end and QEMU's monitor (QMP) are unix
// sockets in a directory of the test's own, not network ports.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import readline from 'node:readline';
import { LineWatch, exited, iniText, startPeer, tempDir, top } from '../integration/lib.mjs';

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

// Rejects after `ms` with `what` (for races against events that may never come).
function deadline(ms, what) {
    let timer;
    const p = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); });
    p.catch(() => {});
    return { p, clear: () => clearTimeout(timer) };
}

// Every byte a stream gave, with a way to await a pattern in those from an offset on: what
// the guest wrote to its USB serial adapter, byte for byte (no line splitting hides a \r).
export class ByteWatch {
    constructor() {
        this.buf = Buffer.alloc(0);
        this.waiters = [];
    }
    push(chunk) {
        this.buf = Buffer.concat([this.buf, chunk]);
        this.waiters = this.waiters.filter((w) => !w.check());
    }
    get length() { return this.buf.length; }
    data(from = 0) { return this.buf.subarray(from); }
    text(from = 0) { return this.buf.subarray(from).toString('latin1'); }
    // The end offset of the first match of `pattern` (a string or a RegExp, over the bytes as
    // latin1) at or after `from`, or -1.
    find(pattern, from = 0) {
        const text = this.text(from);
        if (typeof pattern === 'string') {
            const i = text.indexOf(pattern);
            return i < 0 ? -1 : from + i + pattern.length;
        }
        const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(text);
        return m ? from + m.index + m[0].length : -1;
    }
    // Resolves with the offset just past the first match at or after `from`.
    wait(pattern, { from = 0, timeoutMs = 15000 } = {}) {
        const end = this.find(pattern, from);
        if (end >= 0) return Promise.resolve(end);
        return new Promise((resolve, reject) => {
            const w = {
                check: () => {
                    const e = this.find(pattern, from);
                    if (e < 0) return false;
                    clearTimeout(w.timer);
                    resolve(e);
                    return true;
                },
            };
            w.timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                reject(new Error(`no ${pattern} in the bytes from ${from} within ${timeoutMs} ms: ` +
                    JSON.stringify(this.text(from).slice(-200))));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }
}

// QEMU's monitor protocol (QMP) on a socket: one command at a time, its answer by id; events
// kept, so a wait may start after the event came (device_del's DEVICE_DELETED).
class Qmp {
    constructor(sock) {
        this.sock = sock;
        this.events = [];
        this.eventWaiters = [];
        this.answers = new Map();
        this.serial = 0;
        this.greeting = new Promise((resolve) => { this.greeted = resolve; });
        readline.createInterface({ input: sock }).on('line', (line) => {
            let msg;
            try { msg = JSON.parse(line); } catch { return; }
            if (msg.QMP) this.greeted(msg);
            else if (msg.event) {
                this.events.push(msg);
                this.eventWaiters = this.eventWaiters.filter((w) => !w(msg));
            } else if (msg.id !== undefined && this.answers.has(msg.id)) {
                this.answers.get(msg.id)(msg);
                this.answers.delete(msg.id);
            }
        });
        sock.on('close', () => {
            for (const answer of this.answers.values()) answer({ error: { desc: 'QMP connection closed' } });
            this.answers.clear();
        });
    }
    async start() {
        await this.greeting;
        await this.execute('qmp_capabilities');
    }
    // Runs a command; resolves with its "return", rejects with its "error".
    async execute(command, args = undefined) {
        const id = ++this.serial;
        const answer = new Promise((resolve) => this.answers.set(id, resolve));
        this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
        const msg = await answer;
        if (msg.error) throw new Error(`QMP ${command}: ${msg.error.desc}`);
        return msg.return;
    }
    // Resolves with the first event at index >= `from` that `match` accepts.
    waitEvent(match, { from = 0, timeoutMs = 15000 } = {}) {
        const seen = this.events.slice(from).find(match);
        if (seen) return Promise.resolve(seen);
        const d = deadline(timeoutMs, `no matching QMP event within ${timeoutMs} ms`);
        let waiter;
        const got = new Promise((resolve) => {
            waiter = (msg) => { if (!match(msg)) return false; resolve(msg); return true; };
            this.eventWaiters.push(waiter);
        });
        return Promise.race([got, d.p]).finally(() => {
            d.clear();
            this.eventWaiters = this.eventWaiters.filter((w) => w !== waiter);
        });
    }
}

// A level as a test may write it: 1/0, true/false, 'high'/'low' ('hi'/'lo', 'up'/'down').
function isHigh(level) {
    if (level === 1 || level === true) return true;
    if (level === 0 || level === false) return false;
    if (/^(1|high|hi|up)$/i.test(String(level))) return true;
    if (/^(0|low|lo|down)$/i.test(String(level))) return false;
    throw new Error(`not a level: ${level}`);
}

// /sys/kernel/debug/gpio as { chip label: { line offset: { dir, level, consumer, name } } }
// for the lines someone holds (gpiolib lists no level for the others). A chip header reads
// "gpiochip1: GPIOs 504-535, parent: platform/gpio-sim.0, robotd-sim, can sleep:", a line
// " gpio-509 (                    |robotd              ) out hi ".
export function parseDebugGpio(text) {
    const chips = {};
    let chip = null;
    for (const line of text.split('\n')) {
        const h = line.match(/^(gpiochip\d+): GPIOs (\d+)-(\d+)(?:, parent: [^,]+)?(?:, (.+?))?(?:, can sleep)?:\s*$/);
        if (h) {
            chip = { base: Number(h[2]), lines: {} };
            chips[h[4] ?? h[1]] = chip.lines;
            continue;
        }
        const l = chip && line.match(/^ gpio-(\d+) \((.*?)\|(.*?)\s*\) (in|out)\s+(hi|lo|\?)/);
        if (l) {
            chip.lines[Number(l[1]) - chip.base] = {
                dir: l[4], level: l[5] === 'hi' ? 1 : l[5] === 'lo' ? 0 : null,
                consumer: l[3], name: l[2].trim(),
            };
        }
    }
    return chips;
}

// i2cdump's table ("00: 00 11 ... ", XX for a register that did not answer) as 256 numbers
// (null for XX).
export function parseI2cDump(text) {
    const regs = new Array(256).fill(null);
    let rows = 0;
    for (const line of text.split('\n')) {
        const m = line.match(/^([0-9a-f]0):((?: (?:[0-9a-f]{2}|XX)){16})/i);
        if (!m) continue;
        const base = parseInt(m[1], 16);
        m[2].trim().split(' ').forEach((b, i) => { regs[base + i] = b === 'XX' ? null : parseInt(b, 16); });
        rows++;
    }
    if (rows !== 16) throw new Error(`not an i2cdump table: ${text}`);
    return regs;
}

// The USB serial adapter: QEMU's usb-serial (an FTDI FT232 to the guest's ftdi_sio) on the
// xHCI controller; its QEMU id for device_del and device_add.
const SERIAL_ID = 'usbserial0';
const serialDevice = (props = {}) => ({ driver: 'usb-serial', id: SERIAL_ID, bus: 'xhci.0', chardev: 'serialhost', ...props });
const deviceArg = ({ driver, ...props }) =>
    [driver, ...Object.entries(props).map(([k, v]) => `${k}=${v}`)].join(',');

// The image's initramfs with `files` ({ absolute path: text }) added: a second cpio archive
// after the first (the kernel unpacks both, the later one's files win), written in `dir`.
function initrdWith(dir, files) {
    const tree = join(dir, 'extra');
    for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(tree, dirname(path)), { recursive: true });
        writeFileSync(join(tree, path), text);
    }
    const list = execFileSync('find', ['.'], { cwd: tree });
    const archive = execFileSync('cpio', ['-o', '-H', 'newc', '--owner=0:0', '--quiet'], { cwd: tree, input: list });
    const out = join(dir, 'initramfs.cpio.gz');
    writeFileSync(out, Buffer.concat([readFileSync(join(imageDir, 'initramfs.cpio.gz')), gzipSync(archive)]));
    return out;
}

// Boots the board; resolves once its shell is ready and its USB serial adapter is in.
// `ports`: host loopback ports the guest may reach (at hostAddr, same number); `qemuArgs`:
// more QEMU arguments (a bench's -trace events: their lines come on board.qemuStderr);
// `files`: files added to the initramfs ({ path: text }, e.g. /etc/robotd/robotd.conf, which
// makes tests/vm/init start robotd through /etc/init.d/S90robotd); `watchdog`: QEMU's
// i6300esb hardware watchdog (/dev/watchdog), and a guest reset reboots the board instead of
// ending QEMU (-no-reboot off), so a watchdog reset is seen as a second boot.
export async function bootBoard({ ports = [], memoryMiB = 512, bootTimeoutMs = 60000, qemuArgs = [],
    files = null, watchdog = false } = {}) {
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

    // QEMU connects to both at start (its chardevs are socket clients), before the guest runs.
    const dir = tempDir('robotd-board-');
    const listenUnix = async (name) => {
        const srv = createServer();
        const conn = new Promise((resolve) => srv.once('connection', resolve));
        await new Promise((resolve) => srv.listen(join(dir, name), resolve));
        return { srv, conn };
    };
    const serialHost = await listenUnix('serial.sock');
    const qmpHost = await listenUnix('qmp.sock');
    const closeAll = () => {
        server.close();
        serialHost.srv.close();
        qmpHost.srv.close();
        rmSync(dir, { recursive: true, force: true });
    };

    const initrd = files ? initrdWith(dir, files) : join(imageDir, 'initramfs.cpio.gz');
    const forwards = [...ports, boardPort].map((p) =>
        `,guestfwd=tcp:${hostAddr}:${p}-cmd:socat - TCP:127.0.0.1:${p}`).join('');
    const qemu = spawn('qemu-system-aarch64', [
        '-M', 'virt', '-cpu', 'cortex-a57', '-smp', '2', '-m', String(memoryMiB),
        '-display', 'none', '-monitor', 'none', '-serial', 'stdio', ...(watchdog ? [] : ['-no-reboot']),
        '-kernel', join(imageDir, 'vmlinuz'), '-initrd', initrd,
        '-append', `console=ttyAMA0 quiet panic=-1 robotd.shell=${boardPort}`,
        '-netdev', `user,id=n0,restrict=on,net=10.0.2.0/24${forwards}`,
        '-device', 'virtio-net-device,netdev=n0',
        '-chardev', `socket,id=qmp,path=${join(dir, 'qmp.sock')}`, '-mon', 'chardev=qmp,mode=control',
        '-chardev', `socket,id=serialhost,path=${join(dir, 'serial.sock')}`,
        '-device', 'qemu-xhci,id=xhci', '-device', deviceArg(serialDevice()),
        ...(watchdog ? ['-device', 'i6300esb', '-action', 'watchdog=reset'] : []),
        ...qemuArgs,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const console_ = new LineWatch(qemu.stdout);
    const stderr = new LineWatch(qemu.stderr);
    const done = exited(qemu);
    const t0 = performance.now();
    let shellSock, qmp, serialSock;
    const booted = new AbortController();  // ends the wait for an error line once up
    try {
        const failed = done.then((r) => { throw new Error(`qemu exited (${JSON.stringify(r)}): ${stderr.text()}`); });
        failed.catch(() => {});
        [qmp, serialSock] = await Promise.race([
            Promise.all([qmpHost.conn.then((sock) => new Qmp(sock)), serialHost.conn]), failed]);
        await Promise.race([qmp.start(), failed]);
        shellSock = await Promise.race([
            nextConnection(),
            console_.wait(/BOARD_ERROR/, { timeoutMs: bootTimeoutMs, signal: booted.signal })
                .then((l) => { throw new Error(l); }),
            failed,
        ]);
        booted.abort();
    } catch (e) {
        booted.abort();
        qemu.kill('SIGKILL');
        closeAll();
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

    // Polls the board until `cond` (a shell condition) holds: every 20 ms, for at most
    // timeoutMs (a bounded loop in the guest, no sleep on the host).
    const waitFor = async (cond, { timeoutMs = 15000 } = {}) => {
        const tries = Math.ceil(timeoutMs / 20);
        const r = await sh(`(i=0; until ${cond}; do i=$((i+1)); [ $i -lt ${tries} ] || exit 1; usleep 20000; done)`,
            { timeoutMs: timeoutMs + 30000 });
        if (r.rc !== 0) throw new Error(`board: '${cond}' did not hold within ${timeoutMs} ms: ${r.out}`);
    };
    const ttyUSB = async () => (await sh('ls /dev | grep "^ttyUSB"')).out.split('\n').filter(Boolean);

    // The bytes between the host and the guest's USB serial adapter.
    const serialBytes = new ByteWatch();
    serialSock.on('data', (chunk) => serialBytes.push(chunk));
    serialBytes.write = (data) => new Promise((resolve, reject) =>
        serialSock.write(data, (e) => (e ? reject(e) : resolve())));

    // The devices as the guest numbered them: the gpio-sim chip (made by tests/vm/init), the
    // i2c-stub adapter's bus, and the adapter's tty once USB enumeration is done.
    const cfg = '/sys/kernel/config/gpio-sim/robotd';
    let simChip, simDir, i2cBus;
    try {
        let simDev;
        [simDev, simChip] = (await ok(`cat ${cfg}/dev_name ${cfg}/bank0/chip_name`)).trim().split('\n');
        simDir = `/sys/devices/platform/${simDev}/${simChip}`;
        i2cBus = Number((await ok("grep -lx 'SMBus stub driver' /sys/bus/i2c/devices/i2c-*/name"))
            .match(/i2c-(\d+)\/name/)[1]);
        await waitFor('[ -e /dev/ttyUSB0 ]', { timeoutMs: 30000 });
    } catch (e) {
        qemu.kill('SIGKILL');
        await done;
        closeAll();
        throw new Error(`the board's devices are not there: ${e.message}\n${console_.text()}`);
    }

    // A connection from the board made by a shell command, one at a time: the board's
    // connections come to one port, in the order the commands made them.
    let connecting = Promise.resolve();
    const connectFrom = (cmd, what) => {
        const p = connecting.then(async () => {
            const conn = nextConnection();
            await ok(cmd);
            const d = deadline(15000, `no connection from the board for ${what}`);
            try {
                return await Promise.race([conn, d.p]);
            } finally {
                d.clear();
            }
        });
        connecting = p.catch(() => {});
        return p;
    };

    let runs = 0;
    const poweroff = new AbortController();
    return {
        bootMs, console: console_, sh, ok, waitFor, qmp,
        // QEMU's own stderr (what qemuArgs' -trace events print), as a stream to read lines from.
        qemuStderr: qemu.stderr,
        // Runs `cmd` (a program and its arguments, shell words) in the background on the
        // board with its standard input and output a connection to the host (busybox nc -e:
        // the program holds the socket itself, nothing relays; its stderr goes to
        // /tmp/board-connect.err); resolves with the host's end.
        connect: (cmd) => connectFrom(`nc ${hostAddr} ${boardPort} -e ${cmd} </dev/null >/dev/null 2>>/tmp/board-connect.err &`, cmd),
        // Runs the shell command `cmd` in the background on the board, its output (stdout and
        // stderr) streamed to the host; resolves with { sock: the host's end, close() }.
        stream: async (cmd) => {
            const sock = await connectFrom(
                `( ${cmd} ) 2>&1 </dev/null | nc ${hostAddr} ${boardPort} >/dev/null 2>&1 &`, cmd);
            return { sock, close: () => sock.destroy() };
        },
        writeFile: (path, text) => ok(`cat > ${shellQuote(path)} <<'__ROBOTD_EOF__'\n${text}\n__ROBOTD_EOF__`),
        // The simulated GPIO chip: its gpiochip name, label, line count and sysfs directory
        // (sim_gpioN/pull, sim_gpioN/value).
        sim: { chip: simChip, label: 'robotd-sim', lines: 32, dir: simDir },
        // Pulls a robotd-sim line: an input reads the level, and a held edge request sees the edge.
        pull: (line, level) =>
            ok(`echo pull-${isHigh(level) ? 'up' : 'down'} > ${simDir}/sim_gpio${Number(line)}/pull`),
        // Every robotd-sim line's level, held or not ({ line: 0|1 }): an output's level while
        // held, else its pull (gpio-sim drops a released output to its pull).
        simLevels: async () => {
            const out = await ok(`cd ${simDir} && for d in sim_gpio*; do echo "\${d#sim_gpio} $(cat $d/value)"; done`);
            return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ').map(Number)));
        },
        // The held lines of every chip, from /sys/kernel/debug/gpio: { label: { line: 0|1 } }
        // (the PL061 is '9030000.pl061', the simulated chip 'robotd-sim').
        gpioLevels: async () => {
            const chips = parseDebugGpio(await ok('cat /sys/kernel/debug/gpio'));
            return Object.fromEntries(Object.entries(chips).map(([label, lines]) =>
                [label, Object.fromEntries(Object.entries(lines).map(([n, l]) => [n, l.level]))]));
        },
        // The same with direction, consumer and name: { label: { line: { dir, level, consumer, name } } }.
        gpioLines: async () => parseDebugGpio(await ok('cat /sys/kernel/debug/gpio')),
        // The PL061's 8 lines as its registers hold them, held or not (a released output keeps
        // its level there), read by QEMU from the device (the guest's /dev/mem refuses a
        // driver's registers, CONFIG_IO_STRICT_DEVMEM): { line: { dir: 'in'|'out', level: 0|1 } }.
        pl061: async () => {
            // GPIODATA through the all-lines mask (0x3fc), then GPIODIR (0x400).
            const out = await qmp.execute('human-monitor-command', { 'command-line': 'xp /2wx 0x090303fc' });
            const m = out.match(/:\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)/i);
            if (!m) throw new Error(`PL061 registers: ${out}`);
            const [data, dirs] = [parseInt(m[1], 16), parseInt(m[2], 16)];
            return Object.fromEntries([...Array(8).keys()].map((n) =>
                [n, { dir: (dirs >> n) & 1 ? 'out' : 'in', level: (data >> n) & 1 }]));
        },
        // i2c-stub's bus number (/dev/i2c-N); it answers at 0x40 and 0x60.
        i2cBus,
        // All 256 byte registers of the chip at `addr` on `bus` (SMBus byte-data reads, as
        // i2cdump does), null where the chip did not answer.
        i2cRegs: async (bus, addr) =>
            parseI2cDump(await ok(`i2cdump -y ${Number(bus)} 0x${Number(addr).toString(16)} b`)),
        // The USB serial adapter's far end: serial.data(from) / text(from) / wait(pattern) for
        // what the guest wrote to /dev/ttyUSBn, serial.write(bytes) to send it bytes.
        serial: serialBytes,
        // The guest's USB serial ttys (['ttyUSB0'] while the adapter is in).
        ttyUSB,
        // Pulls the adapter out (QMP device_del); resolves once QEMU let go of it and the
        // guest has no /dev/ttyUSB* left.
        unplugSerial: async () => {
            const from = qmp.events.length;
            await qmp.execute('device_del', { id: SERIAL_ID });
            await qmp.waitEvent((e) => e.event === 'DEVICE_DELETED' && e.data?.device === SERIAL_ID, { from });
            await waitFor('! ls /dev | grep -q "^ttyUSB"');
        },
        // Plugs it back in (QMP device_add; `props`: more usb-serial properties, e.g. serial);
        // resolves with the tty name the guest gave it once /dev has it.
        plugSerial: async (props = {}) => {
            await qmp.execute('device_add', serialDevice(props));
            await waitFor('ls /dev | grep -q "^ttyUSB"');
            return (await ttyUSB())[0];
        },
        // Starts robotd on the board with `config` (text); its log comes back over the network.
        startRobotd: async (config, args = []) => {
            const n = ++runs;
            const path = `/tmp/robotd-${n}.conf`;
            await ok(`cat > ${path} <<'__ROBOTD_EOF__'\n${config}\n__ROBOTD_EOF__`);
            const argv = ['--config', path, '--stderr', '-v', ...args].map(shellQuote).join(' ');
            const sock = await connectFrom(
                `(robotd ${argv} 2>&1; echo "ROBOTD_EXIT $?") | nc ${hostAddr} ${boardPort} >/dev/null 2>&1 &`, 'robotd');
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
        // Powers the board off, killing QEMU if it lingers (at once with `kill`: a board that
        // rebooted has no shell on this connection any more).
        shutdown: async ({ kill = false } = {}) => {
            poweroff.abort();
            shellSock.end('poweroff -f\n');
            const killer = setTimeout(() => qemu.kill('SIGKILL'), kill ? 0 : 10000);
            await done;
            clearTimeout(killer);
            qmp.sock.destroy();
            serialSock.destroy();
            closeAll();
            for (const s of pending) s.destroy();
        },
    };
}

// The stream key the peer's relays take; boardConfig() gives it to robotd.
export const STREAM_KEY = 'sk-vm';

// The peer on the host, set up for a robot on the board (discovery answers hostAddr, the
// site's size is width x height), and the board booted with a way to every peer port and
// the peer's CA in /tmp/peer-ca.pem. Resolves with { peer, board }; the caller stops both.
export async function startPeerAndBoard({ width = 320, height = 240, qemuArgs = [] } = {}) {
    const peer = await startPeer({ eio: 4, args: ['--stream-key', STREAM_KEY, '--advertise-host', hostAddr] });
    try {
        await peer.api('POST', '/_peer/settings', { xres: width, yres: height });
        const board = await bootBoard({ ports: Object.values(peer.info.ports), qemuArgs });
        await board.writeFile('/tmp/peer-ca.pem', readFileSync(peer.info.ca_file, 'utf8').trim());
        return { peer, board };
    } catch (e) {
        await peer.stop();
        throw e;
    }
}

let stateFiles = 0;

// A config in the reference layout for a robot on the board, every server at the peer.
// `extra`: more sections ({ gpio: { chip: ... } }), for the drivers.
export function boardConfig(peer, { robot = {}, camera = {}, misc = {}, media = null, ffmpeg = null, extra = {} } = {}) {
    const p = peer.info.ports;
    const at = (port) => `http://${hostAddr}:${port}`;
    const sections = {
        robot: { owner: 'owner1', robot_id: 'robot1', camera_id: 'camera1', type: 'none',
            stream_key: STREAM_KEY, ...robot },
        camera: { no_camera: 'false', no_mic: 'false', x_res: 320, y_res: 240,
            camera_device: '/dev/video0', mic_device: 'Loopback', ...camera },
        misc: { info_server: at(p.discovery_http), api_server: at(p.discovery_http),
            app_server: at(p.app), user_server: `https://${hostAddr}:${p.user}`,
            ca_file: '/tmp/peer-ca.pem', lookup_timeout: 5,
            // The chat's state file on the board's /tmp, never its /var/lib: one per config.
            state_file: `/tmp/robotd-state-${process.pid}-${++stateFiles}.json`, ...misc },
    };
    if (media) sections.media = media;
    if (ffmpeg) sections.ffmpeg = ffmpeg;
    return iniText({ ...sections, ...extra });
}
