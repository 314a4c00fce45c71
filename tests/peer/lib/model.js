'use strict';
// Mutable robot-side state the discovery/api server answers from:
// identity, settings, moderators and the list of HTTP faults.

function defaultSettings(opts) {
  return {
    robot_id: opts.robotId,
    robot_name: opts.robotName,
    owner: opts.owner,
    camera_id: opts.cameraId,
    xres: 640,
    yres: 480,
    mic_enabled: true,
    anonymous_control: true,
    public: true,
    dev_mode: false,
    non_global_chat: false,
    profanity_filter: false,
    'mute_text-to-speech': false,
  };
}

const FAULT_MODES = new Set([
  'status', 'garbage', 'empty', 'big', 'missing_key', 'string_port', 'doc_keys',
  'delay', 'hang', 'close', 'redirect',
]);

class Model {
  constructor(opts) {
    this.opts = opts;
    this.faultSeq = 0;
    this.reset();
  }

  reset() {
    this.settings = defaultSettings(this.opts);
    this.moderators = ['mod1'];
    this.faults = [];
  }

  addFault(spec) {
    if (typeof spec.path !== 'string' || !spec.path.startsWith('/')) {
      throw Object.assign(new Error('fault needs a path starting with /'), { status: 400 });
    }
    if (!FAULT_MODES.has(spec.mode)) {
      throw Object.assign(new Error(`unknown fault mode ${spec.mode}`), { status: 400 });
    }
    if (spec.mode === 'redirect' && typeof spec.location !== 'string') {
      throw Object.assign(new Error('a redirect fault needs a location'), { status: 400 });
    }
    const fault = {
      id: ++this.faultSeq,
      path: spec.path,
      mode: spec.mode,
      status: spec.mode === 'status' ? Number(spec.status || 500) : undefined,
      delay_ms: Number(spec.delay_ms || 0),
      count: spec.count === undefined || spec.count === null ? null : Number(spec.count),
      scheme: spec.scheme || null, // optional: only "http" or only "https"
      bytes: spec.bytes ? Number(spec.bytes) : undefined, // size for "big"
      location: spec.mode === 'redirect' ? spec.location : undefined, // Location of "redirect"
      hits: 0,
    };
    this.faults.push(fault);
    return fault;
  }

  // First fault matching the request; consumes one use of a counted fault.
  takeFault(pathname, scheme) {
    const i = this.faults.findIndex((f) => pathname.startsWith(f.path)
      && (!f.scheme || f.scheme === scheme));
    if (i < 0) return null;
    const fault = this.faults[i];
    fault.hits++;
    if (fault.count !== null && --fault.count <= 0) this.faults.splice(i, 1);
    return fault;
  }
}

module.exports = { Model, FAULT_MODES };
