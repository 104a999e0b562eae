#!/usr/bin/env bash
# Sets up and starts the main job on this machine: Docker, the offline base image, a local
# berth-agent (TLS, token auth), and an ssh dev environment you can log into with `ssh quickstart`.
# Idempotent: a second run reuses the agent, the image and the run.
#   bash scripts/quickstart.sh        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

if [ "$(id -u)" -ne 0 ]; then log "run as root: the agent drives docker.sock"; exit 1; fi
ensure_node
ensure_packages docker.io debootstrap openssh-client git
bash scripts/ensure-docker.sh
ensure_npm_deps

ln -sf "$PWD/dist/agent/main.js" /usr/local/bin/berth-agent
ln -sf "$PWD/dist/berth.mjs" /usr/local/bin/berth

log "offline base image (debootstrap → docker import; a no-op when it exists)"
berth-agent image build --offline

# Air-gapped default: every run uses the offline image. Ports are published on loopback only;
# set publish_address (or remove it) to reach runs from other machines.
if [ ! -s /etc/berth/agent.yaml ]; then
  mkdir -p /etc/berth
  cat > /etc/berth/agent.yaml <<'YAML'
publish_address: 127.0.0.1
images:
  cpu: berth/offline:bookworm
  gpu: berth/offline:bookworm
YAML
fi

if berth fleet ls --timeout 1s >/dev/null 2>&1; then
  log "berth-agent already running"
elif [ -d /run/systemd/system ]; then
  log "installing and starting the berth-agent systemd unit"
  install -m 0644 systemd/berth-agent.service /etc/systemd/system/berth-agent.service
  systemctl daemon-reload
  systemctl enable --now berth-agent
else
  log "starting berth-agent in the background (log: /var/log/berth-agent.log)"
  setsid berth-agent --config /etc/berth/agent.yaml >>/var/log/berth-agent.log 2>&1 < /dev/null &
fi
for _ in $(seq 1 40); do
  berth fleet ls --timeout 1s >/dev/null 2>&1 && break
  sleep 0.5
done

log "berth fleet ls"
berth fleet ls

if berth ps --json | grep -q '"name":"quickstart","state":"running"'; then
  log "the quickstart run is already up"
else
  log "berth run ssh --code -d --name quickstart"
  berth run ssh --code -d --name quickstart --setup 'echo "hello from $(hostname)"'
fi

log "ssh quickstart python3 --version"
ssh -o BatchMode=yes quickstart 'python3 --version; pwd'
log "log in with: ssh quickstart    (stop it with: berth stop quickstart)"
