/* Driver page: video through jsmpeg, drive buttons and chat through the
   peer's control API, and a status panel polling /_peer/state and /_peer/events. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var player = null;
  var lastSeq = 0;
  var recent = [];

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) {
        $('flash').textContent = r.ok ? '' : (j.error || ('HTTP ' + r.status));
        return j;
      });
    }).catch(function (e) { $('flash').textContent = String(e); });
  }

  function drive(command, keyPosition) {
    return post('/_peer/command', { command: command, key_position: keyPosition, user: $('chat-name').value || 'user1', anonymous: false });
  }

  function startVideo(port) {
    var url = 'ws://' + location.hostname + ':' + port + '/';
    player = new JSMpeg.Player(url, { canvas: $('video'), audio: true, pauseWhenHidden: false });
    $('viewer').textContent = url;
  }

  function bindButtons() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-cmd]'), function (b) {
      var cmd = b.getAttribute('data-cmd');
      var held = false;
      var down = function (e) { e.preventDefault(); if (held) return; held = true; b.classList.add('held'); drive(cmd, 'down'); };
      var up = function () { if (!held) return; held = false; b.classList.remove('held'); drive(cmd, 'up'); };
      b.addEventListener('pointerdown', down);
      b.addEventListener('pointerup', up);
      b.addEventListener('pointerleave', up);
    });
    var keys = { ArrowUp: 'F', ArrowDown: 'B', ArrowLeft: 'L', ArrowRight: 'R', ' ': 'stop' };
    var onKey = function (position) {
      return function (e) {
        var cmd = keys[e.key];
        if (!cmd || e.repeat || e.target.tagName === 'INPUT') return;
        e.preventDefault();
        drive(cmd, position);
      };
    };
    document.addEventListener('keydown', onKey('down'));
    document.addEventListener('keyup', onKey('up'));
    $('chat').addEventListener('submit', function (e) {
      e.preventDefault();
      var text = $('chat-text').value;
      if (!text) return;
      post('/_peer/chat', { name: $('chat-name').value || 'user1', text: text }).then(function () { $('chat-text').value = ''; });
    });
    $('sound').addEventListener('click', function () {
      if (player && player.audioOut && player.audioOut.unlock) {
        player.audioOut.unlock(function () { $('sound').textContent = 'sound on'; });
      }
    });
  }

  function showState(s) {
    $('eio').textContent = '(Engine.IO ' + s.eio + ', robot ' + s.identity.robot_id + ')';
    var rows = Object.keys(s.sockets).map(function (name) {
      var k = s.sockets[name];
      var n = k.connections.length;
      return '<tr><td>' + name + '</td><td class="' + (n ? 'on' : 'off') + '">' +
        (n ? 'connected (' + n + ')' : 'not connected') + '</td><td>' +
        (k.listening ? k.scheme + ' :' + k.port : 'stopped') + (k.noping ? ' noping' : '') + '</td></tr>';
    });
    $('sockets').innerHTML = rows.join('');
    var r = s.relay;
    $('relay').textContent = 'video ' + r.video.bytes + ' B (' + r.video.active + ' active), audio ' +
      r.audio.bytes + ' B (' + r.audio.active + ' active), viewers ' + r.viewers.connected;
    if (!player) startVideo(s.ports.viewer_ws);
  }

  function showEvents(list) {
    list.forEach(function (e) {
      lastSeq = Math.max(lastSeq, e.seq);
      var text = e.type === 'event' ? e.event + ' ' + JSON.stringify(e.args) : e.type + ' ' + JSON.stringify(e.args);
      recent.unshift((e.t_ms / 1000).toFixed(1) + 's ' + e.socket + ': ' + text.slice(0, 160));
    });
    recent = recent.slice(0, 30);
    var ol = $('events');
    ol.innerHTML = '';
    recent.forEach(function (t) { var li = document.createElement('li'); li.textContent = t; ol.appendChild(li); });
  }

  function poll() {
    Promise.all([
      fetch('/_peer/state').then(function (r) { return r.json(); }).then(showState),
      fetch('/_peer/events?since=' + lastSeq).then(function (r) { return r.json(); }).then(showEvents),
    ]).catch(function (e) { $('flash').textContent = 'peer unreachable: ' + e; })
      .then(function () { setTimeout(poll, 1000); });
  }

  bindButtons();
  poll();
}());
