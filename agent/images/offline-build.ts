import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { execa } from "execa";
import { FailedPreconditionError } from "../../shared/errors.js";

export const OFFLINE_IMAGE = "berth/offline:bookworm";

export interface OfflineBuildOptions {
  tag: string;
  force: boolean;
  mirror?: string;
  suite: string;
  log: (line: string) => void;
}

/**
 * The base image for air-gapped hosts: a minimal Debian made by debootstrap
 * from the host's own package mirror, imported with `docker import`. It has
 * python3, python3-venv and openssh-server, and no conda.
 */
export async function buildOfflineImage(docker: Docker, options: OfflineBuildOptions): Promise<"built" | "exists"> {
  if (!options.force) {
    try {
      await docker.getImage(options.tag).inspect();
      return "exists";
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
  const which = await execa("debootstrap", ["--version"], { reject: false });
  if (which.failed) throw new FailedPreconditionError("debootstrap is not installed: apt-get install -y debootstrap");
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("building the offline image needs root (debootstrap)");

  const root = await mkdtemp(join(tmpdir(), "berth-rootfs-"));
  try {
    options.log(`debootstrap ${options.suite} into ${root}`);
    const args = ["--variant=minbase", "--include=openssh-server,python3,python3-venv", options.suite, root];
    if (options.mirror) args.push(options.mirror);
    const bootstrap = await execa("debootstrap", args, { reject: false, all: true });
    if (bootstrap.failed) {
      const tail = String(bootstrap.all ?? "").trim().split("\n").slice(-3).join(" | ");
      throw new FailedPreconditionError(`debootstrap failed (exit ${bootstrap.exitCode}): ${tail}`);
    }
    // The apt caches only make the image bigger, and host keys baked in would be shared by every
    // container of the image (each run makes its own).
    await execa("sh", ["-c", `rm -rf "${root}"/var/cache/apt/archives/*.deb "${root}"/var/lib/apt/lists/* "${root}"/etc/ssh/ssh_host_*`]);
    options.log(`docker import → ${options.tag}`);
    const tar = execa("tar", ["-C", root, "-c", "."], { buffer: false, stdout: "pipe" });
    const [repo, tag] = splitTag(options.tag);
    const stream = await docker.importImage(tar.stdout, { repo, tag, changes: ['CMD ["/bin/bash"]'] } as object);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
    await tar;
    return "built";
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function splitTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
}
