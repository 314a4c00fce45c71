// Timing across the host and the virtual board (tests/vm), for benches that measure from a
// host event (the peer's emit) to a guest event (a line set, an I2C write):
//   - GuestClock: the guest's CLOCK_MONOTONIC mapped onto the host's, NTP-style, from many
//     exchanges with board_probe (tests/vm/board_probe.c); each bounds the offset, and the
//     bounds of all of them intersect (exact while neither clock drifts: QEMU's guest timer
//     runs off the host's monotonic clock), so the mapping comes with a hard error bound.
//   - KernelTrace: the guest kernel's own trace events (tracefs, trace_clock = mono, i.e.
//     CLOCK_MONOTONIC): gpio_value (gpiolib sets a line) and smbus_write (an SMBus write),
//     streamed to the host as they happen.
//   - QemuPl061: the host's view of the PL061's output lines, from QEMU's pl061_set_output
//     trace (stamped with the host's clock when the guest writes the register): a second,
//     independent witness for the PL061, used to measure the error of the two above.
// Times are microseconds as Numbers (doubles): host times on the host's CLOCK_MONOTONIC (node's
// hrtime, the peer's emitted_us), guest times on the guest's.

import readline from 'node:readline';

export const hostUs = () => Number(process.hrtime.bigint()) / 1000;

// p in [0, 1] of an ascending array (nearest rank).
export const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
export const msText = (us) => (us / 1000).toFixed(3);
// "p50 X ms  p99 Y ms  max Z ms  (n N)" of a list of microsecond figures.
export function summary(values) {
    const s = [...values].sort((a, b) => a - b);
    if (!s.length) return 'no samples';
    return `p50 ${msText(pct(s, 0.5))} ms  p99 ${msText(pct(s, 0.99))} ms  max ${msText(s.at(-1))} ms  (n ${s.length})`;
}
// "p50 X µs, 1st..99th percentile A..B µs" of signed microsecond figures (errors).
export function spread(values) {
    const s = [...values].sort((a, b) => a - b);
    const us = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
    return `p50 ${us(pct(s, 0.5))} µs, 1st..99th percentile ${us(pct(s, 0.01))}..${us(pct(s, 0.99))} µs`;
}

// Lines of a socket's data, each with the host time its chunk came in.
function onLines(sock, fn) {
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (chunk) => {
        const at = hostUs();
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            fn(line, at);
        }
    });
}

// A board_probe connection: request() sends one byte and resolves with the answer's numbers
// (guest ns as µs) and the host's send and receive times around it.
export async function probe(board, args) {
    const sock = await board.connect(`board_probe ${args}`);
    sock.setNoDelay(true);
    const waiting = [];
    onLines(sock, (line, at) => {
        const w = waiting.shift();
        if (w) w({ guest: line.trim().split(' ').map((n) => Number(n) / 1000), received: at });
    });
    let closed = false;
    const gone = new Promise((resolve) => sock.on('close', () => { closed = true; resolve(); }));
    return {
        request: (byte) => {
            if (closed) return Promise.reject(new Error(`board_probe ${args}: connection closed`));
            const answer = new Promise((resolve, reject) => {
                waiting.push(resolve);
                gone.then(() => reject(new Error(`board_probe ${args}: connection closed`)));
            });
            const sent = hostUs();
            sock.write(byte);
            return answer.then((a) => ({ ...a, sent }));
        },
        close: () => sock.destroy(),
    };
}

// The guest's CLOCK_MONOTONIC against the host's. Each exchange (host send at t0, guest reads
// its clock g, host receive at t1) bounds offset = guest - host to [g - t1, g - t0]; the
// intersection of all the bounds holds the true offset as long as neither clock drifts.
export class GuestClock {
    static async open(board) {
        return new GuestClock(await probe(board, 'clock'));
    }
    constructor(p) {
        this.p = p;
        this.calibrations = [];
    }
    // n exchanges; appends and returns { offset, bound (half the intersection's width),
    // minRtt, medianRtt, at (host time), empty (the bounds did not intersect) }.
    async calibrate(n = 200) {
        let lo = -Infinity, hi = Infinity, best = null;
        const rtts = [];
        for (let i = 0; i < n; i++) {
            const a = await this.p.request('c');
            const g = a.guest[0];
            const rtt = a.received - a.sent;
            rtts.push(rtt);
            lo = Math.max(lo, g - a.received);
            hi = Math.min(hi, g - a.sent);
            if (!best || rtt < best.rtt) best = { rtt, offset: g - (a.sent + a.received) / 2 };
        }
        rtts.sort((a, b) => a - b);
        // No intersection: a clock stepped or drifted; fall back to the fastest exchange.
        const empty = lo > hi;
        const c = {
            offset: empty ? best.offset : (lo + hi) / 2,
            bound: empty ? best.rtt / 2 : (hi - lo) / 2,
            minRtt: rtts[0], medianRtt: pct(rtts, 0.5), at: hostUs(), empty,
        };
        this.calibrations.push(c);
        return c;
    }
    // Guest µs to host µs, through the latest calibration.
    toHost(guestUs) {
        const c = this.calibrations.at(-1);
        if (!c) throw new Error('GuestClock: not calibrated');
        return guestUs - c.offset;
    }
    close() { this.p.close(); }
}

// "±bound (min RTT x, median y)" of a calibration (the bound is at most half the min RTT).
export const calibrationText = (c) =>
    `±${c.bound.toFixed(0)} µs (min RTT ${c.minRtt.toFixed(0)} µs, median ${c.medianRtt.toFixed(0)} µs` +
    `${c.empty ? ', bounds did not intersect: fastest exchange used' : ''})`;

// An event stream: the lines of `input` (a readable stream), each parsed by `parse` (null: not
// an event), with a way to await the first event at or after an index that `match` accepts.
class EventStream {
    constructor(input, parse, close = () => {}) {
        this.events = [];
        this.waiters = [];
        this.listeners = [];
        this.close = close;
        readline.createInterface({ input }).on('line', (line) => {
            const e = parse(line);
            if (!e) return;
            for (const l of this.listeners) l(e);
            this.events.push(e);
            this.waiters = this.waiters.filter((w) => !w(e, this.events.length - 1));
        });
    }
    get length() { return this.events.length; }
    // Calls fn(event) for each event from now on, in order, before any wait sees it.
    listen(fn) { this.listeners.push(fn); }
    // Resolves with { event, index } of the first event at index >= from that match accepts.
    wait(match, { from = 0, timeoutMs = 10000, what = 'event' } = {}) {
        const i = this.events.findIndex((e, j) => j >= from && match(e));
        if (i >= 0) return Promise.resolve({ event: this.events[i], index: i });
        return new Promise((resolve, reject) => {
            const w = (e, j) => {
                if (j < from || !match(e)) return false;
                clearTimeout(timer);
                resolve({ event: e, index: j });
                return true;
            };
            const timer = setTimeout(() => {
                this.waiters = this.waiters.filter((x) => x !== w);
                reject(new Error(`no ${what} within ${timeoutMs} ms`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }
}

// The guest kernel's gpio_value (sets only) and smbus_write trace events, stamped with
// CLOCK_MONOTONIC (trace_clock mono), as { t (guest µs), kind: 'gpio', gpio, value } or
// { t, kind: 'smbus', adapter, addr, reg, bytes: [..] }. The tracepoints fire in the kernel
// as gpiolib sets a line and as an SMBus write starts: the moment a driver's request reaches
// the device, whatever program made it.
export async function kernelTrace(board) {
    const t = '/sys/kernel/tracing';
    await board.ok(`grep -q " ${t} tracefs " /proc/mounts || mount -t tracefs nodev ${t}`);
    await board.ok(`cd ${t} && echo 0 > tracing_on && echo mono > trace_clock && echo > trace && ` +
        `echo 'get == 0' > events/gpio/gpio_value/filter && echo 1 > events/gpio/gpio_value/enable && ` +
        `echo 1 > events/smbus/smbus_write/enable && echo 1 > tracing_on`);
    // dd: a plain read() loop (busybox cat splices, and a splice of trace_pipe waits for a
    // page of events).
    const stream = await board.stream(`exec dd if=${t}/trace_pipe bs=65536 2>/dev/null`);
    return new EventStream(stream.sock, parseTraceLine, stream.close);
}

// "  gpioset-144 [000] .....  5.101735: gpio_value: 504 set 1", and "... smbus_write: i2c-0
// a=040 f=0000 c=6 BYTE_DATA l=1 [12]" (the data bytes in hex, '-' separated).
export function parseTraceLine(line) {
    const m = line.match(/\s(\d+)\.(\d{6}): (gpio_value|smbus_write): (.*)$/);
    if (!m) return null;
    const t = Number(m[1]) * 1e6 + Number(m[2]);
    if (m[3] === 'gpio_value') {
        const g = m[4].match(/^(\d+) set (\d+)/);
        return g && { t, kind: 'gpio', gpio: Number(g[1]), value: Number(g[2]) };
    }
    const s = m[4].match(/^i2c-(\d+) a=([0-9a-f]+) f=[0-9a-f]+ c=([0-9a-f]+) (\S+) l=\d+ \[([0-9a-f -]*)\]/);
    return s && {
        t, kind: 'smbus', adapter: Number(s[1]), addr: parseInt(s[2], 16), reg: parseInt(s[3], 16),
        protocol: s[4], bytes: s[5].trim() ? s[5].trim().split(/[ -]/).map((b) => parseInt(b, 16)) : [],
    };
}

// gpiomon (libgpiod 1.6) on lines of a chip, its edges as { t (guest µs), line, value }.
// Its timestamps are the kernel's edge event stamps: CLOCK_MONOTONIC since Linux 5.7.
export async function gpiomon(board, chip, lines) {
    const stream = await board.stream(`exec gpiomon -b -F '%o %e %s %n' ${chip} ${lines.join(' ')}`);
    const events = new EventStream(stream.sock, (line) => {
        const m = line.match(/^(\d+) ([01]) (\d+) (\d+)$/);
        return m && { t: Number(m[3]) * 1e6 + Number(m[4]) / 1000, line: Number(m[1]), value: Number(m[2]) };
    }, stream.close);
    // gpiomon prints nothing once its request is in: await the request in debugfs.
    await board.waitFor(`grep -q '|gpiomon ' /sys/kernel/debug/gpio`);
    return events;
}

// The host's CLOCK_REALTIME minus its CLOCK_MONOTONIC, in µs: at the moment Date.now() (the
// realtime clock in ms) steps to a new millisecond, realtime is that millisecond; hrtime read
// around the step places it within one turn of the loop (well under a µs). The best of a few.
export function realtimeOffsetUs(tries = 5) {
    let best = null;
    for (let i = 0; i < tries; i++) {
        const start = Date.now();
        let before = hostUs(), now = start;
        while (now === start) {
            before = hostUs();
            now = Date.now();
        }
        const after = hostUs();
        const width = after - before;
        if (!best || width < best.width) best = { width, offset: now * 1000 - (before + after) / 2 };
    }
    return best.offset;
}

// The QEMU arguments for QemuPl061 (its trace lines on QEMU's stderr, host-stamped).
export const qemuPl061Args = ['-msg', 'timestamp=on', '-trace', 'pl061_set_output'];

// The PL061's output changes as QEMU saw them: "PID@SEC.USEC:pl061_set_output ID setting output
// N to V", stamped by QEMU with gettimeofday() as the guest's register write ran; as
// { t (host µs, monotonic), line, value }. resync() measures the realtime clock's offset again
// (a host's NTP may slew it; call it before each run).
export function qemuPl061(board) {
    let realtime = realtimeOffsetUs();
    const events = new EventStream(board.qemuStderr, (line) => {
        const m = line.match(/@(\d+)\.(\d{6}):pl061_set_output \S+ setting output (\d+) to (\d+)/);
        return m && { t: Number(m[1]) * 1e6 + Number(m[2]) - realtime, line: Number(m[3]), value: Number(m[4]) };
    });
    events.resync = () => { realtime = realtimeOffsetUs(); };
    return events;
}

// The global GPIO numbers gpiolib gives the chips (the gpio_value trace event names lines by
// them): { label: base }, from /sys/kernel/debug/gpio's "gpiochip1: GPIOs 472-503, parent:
// platform/gpio-sim.0, robotd-sim, can sleep:" headers. Also { label: '/dev/gpiochipN' } as paths.
export async function gpioChips(board) {
    const text = await board.ok('cat /sys/kernel/debug/gpio');
    const base = {}, path = {};
    for (const m of text.matchAll(/^(gpiochip\d+): GPIOs (\d+)-\d+, parent: [^,]+, ([^,:]+)/gm)) {
        base[m[3]] = Number(m[2]);
        path[m[3]] = `/dev/${m[1]}`;
    }
    return { base, path };
}

// A mirror of i2c-stub's byte registers at (adapter, addr), kept from the trace's smbus_write
// events as the stub stores them (a byte write sets its register; a word write keeps the word
// at its register, whose byte reads see the low byte; an I2C block write fills registers on
// from its first), and the PCA9685 channel's output as those registers say: each of the
// trace's writes there gets `duty` (channel `channel`, in 1/4096ths: 0 off .. 4096 full on).
export function pca9685Mirror(trace, { adapter, addr, channel = 0 }) {
    const regs = new Array(256).fill(0);
    const base = 6 + 4 * channel;  // LEDn_ON_L, ON_H, OFF_L, OFF_H
    const duty = () => {
        const on = regs[base] | (regs[base + 1] << 8), off = regs[base + 2] | (regs[base + 3] << 8);
        if (off & 0x1000) return 0;  // full off wins over full on
        if (on & 0x1000) return 4096;
        return ((off & 0xfff) - (on & 0xfff) + 4096) % 4096;
    };
    trace.listen((e) => {
        if (e.kind !== 'smbus' || e.adapter !== adapter || e.addr !== addr) return;
        if (e.protocol === 'I2C_BLOCK_DATA' || e.protocol === 'BLOCK_DATA')
            e.bytes.forEach((b, i) => { regs[(e.reg + i) & 0xff] = b; });
        else if (e.bytes.length) regs[e.reg] = e.bytes[0];
        e.duty = duty();
    });
    return { regs, duty };
}
