// Speech on the virtual board, end to end through real sound drivers: espeak-ng's voice played
// into snd-aloop's playback side (Loopback,0,0) comes out of its capture side (Loopback,1),
// which is robotd's microphone, and so reaches the peer's audio relay. The relay's recording is
// decoded on the host and measured in 100 ms windows: speech is loud, the rest digital silence.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { decodePcm, rmsText, rmsWindows } from './audio.mjs';
import { boardConfig, imageMissing, startPeerAndBoard } from './board.mjs';

const missing = imageMissing();

// robotd's log line (-v) once the engine has made a message's sound and it goes to the speaker.
const SPEAKING_LOG = / tts: .* made [0-9.]+ s of speech for /;

// Per 100 ms window at 8 kHz: the loopback's capture side is all zeros while nothing plays, and
// MP2 keeps it within a few units of that; espeak-ng's voice at its own level is thousands.
const SILENCE_RMS = 50;
const SPEECH_RMS = 1000;
// Audio at the relay (robotd's 32 kbit/s MP2 in MPEG-TS comes to some 11.5 KB a second) before
// the speech is asked for, and after: once aplay is done, the silence that must follow; once
// robotd says it speaks, room for the engine's run and a short line's speech, then that silence.
const LEAD_BYTES = 16000;
const AFTER_PLAY_BYTES = 10000;
const AFTER_SPEAKING_BYTES = 36000;
const QUIET_END_MS = 500;

describe('virtual board speech', { skip: missing || false }, () => {
    let peer, board;
    before(async () => {
        ({ peer, board } = await startPeerAndBoard());
    });
    after(async () => {
        await board?.shutdown();
        await peer?.stop();
    });

    // Runs robotd with the loopback's capture side as its only source; once the relay has had
    // LEAD_BYTES of its audio, `act(r, since)` makes the board speak (`since`: the peer's seq
    // before robotd started); the recording then goes on for `tailBytes` more. Resolves with
    // robotd's run, the recording, and how many bytes of it the relay had when `act` began (all
    // that came before the speech).
    async function recordAround(extra, act, tailBytes) {
        // The audio relay's bytes in all, and those of upload `n`, at one moment.
        const relay = async (n) => {
            const audio = (await peer.api('GET', '/_peer/relay')).body.audio;
            return { total: audio.bytes, upload: audio.uploads.find((u) => u.n === n).bytes };
        };
        const since = await peer.seq();
        const r = await board.startRobotd(boardConfig(peer, {
            camera: { no_camera: 'true', mic_device: 'Loopback,1' }, extra,
        }));
        let a, mark;
        try {
            await r.wait(/ audio: streaming ALSA hw:CARD=Loopback,DEV=1/, { timeoutMs: 30000 });
            a = await peer.waitUpload('audio', 'start', since, 30000);
            const at = await relay(a.n);
            const base = at.total - at.upload;  // earlier uploads' bytes
            await peer.waitRelayBytes('audio', base + LEAD_BYTES, 30000);
            mark = (await relay(a.n)).upload;
            await act(r, since);
            await peer.waitRelayBytes('audio', base + (await relay(a.n)).upload + tailBytes, 30000);
        } finally {
            assert.equal(await r.stop(), 0);
        }
        await peer.waitUpload('audio', 'end', since, 30000);
        return { r, file: (await peer.recording('audio', a.n)).file, mark };
    }

    // Silence up to `mark` (the relay's bytes when the speech was asked for), speech after it,
    // and silence again in the last QUIET_END_MS.
    function assertSpokenAfter(t, file, mark) {
        const rms = rmsWindows(decodePcm(file));
        const lead = rmsWindows(decodePcm(file, { bytes: mark })).length;
        const series = `RMS per 100 ms (speech asked for after window ${lead}, ${mark} of ${statSync(file).size} bytes): ${rmsText(rms)}`;
        assert.ok(lead >= 10, `at least a second before the speech: ${series}`);
        assert.ok(Math.max(...rms.slice(0, lead)) < SILENCE_RMS, `silence before the speech: ${series}`);
        const loud = rms.slice(lead).filter((x) => x > SPEECH_RMS).length;
        assert.ok(loud >= 3, `speech after it (windows above ${SPEECH_RMS}): ${series}`);
        assert.ok(Math.max(...rms.slice(-QUIET_END_MS / 100)) < SILENCE_RMS, `silence after the speech: ${series}`);
        t.diagnostic(series);
    }

    test("espeak-ng's WAV played into the loopback reaches the relay through robotd's microphone", async (t) => {
        // The WAV at espeak-ng's 22050 Hz; plughw converts it to the rate robotd's capture holds
        // the loopback at (snd-aloop makes both sides agree).
        await board.ok('espeak-ng --stdout "hello robot" > /tmp/speech.wav');
        assert.match(await board.ok('aplay -D null /tmp/speech.wav'), /Signed 16 bit Little Endian, Rate 22050 Hz, Mono/);
        const { r, file, mark } = await recordAround({},
            () => board.ok('aplay -q -D plughw:Loopback,0,0 /tmp/speech.wav'), AFTER_PLAY_BYTES);
        assertSpokenAfter(t, file, mark);
        assert.doesNotMatch(r.log.text(), / E /);
    });

    test('a chat line is spoken by robotd into the loopback and its microphone carries it to the relay',
        async (t) => {
            const tts = { type: 'espeak', speaker_device: 'plughw:Loopback,0,0', delay_tts: 'false', anon_tts: 'true' };
            const { r, file, mark } = await recordAround({ tts }, async (run, since) => {
                await peer.waitEvent('chat', 'identify_robot_id', since, { timeoutMs: 30000 });
                const from = run.log.lines.length;
                await peer.chat({ name: 'user1', text: 'hello robot' });
                await run.wait(SPEAKING_LOG, { from, timeoutMs: 15000 });
            }, AFTER_SPEAKING_BYTES);
            assertSpokenAfter(t, file, mark);
            assert.doesNotMatch(r.log.text(), / E /);
        });
});
