import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { type HostEntry, removeHost, upsertHost, withInclude } from "./config-text.js";

export interface SshPaths {
  dir: string;
  config: string;
  knownHostsDir: string;
  identity: string;
  controlPath: string;
}

/** Absolute paths only: OpenSSH expands `~` from the passwd entry, not from $HOME. */
export function sshPaths(home: string): SshPaths {
  const dir = join(home, "ssh");
  return {
    dir,
    config: join(dir, "config"),
    knownHostsDir: join(dir, "known_hosts.d"),
    identity: join(dir, "id_ed25519"),
    controlPath: join(dir, "cm-%C"),
  };
}

export function userSshConfigPath(): string {
  return join(homedir(), ".ssh", "config");
}

/** Writes the run's Host entry and pinned host key, and makes sure ~/.ssh/config includes our file. */
export async function addRunHost(
  home: string,
  run: { alias: string; hostName: string; port: number; user: string; hostPublicKey: string },
): Promise<void> {
  const paths = sshPaths(home);
  await mkdir(paths.knownHostsDir, { recursive: true, mode: 0o700 });
  const knownHostsFile = join(paths.knownHostsDir, run.alias);
  await writeFile(knownHostsFile, `${run.alias} ${run.hostPublicKey}\n`, { mode: 0o600 });
  const entry: HostEntry = {
    alias: run.alias,
    hostName: run.hostName,
    port: run.port,
    user: run.user,
    identityFile: paths.identity,
    knownHostsFile,
    controlPath: paths.controlPath,
  };
  await withLock(paths.config, async () => {
    const current = await readFile(paths.config, "utf8").catch(() => "");
    await writeFile(paths.config, upsertHost(current, entry), { mode: 0o600 });
  });
  await withLock(userSshConfigPath(), () => ensureInclude(paths.config));
}

export async function removeRunHost(home: string, alias: string): Promise<void> {
  const paths = sshPaths(home);
  await withLock(paths.config, async () => {
    const current = await readFile(paths.config, "utf8").catch(() => undefined);
    if (current !== undefined) await writeFile(paths.config, removeHost(current, alias), { mode: 0o600 });
  });
  await rm(join(paths.knownHostsDir, alias), { force: true });
}

async function ensureInclude(berthConfig: string): Promise<void> {
  const path = userSshConfigPath();
  const current = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  const next = withInclude(current ?? "", berthConfig);
  if (next === current) return;
  await mkdir(join(homedir(), ".ssh"), { recursive: true, mode: 0o700 });
  await writeFile(path, next, { mode: current === undefined ? 0o600 : undefined });
  if (current === undefined) await chmod(path, 0o600);
}

/**
 * Serializes read-modify-write of a config file across processes (several
 * `berth run` may finish at once), with `<file>.lock` created exclusively. A
 * lock older than 10 s is taken to be left by a crashed process.
 */
async function withLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: "wx", mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
      if (age > 10_000 || Date.now() > deadline) await rm(lock, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}
