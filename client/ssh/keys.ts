import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";
import { FailedPreconditionError } from "../../shared/errors.js";
import { sshPaths } from "./config-files.js";

/** The client's own key, made on first use ($BERTH_HOME/ssh/id_ed25519, mode 0600); returns the public key line. */
export async function ensureClientKey(home: string): Promise<string> {
  const { identity } = sshPaths(home);
  const existing = await readFile(`${identity}.pub`, "utf8").catch(() => undefined);
  if (existing !== undefined) return existing.trim();
  await mkdir(dirname(identity), { recursive: true, mode: 0o700 });
  const made = await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "berth", "-f", identity], { reject: false });
  if (made.failed) {
    throw new FailedPreconditionError(`could not create ${identity} with ssh-keygen (${made.shortMessage}); install openssh-client`);
  }
  return (await readFile(`${identity}.pub`, "utf8")).trim();
}
