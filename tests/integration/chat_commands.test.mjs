// Chat commands by rank (owner, moderator, everyone, an anonymous sender carrying the
// owner's name), the settings POSTs the peer sees (body and bearer token), bans, timeouts,
// whitelisted commands and devmode as the drive sees them, the state file across a restart
// (and truncated or unwritable), and delayed TTS with message_removed in time and late.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPeer, peerConfig, writeConfig, startRobotd, tempDir } from './lib.mjs';

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const MOD = ['.anon control off', '.anon tts off', '.anon on', '.ban zed', '.unban zed',
    '.timeout zed 3', '.untimeout zed'];
const OWNER = ['.table on', '.stationary', '.tts mute', '.tts unmute', '.tts vol 40', '.mic mute',
    '.mic unmute', '.video restart', '.video bitrate 500', '.audio restart', '.audio bitrate 64',
    '.audio stop', '.audio start', '.brightness 50', '.exclusive owner1', '.exclusive off',
    '.devmode on', '.devmode mods', '.devmode off', '.public on', '.global_chat off',
    '.word_filter on', '.show_exclusive off', '.whitelist add wendy', '.whitelist del wendy',
    '.whitelist command add LED_ON', '.whitelist command del LED_ON'];
// What the owner's commands above tell the site, in order.
const POSTS = [{ anonymous_control: false }, { anonymous_control: true }, { mic_enabled: false },
    { mic_enabled: true }, { dev_mode: true }, { dev_mode: true }, { dev_mode: false },
    { public: true }, { non_global_chat: true }, { profanity_filter: true },
    { no_exclusive_control_button: true }];

for (const eio of [3, 4]) {
    describe(`chat commands, Engine.IO ${eio}`, () => {
        let peer;
        before(async () => { peer = await startPeer({ eio }); });
        after(async () => { await peer.stop(); });

        // robotd with chat connected and the moderators known; `state` names its state file.
        const robot = async ({ misc = {}, tts = null, state = join(tempDir(), 'state.json'), https = false } = {}) => {
            let text = peerConfig(peer, {
                https,
                robot: { api_key: peer.info.identity.api_key },
                camera: { no_camera: 'true', no_mic: 'true' },
                misc: { state_file: state, ...misc },
            });
            if (tts) text += '\n[tts]\n' + Object.entries(tts).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
            const r = startRobotd(writeConfig(text));
            try {
                await r.wait(/ I chat: connected to /);
                await r.wait(/ I control: connected to /);
                await r.wait(/ discovery: moderators: mod1$/);
            } catch (e) {
                await r.stop();
                throw e;
            }
            r.state = state;
            return r;
        };
        const done = async (r) => assert.equal((await r.stop()).code, 0, 'robotd exits 0');
        const line = (text, who, rest) =>
            new RegExp(` I chat: chat command ${esc(text)} from ${esc(who)}${rest}`);

        test('.mic unmute brings the audio back at once, even while the site has not answered', async () => {
            let text = peerConfig(peer, {
                robot: { api_key: peer.info.identity.api_key },
                camera: { no_camera: 'true', mic_device: 'lavfi:sine=frequency=440:sample_rate=44100' },
                misc: { state_file: join(tempDir(), 'state.json') },
            });
            const r = startRobotd(writeConfig(text));
            try {
                await r.wait(/ I chat: connected to /);
                await r.wait(/ discovery: moderators: mod1$/);
                await r.wait(/ audio: streaming/, { timeoutMs: 20000 });
                // The site echoes mic_enabled=false back (robot_settings_changed): audio stops.
                let from = r.log.lines.length;
                await peer.chat({ name: 'owner1', text: '.mic mute' });
                await r.wait(/ audio: off \(mic_enabled=false\)/, { from, timeoutMs: 10000 });
                // The unmute's POST hangs: the audio must not wait for the site.
                await peer.fault({ path: '/api/v1/robots/', mode: 'hang', count: 1 });
                from = r.log.lines.length;
                await peer.chat({ name: 'owner1', text: '.mic unmute' });
                await r.wait(/ audio: on \(mic_enabled=true\)/, { from, timeoutMs: 3000 });
            } finally {
                await peer.clearFaults();
                await done(r);
            }
        });

        test('every command at every rank; the settings POSTs carry the body and the bearer token', async () => {
            const r = await robot();
            try {
                const since = await peer.seq();
                for (const [name, anonymous, who] of [['ann', false, 'ann'], ['owner1', true, 'owner1 (anonymous)']]) {
                    for (const text of [...MOD, ...OWNER]) {
                        const from = r.log.lines.length;
                        await peer.chat({ name, anonymous, text });
                        await r.wait(line(text, who, ' refused: only '), { from });
                    }
                }
                for (const text of OWNER) {
                    const from = r.log.lines.length;
                    await peer.chat({ name: 'mod1', text });
                    await r.wait(line(text, 'mod1', ' refused: only the owner may use '), { from });
                }
                for (const text of MOD) {
                    const from = r.log.lines.length;
                    await peer.chat({ name: 'mod1', text });
                    await r.wait(line(text, 'mod1', ': '), { from });
                }
                for (const text of [...MOD, ...OWNER]) {
                    const from = r.log.lines.length;
                    await peer.chat({ name: 'owner1', text });
                    await r.wait(line(text, 'owner1', ': '), { from });
                }
                // Values for a key sent while an earlier POST is in flight merge (the last
                // wins): each key's last POST carries its last value; nothing refused was sent.
                const want = Object.assign({}, ...POSTS);
                const posts = async () => (await peer.requests()).filter((q) => q.seq > since &&
                    q.method === 'POST' && q.path === '/api/v1/robots/robot1' && q.status !== null);
                const last = (list) => Object.assign({}, ...list.map((q) => JSON.parse(q.body)));
                const deadline = Date.now() + 20000;
                let list = await posts();
                const same = (a, b) => { try { assert.deepEqual(a, b); return true; } catch { return false; } };
                while (!same(last(list), want)) {
                    assert.ok(Date.now() < deadline, JSON.stringify(list.map((q) => q.body)));
                    await peer.waitRequest('/api/v1/robots/robot1', list.length ? list[list.length - 1].seq : since, 5000).catch(() => {});
                    list = await posts();
                }
                for (const q of list) {
                    assert.equal(q.authorization, `Bearer ${peer.info.identity.api_key}`);
                    assert.equal(q.status, 200);
                    assert.equal(Object.keys(JSON.parse(q.body)).length, 1, q.body);
                    assert.match(q.body, /^\{"[a-z_]+": (true|false)\}$/);
                }
                assert.deepEqual(last(list), want);
                // Bad arguments: one line saying what was expected; unknown commands: quiet.
                let from = r.log.lines.length;
                await peer.chat({ name: 'owner1', text: '.devmode sideways' });
                await r.wait(line('.devmode sideways', 'owner1', ' ignored: expected \\.devmode on\\|off\\|mods$'), { from });
                await peer.chat({ name: 'owner1', text: '.timeout zed 99999' });
                await r.wait(line('.timeout zed 99999', 'owner1', ' ignored: expected \\.timeout USER \\[MINUTES 1\\.\\.10080\\]$'), { from });
                from = r.log.lines.length;
                await peer.chat({ name: 'owner1', text: '.someone_elses_command x' });
                await peer.chat({ name: 'owner1', text: '.tts vol 41' });
                await r.wait(line('.tts vol 41', 'owner1', ': TTS volume 41 %'), { from });
                assert.equal(r.log.count(/ I chat: .*someone_elses_command/), 0);
            } finally { await done(r); }
        });

        test('a settings POST over https carries its body and the bearer token', async () => {
            const r = await robot({ https: true });
            try {
                const since = await peer.seq();
                await peer.chat({ name: 'owner1', text: '.public on' });
                const q = await peer.waitRequest('/api/v1/robots/robot1', since, 10000);
                assert.equal(q.method, 'POST');
                assert.equal(q.authorization, `Bearer ${peer.info.identity.api_key}`);
                await r.wait(/ I settings: site setting public=true saved$/);
                const posts = (await peer.requests()).filter((x) => x.seq > since && x.method === 'POST');
                assert.deepEqual(posts.map((x) => x.body), ['{"public": true}']);
            } finally { await done(r); }
        });

        test('robotd stops at once with a settings POST the server never answers', async () => {
            const r = await robot();  // -v: debug lines too
            let stopped = false;
            try {
                await peer.fault({ path: '/api/v1/robots/robot1', mode: 'hang' });
                const since = await peer.seq();
                await peer.chat({ name: 'owner1', text: '.public on' });
                await peer.waitRequest('/api/v1/robots/robot1', since, 10000);
                const t0 = Date.now();
                stopped = true;
                await done(r);
                assert.ok(Date.now() - t0 < 10000, 'stopped within 10 s');
                // The POST is logged (debug), never its api_key.
                assert.ok(r.log.count(/ settings: POST /) >= 1);
                assert.equal(r.log.count(new RegExp(esc(peer.info.identity.api_key))), 0);
            } finally {
                await peer.clearFaults();
                if (!stopped) await r.stop();
            }
        });

        test('ban, timeout, whitelist and devmode as the drive sees them', async () => {
            const r = await robot();
            const drive = async (user, re) => {
                const from = r.log.lines.length;
                await peer.command({ command: 'F', user, anonymous: false });
                await r.wait(re, { from });
            };
            const accepted = (user) => new RegExp(`(control: F from ${user}$|the last: F from ${user}\\))`);
            const refused = (user, why) => new RegExp(`command F from ${user} refused: ${esc(why)}`);
            const say = async (name, text, re) => {
                const from = r.log.lines.length;
                await peer.chat({ name, text });
                await r.wait(re, { from });
            };
            try {
                await drive('ann', accepted('ann'));
                await say('mod1', '.ban ann', / banned: /);
                await drive('ann', refused('ann', 'the user is banned'));
                await say('mod1', '.unban ann', / no longer banned/);
                await drive('ann', accepted('ann'));
                await say('mod1', '.timeout ann', / timed out for 5 min/);
                await drive('ann', refused('ann', 'the user is timed out'));
                await say('mod1', '.untimeout ann', / no longer timed out/);
                await drive('ann', accepted('ann'));
                await say('owner1', '.devmode mods', / devmode mods: /);
                await drive('ann', refused('ann', 'devmode: only the owner and moderators drive'));
                await drive('mod1', accepted('mod1'));
                await say('owner1', '.devmode off', / devmode off/);
                await say('owner1', '.whitelist command add F', / whitelisted: /);
                await drive('ann', refused('ann', 'a whitelisted command, and the user is not on the whitelist'));
                await say('owner1', '.whitelist add ann', / added to the whitelist/);
                await drive('ann', accepted('ann'));
                await say('owner1', '.whitelist command del F', / no longer whitelisted/);
            } finally { await done(r); }
        });
    });
}

describe('state file and delayed TTS', () => {
    let peer;
    before(async () => { peer = await startPeer({ eio: 4 }); });
    after(async () => { await peer.stop(); });

    const config = ({ misc = {}, tts = {} } = {}) => writeConfig(peerConfig(peer, {
        robot: { api_key: peer.info.identity.api_key },
        camera: { no_camera: 'true', no_mic: 'true' },
        misc,
    }) + '\n[tts]\n' + Object.entries(tts).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
    // Commands reach robotd over its control link: they are lost until it is connected.
    const ready = async (r) => {
        await r.wait(/ I chat: connected to /);
        await r.wait(/ I control: connected to /);
        await r.wait(/ discovery: moderators: mod1$/);
    };
    const done = async (r) => assert.equal((await r.stop()).code, 0, 'robotd exits 0');

    test('a ban survives a restart', async () => {
        const state = join(tempDir(), 'state.json');
        let r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await ready(r);
            await peer.chat({ name: 'mod1', text: '.ban ann' });
            await r.wait(/ banned: /);
            await peer.chat({ name: 'owner1', text: '.table on' });
            await r.wait(/ table mode on/);
        } finally { await done(r); }
        assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')).banned, ['ann']);
        r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await r.wait(new RegExp(` I state: state read from ${esc(state)}`));
            await ready(r);
            await peer.command({ command: 'L', user: 'ann', anonymous: false });
            await r.wait(/command L from ann refused: the user is banned/);
            await peer.command({ command: 'F', user: 'bob', anonymous: false });
            await r.wait(/command F from bob refused: table mode/);
        } finally { await done(r); }
    });

    test('exclusive control the site ended stays ended after a restart', async () => {
        const state = join(tempDir(), 'state.json');
        let r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await ready(r);
            await r.wait(/ I app: connected to /);
            await peer.chat({ name: 'owner1', text: '.exclusive alice' });
            await r.wait(/ exclusive control for 'alice'/);
            await peer.emit('app', 'exclusive_control', [{ status: 'end', robot_id: 'robot1' }]);
            await r.wait(/ I app: exclusive control ended/);
            await peer.command({ command: 'L', user: 'bob', anonymous: false });
            await r.wait(/(control: L from bob$|the last: L from bob\))/);
        } finally { await done(r); }
        r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await ready(r);
            const from = r.log.lines.length;
            await peer.command({ command: 'L', user: 'bob', anonymous: false });
            await r.wait(/(control: L from bob$|the last: L from bob\)|command L from bob refused)/, { from });
            assert.equal(r.log.count(/command L from bob refused/), 0, r.log.text());
        } finally { await done(r); }
    });

    test('a truncated state file is one warning and the defaults', async () => {
        const dir = tempDir();
        const state = join(dir, 'state.json');
        writeFileSync(state, '{"banned": ["bob"], "table_mo');
        const r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await r.wait(/ W state: .*state\.json is not a valid state file .*: starting from the config's values/);
            await ready(r);
            await peer.command({ command: 'F', user: 'bob', anonymous: false });
            await r.wait(/(control: F from bob$|the last: F from bob\))/);
            assert.equal(r.log.count(/ W state: /), 1);
        } finally { await done(r); }
    });

    test('an unwritable state file is one warning; the robot keeps running and obeying', async () => {
        const dir = tempDir();
        writeFileSync(join(dir, 'file-not-dir'), 'x');
        // Tests run as root: a path under a regular file is what fails for root too.
        const state = join(dir, 'file-not-dir', 'state.json');
        const r = startRobotd(config({ misc: { state_file: state } }));
        try {
            await ready(r);
            await peer.chat({ name: 'mod1', text: '.ban ann' });
            await r.wait(/'ann' banned: /);
            await r.wait(/ W state: cannot save the chat choices .*check \[misc\] state_file/);
            // By name: another line may come between the ban and the test's next look.
            await peer.chat({ name: 'mod1', text: '.ban bob' });
            await r.wait(/'bob' banned: /);
            await peer.command({ command: 'L', user: 'bob', anonymous: false });
            await r.wait(/command L from bob refused: the user is banned/);
            // One line for the read at start (a path under a file), one for the failing writes.
            assert.equal(r.log.count(/ W state: cannot read /), 1, r.log.text());
            assert.equal(r.log.count(/ W state: cannot save /), 1, r.log.text());
        } finally { await done(r); }
    });

    test('delayed TTS: a message removed in time is never said, a late removal is', async () => {
        const r = startRobotd(config({ tts: { delay_tts: 'true', delay: 2, boot_message: 'hello live' } }));
        try {
            await ready(r);
            await r.wait(/ I chat: saying: hello live$/);
            const gone = 'aaaaaaaaaaaaaaaaaaaaaaa1', late = 'aaaaaaaaaaaaaaaaaaaaaaa2';
            await peer.chat({ name: 'ann', text: 'never said', _id: gone });
            await peer.chat({ name: 'ann', text: 'said anyway', _id: late });
            await peer.emit('user', 'message_removed', [{ message_id: gone }]);
            await r.wait(new RegExp(`message ${gone} removed before it was spoken: dropped`));
            await r.wait(/ I chat: saying: said anyway$/, { timeoutMs: 15000 });
            await peer.emit('user', 'message_removed', [{ message_id: late }]);
            await r.wait(new RegExp(` I user: message ${late} removed$`));
            assert.equal(r.log.count(/saying: never said/), 0, r.log.text());
        } finally { await done(r); }
    });
});
