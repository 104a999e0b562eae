import { lstat } from "node:fs/promises";
import { basename } from "node:path";
import { ValidationError } from "../../shared/errors.js";
import { run } from "../exec.js";

export const DEFAULT_CODE_LIMIT_BYTES = 256 * 1024 * 1024;

export interface CodeArchive {
  archive: Buffer;
  files: number;
  /** The git repository's folder name, or the directory's. */
  repo: string;
}

/**
 * The code that becomes /workflow: in a git repository the tracked files plus
 * the untracked ones git does not ignore; elsewhere the whole directory.
 * Over `limitBytes` (before compression) is an error rather than a surprise upload.
 */
export async function archiveCode(dir: string, limitBytes = DEFAULT_CODE_LIMIT_BYTES): Promise<CodeArchive> {
  const git = await run("git", ["-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  let files: string[];
  let repo = basename(dir);
  if (git.exitCode === 0) {
    const top = await run("git", ["-C", dir, "rev-parse", "--show-toplevel"]);
    if (top.exitCode === 0) repo = basename(String(top.stdout).trim());
    files = String(git.stdout).split("\0").filter(Boolean);
  } else {
    files = ["."];
  }
  // ls-files still lists tracked files deleted from the work tree; only what exists goes.
  const present: string[] = [];
  let total = 0;
  for (const file of files) {
    const info = await lstat(`${dir}/${file}`).catch(() => undefined);
    if (!info) continue;
    present.push(file);
    if (info.isFile()) total += info.size;
  }
  if (files.length === 1 && files[0] === ".") total = await directorySize(dir);
  if (total > limitBytes) {
    throw new ValidationError("code", `at most ${Math.round(limitBytes / 1024 / 1024)} MB of files in ${dir} (add large files to .gitignore, or run from a smaller folder)`, `${Math.round(total / 1024 / 1024)} MB`);
  }
  // Loaded here, not at start-up: only `berth run` needs it.
  const tar = await import("tar");
  const chunks: Buffer[] = [];
  const stream = tar.c({ cwd: dir, gzip: true, portable: true, follow: false, noDirRecurse: files[0] !== "." }, present);
  for await (const chunk of stream) chunks.push(chunk);
  return { archive: Buffer.concat(chunks), files: present.length, repo: repo.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "") || "default" };
}

async function directorySize(dir: string): Promise<number> {
  const du = await run("du", ["-sb", dir]);
  return du.exitCode === 0 ? Number(String(du.stdout).split("\t")[0]) : 0;
}
