#!/usr/bin/env bash
# Sets up and starts the main job on this machine: a local berth-agent (TLS,
# token auth) with Docker, then asks it for the fleet inventory. Idempotent:
# a second run reuses the running agent.
#   sudo bash scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "$(id -u)" -ne 0 ]; then log "run as root: the agent drives docker.sock"; exit 1; fi
ensure_node
ensure_packages docker.io debootstrap openssh-client
bash scripts/ensure-docker.sh
ensure_npm_deps

ln -sf "$PWD/dist/agent/main.js" /usr/local/bin/berth-agent
ln -sf "$PWD/dist/client/main.js" /usr/local/bin/berth
chmod +x dist/agent/main.js dist/client/main.js

if berth fleet ls --timeout 1s >/dev/null 2>&1; then
  log "berth-agent already running"
elif [ -d /run/systemd/system ]; then
  log "installing and starting the berth-agent systemd unit"
  install -m 0644 systemd/berth-agent.service /etc/systemd/system/berth-agent.service
  mkdir -p /etc/berth && touch /etc/berth/agent.yaml
  systemctl daemon-reload
  systemctl enable --now berth-agent
else
  log "starting berth-agent in the background (log: /var/log/berth-agent.log)"
  setsid berth-agent >>/var/log/berth-agent.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 40); do
  berth fleet ls --timeout 1s >/dev/null 2>&1 && break
  sleep 0.5
done

log "berth fleet ls"
berth fleet ls
