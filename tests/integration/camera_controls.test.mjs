// The owner's camera controls from chat (.brightness/.contrast/.saturation N): only the owner
// may set them, a bad value is refused, the value reaches the video stream (a lavfi camera,
// which has no controls, says so), and a value set while video is off is applied when it
// starts again.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPeer, peerConfig, writeConfig, startRobotd } from './lib.mjs';

const VIDEO = 'lavfi:testsrc=size=160x120:rate=25';
const AUDIO = 'lavfi:sine=frequency=440:sample_rate=44100';

describe('camera controls from chat', () => {
    let peer;
    before(async () => {
        peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] });
        await peer.api('POST', '/_peer/settings', { xres: 160, yres: 120 });
    });
    after(async () => { await peer.stop(); });

    // robotd with its chat session identified, so chat messages reach it.
    const robot = async ({ robot = {}, camera = {} } = {}) => {
        const since = await peer.seq();
        const r = startRobotd(writeConfig(peerConfig(peer, {
            robot,
            camera: { camera_device: VIDEO, mic_device: AUDIO, no_mic: 'true', x_res: 160, y_res: 120, ...camera },
        })));
        try {
            await peer.waitEvent('chat', 'identify_robot_id', since);
        } catch (e) {
            await r.stop();
            throw e;
        }
        return r;
    };
    const done = async (r) => assert.equal((await r.stop()).code, 0, 'robotd exits 0');
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // The chat session's line for `text` from `name`, ending with `outcome`.
    const chatLine = (text, name, outcome) =>
        new RegExp(` I chat: chat command ${esc(text)} from ${esc(name)}${esc(outcome)}$`);
    const unsupported = (what) =>
        new RegExp(` W video: ${esc(what)} not applied: camera controls are not supported by lavfi:testsrc`);

    test('only the owner sets them; bad values are refused; lavfi has no controls', async () => {
        const r = await robot();
        try {
            await r.wait(/ I video: streaming lavfi:testsrc/);
            await r.wait(/ I chat: connected to /);  // chat reaches robotd only then
            await peer.chat({ name: 'ann', text: '.brightness 70' });
            await r.wait(chatLine('.brightness 70', 'ann', ' refused: only the owner may use .brightness'));
            await peer.chat({ name: 'mod1', text: '.contrast 70' });  // a moderator is not enough
            await r.wait(chatLine('.contrast 70', 'mod1', ' refused: only the owner may use .contrast'));
            await peer.chat({ name: 'owner1', anonymous: true, text: '.brightness 20' });
            await r.wait(chatLine('.brightness 20', 'owner1 (anonymous)',
                ' refused: only the owner may use .brightness (an anonymous sender has no rank, whatever its name)'));
            await peer.chat({ name: 'owner1', text: '.brightness 300' });
            await r.wait(chatLine('.brightness 300', 'owner1', ' ignored: 300 is out of range 0..100 (expected .brightness 0..100)'));
            await peer.chat({ name: 'owner1', text: '.brightness abc' });
            await r.wait(chatLine('.brightness abc', 'owner1', " ignored: 'abc' is not a whole number 0..100 (expected .brightness 0..100)"));
            await peer.chat({ name: 'owner1', text: '.brightness' });
            await r.wait(chatLine('.brightness', 'owner1', ' ignored: a value 0..100 is missing (expected .brightness 0..100)'));

            await peer.chat({ name: 'owner1', text: '.Brightness 60' });
            await r.wait(chatLine('.brightness 60', 'owner1', ": setting the camera's brightness to 60 %"));
            await r.wait(unsupported('brightness 60 %'));
            // Chat is handled in order: none of the refused ones reached the video stream.
            assert.equal(r.log.count(/ video: (brightness|contrast|saturation|camera control)/), 1,
                r.log.text());
            // Other robots' commands pass quietly (chat_commands.test.mjs has robotd's own).
            await peer.chat({ name: 'owner1', text: '.not_robotds 1' });
            await peer.chat({ name: 'owner1', text: '.brightness 61' });
            await r.wait(chatLine('.brightness 61', 'owner1', ": setting the camera's brightness to 61 %"));
            assert.equal(r.log.count(/ I chat: .*not_robotds/), 0, r.log.text());
        } finally { await done(r); }
    });

    test('a value set while video is off is kept and applied, with the earlier ones, at VIDON', async () => {
        const r = await robot();
        try {
            await r.wait(/ I video: streaming lavfi:testsrc/);
            await peer.chat({ name: 'owner1', text: '.contrast 40' });
            await r.wait(unsupported('contrast 40 %'));
            await peer.command({ command: 'VIDOFF', socket: 'app' });
            await r.wait(/ I video: encoder stopped/);
            await peer.chat({ name: 'owner1', text: '.saturation 30' });
            await r.wait(/ I video: saturation 30 % kept for when video starts \(video is off\)$/);
            const from = r.log.lines.length;
            await peer.command({ command: 'VIDON', socket: 'app' });
            await r.wait(/ I video: streaming lavfi:testsrc/, { from });
            await r.wait(unsupported('contrast 40 %'), { from });
            await r.wait(unsupported('saturation 30 %'), { from });
        } finally { await done(r); }
    });

    test("the site's owner counts; without a camera the value is dropped with a log line", async () => {
        const r = await robot({ robot: { owner: 'cfgowner' }, camera: { no_camera: 'true', no_mic: 'false' } });
        try {
            // get_robot_owner names owner1: that answer replaces the config's owner.
            await r.wait(/ I discovery: owner: 'owner1'$/);
            await peer.chat({ name: 'owner1', text: '.saturation 55%' });
            await r.wait(chatLine('.saturation 55%', 'owner1', ": setting the camera's saturation to 55 %"));
            await r.wait(/ I video: saturation 55 % not applied: no camera \(\[camera\] no_camera = true\)$/);
        } finally { await done(r); }
    });
});
