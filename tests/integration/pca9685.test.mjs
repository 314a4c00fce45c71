// The PCA9685 types as a process: --check-config on the project's file in the reference layout
// with type motor_hat, adafruit_pwm or pca9685 (no hardware needed), and robotd running with a
// HAT that is not there: one line, retried, a clean exit. The chip itself is the virtual
// board's test (i2c-stub).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, runRobotd, top } from './lib.mjs';

const fixture = join(top, 'tests', 'fixtures', 'letsrobot.conf');

describe('pca9685 types', () => {
    for (const type of ['motor_hat', 'adafruit_pwm', 'motor_hat,adafruit_pwm']) {
        test(`--check-config accepts the reference sections with type ${type}`, async () => {
            const r = await runRobotd(['--check-config', '--config', fixture, '--set', `robot.type=${type}`]);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /^\[motor_hat\]\nday_speed=200\nnight_speed=150\nturning_speed=180\nforward=\[1,-1,1,-1\]\nleft=\[-1,-1,-1,-1\]$/m);
            assert.match(r.stdout, /^\[adafruit_pwm\]\naddress=0x41\npwm_freq=50$/m);
            assert.match(r.stderr, /warning: \[motor_hat\] slow_for_low_battery: accepted but not acted on/);
            assert.match(r.stderr, /config OK/);
        });
    }

    test('--check-config accepts a [pca9685] map and refuses one without commands', async () => {
        const ok = await runRobotd(['--check-config', '--config',
            writeConfig('[robot]\nrobot_id = r\ncamera_id = c\ntype = pca9685\n[pca9685]\nbus = SMBus stub driver\n' +
                'address = 0x60\npwm_freq = 1526\nF = 8=4080 10=full 9=off\n')]);
        assert.equal(ok.code, 0, ok.stderr);
        const none = await runRobotd(['--check-config', '--config',
            writeConfig('[robot]\nrobot_id = r\ncamera_id = c\ntype = pca9685\n')]);
        assert.equal(none.code, 2);
        assert.match(none.stderr, /\[pca9685\] maps no command/);
    });

    test('--check-config names a bad [motor_hat] value at file:line', async () => {
        const path = writeConfig('[robot]\nrobot_id = r\ncamera_id = c\ntype = motor_hat\n[motor_hat]\nforward = [1,1]\n');
        const r = await runRobotd(['--check-config', '--config', path]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, new RegExp(`${path.replace(/[.]/g, '\\.')}:6: error: \\[motor_hat\\] forward: expected a list of 4 directions`));
    });

    describe('running without the HAT', () => {
        let peer;
        before(async () => { peer = await startPeer({ eio: 4 }); });
        after(async () => { await peer.stop(); });

        test('robotd runs, says once that the chip is not there, and exits cleanly', async () => {
            const text = peerConfig(peer, { robot: { type: 'motor_hat' } }) + '\n[motor_hat]\nbus = /nonexistent/i2c-1\n';
            const robot = startRobotd(writeConfig(text));
            await robot.wait(/ E motor_hat: PCA9685 at 0x60 on \/nonexistent\/i2c-1: \/nonexistent\/i2c-1: No such file or directory \(is I2C enabled, and the i2c-dev module loaded\?\); trying again in /);
            await robot.wait(/ I discovery: all \d+ lookups answered/);
            const r = await robot.stop('SIGTERM');
            assert.equal(r.code, 0, robot.log.text());
            assert.equal(robot.log.count(/ E motor_hat: .*trying again in/), 1, robot.log.text());
        });
    });
});
