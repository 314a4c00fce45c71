// The GPIO drivers and charge sensing as a process on a host without GPIO chips:
// --check-config on the reference sample's sections for each type, a pin the board lacks, and
// a robot whose chip or charge line is missing that keeps running and says so once.
// (The real kernel drivers are proven on the virtual board, tests/vm.)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, peerConfig, writeConfig, startRobotd, runRobotd } from './lib.mjs';

// The reference sample's sections (letsrobot.sample.conf), values unchanged.
const sampleSections = `
[motor_hat]
chargeCheckInterval=5
chargeIONumber = 17

[l298n]
StepPinForward=12,16
StepPinBackward=11,15
StepPinLeft=15,12
StepPinRight=11,16
sleeptime=0.2
rotatetimes=5

[motozero]
MotorDelay = 0.3
Motor1A = 24
Motor1B = 27
Motor1Enable = 5
Motor2A = 6
Motor2B = 22
Motor2Enable = 17
Motor3A = 23
Motor3B = 16
Motor3Enable = 12
Motor4A = 13
Motor4B = 18
Motor4Enable = 25
`;

const robotSection = (type) => `[robot]\nrobot_id = r\ncamera_id = c\ntype = ${type}\n`;

describe('--check-config', () => {
    for (const type of ['l298n', 'motozero', 'mdd10', 'gpio', 'l298n,gpio']) {
        test(`passes on the reference sections with type = ${type}, on every built-in board`, async () => {
            const gpio = '[gpio]\nLED = 4=1\n';
            for (const board of ['', 'rpi4', 'rpi3', 'rpizero2w', 'qemu-aarch64-virt']) {
                const pinMap = board ? `pin_map = ${board}\n` : '';
                const r = await runRobotd(['--check-config', '--config',
                    writeConfig(robotSection(type) + sampleSections + gpio + pinMap)]);
                assert.equal(r.code, 0, `${board}: ${r.stderr}`);
                assert.match(r.stderr, /config OK/);
                assert.match(r.stdout, /^StepPinForward=12,16$/m);
                assert.match(r.stdout, /^Motor4Enable=25$/m);
                assert.doesNotMatch(r.stderr, /not used by this version.*(l298n|motozero|chargeIONumber)/);
            }
        });
    }

    test('names a pin the board lacks, a missing key, and exits 2', async () => {
        const bad = await runRobotd(['--check-config', '--config', writeConfig(robotSection('l298n') +
            sampleSections + '[l298n]\nStepPinLeft=6,12\n[gpio]\npin_map = rpi4\n')]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /error: l298n: BOARD pin 6 is not a GPIO in pin map rpi4 \(its BOARD pins: 3,5,7,/);
        const missing = await runRobotd(['--check-config', '--config',
            writeConfig(robotSection('motozero') + '[motozero]\nMotor1A = 24\n')]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /error: \[motozero\] Motor1B is not set/);
        const range = await runRobotd(['--check-config', '--config',
            writeConfig(robotSection('l298n') + sampleSections + '[l298n]\nsleeptime = 0\n')]);
        assert.equal(range.code, 2);
        assert.match(range.stderr, /robotd\.conf:\d+: error: \[l298n\] sleeptime: expected a number of seconds 0\.001\.\.60, got '0'/);
    });
});

describe('without the hardware', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    test('a missing chip and charge line: one line each, the robot runs and exits cleanly', async () => {
        const conf = peerConfig(peer, { robot: { type: 'gpio' } }) +
            '\n[gpio]\nchip = robotd-no-such-chip\nF = 3=1 for 0.2\n' +
            '\n[charge]\nline = robotd-no-such-chip:5\n';
        const robot = startRobotd(writeConfig(conf));
        try {
            await robot.wait(/ I discovery: all \d+ lookups answered/);
            await robot.wait(/ E gpio: GPIO robotd-no-such-chip line 3: no GPIO chip named, labelled or at 'robotd-no-such-chip' \(see gpiodetect\); trying again in /);
            await robot.wait(/ E charge: charge input robotd-no-such-chip line 5: no GPIO chip named, labelled or at 'robotd-no-such-chip' \(see gpiodetect\); charge sensing off/);
            await peer.waitEvent('app', 'send_video_status');
        } finally {
            const r = await robot.stop();
            assert.equal(r.code, 0);
        }
        assert.equal(robot.log.count(/ E charge: /), 1);
        assert.equal(robot.log.count(/ E gpio: .*trying again in/), 1, 'the retries are quiet after the first');
        assert.doesNotMatch(robot.log.text(), /charge_state/);
    });

    test('a pin map that cannot be read stops robotd at start, naming it', async () => {
        const conf = peerConfig(peer, { robot: { type: 'mdd10' } }) + '\n[gpio]\npin_map = /nonexistent/pins\n';
        const robot = startRobotd(writeConfig(conf));
        const r = await robot.done;
        assert.equal(r.code, 2, robot.log.text());
        assert.match(robot.log.text(), /mdd10: pin_map \/nonexistent\/pins: No such file or directory/);
    });
});
