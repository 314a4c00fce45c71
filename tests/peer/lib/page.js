'use strict';
// Serves the driver page (/) and its static assets (/static/...).

const fs = require('node:fs');
const path = require('node:path');

const PAGE_DIR = path.join(__dirname, '..', 'page');
const JSMPEG = path.join(__dirname, '..', 'node_modules', '@cycjimmy', 'jsmpeg-player', 'dist', 'jsmpeg-player.umd.min.js');

const FILES = {
  '/': [path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
  '/static/app.js': [path.join(PAGE_DIR, 'app.js'), 'text/javascript; charset=utf-8'],
  '/static/style.css': [path.join(PAGE_DIR, 'style.css'), 'text/css; charset=utf-8'],
  '/static/jsmpeg.min.js': [JSMPEG, 'text/javascript; charset=utf-8'],
};

function isPagePath(pathname) {
  return pathname === '/' || pathname.startsWith('/static/') || pathname === '/favicon.ico';
}

function servePage(req, res, pathname) {
  if (pathname === '/favicon.ico') {  // browsers ask; "no icon" is not an error
    res.writeHead(204);
    res.end();
    return;
  }
  const entry = FILES[pathname];
  if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  fs.readFile(entry[0], (err, data) => {
    if (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`cannot read ${pathname}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': entry[1], 'Content-Length': data.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
}

module.exports = { isPagePath, servePage };
