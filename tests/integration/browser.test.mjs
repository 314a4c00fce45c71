// The stream decodes in the viewer people use: robotd streams a test pattern to the peer's
// relay, the peer's page plays it with jsmpeg (npm: @cycjimmy/jsmpeg-player) in headless
// Chromium (Debian's chromium, driven by playwright-core from tests/peer), and screenshots of
// the player's canvas show ffmpeg's testsrc colour bars, changing over time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { top, startPeer, peerConfig, writeConfig, startRobotd } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const VIDEO = 'lavfi:testsrc=size=320x240:rate=25';
const AUDIO = 'lavfi:sine=frequency=440:sample_rate=44100';
const LOGS = join(top, 'build', 'test-logs');

// playwright-core is a devDependency of tests/peer (pinned in its package-lock.json).
function loadPlaywright() {
    try {
        return createRequire(join(top, 'tests', 'peer', 'package.json'))('playwright-core');
    } catch (e) {
        throw new Error('playwright-core is not installed in tests/peer/node_modules ' +
            `(run: toolchain/install-deps.sh --npm, or npm ci --prefix tests/peer): ${e.message}`);
    }
}

// Runs in the page: decodes PNG data: URLs on a 2D canvas and returns compact statistics:
// the mean colour of a patch at the centre of each of testsrc's 8 colour bars on a line near
// the top, the luma mean and spread, and (with a second image) how many pixels differ.
async function analyse([pngA, pngB]) {
    const load = (url) => new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error('cannot decode the screenshot'));
        img.src = url;
    });
    const pixels = async (url) => {
        const img = await load(url);
        const c = document.createElement('canvas');
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
        const ctx = c.getContext('2d', { willReadFrequently: true });
        ctx.drawImage(img, 0, 0);
        return ctx.getImageData(0, 0, c.width, c.height);
    };
    const a = await pixels(pngA);
    const { width: w, height: h, data } = a;
    let sum = 0, sum2 = 0;
    for (let i = 0; i < data.length; i += 4) {
        const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        sum += y;
        sum2 += y * y;
    }
    const n = w * h;
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
    // testsrc's top rows: black, red, magenta, blue, yellow, green, cyan, white bars.
    const row = Math.round(h * 0.04);
    const bars = [];
    for (let b = 0; b < 8; b++) {
        const cx = Math.round(((b + 0.5) / 8) * w);
        const rx = Math.max(1, Math.round(w / 64)), ry = Math.max(1, Math.round(h / 120));
        const acc = [0, 0, 0];
        let k = 0;
        for (let y = row - ry; y <= row + ry; y++) {
            for (let x = cx - rx; x <= cx + rx; x++) {
                const i = (y * w + x) * 4;
                acc[0] += data[i]; acc[1] += data[i + 1]; acc[2] += data[i + 2];
                k++;
            }
        }
        bars.push(acc.map((v) => Math.round(v / k)));
    }
    let changed = null;
    if (pngB) {
        const b = (await pixels(pngB)).data;
        changed = 0;
        if (b.length === data.length) {
            for (let i = 0; i < data.length; i += 4) {
                if (Math.abs(data[i] - b[i]) + Math.abs(data[i + 1] - b[i + 1]) + Math.abs(data[i + 2] - b[i + 2]) > 96) changed++;
            }
        } else {
            changed = n;
        }
    }
    return { width: w, height: h, mean, std, row, bars, changed };
}

// A saturated colour's hue sector (red, yellow, green, cyan, blue, magenta), else null.
function hueName([r, g, b]) {
    const max = Math.max(r, g, b), min = Math.min(r, g, b);
    if (max < 110 || (max - min) / max < 0.5) return null;
    let hue;
    if (max === r) hue = ((g - b) / (max - min)) * 60;
    else if (max === g) hue = 120 + ((b - r) / (max - min)) * 60;
    else hue = 240 + ((r - g) / (max - min)) * 60;
    hue = (hue + 360) % 360;
    return ['red', 'yellow', 'green', 'cyan', 'blue', 'magenta'][Math.round(hue / 60) % 6];
}

test('the stream decodes in jsmpeg in headless Chromium and shows the test pattern', { timeout: 60000 }, async (t) => {
    assert.ok(existsSync(CHROMIUM), `Debian's chromium is not installed (${CHROMIUM} is missing): ` +
        'run toolchain/install-deps.sh as root (make test does), or apt-get install chromium');
    const { chromium } = loadPlaywright();
    mkdirSync(LOGS, { recursive: true });

    let peer, robot, browser, page, last;
    try {
        peer = await startPeer({ eio: 4, args: ['--stream-key', 'sk-9f3a7c'] });
        await peer.api('POST', '/_peer/settings', { xres: 320, yres: 240 });
        robot = startRobotd(writeConfig(peerConfig(peer, {
            camera: { camera_device: VIDEO, mic_device: AUDIO, x_res: 320, y_res: 240 },
        })));
        // Video flows: a second or so of it has reached the relay.
        const flowing = await peer.api('GET', '/_peer/wait?kind=relay_bytes&stream=video&min_bytes=40000&timeout_ms=20000');
        assert.equal(flowing.status, 200, `no video reached the relay:\n${robot.log.text().split('\n').slice(-15).join('\n')}`);

        browser = await chromium.launch({
            executablePath: CHROMIUM,
            headless: true,
            args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        });
        page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
        const pageErrors = [];
        page.on('pageerror', (e) => pageErrors.push(String(e)));
        const pageUrl = peer.info.urls.page;
        assert.match(pageUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);
        await page.goto(pageUrl);

        // jsmpeg sizes the canvas from the stream's sequence header (the page starts at 640x480).
        const canvas = page.locator('#video');
        await page.waitForFunction(() => {
            const c = document.getElementById('video');
            return c && c.width === 320 && c.height === 240;
        }, null, { timeout: 20000, polling: 100 });

        const shot = async () => {
            const box = await canvas.boundingBox();
            assert.ok(box && box.width > 0 && box.height > 0, 'the canvas is on the page');
            const png = await page.screenshot({ clip: box, type: 'png' });
            last = png;
            return png;
        };
        const dataUrl = (png) => 'data:image/png;base64,' + png.toString('base64');

        // Until a decoded picture is shown: the canvas is not uniform (it starts black).
        let first, stats;
        for (const deadline = Date.now() + 20000; ;) {
            first = await shot();
            stats = await page.evaluate(analyse, [dataUrl(first)]);
            if (stats.std > 20) break;
            assert.ok(Date.now() < deadline, `the canvas stayed uniform (luma mean ${stats.mean.toFixed(1)}, ` +
                `std ${stats.std.toFixed(1)}); page errors: ${pageErrors.join('; ') || 'none'}`);
            await page.waitForTimeout(200);
        }
        writeFileSync(join(LOGS, 'browser-testsrc.png'), first);

        // The colour bars across the top: saturated red/yellow/green/cyan/blue/magenta-ish.
        const hues = stats.bars.map(hueName);
        const distinct = new Set(hues.filter(Boolean));
        const detail = `bars at y=${stats.row}: ${JSON.stringify(stats.bars)} -> ${JSON.stringify(hues)}`;
        assert.ok(distinct.size >= 5, `at least 5 distinct saturated hues across the top; ${detail}`);
        assert.ok(stats.mean > 40 && stats.mean < 220, `not black, grey or white: luma mean ${stats.mean.toFixed(1)}`);
        assert.ok(stats.std > 40, `a pattern, not a flat picture: luma std ${stats.std.toFixed(1)}`);

        // Live: a second later the counter and the scrolling gradient have moved.
        await page.waitForTimeout(1000);
        const second = await shot();
        writeFileSync(join(LOGS, 'browser-testsrc-1s-later.png'), second);
        const diff = await page.evaluate(analyse, [dataUrl(first), dataUrl(second)]);
        assert.ok(diff.changed > 100, `the picture changes over 1 s (${diff.changed} pixels differ)`);
        assert.ok(hueName(diff.bars[1]) !== null, 'the later picture still shows the pattern');

        // The page's viewer WebSocket is connected to the relay and has been sent data.
        const viewers = await page.evaluate(async () => (await (await fetch('/_peer/state')).json()).relay.viewers);
        assert.ok(viewers.connected >= 1, `a viewer is connected: ${JSON.stringify(viewers)}`);
        assert.ok(viewers.bytes_sent > 0, `the viewer was sent data: ${JSON.stringify(viewers)}`);
        assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
        t.diagnostic(`${detail}; luma mean ${stats.mean.toFixed(1)} std ${stats.std.toFixed(1)}; ` +
            `${diff.changed} pixels changed in 1 s; viewers ${JSON.stringify(viewers)}`);
    } catch (e) {
        if (last) writeFileSync(join(LOGS, 'browser-failure.png'), last);
        throw e;
    } finally {
        if (browser) await browser.close().catch(() => {});
        const stopped = robot ? await robot.stop() : null;
        if (peer) await peer.stop();
        if (stopped) assert.equal(stopped.code, 0, `robotd exits 0 on SIGTERM (got ${stopped.code}, signal ${stopped.signal})`);
    }
});
