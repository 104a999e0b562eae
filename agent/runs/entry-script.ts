/**
 * The container's PID 1: a POSIX sh script generated here so that it can be
 * read and tested as text. Order matters: the login key and our own sshd come
 * first (so a failed setup can still be inspected over ssh), then the
 * workflow's env and working dir, then setup with `set -e`, then ready, then
 * wait until stopped.
 */
export interface EntryScriptInput {
  /** Where stdout and stderr files go (a bind mount the agent reads on the host). */
  outputDir: string;
  runId: string;
  authorizedKeys: string[];
  env: { key: string; value: string }[];
  /** Absolute path inside the container. */
  workingDir: string;
  setup: string[];
  sshPort: number;
}

/** Lines the agent reads from stdout to follow the run; never shown as output. */
export const MARKER = "\u001eberth:";
export const Markers = {
  hostKey: `${MARKER}hostkey `,
  setup: `${MARKER}setup`,
  ready: `${MARKER}ready`,
  setupFailed: `${MARKER}setup-failed `,
  sshdFailed: `${MARKER}sshd-failed `,
} as const;

const DIR = "/run/berth";
export const OUTPUT_MOUNT = `${DIR}/output`;

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function marker(text: string): string {
  // \036 is the record separator that starts every marker line.
  return `printf '\\036berth:%s\\n' ${shellQuote(text)}`;
}

export function sshdConfig(sshPort: number): string {
  return [
    `Port ${sshPort}`,
    "ListenAddress 0.0.0.0",
    `HostKey ${DIR}/ssh/host_ed25519_key`,
    `AuthorizedKeysFile ${DIR}/ssh/authorized_keys`,
    `PidFile ${DIR}/sshd.pid`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "PrintMotd no",
    "X11Forwarding no",
    "AllowTcpForwarding yes",
    "ClientAliveInterval 30",
    "ClientAliveCountMax 4",
    // Every session starts in the working dir with the workflow's env, whatever the login shell reads.
    `ForceCommand ${DIR}/session.sh`,
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

/** What every ssh session runs: the workflow env, the working dir, then the client's command or a login shell. */
export function sessionScript(): string {
  return `#!/bin/sh
. ${DIR}/env.sh
cd "$BERTH_WORKING_DIR" 2>/dev/null || cd /
case "\${SSH_ORIGINAL_COMMAND:-}" in
  "") exec "\${SHELL:-/bin/sh}" -l ;;
  internal-sftp|sftp|*/sftp-server)
    for server in /usr/lib/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/openssh/sftp-server; do
      [ -x "$server" ] && exec "$server"
    done
    echo "berth: no sftp-server in this image" >&2; exit 1 ;;
  *) exec "\${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND" ;;
esac
`;
}

export function entryScript(input: EntryScriptInput): string {
  const exports = [
    ...input.env.map(({ key, value }) => `export ${key}=${shellQuote(value)}`),
    `export BERTH_RUN_ID=${shellQuote(input.runId)}`,
    `export BERTH_WORKING_DIR=${shellQuote(input.workingDir)}`,
    // Setup output must reach the client line by line, not in 4 KB blocks.
    "export PYTHONUNBUFFERED=1",
  ];
  return `#!/bin/sh
# berth entry script for run ${input.runId}
set -u
umask 022
# Everything from here on, setup included, goes to files the agent tails on the host.
exec >>${input.outputDir}/stdout 2>>${input.outputDir}/stderr
mkdir -p ${DIR}/ssh /run/sshd
chmod 700 ${DIR} ${DIR}/ssh

# 1. login key, per-run host key, our own sshd
printf '%s\\n' ${input.authorizedKeys.map(shellQuote).join(" ") || "''"} > ${DIR}/ssh/authorized_keys
chmod 600 ${DIR}/ssh/authorized_keys
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null 2>&1; then
  echo "berth: installing openssh-server (this image has no sshd)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >&2
  elif command -v apk >/dev/null 2>&1; then
    apk add --no-cache openssh-server openssh-keygen >&2
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q openssh-server >&2
  elif command -v yum >/dev/null 2>&1; then
    yum install -y -q openssh-server >&2
  fi
fi
if [ ! -x /usr/sbin/sshd ]; then
  ${marker("sshd-failed no sshd in the image and none could be installed (no apt-get, apk or dnf)")}
  exit 97
fi
rm -f ${DIR}/ssh/host_ed25519_key ${DIR}/ssh/host_ed25519_key.pub
ssh-keygen -q -t ed25519 -N '' -C "berth-run-${input.runId}" -f ${DIR}/ssh/host_ed25519_key >/dev/null
printf '\\036berth:hostkey %s\\n' "$(cut -d' ' -f1,2 ${DIR}/ssh/host_ed25519_key.pub)"
cat > ${DIR}/sshd_config <<'BERTH_SSHD_CONFIG'
${sshdConfig(input.sshPort)}BERTH_SSHD_CONFIG
cat > ${DIR}/session.sh <<'BERTH_SESSION'
${sessionScript()}BERTH_SESSION
chmod 755 ${DIR}/session.sh
if ! /usr/sbin/sshd -f ${DIR}/sshd_config -E ${DIR}/sshd.log; then
  ${marker("sshd-failed sshd did not start")}
  cat ${DIR}/sshd.log >&2
  exit 98
fi

# 2. the workflow's env and working dir
${exports.join("\n")}
export -p | grep -v -E '^(export|declare -x) (HOME|HOSTNAME|PWD|OLDPWD|SHLVL|_)=' > ${DIR}/env.sh
mkdir -p "$BERTH_WORKING_DIR"
cd "$BERTH_WORKING_DIR"

stop() {
  [ -n "\${setup_pid:-}" ] && kill "$setup_pid" 2>/dev/null
  [ -f ${DIR}/sshd.pid ] && kill "$(cat ${DIR}/sshd.pid)" 2>/dev/null
  exit 0
}
trap stop TERM INT

# 3. setup, stopping at the first failing command
printf '%s\\n' 'set -e' ${input.setup.map(shellQuote).join(" ")} > ${DIR}/setup.sh
${marker("setup")}
if command -v bash >/dev/null 2>&1; then setup_shell=bash; else setup_shell=sh; fi
"$setup_shell" -e ${DIR}/setup.sh &
setup_pid=$!
wait "$setup_pid"
status=$?
setup_pid=
if [ "$status" -ne 0 ]; then
  printf '\\036berth:setup-failed %s\\n' "$status"
  exit "$status"
fi

# 4. ready, then wait until stopped. The marker goes to both streams: Docker keeps no order between
# them, so the agent announces ready only once each stream has delivered everything setup wrote to it.
${marker("ready")}
${marker("ready")} >&2
while :; do
  sleep 2147483647 &
  wait $!
done
`;
}
