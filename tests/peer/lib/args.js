'use strict';
// Command-line parsing for server.js. Every option is `--name value`.

const DEFAULTS = {
  eio: 4,
  host: '127.0.0.1',
  advertiseHost: null, // null: the bind address (127.0.0.1 for 0.0.0.0 or ::)
  ports: 'auto',
  stateDir: null,
  robotId: 'robot1',
  cameraId: 'camera1',
  owner: 'owner1',
  streamKey: 'hello',
  apiKey: 'apikey1',
  robotName: 'peerbot',
  pingInterval: null, // null = the socket.io library default
  pingTimeout: null,
  quiet: false,
};

const NAMES = {
  '--eio': 'eio',
  '--host': 'host',
  '--advertise-host': 'advertiseHost',
  '--ports': 'ports',
  '--state-dir': 'stateDir',
  '--robot-id': 'robotId',
  '--camera-id': 'cameraId',
  '--owner': 'owner',
  '--stream-key': 'streamKey',
  '--api-key': 'apiKey',
  '--robot-name': 'robotName',
  '--ping-interval': 'pingInterval',
  '--ping-timeout': 'pingTimeout',
};

const USAGE = `usage: node server.js [--eio 3|4] [--host ADDR] [--advertise-host ADDR] [--ports auto|BASE]
  [--state-dir DIR] [--robot-id ID] [--camera-id ID] [--owner NAME]
  [--stream-key KEY] [--api-key KEY] [--robot-name NAME]
  [--ping-interval MS] [--ping-timeout MS] [--quiet]`;

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    if (arg === '--quiet') { opts.quiet = true; continue; }
    const key = NAMES[arg];
    if (!key) throw new Error(`unknown option ${arg}\n${USAGE}`);
    if (i + 1 >= argv.length) throw new Error(`option ${arg} needs a value`);
    opts[key] = argv[++i];
  }
  opts.eio = Number(opts.eio);
  if (opts.eio !== 3 && opts.eio !== 4) throw new Error('--eio must be 3 or 4');
  if (opts.ports !== 'auto') {
    const base = Number(opts.ports);
    if (!Number.isInteger(base) || base < 1 || base > 65535 - 8) {
      throw new Error('--ports must be "auto" or a base port number');
    }
    opts.ports = base;
  }
  for (const k of ['pingInterval', 'pingTimeout']) {
    if (opts[k] !== null) {
      opts[k] = Number(opts[k]);
      if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new Error(`bad ${k}`);
    }
  }
  return opts;
}

module.exports = { parseArgs, USAGE };
