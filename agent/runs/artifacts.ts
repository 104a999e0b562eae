import { createReadStream } from "node:fs";
import { lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { NotFoundError } from "../../shared/errors.js";
import type { ArtifactChunk } from "../../shared/gen/berth/v1/agent.js";
import type { ArtifactFile } from "../../shared/gen/berth/v1/run.js";
import { workflowPath } from "../../shared/workflow/spec.js";
import type { ContainerEngine } from "../docker/engine.js";

const CHUNK_BYTES = 256 * 1024;

/** Copies non-mounted artifacts out of a (stopped) container into `<run>/artifacts/<path>`. */
export async function copyArtifactsOut(engine: ContainerEngine, containerId: string, artifacts: { path: string }[], root: string): Promise<void> {
  for (const artifact of artifacts) {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await engine.copyOut(containerId, `/workflow/${artifact.path}`);
    } catch (error) {
      // The workflow never created it: nothing to copy, not an error.
      if ((error as { statusCode?: number }).statusCode === 404) continue;
      throw error;
    }
    // Docker's archive holds the folder itself (its basename) at the top.
    const target = join(root, dirname(artifact.path));
    await mkdir(target, { recursive: true });
    await pipeline(archive, tar.x({ cwd: target, preserveOwner: false, strict: false }));
  }
}

/** Every file under the artifact root, with paths relative to it. */
export async function listArtifacts(root: string): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await lstat(path);
        files.push({ path: relative(root, path).split(sep).join("/"), size: BigInt(info.size), mode: info.mode & 0o777 });
      }
    }
  };
  await walk(root);
  return files;
}

/** Streams the files under `path` (relative to the artifact root, checked not to escape it), chunk by chunk. */
export async function* downloadArtifacts(root: string, path: string): AsyncGenerator<ArtifactChunk> {
  const prefix = path === "" ? "" : workflowPath(path, "path", true);
  const files = (await listArtifacts(root)).filter((file) => prefix === "" || file.path === prefix || file.path.startsWith(`${prefix}/`));
  if (prefix !== "" && files.length === 0) throw new NotFoundError(`no artifact ${JSON.stringify(path)}`);
  for (const file of files) {
    let first = true;
    for await (const data of createReadStream(join(root, file.path), { highWaterMark: CHUNK_BYTES })) {
      yield { file: first ? file : undefined, data: data as Buffer };
      first = false;
    }
    if (first) yield { file, data: Buffer.alloc(0) };
  }
}
