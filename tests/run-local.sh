#!/usr/bin/env bash
# `make run`: the local LetsRobot-compatible server (tests/peer) on loopback, and robotd
# against it with a test-pattern camera and a tone. Ctrl-C stops both. Arguments are passed
# on to robotd: tests/run-local.sh -v (make run ARGS="-v").
#   PEER_PORT=18080  first of the peer's nine ports (see tests/peer/README.md)
#   EIO=4            socket.io major the peer speaks: 4 (Engine.IO 4) or 3 (Engine.IO 3)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${PEER_PORT:-18080}
eio=${EIO:-4}
state=build/run
mkdir -p "$state"
rm -f "$state/peer.out"

node tests/peer/server.js --eio "$eio" --ports "$port" --state-dir "$state/peer" \
    >"$state/peer.out" 2>"$state/peer.log" &
peer=$!
trap 'kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null || true' EXIT

# The peer prints one PEER_READY line once every server listens.
for _ in $(seq 1 300); do
    grep -q '^PEER_READY ' "$state/peer.out" 2>/dev/null && break
    kill -0 "$peer" 2>/dev/null || { cat "$state/peer.log" >&2; echo "the peer did not start" >&2; exit 1; }
    sleep 0.1
done
grep -q '^PEER_READY ' "$state/peer.out" || { echo "the peer did not get ready in 30 s" >&2; exit 1; }

ready=$(sed -n 's/^PEER_READY //p' "$state/peer.out")
field() { node -e 'const o=JSON.parse(process.argv[1]); console.log(process.argv[2].split(".").reduce((a,k)=>a[k],o))' "$ready" "$1"; }

cat >"$state/robotd.conf" <<CONF
# Written by tests/run-local.sh: robotd against the local peer.
[robot]
owner = $(field identity.owner)
robot_id = $(field identity.robot_id)
camera_id = $(field identity.camera_id)
stream_key = $(field identity.stream_key)
api_key = $(field identity.api_key)
type = none

[camera]
camera_device = lavfi:testsrc=size=640x480:rate=25
mic_device = lavfi:sine=frequency=440:sample_rate=44100
x_res = 640
y_res = 480

[misc]
info_server = $(field urls.discovery_http)
api_server = $(field urls.discovery_http)
app_server = $(field urls.app)
user_server = $(field urls.user)
ca_file = $(field ca_file)
eio = $eio
CONF

cat <<MSG

  robotd local run
  ----------------
  Watch and drive the robot:  $(field urls.page)
  Peer log:                   $state/peer.log
  robotd config:              $state/robotd.conf
  Ctrl-C stops both.

MSG
build/host/robotd --config "$state/robotd.conf" --stderr "$@" &
robot=$!
trap 'kill "$robot" "$peer" 2>/dev/null; wait "$robot" "$peer" 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM
wait "$robot"
