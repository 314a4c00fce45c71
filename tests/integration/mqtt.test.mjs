// The mqtt_pub driver against a real broker: Debian's mosquitto, started here on a free
// loopback port with its own config in a temp dir, and mosquitto_sub as the robot that
// listens. The peer sends the commands on the control socket, as the site would.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import {
    startPeer, peerConfig, iniText, writeConfig, startRobotd, runRobotd, tempDir,
    LineWatch, exited,
} from './lib.mjs';

const topic = 'LR/command';
const sbin = (name) => [`/usr/sbin/${name}`, `/usr/bin/${name}`].find((p) => existsSync(p)) || name;

function freePort() {
    return new Promise((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

// A mosquitto on 127.0.0.1:`port`, logging everything to its stderr. `restart()` starts it
// again on the same port and directory (its persisted sessions with it).
async function startBroker({ port, dir = tempDir('robotd-mqtt-'), users = null, tls = null } = {}) {
    port ??= await freePort();
    const lines = [
        `listener ${port} 127.0.0.1`,
        // As root, mosquitto would switch to its own user, who cannot read this temp dir.
        `user ${userInfo().username}`,
        'log_dest stderr', 'log_type all',
        // Sessions survive a restart, even after SIGKILL: saved at every change.
        'persistence true', `persistence_location ${dir}/`, 'autosave_interval 1', 'autosave_on_changes true',
        // A subscriber's persistent session keeps what came while it was away, QoS 0 too.
        'queue_qos0_messages true',
    ];
    if (users) {
        const pw = join(dir, 'passwords');
        writeFileSync(pw, '');
        for (const [user, password] of Object.entries(users))
            execFileSync(sbin('mosquitto_passwd'), ['-b', pw, user, password]);
        lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
        lines.push('allow_anonymous true');
    }
    if (tls) lines.push(`cafile ${tls.ca}`, `certfile ${tls.cert}`, `keyfile ${tls.key}`);
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    const broker = { port, dir };
    broker.start = async () => {
        const child = spawn(sbin('mosquitto'), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
        broker.child = child;
        broker.log = new LineWatch(child.stderr);
        broker.done = exited(child);
        try {
            await broker.log.wait(/mosquitto version .* running/, { timeoutMs: 10000 });
        } catch (e) {
            child.kill('SIGKILL');
            throw e;
        }
    };
    broker.stop = async (signal = 'SIGTERM') => {
        if (broker.child.exitCode === null && broker.child.signalCode === null) broker.child.kill(signal);
        await broker.done;
    };
    await broker.start();
    return broker;
}

// mosquitto_sub on the topic (QoS 1), as a robot would listen. `persistent`: a session the
// broker keeps while it is away (it reconnects by itself). `messages` are the payloads, in
// the order they came.
async function startSubscriber(broker, { id = 'robot-sub', persistent = false, user = null, password = null,
    tls = null } = {}) {
    const args = ['-d', '-v', '-h', tls ? 'localhost' : '127.0.0.1', '-p', String(broker.port),
        '-t', topic, '-q', '1', '-i', id];
    if (persistent) args.push('-c');
    if (user) args.push('-u', user, '-P', password);
    if (tls) args.push('--cafile', tls.ca);
    // Line-buffered: mosquitto_sub flushes its messages but not its debug lines (SUBACK).
    const child = spawn('stdbuf', ['-oL', sbin('mosquitto_sub'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new LineWatch(child.stdout);
    const sub = {
        child, out,
        messages: () => out.lines.filter((l) => l.startsWith(topic + ' ')).map((l) => l.slice(topic.length + 1)),
        // Resolves once `n` messages have come (after those counted in `from`).
        waitCount: async (n, timeoutMs = 15000) => {
            const end = Date.now() + timeoutMs;
            while (sub.messages().length < n) {
                const left = end - Date.now();
                if (left <= 0) throw new Error(`only ${JSON.stringify(sub.messages())} within ${timeoutMs} ms`);
                await out.wait(new RegExp(`^${topic} `), { from: out.lines.length, timeoutMs: left }).catch(() => {});
            }
            return sub.messages();
        },
        // SIGKILL: mosquitto_sub's own SIGTERM handler can deadlock inside libmosquitto (seen:
        // blocked in a futex with SIGTERM masked), and the subscriber is not what is tested.
        stop: async () => { child.kill('SIGKILL'); await exited(child); },
    };
    await out.wait(/received SUBACK/, { timeoutMs: 10000 });
    return sub;
}

// A robotd config (every server the peer) driving type mqtt_pub on `broker`.
function mqttConfig(peer, broker, mqtt = {}, robot = {}) {
    return peerConfig(peer, { robot: { type: 'mqtt_pub', straight_delay: 0.3, ...robot },
        camera: { no_camera: 'true', no_mic: 'true' } }) + '\n' +
        iniText({ mqtt_pub: { host: '127.0.0.1', port: broker.port, topic, ...mqtt } });
}

async function robotdOn(peer, text) {
    const since = await peer.seq();
    const r = startRobotd(writeConfig(text));
    try {
        await peer.waitEvent('control', 'robot_id', since);
    } catch (e) {
        await r.stop();
        throw e;
    }
    return r;
}

const command = (peer, cmd) => peer.command({ command: cmd, key_position: 'down', user: 'ann', anonymous: false });

describe('mqtt_pub', () => {
    let peer;
    before(async () => { peer = await startPeer(); });
    after(async () => { await peer.stop(); });

    test('--check-config passes on the reference [mqtt_pub] section, and says what is wrong in a bad one', async () => {
        const dir = tempDir();
        // The reference sample's section as it is, trailing spaces after the host included.
        const reference = '[robot]\nowner = o\nrobot_id = 42\ncamera_id = 43\ntype = mqtt_pub\n\n' +
            '[mqtt_pub]\n# If you are using MQTT you need to supply the host IP address, port, and Topic\n' +
            'host = YourBrokerID  \nport = 1883\ntopic = LR/command\n';
        const ok = await runRobotd(['--check-config', '--config', writeConfig(reference, dir)]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stderr, /config OK/);
        assert.match(ok.stdout, /\[mqtt_pub\]\nhost=YourBrokerID\nport=1883\ntopic=LR\/command\n/);
        assert.doesNotMatch(ok.stderr, /mqtt_pub/, 'no key of the section is unknown or unused');

        const secret = 'pw-5f1e9a';
        const withPassword = reference + `user = bot\npassword = ${secret}\ntls = on\nclient_id = my-robot\nkeepalive = 30\n`;
        const masked = await runRobotd(['--check-config', '--config', writeConfig(withPassword, tempDir())]);
        assert.equal(masked.code, 0, masked.stderr);
        assert.match(masked.stdout, /user=bot\npassword=\*\*\*\*\ntls=true\nclient_id=my-robot\nkeepalive=30\n/);
        assert.ok(!masked.stdout.includes(secret) && !masked.stderr.includes(secret));

        const bad = reference.replace('port = 1883', 'port = 0').replace('topic = LR/command', 'topic = LR/#') +
            `client_id = ${'x'.repeat(24)}\nkeepalive = 2\n`;
        const r = await runRobotd(['--check-config', '--config', writeConfig(bad, tempDir())]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /robotd\.conf:10: .*\[mqtt_pub\] port: expected a port number 1\.\.65535, got '0'/);
        assert.match(r.stderr, /robotd\.conf:11: .*\[mqtt_pub\] topic: expected .*without '\+', '#'/);
        assert.match(r.stderr, /robotd\.conf:12: .*\[mqtt_pub\] client_id: expected 1\.\.23/);
        assert.match(r.stderr, /robotd\.conf:13: .*\[mqtt_pub\] keepalive: expected/);
    });

    test('commands arrive on the topic as the subscriber sees them, each after a stop for the new connection', async () => {
        const broker = await startBroker();
        const sub = await startSubscriber(broker);
        const r = await robotdOn(peer, mqttConfig(peer, broker));
        try {
            await r.wait(/ I mqtt: connected to broker 127\.0\.0\.1:\d+/);
            assert.deepEqual(await sub.waitCount(1), ['stop'], 'a new connection starts with a stop');
            await command(peer, 'F');
            await sub.waitCount(3);  // F, then the dead-man's stop after straight_delay
            await command(peer, 'LED_On');  // not a motion: published as received
            await sub.waitCount(4);
            assert.deepEqual(sub.messages(), ['stop', 'F', 'stop', 'LED_On']);
        } finally {
            const res = await r.stop();
            assert.equal(res.code, 0);
        }
        // The exit stop is published before robotd closes the connection.
        assert.deepEqual((await sub.waitCount(5)).at(-1), 'stop');
        assert.match(broker.log.text(), /Client robotd-robot1 closed its connection/);
        await sub.stop();
        await broker.stop();
    });

    test('the broker killed and restarted: robotd reconnects, and a stop sent meanwhile comes before anything else', async () => {
        const broker = await startBroker();
        // A persistent session: the broker keeps what comes for the subscriber while it is
        // reconnecting after the restart, so the order it sees is the order published.
        const sub = await startSubscriber(broker, { persistent: true, id: 'robot-sub-restart' });
        await broker.log.wait(/Saving in-memory database/);  // the subscription survives SIGKILL
        const r = await robotdOn(peer, mqttConfig(peer, broker, {}, { straight_delay: 5 }));
        try {
            await r.wait(/ I mqtt: connected to broker/);
            await sub.waitCount(1);
            await command(peer, 'F');
            assert.deepEqual(await sub.waitCount(2), ['stop', 'F']);

            await broker.stop('SIGKILL');
            await r.wait(/ W mqtt: broker 127\.0\.0\.1:\d+ went away \(connection closed\)/);
            const down = r.log.lines.length;
            await command(peer, 'B');  // dropped: nothing is queued for later but a stop
            await r.wait(/ W mqtt: command dropped \(broker not connected\)/, { from: down });
            await command(peer, 'stop');
            await r.wait(/ W mqtt: stop held \(broker not connected\)/, { from: down });

            await broker.start();
            await r.wait(/ I mqtt: broker 127\.0\.0\.1:\d+ is back \(after \d+ attempts? over .*\); publishing again/,
                { timeoutMs: 30000 });
            await r.wait(/ I mqtt: held stop published after/);
            await command(peer, 'F');
            const got = await sub.waitCount(4);
            assert.deepEqual(got.slice(2), ['stop', 'F'], 'the held stop first, then what came after it');
            assert.equal(r.log.count(/ W mqtt: broker .* went away/), 1, 'one line when it went away');
            assert.equal(r.log.count(/ I mqtt: broker .* is back/), 1, 'one line when it came back:\n' +
                r.log.lines.filter((l) => / mqtt: /.test(l)).join('\n'));
        } finally {
            const res = await r.stop();
            assert.equal(res.code, 0);
            await sub.stop();
            await broker.stop();
        }
    });

    test('a broker that stops answering is given up after keepalive; a stop it never acknowledged goes first again', async () => {
        const broker = await startBroker();
        const sub = await startSubscriber(broker);
        const r = await robotdOn(peer, mqttConfig(peer, broker, { keepalive: 5 }, { straight_delay: 5 }));
        try {
            await r.wait(/ I mqtt: connected to broker/);
            await sub.waitCount(1);
            const before = sub.messages().length;
            broker.child.kill('SIGSTOP');  // the connection stays open; nothing answers on it
            await command(peer, 'stop');  // into the socket, never acknowledged
            await r.wait(/ W mqtt: broker 127\.0\.0\.1:\d+ went away/, { timeoutMs: 20000 });
            const down = r.log.lines.length;
            await command(peer, 'F');
            await r.wait(/ W mqtt: command dropped \(broker not connected\)/, { from: down });
            broker.child.kill('SIGCONT');
            await r.wait(/ I mqtt: broker 127\.0\.0\.1:\d+ is back/, { timeoutMs: 30000 });
            await r.wait(/ I mqtt: held stop published after/, { from: down });
            await command(peer, 'B');
            for (let got = []; !got.includes('B');) got = (await sub.waitCount(sub.messages().length + 1)).slice(before);
            const after = sub.messages().slice(before);
            const b = after.indexOf('B');
            assert.ok(b >= 1 && after.slice(0, b).every((m) => m === 'stop'),
                `only stops before the first command after the freeze: ${JSON.stringify(after)}`);
            assert.equal(r.log.count(/ W mqtt: broker .* went away/), 1);
        } finally {
            await r.stop();
            await sub.stop();
            await broker.stop();
        }
    });

    test('user and password: accepted by a broker that checks them; the password never reaches the log', async () => {
        const password = 'hunter2-mqtt';
        const broker = await startBroker({ users: { robot: password, sub: 'subpw' } });
        const sub = await startSubscriber(broker, { user: 'sub', password: 'subpw' });
        const r = await robotdOn(peer, mqttConfig(peer, broker, { user: 'robot', password }));
        try {
            await r.wait(/ I mqtt: connected to broker/);
            await command(peer, 'L');
            assert.deepEqual((await sub.waitCount(2)).slice(0, 2), ['stop', 'L']);
            assert.match(broker.log.text(), /New client connected .* as robotd-robot1 .*u'robot'/);
        } finally {
            await r.stop();
            await sub.stop();
            await broker.stop();
        }
        assert.ok(!r.log.text().includes(password), 'the password is masked in the log');
    });

    test('a wrong password is one clear error line, and robotd keeps trying', async () => {
        const broker = await startBroker({ users: { robot: 'right' } });
        const r = await robotdOn(peer, mqttConfig(peer, broker, { user: 'robot', password: 'wrong' }));
        try {
            await r.wait(/ E mqtt: broker 127\.0\.0\.1:\d+ refused the connection \(not authorized\): check \[mqtt_pub\] user, password/);
            // Three refusals at the broker: robotd tried again, and said nothing more.
            for (let seen = 0; seen < 3;) {
                await broker.log.wait(/disconnected, not authorised/, { from: broker.log.lines.length, timeoutMs: 15000 });
                seen = broker.log.count(/disconnected, not authorised/);
            }
            assert.equal(r.log.count(/ [EW] mqtt: /), 1, r.log.text());
            assert.equal(r.log.count(/ E: /), 0, 'lws logs nothing of its own about it');
            await command(peer, 'F');
            await r.wait(/ W mqtt: command dropped \(broker not connected\)/);
        } finally {
            await r.stop();
            await broker.stop();
        }
    });

    test('TLS: the broker is verified against [misc] ca_file; a broker the CA did not sign is refused', async () => {
        const files = peer.info;
        const tls = { ca: files.ca_file, cert: files.cert_file, key: files.key_file };
        const broker = await startBroker({ tls });
        const sub = await startSubscriber(broker, { tls });
        const r = await robotdOn(peer, mqttConfig(peer, broker, { host: 'localhost', tls: 'on' }));
        try {
            await r.wait(/ I mqtt: connected to broker localhost:\d+/).catch((e) => {
                throw new Error(`${e.message}\n${r.log.lines.filter((l) => /mqtt|E:/.test(l)).join('\n')}\n${broker.log.text()}`);
            });
            await command(peer, 'F');
            assert.deepEqual((await sub.waitCount(2)).slice(0, 2), ['stop', 'F']);
        } finally {
            await r.stop();
            await sub.stop();
        }
        // The same broker, but robotd trusts another CA.
        const text = mqttConfig(peer, broker, { host: 'localhost', tls: 'on' })
            .replace(`ca_file = ${files.ca_file}`, `ca_file = ${files.wrong_ca_file}`);
        const wrong = await robotdOn(peer, text);
        try {
            await wrong.wait(/ W mqtt: cannot reach broker localhost:\d+ \(.*\); trying again/);
            assert.equal(wrong.log.count(/ I mqtt: connected/), 0);
        } finally {
            await wrong.stop();
            await broker.stop();
        }
    });
});

