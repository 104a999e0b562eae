/**
 * Pure text edits of ssh config files. berth owns $BERTH_HOME/ssh/config
 * (one marked block per run) and adds exactly one `Include` line at the top
 * of ~/.ssh/config, leaving every other byte of that file as it was.
 */
export interface HostEntry {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFile: string;
  /** A known_hosts file holding only this run's pinned host key, under HostKeyAlias = alias. */
  knownHostsFile: string;
  controlPath: string;
}

const begin = (alias: string) => `# berth:begin ${alias}`;
const end = (alias: string) => `# berth:end ${alias}`;

export function hostBlock(entry: HostEntry): string {
  return [
    begin(entry.alias),
    `Host ${entry.alias}`,
    `  HostName ${entry.hostName}`,
    `  Port ${entry.port}`,
    `  User ${entry.user}`,
    `  IdentityFile ${quote(entry.identityFile)}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${quote(entry.knownHostsFile)}`,
    `  HostKeyAlias ${entry.alias}`,
    "  StrictHostKeyChecking yes",
    "  ControlMaster auto",
    `  ControlPath ${quote(entry.controlPath)}`,
    "  ControlPersist 10m",
    "  ServerAliveInterval 30",
    end(entry.alias),
    "",
  ].join("\n");
}

/** The config with the alias's block replaced (or added at the end). */
export function upsertHost(config: string, entry: HostEntry): string {
  return `${removeHost(config, entry.alias)}${hostBlock(entry)}`;
}

export function removeHost(config: string, alias: string): string {
  const lines = config.split("\n");
  const out: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (line === begin(alias)) skipping = true;
    else if (skipping && line === end(alias)) skipping = false;
    else if (!skipping) out.push(line);
  }
  return out.join("\n");
}

export function includeLine(path: string): string {
  return `Include ${quote(path)}`;
}

/** ~/.ssh/config with our Include line first; unchanged (same string) when it is already there. */
export function withInclude(userConfig: string, path: string): string {
  const line = includeLine(path);
  if (userConfig.split("\n").some((existing) => existing.trim() === line)) return userConfig;
  // Include must come before any Host block to apply to every host, so it goes first.
  return `${line}\n${userConfig}`;
}

function quote(path: string): string {
  return /\s/.test(path) ? `"${path}"` : path;
}
