# Shared helpers for the setup scripts. Sourced, not run.

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

# Debian packages the project needs on the machine: installed only when missing.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]} (run as root, or install them)"; return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_node() {
  if ! command -v node >/dev/null 2>&1; then ensure_packages nodejs npm; fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    log "Node.js 20 or newer is needed (found $(node --version))"; return 1
  fi
}

# npm ci when the lock file matches, and only when node_modules is older than it.
ensure_npm_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  log "building (codegen + tsc)"
  npm run --silent build
}
