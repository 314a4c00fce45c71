// Shared harness for the integration tests: starts the LetsRobot peer (tests/peer) and
// robotd as child processes, and waits on their output and the peer's control API
// instead of sleeping.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

export const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const robotdBin = process.env.ROBOTD_BIN || join(top, 'build', 'host', 'robotd');
// The socket.io probe built with that robotd (tests/system/run.sh points both at a set's build).
export const sioProbeBin = process.env.SIO_PROBE_BIN || join(top, 'build', 'host', 'sio-probe');

export function tempDir(prefix = 'robotd-it-') {
    return mkdtempSync(join(tmpdir(), prefix));
}

// Lines of a child's stream, with a way to await the first (new) line matching a pattern.
export class LineWatch {
    constructor(stream) {
        this.lines = [];
        this.waiters = [];
        readline.createInterface({ input: stream }).on('line', (line) => {
            this.lines.push(line);
            this.waiters = this.waiters.filter((w) => !w.check(line));
        });
    }
    // Resolves with the first line matching `re` at index >= `from` (default: any line so far).
    // An aborted `signal` drops the wait (and its timer) with an AbortError.
    wait(re, { timeoutMs = 15000, from = 0, signal = null } = {}) {
        const seen = this.lines.slice(from).find((l) => re.test(l));
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
            const w = {
                check: (line) => {
                    if (!re.test(line)) return false;
                    clearTimeout(w.timer);
                    resolve(line);
                    return true;
                },
            };
            const drop = () => { this.waiters = this.waiters.filter((x) => x !== w); };
            w.timer = setTimeout(() => {
                drop();
                reject(new Error(`no line matching ${re} within ${timeoutMs} ms; last lines:\n` +
                    this.lines.slice(-15).join('\n')));
            }, timeoutMs);
            signal?.addEventListener('abort', () => {
                clearTimeout(w.timer);
                drop();
                reject(new DOMException('wait aborted', 'AbortError'));
            }, { once: true });
            this.waiters.push(w);
        });
    }
    count(re) { return this.lines.filter((l) => re.test(l)).length; }
    text() { return this.lines.join('\n'); }
}

export function exited(child) {
    return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null)
            return resolve({ code: child.exitCode, signal: child.signalCode });
        child.once('exit', (code, signal) => resolve({ code, signal }));
    });
}

export async function startPeer({ eio = 4, args = [] } = {}) {
    const child = spawn(process.execPath, [join(top, 'tests', 'peer', 'server.js'), '--eio', String(eio),
        '--ports', 'auto', '--state-dir', tempDir('robotd-peer-'), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new LineWatch(child.stdout);
    const err = new LineWatch(child.stderr);
    let line;
    try {
        line = await out.wait(/^PEER_READY /, { timeoutMs: 30000 });
    } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`peer did not start: ${e.message}\n${err.text()}`);
    }
    const info = JSON.parse(line.slice('PEER_READY '.length));
    const base = info.urls.discovery_http;
    const api = async (method, path, body) => {
        const res = await fetch(base + path, {
            method, headers: { 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let json;
        try { json = JSON.parse(text); } catch { json = text; }
        return { status: res.status, body: json };
    };
    return {
        info, child, api,
        fault: (f) => api('POST', '/_peer/fault', f),
        clearFaults: () => api('DELETE', '/_peer/fault'),
        requests: async () => (await api('GET', '/_peer/requests')).body,
        // Awaits a request whose path starts with `path`, newer than `since`.
        waitRequest: async (path, since = 0, timeoutMs = 15000) => {
            const q = new URLSearchParams({ kind: 'requests', path, since: String(since), timeout_ms: String(timeoutMs) });
            const r = await api('GET', `/_peer/wait?${q}`);
            if (r.status !== 200) throw new Error(`no request for ${path} within ${timeoutMs} ms`);
            return r.body;
        },
        // Awaits a socket event record (type "event" by default) newer than `since`.
        waitEvent: async (socket, event, since = 0, { timeoutMs = 15000, type = 'event' } = {}) => {
            const q = new URLSearchParams({ kind: 'events', socket, type, since: String(since), timeout_ms: String(timeoutMs) });
            if (event) q.set('event', event);
            const r = await api('GET', `/_peer/wait?${q}`);
            if (r.status !== 200) throw new Error(`no ${type} ${event || ''} on ${socket} after seq ${since} within ${timeoutMs} ms`);
            return r.body;
        },
        // The newest record's seq: "since" for what happens next.
        seq: async () => (await api('GET', '/_peer/state')).body.seq,
        emit: (socket, event, args, extra = {}) => api('POST', '/_peer/emit', { socket, event, args, ...extra }),
        command: (body) => api('POST', '/_peer/command', body),
        chat: (body) => api('POST', '/_peer/chat', body),
        raw: (socket, data) => api('POST', '/_peer/raw', { socket, data }),
        // The next upload record of `stream` (video|audio) of `type` (start|end) after `since`.
        waitUpload: async (stream, type, since, timeoutMs = 15000) => {
            const q = new URLSearchParams({ kind: 'uploads', stream, type, since: String(since), timeout_ms: String(timeoutMs) });
            const r = await api('GET', `/_peer/wait?${q}`);
            if (r.status !== 200) throw new Error(`no ${stream} upload ${type} after ${since}`);
            return r.body;
        },
        // Resolves once the relay of `stream` has had `min` bytes in all.
        waitRelayBytes: async (stream, min, timeoutMs = 15000) => {
            const r = await api('GET', `/_peer/wait?kind=relay_bytes&stream=${stream}&min_bytes=${min}&timeout_ms=${timeoutMs}`);
            if (r.status !== 200) throw new Error(`${stream} relay never got ${min} bytes`);
            return r.body;
        },
        relayBytes: async (stream) => (await api('GET', '/_peer/relay')).body[stream].bytes,
        // Upload record `n` of `stream`: its recording's file, status, ...
        recording: async (stream, n) => (await api('GET', '/_peer/relay')).body[stream].uploads.find((u) => u.n === n),
        socketOp: (name, op, body = {}) => api('POST', `/_peer/socket/${name}/${op}`, body),
        stop: async () => { child.kill('SIGTERM'); await exited(child); },
    };
}

// A config in the reference layout pointing every server at the peer.
export function peerConfig(peer, { https = false, misc = {}, robot = {}, camera = {}, pipe = null } = {}) {
    const u = peer.info.urls;
    const sections = {
        robot: { owner: 'owner1', robot_id: 'robot1', camera_id: 'camera1', type: 'none',
            stream_key: 'sk-9f3a7c', api_key: 'ak-77e1d0', ...robot },
        camera: { no_camera: 'false', no_mic: 'false', x_res: 640, y_res: 480, ...camera },
        misc: {
            info_server: https ? u.discovery_https : u.discovery_http,
            api_server: https ? u.discovery_https : u.discovery_http,
            app_server: u.app, user_server: u.user, ca_file: peer.info.ca_file,
            // Never the default under /var/lib: the peer's own temporary directory, so a
            // restart with the same peer finds the state again.
            lookup_timeout: 3, state_file: join(peer.info.state_dir, 'robotd-state.json'), ...misc,
        },
    };
    if (pipe) sections.pipe = pipe;
    return iniText(sections);
}

// { section: { key: value } } as the text of an INI file.
export function iniText(sections) {
    return Object.entries(sections).map(([name, keys]) =>
        `[${name}]\n` + Object.entries(keys).map(([k, v]) => `${k} = ${v}`).join('\n')).join('\n\n') + '\n';
}

export function writeConfig(text, dir = tempDir()) {
    const path = join(dir, 'robotd.conf');
    writeFileSync(path, text);
    return path;
}

export function runRobotd(args, { timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(robotdBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('robotd hung')); }, timeoutMs);
        child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
}

// `env`: variables added to this process's environment for robotd (NOTIFY_SOCKET, ...).
export function startRobotd(configPath, extraArgs = [], { verbose = true, env = null } = {}) {
    const child = spawn(robotdBin, ['--config', configPath, '--stderr', ...(verbose ? ['-v'] : []), ...extraArgs],
        { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    const log = new LineWatch(child.stderr);
    const out = new LineWatch(child.stdout);  // the pipe driver's lines with [pipe] path = -
    const done = exited(child);
    return {
        child, log, out,
        // Awaits the next pipe-driver line (a JSON object) matching `fields`, after line `from`.
        line: async (fields, { from = 0, timeoutMs = 15000 } = {}) => {
            const re = new RegExp(Object.entries(fields).map(([k, v]) =>
                `(?=.*"${k}":${JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`).join(''));
            const text = await out.wait(re, { from, timeoutMs });
            return JSON.parse(text);
        },
        wait: (re, opts) => log.wait(re, opts),
        // SIGTERM, then the time it took to exit.
        stop: async (signal = 'SIGTERM') => {
            if (child.exitCode !== null || child.signalCode !== null) return { ...(await done), ms: 0 };
            const t0 = performance.now();
            child.kill(signal);
            const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
            const r = await done;
            clearTimeout(killer);
            return { ...r, ms: performance.now() - t0 };
        },
        done,
    };
}

// Every lookup robotd logs as answered, by name, for a config with a wifi secret.
export const allLookups = ['control', 'chat', 'owner', 'robot settings', 'relay host',
    'video port', 'audio port', 'moderators'];

// ffprobe reports has_b_frames=1 for every MPEG-1 stream (the format cannot say otherwise),
// so "no B-frames" is checked on the decoded picture types.
export function pictureTypes(file) {
    const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries',
        'frame=pict_type', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    return new Set(out.split('\n').map((l) => l.split(',')[0].trim()).filter(Boolean));
}

export function probe(file) {
    const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries',
        'format=format_name:stream=codec_name,width,height,r_frame_rate,has_b_frames,sample_rate,channels',
        '-of', 'json', file], { encoding: 'utf8' });
    return JSON.parse(out);
}
