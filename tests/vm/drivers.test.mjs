// robotd's hardware drivers on the virtual board's real kernel drivers: GPIO lines of the
// PL061 and of gpio-sim (robotd-sim) through `gpio`, `l298n` and `motozero` configs; charge
// sensing from a pulled gpio-sim input; the PCA9685 presets on i2c-stub's registers; the
// serial board through QEMU's USB adapter and the guest's ftdi_sio, pulled out and back in.
// Commands come from the peer on the host, as a viewer's would.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { boardConfig, imageMissing, startPeerAndBoard } from './board.mjs';

const missing = imageMissing();
const PL061 = '9030000.pl061';
const SIM = 'robotd-sim';

// The virtual board's pin map (board/qemu-aarch64-virt/pins): BCM 17,18,22,23,24,27,5,6 are
// PL061 lines 0..7; every other BCM pin N is robotd-sim line N.
const PL = { 17: 0, 18: 1, 22: 2, 23: 3, 24: 4, 27: 5, 5: 6, 6: 7 };

// Polls `read` until `ok(value)` holds (a device level has no event to await); the last value.
async function until(read, ok, { timeoutMs = 15000, what = 'the condition' } = {}) {
    const end = performance.now() + timeoutMs;
    let value;
    for (;;) {
        value = await read();
        if (ok(value)) return value;
        if (performance.now() > end)
            throw new Error(`${what} did not hold within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

// The PCA9685 channel values in a register dump: 0..4095 ticks, 4096 for full on.
function pcaChannels(regs) {
    const out = [];
    for (let n = 0; n < 16; n++) {
        const base = 0x06 + 4 * n;
        const onH = regs[base + 1];
        const off = regs[base + 2] | ((regs[base + 3] & 0x0f) << 8);
        if (onH & 0x10) out.push(4096);
        else if (regs[base + 3] & 0x10) out.push(0);
        else out.push(off);
    }
    return out;
}

describe('drivers on the virtual board', { skip: missing || false }, () => {
    let peer, board;
    before(async () => {
        ({ peer, board } = await startPeerAndBoard());
    });
    after(async () => {
        await board?.shutdown();
        await peer?.stop();
    });

    // robotd without camera and microphone (the drivers are the subject), and `sections` on top.
    const start = async (robot, sections = {}) => {
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, {
            robot, camera: { no_camera: 'true', no_mic: 'true' }, extra: sections,
        }));
        r.since = since;
        return r;
    };
    const command = (c) => peer.command({ command: c, key_position: 'down', user: 'owner1', anonymous: false });
    // Resolves once robotd's control session has identified: commands reach it from now on.
    const driving = (r) => peer.waitEvent('control', 'robot_id', r.since, { timeoutMs: 30000 });
    const levels = async (label) => (await board.gpioLevels())[label] || {};

    test('gpio: a generic map on the PL061 by its label; safe after the dead-man and after SIGTERM', async () => {
        const r = await start({ type: 'gpio', straight_delay: 1.5 }, {
            gpio: { chip: PL061, F: '0=1 1=1', B: '2=1 3=1', safe: '0=0 1=0 2=0 3=0' },
        });
        try {
            await driving(r);
            await until(() => levels(PL061), (l) => l[0] === 0 && l[3] === 0, { what: 'lines requested safe' });
            await command('F');
            await until(() => levels(PL061), (l) => l[0] === 1 && l[1] === 1 && l[2] === 0 && l[3] === 0,
                { what: 'F drives lines 0 and 1' });
            // The dead-man (straight_delay) brings every line back safe.
            await until(() => levels(PL061), (l) => [0, 1, 2, 3].every((n) => l[n] === 0), { what: 'safe after the dead-man' });
            await command('B');
            await until(() => levels(PL061), (l) => l[2] === 1 && l[3] === 1, { what: 'B drives lines 2 and 3' });
            assert.equal(await r.stop(), 0);
            // Released lines keep their last level on a PL061: the exit made it safe first.
            const pl = await board.pl061();
            assert.deepEqual([0, 1, 2, 3].map((n) => pl[n].level), [0, 0, 0, 0]);
        } finally {
            await r.stop().catch(() => {});
        }
    });

    test("l298n: the reference sample's BOARD pins through the board's pin map, sleeptime and rotatetimes", async () => {
        // StepPinForward 12,16 = BCM 18,23; Backward 11,15 = BCM 17,22; Left 15,12; Right 11,16.
        const r = await start({ type: 'l298n' }, {
            l298n: { StepPinForward: '12,16', StepPinBackward: '11,15', StepPinLeft: '15,12',
                StepPinRight: '11,16', sleeptime: 1.0, rotatetimes: 2 },
        });
        try {
            await driving(r);
            await command('F');
            const t0 = performance.now();
            await until(() => levels(PL061), (l) => l[PL[18]] === 1 && l[PL[23]] === 1 && l[PL[17]] === 0 && l[PL[22]] === 0,
                { what: 'F drives BCM 18 and 23' });
            await until(() => levels(PL061), (l) => [17, 18, 22, 23].every((b) => l[PL[b]] === 0), { what: 'F ends' });
            const fMs = performance.now() - t0;
            await command('L');
            const t1 = performance.now();
            await until(() => levels(PL061), (l) => l[PL[22]] === 1 && l[PL[18]] === 1 && l[PL[17]] === 0,
                { what: 'L drives BCM 22 and 18' });
            await until(() => levels(PL061), (l) => [17, 18, 22, 23].every((b) => l[PL[b]] === 0), { what: 'L ends' });
            const lMs = performance.now() - t1;
            // sleeptime 1 s for F; 1 s x rotatetimes 2 for L (generous bounds: a loaded emulator).
            assert.ok(fMs > 700 && fMs < 1900, `F lasted ${fMs} ms`);
            assert.ok(lMs > 1700 && lMs < 3200, `L lasted ${lMs} ms`);
        } finally {
            await r.stop();
        }
    });

    test('motozero: four motors across the PL061 and robotd-sim, enables low again at the end', async () => {
        const r = await start({ type: 'motozero' }, {
            motozero: { MotorDelay: 1.5, Motor1A: 24, Motor1B: 27, Motor1Enable: 5, Motor2A: 6, Motor2B: 22,
                Motor2Enable: 17, Motor3A: 23, Motor3B: 16, Motor3Enable: 12, Motor4A: 13, Motor4B: 18,
                Motor4Enable: 25 },
        });
        try {
            await driving(r);
            await command('F');
            // f: 1B, 2B, 3A, 4B and every enable.
            const high = [27, 22, 23, 18, 5, 17];
            const low = [24, 6];
            await until(async () => ({ pl: await levels(PL061), sim: await levels(SIM) }),
                ({ pl, sim }) => high.every((b) => pl[PL[b]] === 1) && low.every((b) => pl[PL[b]] === 0) &&
                    sim[12] === 1 && sim[25] === 1 && sim[16] === 0 && sim[13] === 0,
                { what: 'F drives 1B 2B 3A 4B and the enables' });
            await until(async () => ({ pl: await levels(PL061), sim: await levels(SIM) }),
                ({ pl, sim }) => Object.values(PL).every((n) => pl[n] === 0) &&
                    [12, 13, 16, 25].every((n) => sim[n] === 0),
                { what: 'every motozero line low after MotorDelay' });
        } finally {
            await r.stop();
        }
    });

    test('after a SIGKILL the lines keep their level; the next robotd drives them safe before anything else', async () => {
        const config = { gpio: { chip: PL061, F: '4=1 5=1', safe: '4=0 5=0' } };
        const r = await start({ type: 'gpio', straight_delay: 30 }, config);
        await driving(r);
        await command('F');
        await until(() => levels(PL061), (l) => l[4] === 1 && l[5] === 1, { what: 'F drives 4 and 5' });
        await board.ok('kill -KILL $(pidof robotd)');
        await r.exit;
        const left = await board.pl061();
        assert.deepEqual([left[4].level, left[5].level], [1, 1], 'a killed robotd leaves its lines driven');
        const r2 = await start({ type: 'gpio' }, config);
        try {
            await r2.wait(/ready; outputs safe/, { timeoutMs: 30000 });
            const now = await board.pl061();
            assert.deepEqual([now[4].level, now[5].level], [0, 0]);
        } finally {
            await r2.stop();
        }
    });

    test('charge sensing: each edge of a pulled gpio-sim input is one charge_state at the peer', async () => {
        await board.pull(9, 'low');
        const since = await peer.seq();
        const r = await start({ type: 'none' }, { charge: { line: `${SIM}:9`, interval: 3600 } });
        try {
            const first = await peer.waitEvent('app', 'charge_state', since, { timeoutMs: 30000 });
            assert.deepEqual(first.args, [{ robot_id: 'robot1', charging: false }]);
            const s1 = await peer.seq();
            await board.pull(9, 'high');
            const on = await peer.waitEvent('app', 'charge_state', s1, { timeoutMs: 10000 });
            assert.deepEqual(on.args, [{ robot_id: 'robot1', charging: true }]);
            const s2 = await peer.seq();
            await board.pull(9, 'low');
            const off = await peer.waitEvent('app', 'charge_state', s2, { timeoutMs: 10000 });
            assert.deepEqual(off.args, [{ robot_id: 'robot1', charging: false }]);
            // One event per edge: nothing more in the next second.
            const s3 = await peer.seq();
            await assert.rejects(peer.waitEvent('app', 'charge_state', s3, { timeoutMs: 1000 }));
        } finally {
            await r.stop();
        }
    });

    test("motor_hat on i2c-stub at 0x60: the chip's init, F, L and the stop in its registers", async () => {
        const bus = board.i2cBus;
        const r = await start({ type: 'motor_hat', straight_delay: 2, turn_delay: 2 }, {
            motor_hat: { bus, day_speed: 255, night_speed: 255, turning_speed: 250,
                forward: '[-1,1,-1,1]', left: '[1,1,1,1]' },
        });
        try {
            await driving(r);
            await r.wait(/ready; outputs safe/, { timeoutMs: 30000 });
            const init = await board.i2cRegs(bus, 0x60);
            assert.equal(init[0xfe], 3, 'PRESCALE for 1600 Hz');
            assert.equal(init[0x00] & 0x10, 0, 'MODE1 awake (SLEEP clear)');
            assert.equal(init[0x00] & 0x20, 0x20, 'MODE1 auto-increment');
            // Adafruit's map: M1 PWM 8 IN2 9 IN1 10; M2 13 12 11; M3 2 3 4; M4 7 6 5.
            const motors = [[8, 10, 9], [13, 11, 12], [2, 4, 3], [7, 5, 6]];
            await command('F');
            const f = pcaChannels(await until(() => board.i2cRegs(bus, 0x60), (g) => pcaChannels(g)[8] > 0, { what: 'F' }));
            // forward [-1,1,-1,1]: M1 and M3 backward (IN2 on), M2 and M4 forward (IN1 on); speed 255*16.
            for (const [i, dir] of [-1, 1, -1, 1].entries()) {
                const [pwm, in1, in2] = motors[i];
                assert.equal(f[pwm], 255 * 16, `M${i + 1} speed`);
                assert.deepEqual([f[in1], f[in2]], dir > 0 ? [4096, 0] : [0, 4096], `M${i + 1} direction`);
            }
            await command('stop');
            const s = pcaChannels(await until(() => board.i2cRegs(bus, 0x60), (g) => pcaChannels(g)[8] === 0, { what: 'stop' }));
            for (const [pwm, in1, in2] of motors) assert.deepEqual([s[pwm], s[in1], s[in2]], [0, 0, 0]);
            await command('L');
            const l = pcaChannels(await until(() => board.i2cRegs(bus, 0x60), (g) => pcaChannels(g)[8] > 0, { what: 'L' }));
            for (const [i] of [1, 1, 1, 1].entries()) {
                const [pwm, in1, in2] = motors[i];
                assert.equal(l[pwm], 250 * 16, `M${i + 1} turning speed`);
                assert.deepEqual([l[in1], l[in2]], [4096, 0]);
            }
            // The dead-man releases all four.
            await until(() => board.i2cRegs(bus, 0x60), (g) => motors.every(([p, a, b]) => pcaChannels(g)[p] === 0 &&
                pcaChannels(g)[a] === 0 && pcaChannels(g)[b] === 0), { what: 'released after turn_delay' });
        } finally {
            await r.stop();
        }
    });

    test("adafruit_pwm on i2c-stub at 0x40: the ESC's steps for F and neutral at the end", async () => {
        const bus = board.i2cBus;
        const r = await start({ type: 'adafruit_pwm' }, { adafruit_pwm: { address: '0x40', pwm_freq: 60, bus } });
        try {
            await driving(r);
            await r.wait(/ready; outputs safe/, { timeoutMs: 30000 });
            const init = await board.i2cRegs(bus, 0x40);
            assert.equal(init[0xfe], 101, 'PRESCALE for 60 Hz');
            assert.deepEqual(pcaChannels(init).slice(0, 2), [335, 400], 'ESC and steering neutral');
            await command('F');
            await until(() => board.i2cRegs(bus, 0x40), (g) => pcaChannels(g)[0] === 445, { what: 'ESC forward' });
            await until(() => board.i2cRegs(bus, 0x40), (g) => pcaChannels(g)[0] === 345, { what: 'ESC slow forward' });
            await until(() => board.i2cRegs(bus, 0x40), (g) => pcaChannels(g)[0] === 335, { what: 'ESC neutral' });
        } finally {
            await r.stop();
        }
        const end = pcaChannels(await board.i2cRegs(bus, 0x40));
        assert.deepEqual(end.slice(0, 2), [335, 400], 'neutral after exit');
    });

    test('motor_hat,gpio at once: F to the HAT, LED_ON to a held GPIO line, every stop to both', async () => {
        const bus = board.i2cBus;
        const r = await start({ type: 'motor_hat,gpio', straight_delay: 3 }, {
            motor_hat: { bus },
            gpio: { chip: PL061, LED_ON: '7=1', LED_OFF: '7=0', hold: 7 },
        });
        try {
            await driving(r);
            await r.wait(/motor_hat: .*ready; outputs safe/, { timeoutMs: 30000 });
            await command('LED_ON');
            await until(() => levels(PL061), (l) => l[7] === 1, { what: 'the LED on' });
            await command('F');
            await until(() => board.i2cRegs(bus, 0x60), (g) => pcaChannels(g)[8] === 255 * 16, { what: 'F on the HAT' });
            // The dead-man stop reaches both: the HAT releases, the held LED stays on.
            await until(() => board.i2cRegs(bus, 0x60), (g) => pcaChannels(g)[8] === 0, { what: 'the HAT released' });
            assert.equal((await levels(PL061))[7], 1, 'a held line keeps its level through a stop');
        } catch (e) {
            e.message += `\nrobotd's log:\n${r.log.text()}`;
            throw e;
        } finally {
            await r.stop();
        }
        // The end sets even held lines safe.
        assert.equal((await board.pl061())[7].level, 0);
    });

    test('serial_board: found by serial_name on the USB adapter, f then stop, unplugged and back', async () => {
        const r = await start({ type: 'serial_board', straight_delay: 0.5 },
            { serial: { serial_name: 'qemu usb serial', baud_rate: 9600, serial_device: '/dev/ttyACM0' } });
        try {
            await driving(r);
            // Every new port gets a stop first.
            await board.serial.wait('stop\r\n');
            const from = board.serial.length;
            await command('F');
            await board.serial.wait('f\r\n', { from });
            const afterF = board.serial.length;
            await board.serial.wait('stop\r\n', { from: afterF });  // the dead-man
            await board.unplugSerial();
            await r.wait(/lost|gone|unplugged|hang/i, { timeoutMs: 15000 });
            const from2 = board.serial.length;
            await board.plugSerial();
            await board.serial.wait('stop\r\n', { from: from2 });  // reopened: a stop first
            const from3 = board.serial.length;
            await command('B');
            await board.serial.wait('b\r\n', { from: from3, timeoutMs: 15000 });
        } finally {
            await r.stop();
        }
    });
});
