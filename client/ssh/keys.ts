import { randomBytes } from "node:crypto";
import { link, mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { FailedPreconditionError } from "../../shared/errors.js";
import { run } from "../exec.js";
import { sshPaths } from "./config-files.js";

/**
 * The client's own key, made on first use ($BERTH_HOME/ssh/id_ed25519, mode
 * 0600); returns the public key line. Several `berth run` started at once may
 * all find no key: each makes one aside and hard-links it into place, so
 * exactly one wins and the others use the winner's.
 */
export async function ensureClientKey(home: string): Promise<string> {
  const { identity } = sshPaths(home);
  const existing = await readPublicKey(identity, 1);
  if (existing !== undefined) return existing;
  await mkdir(dirname(identity), { recursive: true, mode: 0o700 });
  const aside = `${identity}.${process.pid}.${randomBytes(4).toString("hex")}`;
  const made = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "berth", "-f", aside]);
  if (made.exitCode !== 0) {
    throw new FailedPreconditionError(`could not create ${identity} with ssh-keygen (${made.error.trim()}); install openssh-client`);
  }
  try {
    await link(aside, identity);
    await link(`${aside}.pub`, `${identity}.pub`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await rm(aside, { force: true });
    await rm(`${aside}.pub`, { force: true });
  }
  const key = await readPublicKey(identity, 50);
  if (key === undefined) throw new FailedPreconditionError(`${identity}.pub is missing next to ${identity}`);
  return key;
}

async function readPublicKey(identity: string, attempts: number): Promise<string | undefined> {
  for (let i = 0; i < attempts; i++) {
    const text = await readFile(`${identity}.pub`, "utf8").catch(() => undefined);
    if (text !== undefined && text.trim() !== "") return text.trim();
    // Another process may be between linking the private key and the public one.
    if (i + 1 < attempts) await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}
