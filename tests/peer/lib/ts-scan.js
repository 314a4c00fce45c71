'use strict';
// Incremental MPEG-TS scanner for relay uploads: counts 188-byte packets and
// sync errors, notes PES stream ids (0xE0 MPEG video, 0xC0 MPEG audio), and
// decodes the first MPEG-1 sequence header and MP2 frame header it meets.
// It only looks at packets that start a PES (payload_unit_start set), which is
// where ffmpeg puts those headers.

const MPEG1_FPS = [null, 23.976, 24, 25, 29.97, 30, 50, 59.94, 60];
const MP2_RATES = [44100, 48000, 32000];
const MP2_KBPS = [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384];

class TsScanner {
  constructor() {
    this.rest = Buffer.alloc(0);
    this.packets = 0;
    this.sync_errors = 0;
    this.stream_ids = [];
    this.video = null; // {width, height, fps}
    this.audio = null; // {sample_rate, kbps, mono}
  }

  push(chunk) {
    let buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 188) {
      if (buf[off] !== 0x47) {
        this.sync_errors++;
        const next = buf.indexOf(0x47, off + 1);
        if (next < 0) { off = buf.length; break; }
        off = next;
        continue;
      }
      this.packet(buf.subarray(off, off + 188));
      this.packets++;
      off += 188;
    }
    this.rest = Buffer.from(buf.subarray(off));
  }

  packet(p) {
    if (!(p[1] & 0x40)) return; // not a PES start
    const afc = (p[3] >> 4) & 3;
    if (!(afc & 1)) return; // no payload
    let pos = 4;
    if (afc & 2) pos += 1 + p[4];
    if (pos + 9 > 188 || p[pos] !== 0 || p[pos + 1] !== 0 || p[pos + 2] !== 1) return;
    const sid = p[pos + 3];
    if (!this.stream_ids.includes(sid)) this.stream_ids.push(sid);
    const es = p.subarray(pos + 9 + p[pos + 8]);
    if (sid >= 0xe0 && sid <= 0xef && !this.video) this.videoHeader(es);
    if (sid >= 0xc0 && sid <= 0xdf && !this.audio) this.audioHeader(es);
  }

  videoHeader(es) {
    for (let i = 0; i + 8 <= es.length; i++) {
      if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && es[i + 3] === 0xb3) {
        this.video = {
          width: (es[i + 4] << 4) | (es[i + 5] >> 4),
          height: ((es[i + 5] & 0x0f) << 8) | es[i + 6],
          fps: MPEG1_FPS[es[i + 7] & 0x0f] || null,
        };
        return;
      }
    }
  }

  audioHeader(es) {
    if (es.length < 4 || es[0] !== 0xff || (es[1] & 0xe0) !== 0xe0) return;
    const version = { 3: 1, 2: 2, 0: 2.5 }[(es[1] >> 3) & 3] || null;
    const rate = MP2_RATES[(es[2] >> 2) & 3];
    this.audio = {
      mpeg_version: version,
      layer: 4 - ((es[1] >> 1) & 3),
      kbps: version === 1 ? (MP2_KBPS[es[2] >> 4] || null) : null, // layer II table
      sample_rate: rate && version ? rate / { 1: 1, 2: 2, 2.5: 4 }[version] : null,
      mono: (es[3] >> 6) === 3,
    };
  }

  summary() {
    return {
      packets: this.packets,
      sync_errors: this.sync_errors,
      trailing_bytes: this.rest.length,
      stream_ids: this.stream_ids.map((s) => `0x${s.toString(16)}`),
      video: this.video,
      audio: this.audio,
    };
  }
}

module.exports = { TsScanner };
