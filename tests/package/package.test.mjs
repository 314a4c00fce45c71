// What puts robotd on a robot: every board's default config, the systemd unit
// (systemd-analyze verify), make install's paths, the .deb installed and purged on this machine
// with apt, and the BusyBox init script's supervise loop respawning a killed robotd.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync, symlinkSync, statSync,
    lstatSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { top, robotdBin, tempDir, startPeer, peerConfig, writeConfig } from '../integration/lib.mjs';

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', cwd: top, ...opts });
const boards = readdirSync(join(top, 'board')).filter((b) => existsSync(join(top, 'board', b, 'robotd.conf')));
const unitPath = join(top, 'board', 'rootfs', 'robotd.service');
const initScript = join(top, 'board', 'rootfs', 'S90robotd');
const has = (cmd) => run('sh', ['-c', `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid && process.getuid() === 0;

// Every file and directory under `dir`, relative, sorted (directories end in /).
function tree(dir) {
    const out = [];
    const walk = (d) => {
        for (const name of readdirSync(d).sort()) {
            const p = join(d, name);
            const dirent = lstatSync(p);
            out.push(relative(dir, p) + (dirent.isDirectory() ? '/' : ''));
            if (dirent.isDirectory()) walk(p);
        }
    };
    walk(dir);
    return out.sort();
}

function make(args) {
    const r = run('make', ['-s', '--no-print-directory', ...args]);
    assert.equal(r.status, 0, `make ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
}

describe('board configs', () => {
    test('there is one for each Raspberry Pi named in the issue, the virtual board and rootfs', () => {
        for (const b of ['rpi4', 'rpizero2w', 'rpi3', 'qemu-aarch64-virt', 'rootfs']) assert.ok(boards.includes(b), b);
    });
    for (const b of boards) {
        test(`board/${b}/robotd.conf passes --check-config with no warning`, () => {
            const path = join(top, 'board', b, 'robotd.conf');
            const r = run(robotdBin, ['--check-config', '--config', path]);
            assert.equal(r.status, 0, r.stderr);
            // Nothing but the verdict: no unknown key, no "not acted on", no unused key.
            assert.equal(r.stderr.trim(), 'robotd: config OK');
            const effective = new Map(r.stdout.split('\n').filter((l) => l.includes('='))
                .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]));
            assert.equal(effective.get('state_file'), '/var/lib/robotd/state.json');
            assert.equal(effective.get('pin_map'), b === 'rootfs' ? 'auto' : b);
            // Placeholders the owner must replace, each said so in the file.
            const text = readFileSync(path, 'utf8');
            assert.match(text, /^robot_id=YOUR_ROBOT_ID$/m);
            assert.match(text, /PLACEHOLDERS/);
            assert.match(text, /^#watchdog_device=\/dev\/watchdog$/m);
        });
    }
    test('the Pi 4 and 3 speak on the headphone jack; the virtual board uses vivid and snd-aloop', () => {
        for (const b of ['rpi4', 'rpi3'])
            assert.match(readFileSync(join(top, 'board', b, 'robotd.conf'), 'utf8'), /^speaker_device=plughw:CARD=Headphones$/m);
        const vm = readFileSync(join(top, 'board', 'qemu-aarch64-virt', 'robotd.conf'), 'utf8');
        assert.match(vm, /^camera_device=\/dev\/video0$/m);
        assert.match(vm, /^mic_device=Loopback,1$/m);
    });
});

describe('systemd unit', () => {
    const unit = readFileSync(unitPath, 'utf8');
    test('names the options the issue asks for', () => {
        for (const line of ['Type=notify', 'NotifyAccess=main',
            'ExecStart=/usr/bin/robotd --config /etc/robotd/robotd.conf', 'ExecReload=/bin/kill -HUP $MAINPID',
            'WatchdogSec=30', 'Restart=always', 'RestartSec=2', 'User=robotd', 'Group=robotd',
            'SupplementaryGroups=video audio gpio i2c dialout', 'StateDirectory=robotd',
            'ConfigurationDirectory=robotd', 'ProtectSystem=strict', 'DevicePolicy=closed',
            'DeviceAllow=char-video4linux rw', 'DeviceAllow=char-alsa rw', 'DeviceAllow=char-gpiochip rw',
            'DeviceAllow=char-i2c rw', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK'])
            assert.ok(unit.split('\n').includes(line), line);
        // PrivateDevices= would hide the devices robotd drives.
        assert.doesNotMatch(unit, /^PrivateDevices=/m);
        // Each option has a comment: the line before every directive of [Service] is a comment
        // or another directive of the same commented group.
        const lines = unit.split('\n');
        const service = lines.slice(lines.indexOf('[Service]') + 1, lines.indexOf('[Install]'));
        for (let i = 0; i < service.length; i++) {
            if (!/^[A-Za-z]+=/.test(service[i])) continue;
            let j = i - 1;
            while (j >= 0 && /^[A-Za-z]+=/.test(service[j])) j--;
            assert.ok(j >= 0 && service[j].startsWith('#'), `no comment above ${service[i]}`);
        }
    });
    test('passes systemd-analyze verify', (t) => {
        if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed (Debian package systemd)');
        // verify insists that ExecStart's binary exists: outside an install it points at the
        // built robotd; every other line is the unit's own (the installed unit is verified
        // unchanged by the .deb test below).
        const dir = tempDir('robotd-unit-');
        const copy = unit.replace('ExecStart=/usr/bin/robotd ', `ExecStart=${robotdBin} `);
        assert.notEqual(copy, unit);
        writeFileSync(join(dir, 'robotd.service'), copy);
        const r = run('systemd-analyze', ['verify', join(dir, 'robotd.service')]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.equal((r.stdout + r.stderr).trim(), '');
    });
    test('a misspelt option fails verify (so the check above can fail)', (t) => {
        if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed');
        const dir = tempDir('robotd-unit-');
        writeFileSync(join(dir, 'robotd.service'), unit.replace(`ExecStart=/usr/bin/robotd `, `ExecStart=${robotdBin} `)
            .replace('ExecStart=', 'ExecStrat='));
        const r = run('systemd-analyze', ['verify', join(dir, 'robotd.service')]);
        assert.notEqual(r.status, 0);
    });
});

describe('make install', () => {
    test('puts exactly the documented paths under DESTDIR, and keeps an existing config', () => {
        const dest = tempDir('robotd-destdir-');
        make(['install', `DESTDIR=${dest}`]);
        assert.deepEqual(tree(dest), ['etc/', 'etc/robotd/', 'etc/robotd/robotd.conf', 'lib/', 'lib/systemd/',
            'lib/systemd/system/', 'lib/systemd/system/robotd.service', 'usr/', 'usr/bin/', 'usr/bin/robotd',
            'var/', 'var/lib/', 'var/lib/robotd/']);
        assert.equal(readFileSync(join(dest, 'lib/systemd/system/robotd.service'), 'utf8'), readFileSync(unitPath, 'utf8'));
        assert.equal(readFileSync(join(dest, 'etc/robotd/robotd.conf'), 'utf8'),
            readFileSync(join(top, 'board/rootfs/robotd.conf'), 'utf8'));
        assert.equal(statSync(join(dest, 'usr/bin/robotd')).mode & 0o777, 0o755);
        // The owner's edit survives a second install, even for another board.
        writeFileSync(join(dest, 'etc/robotd/robotd.conf'), '# mine\n');
        const r = make(['install', `DESTDIR=${dest}`, 'BOARD=rpi4']);
        assert.match(r.stdout, /kept .*robotd\.conf/);
        assert.equal(readFileSync(join(dest, 'etc/robotd/robotd.conf'), 'utf8'), '# mine\n');
    });
    test('BOARD picks the board\'s config; PREFIX=/usr/local moves the binary and the unit follows', () => {
        const dest = tempDir('robotd-destdir-');
        make(['install', `DESTDIR=${dest}`, 'BOARD=rpi4', 'PREFIX=/usr/local']);
        assert.equal(readFileSync(join(dest, 'etc/robotd/robotd.conf'), 'utf8'),
            readFileSync(join(top, 'board/rpi4/robotd.conf'), 'utf8'));
        assert.ok(existsSync(join(dest, 'usr/local/bin/robotd')));
        assert.match(readFileSync(join(dest, 'usr/local/lib/systemd/system/robotd.service'), 'utf8'),
            /^ExecStart=\/usr\/local\/bin\/robotd --config \/etc\/robotd\/robotd.conf$/m);
    });
    test('INIT=busybox installs the init script instead of the unit', () => {
        const dest = tempDir('robotd-destdir-');
        make(['install', `DESTDIR=${dest}`, 'INIT=busybox']);
        assert.ok(tree(dest).includes('etc/init.d/S90robotd'));
        assert.ok(!tree(dest).some((p) => p.includes('systemd')));
    });
    test('an unknown BOARD is refused', () => {
        const r = run('make', ['-s', 'install', `DESTDIR=${tempDir()}`, 'BOARD=nosuchboard']);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /unknown BOARD=nosuchboard/);
    });
});

// Hashes of what a package install may touch, to prove a purge leaves nothing behind.
function systemSnapshot() {
    const files = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow'];
    const snap = {};
    for (const f of files) snap[f] = existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : null;
    for (const d of ['/etc/systemd/system/multi-user.target.wants'])
        snap[d] = existsSync(d) ? readdirSync(d).sort().join(' ') : null;
    for (const p of ['/etc/robotd', '/var/lib/robotd', '/usr/bin/robotd', '/lib/systemd/system/robotd.service'])
        snap[p] = existsSync(p);
    return snap;
}

describe('make deb', () => {
    let deb;
    before(() => {
        const r = make(['deb']);
        deb = join(top, r.stdout.trim().split('\n').pop());
    });
    test('builds build/deb/robotd_<version>_<arch>.deb whose Depends name the shared libraries robotd links', () => {
        const version = /ROBOTD_VERSION "(.*)"/.exec(readFileSync(join(top, 'src/core/version.h'), 'utf8'))[1];
        const arch = run('dpkg', ['--print-architecture']).stdout.trim();
        assert.equal(deb, join(top, 'build', 'deb', `robotd_${version}_${arch}.deb`));
        const field = (f) => run('dpkg-deb', ['-f', deb, f]).stdout.trim();
        const depends = field('Depends');
        for (const p of ['libmbedtls14', 'libmbedx509-1', 'libmbedcrypto7', 'libcjson1', 'libinih1', 'libasound2',
            'libgpiod2', 'adduser'])
            assert.match(depends, new RegExp(`(^|, )${p}( |,|$)`), `${p} in ${depends}`);
        // lws and FFmpeg are linked statically: no Debian package of theirs.
        assert.doesNotMatch(depends, /libwebsockets|libav|libsw/);
        assert.match(field('Recommends'), /espeak-ng/);
        const conffiles = run('dpkg-deb', ['--info', deb, 'conffiles']).stdout.trim();
        assert.equal(conffiles, '/etc/robotd/robotd.conf');
        const files = run('dpkg-deb', ['-c', deb]).stdout;
        for (const p of ['./usr/bin/robotd', './lib/systemd/system/robotd.service', './etc/robotd/robotd.conf'])
            assert.ok(files.split('\n').some((l) => l.endsWith(' ' + p)), p);
    });
    for (const [cross, debArch, strip] of [['aarch64', 'arm64', 'aarch64-linux-gnu-strip'],
        ['armhf', 'armhf', 'arm-linux-gnueabihf-strip']]) {
        test(`the ${debArch} .deb from the CROSS=${cross} build names the target's library packages`, (t) => {
            const bin = join(top, 'build', cross, 'robotd');
            if (!existsSync(bin)) return t.skip(`no ${relative(top, bin)} (make CROSS=${cross}; the cross suite builds it)`);
            if (!has(strip)) return t.skip(`no ${strip}`);
            const out = tempDir('robotd-deb-');
            const r = run(join(top, 'board/rootfs/make-deb.sh'), [debArch, bin, join(top, 'board/rpi4/robotd.conf'), strip, out]);
            assert.equal(r.status, 0, r.stderr);
            const built = r.stdout.trim();
            assert.match(built, new RegExp(`robotd_.*_${debArch}\\.deb$`));
            assert.equal(run('dpkg-deb', ['-f', built, 'Architecture']).stdout.trim(), debArch);
            const depends = run('dpkg-deb', ['-f', built, 'Depends']).stdout;
            for (const p of ['libmbedtls14', 'libcjson1', 'libinih1', 'libasound2', 'libgpiod2'])
                assert.match(depends, new RegExp(`(^|, )${p} `), `${p} in ${depends}`);
        });
    }
    test('apt installs it here offline; the installed robotd passes --check-config; a purge leaves nothing', (t) => {
        if (!isRoot) return t.skip('installing a package needs root');
        if (!has('apt-get')) return t.skip('no apt-get');
        if (run('dpkg-query', ['-W', '-f=${Status}', 'robotd']).stdout.includes('installed'))
            return t.skip('a robotd package is installed on this machine already: left alone');
        const before = systemSnapshot();
        const apt = (args) => run('apt-get', ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', ...args],
            { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        // Every Depends is here already: robotd is all apt would install, nothing to fetch.
        // (apt's --no-download cannot install a local .deb: it would say so directly.)
        const sim = apt(['-s', 'install', deb]);
        assert.equal(sim.status, 0, sim.stdout + sim.stderr);
        assert.deepEqual(sim.stdout.split('\n').filter((l) => l.startsWith('Inst ')).map((l) => l.split(' ')[1]),
            ['robotd']);
        const inst = apt(['install', deb]);
        let rm, purge;
        try {
            assert.equal(inst.status, 0, inst.stdout + inst.stderr);
            // The robotd user with the device groups, the groups made when missing.
            const id = run('id', ['-nG', 'robotd']);
            assert.equal(id.status, 0, id.stderr);
            for (const g of ['robotd', 'video', 'audio', 'gpio', 'i2c', 'dialout'])
                assert.ok(id.stdout.trim().split(' ').includes(g), `robotd in group ${g}: ${id.stdout}`);
            assert.equal(run('stat', ['-c', '%U:%G %a', '/var/lib/robotd']).stdout.trim(), 'robotd:robotd 750');
            // The installed binary, as the robotd user, on the installed config.
            const cc = run('runuser', ['-u', 'robotd', '--', '/usr/bin/robotd', '--check-config',
                '--config', '/etc/robotd/robotd.conf']);
            assert.equal(cc.status, 0, cc.stderr);
            assert.equal(cc.stderr.trim(), 'robotd: config OK');
            // The installed unit, unchanged, now that /usr/bin/robotd exists.
            if (has('systemd-analyze')) {
                const v = run('systemd-analyze', ['verify', '/lib/systemd/system/robotd.service']);
                assert.equal(v.status, 0, v.stdout + v.stderr);
            }
        } finally {
            // Removed whatever happened above; the results are checked after.
            rm = apt(['remove', 'robotd']);
            purge = apt(['purge', 'robotd']);
        }
        assert.equal(rm.status, 0, rm.stdout + rm.stderr);
        assert.doesNotMatch(rm.stdout + rm.stderr, /warning|error/i);
        assert.equal(purge.status, 0, purge.stdout + purge.stderr);
        assert.deepEqual(systemSnapshot(), before);
    });
});

// Whether `pid` runs (a zombie, awaiting its reaping, has ended).
function alive(pid) {
    try {
        return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
        return false;
    }
}

async function until(what, pred, timeoutMs = 20000) {
    const t0 = Date.now();
    for (;;) {
        const v = pred();
        if (v) return v;
        if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

describe('BusyBox init script', () => {
    test('passes busybox sh -n', (t) => {
        if (!has('busybox')) return t.skip('busybox is not installed');
        const r = run('busybox', ['sh', '-n', initScript]);
        assert.equal(r.status, 0, r.stderr);
    });

    describe('its supervise loop, on BusyBox applets only, with the real robotd', { skip: !has('busybox') && 'busybox is not installed' }, () => {
        let peer, dir, env, bb;
        const rd = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim() : '');
        const script = (cmd) => run(join(bb, 'sh'), [initScript, cmd], { env, timeout: 60000 });
        before(async () => {
            peer = await startPeer();
            dir = tempDir('robotd-busybox-');
            // A PATH of BusyBox applets only, as on a board: its sh, start-stop-daemon, kill, sleep.
            bb = join(dir, 'bin');
            mkdirSync(bb);
            const busybox = run('sh', ['-c', 'command -v busybox']).stdout.trim();
            for (const applet of run(busybox, ['--list']).stdout.split('\n').filter(Boolean))
                symlinkSync(busybox, join(bb, applet));
            const config = writeConfig(peerConfig(peer, { camera: { no_camera: 'true', no_mic: 'true' } }), dir);
            env = { PATH: bb, ROBOTD_BIN: robotdBin, ROBOTD_CONFIG: config, ROBOTD_ARGS: '--stderr -v',
                ROBOTD_USER: '', ROBOTD_RUNDIR: join(dir, 'run'), ROBOTD_STATEDIR: join(dir, 'state'),
                ROBOTD_LOG: join(dir, 'robotd.log'), ROBOTD_SH: join(bb, 'sh') };
        });
        after(async () => {
            if (env) script('stop');
            await peer?.stop();
        });

        test('starts robotd, respawns it after SIGKILL, reloads on reload, and stops it cleanly', async () => {
            const seq0 = await peer.seq();
            const r = script('start');
            assert.equal(r.status, 0, r.stdout + r.stderr);
            const pid1 = Number(await until('robotd.pid', () => rd('run/robotd.pid')));
            const loop = Number(rd('run/robotd-supervise.pid'));
            assert.ok(alive(pid1) && alive(loop));
            await peer.waitEvent('control', 'robot_id', seq0, { timeoutMs: 30000 });
            assert.match(script('status').stdout, new RegExp(`running \\(pid ${pid1}\\)`));
            // Started twice: still one loop.
            script('start');
            assert.equal(Number(rd('run/robotd-supervise.pid')), loop);

            const seq1 = await peer.seq();
            process.kill(pid1, 'SIGKILL');
            const pid2 = Number(await until('a new robotd', () => {
                const p = Number(rd('run/robotd.pid'));
                return p && p !== pid1 && alive(p) ? p : 0;
            }));
            await peer.waitEvent('control', 'robot_id', seq1, { timeoutMs: 30000 });
            assert.match(rd('robotd.log'), new RegExp(`robotd \\(pid ${pid1}\\) ended with status 137; starting it again`));

            assert.equal(script('reload').status, 0);
            await until('the reload', () => /SIGHUP: re-reading/.test(rd('robotd.log')));

            const stop = script('stop');
            assert.equal(stop.status, 0, stop.stdout + stop.stderr);
            assert.ok(!alive(loop), 'the loop is gone');
            assert.ok(!alive(pid2), 'robotd is gone');
            assert.equal(rd('run/robotd.pid'), '');
            assert.equal(rd('run/robotd-supervise.pid'), '');
            // SIGTERM, not SIGKILL: robotd said it stopped, and nothing came back.
            assert.match(rd('robotd.log'), / I robotd: stopped/);
            assert.doesNotMatch(rd('robotd.log'), new RegExp(`robotd \\(pid ${pid2}\\) ended`));
            assert.equal(script('status').status, 3);
        });
    });
});
