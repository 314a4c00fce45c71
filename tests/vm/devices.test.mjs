// The virtual board's devices for issue 9's drivers, proven at the kernel level with the
// shell's own tools (no robotd): the PL061 and the simulated chip robotd-sim (gpio-sim), the
// PCA9685 addresses on i2c-stub's bus, and QEMU's USB serial adapter through ftdi_sio, pulled
// out and plugged back in through QEMU's monitor.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { bootBoard, imageMissing } from './board.mjs';

const missing = imageMissing();

describe('virtual board devices', { skip: missing || false }, () => {
    let board;
    before(async () => {
        board = await bootBoard();
    });
    after(async () => {
        await board?.shutdown();
    });

    // Resolves once `consumer` holds a line of some chip (its request is in).
    const held = (consumer) => board.waitFor(`grep -q '|${consumer} ' /sys/kernel/debug/gpio`);

    test('the PL061 (8 lines) and the simulated chip robotd-sim (32 lines), by name and label', async () => {
        const chips = (await board.ok('gpiodetect')).trim().split('\n');
        assert.deepEqual(chips, ['gpiochip0 [9030000.pl061] (8 lines)', `${board.sim.chip} [robotd-sim] (32 lines)`]);
        assert.equal(board.sim.chip, 'gpiochip1');
        assert.equal(board.sim.dir, '/sys/devices/platform/gpio-sim.0/gpiochip1');
        // Lines 0..31 as offsets; nothing holds any of them yet.
        assert.match(await board.ok('gpioinfo robotd-sim'), /\tline  31: +unnamed +unused +input/);
        assert.deepEqual(await board.gpioLevels(), { '9030000.pl061': {}, 'robotd-sim': {} });
        const levels = await board.simLevels();
        assert.deepEqual(Object.keys(levels).map(Number).sort((a, b) => a - b), [...Array(32).keys()]);
    });

    test('a robotd-sim input follows its pull, and a held edge request sees each edge', async () => {
        await board.pull(5, 'high');
        assert.equal((await board.ok('gpioget robotd-sim 5')).trim(), '1');
        assert.equal((await board.simLevels())[5], 1);
        await board.pull(5, 'low');
        assert.equal((await board.ok('gpioget robotd-sim 5')).trim(), '0');

        // As charge sensing watches its line: edge events through the interrupt simulator.
        await board.ok('gpiomon --num-events=2 --format="%e %o" robotd-sim 7 > /tmp/mon.txt 2>&1 &');
        await held('gpiomon');
        assert.deepEqual((await board.gpioLines())['robotd-sim'][7],
            { dir: 'in', level: 0, consumer: 'gpiomon', name: '' });
        await board.pull(7, 1);
        await board.pull(7, 0);
        await board.waitFor('[ $(wc -l < /tmp/mon.txt) -ge 2 ]');
        // A rising edge (1), then a falling one (0), on line 7.
        assert.equal((await board.ok('cat /tmp/mon.txt')).trim(), '1 7\n0 7');
    });

    test('outputs a program holds show in debugfs; once released a PL061 line keeps its level, a robotd-sim line falls to its pull', async () => {
        await board.ok('gpioset --mode=signal 9030000.pl061 0=1 2=1 3=0 & echo $! > /tmp/set1.pid');
        await board.ok('gpioset --mode=signal robotd-sim 20=1 21=0 & echo $! > /tmp/set2.pid');
        await board.waitFor("[ $(grep -c '|gpioset ' /sys/kernel/debug/gpio) -eq 5 ]");
        assert.deepEqual(await board.gpioLevels(), {
            '9030000.pl061': { 0: 1, 2: 1, 3: 0 },
            'robotd-sim': { 20: 1, 21: 0 },
        });
        assert.equal((await board.gpioLines())['robotd-sim'][20].dir, 'out');
        const pl = await board.pl061();
        assert.deepEqual([pl[0], pl[1], pl[2], pl[3]], [
            { dir: 'out', level: 1 }, { dir: 'in', level: 0 }, { dir: 'out', level: 1 }, { dir: 'out', level: 0 }]);
        assert.equal((await board.simLevels())[20], 1);

        // Released as a killed robotd's lines are: debugfs lists them no more.
        await board.ok('kill $(cat /tmp/set1.pid) $(cat /tmp/set2.pid)');
        await board.waitFor("! grep -q '|gpioset ' /sys/kernel/debug/gpio");
        assert.deepEqual(await board.gpioLevels(), { '9030000.pl061': {}, 'robotd-sim': {} });
        const after = await board.pl061();
        assert.deepEqual([after[0], after[2], after[3]], [
            { dir: 'out', level: 1 }, { dir: 'out', level: 1 }, { dir: 'out', level: 0 }]);
        assert.equal((await board.simLevels())[20], 0);
    });

    test('i2c-stub answers at 0x40 and 0x60 (SMBus byte and word data), and nowhere else', async () => {
        const bus = board.i2cBus;
        assert.equal(bus, 0);
        assert.equal((await board.ok(`cat /sys/bus/i2c/devices/i2c-${bus}/name`)).trim(), 'SMBus stub driver');
        assert.equal((await board.sh(`test -c /dev/i2c-${bus}`)).rc, 0);
        // PCA9685 registers as Adafruit's library writes them, byte by byte: MODE1, PRESCALE,
        // LED0_ON_L.. LED0_OFF_H (0x06 + 4n), different values per chip. (busybox's i2cset
        // takes its numbers in hex: "0x..." throughout.)
        const hex = (n) => `0x${n.toString(16)}`;
        for (const [addr, base] of [[0x40, 0x10], [0x60, 0x20]]) {
            const writes = [[0x00, 0x21], [0xfe, 0x79], [0x06, base], [0x07, base + 1], [0x08, base + 2], [0x09, base + 3]];
            for (const [reg, v] of writes) await board.ok(`i2cset -y ${bus} ${hex(addr)} ${hex(reg)} ${hex(v)}`);
            const regs = await board.i2cRegs(bus, addr);
            for (const [reg, v] of writes) assert.equal(regs[reg], v, `${hex(addr)} register ${hex(reg)}`);
            assert.equal(regs[0x0a], 0);  // never written
            assert.equal((await board.ok(`i2cget -y ${bus} ${hex(addr)} 0xfe`)).trim(), '0x79');
        }
        // A word is kept as a word at its register: a byte read of it sees the low byte and the
        // next register keeps its own value (the stub is not a PCA9685 with auto-increment).
        await board.ok(`i2cset -y ${bus} 0x40 0x0c 0x1234 w`);
        assert.equal((await board.ok(`i2cget -y ${bus} 0x40 0x0c w`)).trim(), '0x1234');
        assert.equal((await board.ok(`i2cget -y ${bus} 0x40 0x0c`)).trim(), '0x34');
        assert.equal((await board.ok(`i2cget -y ${bus} 0x40 0x0d`)).trim(), '0x00');
        // No chip at 0x41; and the stub does plain SMBus only, no I2C_RDWR transfers.
        assert.notEqual((await board.sh(`i2cget -y ${bus} 0x41 0`)).rc, 0);
        assert.match((await board.sh(`i2ctransfer -y ${bus} w2@0x40 0x06 1`)).out, /does not support I2C transfers/);
    });

    test('bytes cross the USB serial adapter both ways, all 256 values', async () => {
        assert.deepEqual(await board.ttyUSB(), ['ttyUSB0']);
        // A raw reader holds the tty, as robotd's serial driver does (no echo back to the host).
        await board.ok('rm -f /tmp/ser.*; (stty raw -echo; touch /tmp/ser.ready; exec cat > /tmp/ser.in) ' +
            '< /dev/ttyUSB0 & echo $! > /tmp/ser.pid');
        try {
            await board.waitFor('[ -e /tmp/ser.ready ]');
            const all = Buffer.from([...Array(256).keys()]);
            const from = board.serial.length;
            await board.serial.write(all);
            await board.waitFor('[ $(wc -c < /tmp/ser.in) -ge 256 ]');
            assert.equal((await board.ok('xxd -p /tmp/ser.in | tr -d "\\n"')).trim(), all.toString('hex'));

            await board.ok(`echo ${all.toString('hex')} | xxd -r -p > /dev/ttyUSB0`);
            await board.serial.wait(/[\s\S]{256}/, { from });
            assert.deepEqual(board.serial.data(from), all);
            // The serial board's protocol, byte for byte.
            const next = board.serial.length;
            await board.ok('printf "f\\r\\nstop\\r\\n" > /dev/ttyUSB0');
            await board.serial.wait('stop\r\n', { from: next });
            assert.equal(board.serial.text(next), 'f\r\nstop\r\n');
        } finally {
            await board.sh('kill $(cat /tmp/ser.pid)');
        }
    });

    test("the adapter pulled out and plugged back through QEMU's monitor; the USB strings serial_name matches", async () => {
        const usb = (f) => board.ok(`cat /sys/class/tty/ttyUSB0/device/../../${f}`).then((s) => s.trim());
        assert.equal(await usb('manufacturer'), 'QEMU');
        assert.equal(await usb('product'), 'QEMU USB SERIAL');
        // QEMU's default serial number: "1-", the xHCI's PCI address, "-" and the USB port.
        assert.match(await usb('serial'), /^1-0000:00:01\.0-\d+$/);
        assert.deepEqual([await usb('idVendor'), await usb('idProduct')], ['0403', '6001']);

        await board.unplugSerial();
        assert.deepEqual(await board.ttyUSB(), []);
        assert.equal((await board.ok('ls /sys/bus/usb-serial/devices | wc -l')).trim(), '0');
        assert.equal(await board.plugSerial(), 'ttyUSB0');
        // Bytes flow again. The new tty starts with the default termios (cooked: \n goes out
        // as \r\n): a driver sets raw mode on every open, not once.
        const from = board.serial.length;
        await board.ok('printf "again\\r\\n" > /dev/ttyUSB0');
        await board.serial.wait('again\r\r\n', { from });

        // A serial number of the test's choosing (usb-serial's serial property).
        await board.unplugSerial();
        assert.equal(await board.plugSerial({ serial: 'ROBOTD-ARDUINO' }), 'ttyUSB0');
        assert.equal(await usb('serial'), 'ROBOTD-ARDUINO');
        assert.equal(await usb('product'), 'QEMU USB SERIAL');
    });

    test('a tty still held open when the adapter is pulled out: it comes back as ttyUSB1', async () => {
        // What a serial driver that does not close on hang-up would meet.
        await board.ok('sleep 600 < /dev/ttyUSB0 & echo $! > /tmp/holder.pid');
        await board.waitFor('ls -l /proc/$(cat /tmp/holder.pid)/fd/0 | grep -q ttyUSB0');
        await board.unplugSerial();
        assert.equal(await board.plugSerial(), 'ttyUSB1');
        // Once the old tty is closed its number is free again.
        await board.ok('kill $(cat /tmp/holder.pid)');
        await board.unplugSerial();
        assert.equal(await board.plugSerial(), 'ttyUSB0');
    });
});
