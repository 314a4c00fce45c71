// Audio recorded at the peer's relay, measured: decoded by the host's ffmpeg to 16-bit mono PCM,
// then its loudness (RMS) per short window, to tell speech from silence in time.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// The recording `file` (or only its first `bytes` bytes: what the relay had been sent by some
// moment) as 16-bit mono samples at `rate` Hz, an Int16Array.
export function decodePcm(file, { rate = 8000, bytes = Infinity } = {}) {
    const args = ['-v', 'error', '-f', 'mpegts', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', String(rate), '-'];
    const data = readFileSync(file);
    // A cut in the middle of a TS packet or an MP2 frame is ffmpeg's to drop: the samples of
    // every whole frame before it come out.
    const pcm = execFileSync('ffmpeg', args, {
        input: data.subarray(0, Math.min(bytes, data.length)), maxBuffer: 256 << 20,
    });
    return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
}

// The RMS of each whole `windowMs` window of `samples` (at `rate` Hz), in sample units
// (0 .. 32768: full-scale sine ~23170, digital silence 0).
export function rmsWindows(samples, { rate = 8000, windowMs = 100 } = {}) {
    const n = Math.round((rate * windowMs) / 1000);
    const out = [];
    for (let off = 0; off + n <= samples.length; off += n) {
        let sum = 0;
        for (let i = off; i < off + n; i++) sum += samples[i] * samples[i];
        out.push(Math.sqrt(sum / n));
    }
    return out;
}

// A window series as text for an assertion's message: one RMS per window, rounded.
export function rmsText(rms) {
    return rms.map((r) => r.toFixed(0)).join(' ');
}
