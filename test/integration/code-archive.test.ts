import { execa } from "execa";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import { describe, expect, it } from "vitest";
import { archiveCode } from "../../client/code/archive.js";
import { tempDir } from "../support/processes.js";

async function entries(archive: Buffer): Promise<string[]> {
  const names: string[] = [];
  const parser = new tar.Parser({ onReadEntry: (entry) => {
    if (entry.type === "File") names.push(entry.path.replace(/^\.\//, ""));
    entry.resume();
  } });
  await new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
    parser.end(archive);
  });
  return names.sort();
}

describe("the code that becomes /workflow", () => {
  it("in a git repo: tracked files plus untracked ones git does not ignore", async () => {
    const dir = await tempDir("repo");
    await execa("git", ["init", "-q", dir]);
    await writeFile(join(dir, ".gitignore"), "secrets/\n*.log\n");
    await writeFile(join(dir, "tracked.py"), "x = 1\n");
    await execa("git", ["-C", dir, "add", "."]);
    await writeFile(join(dir, "new.py"), "y = 2\n");
    await writeFile(join(dir, "debug.log"), "noise\n");
    await mkdir(join(dir, "secrets"));
    await writeFile(join(dir, "secrets", "key"), "hush\n");
    const code = await archiveCode(dir);
    expect(await entries(code.archive)).toEqual([".gitignore", "new.py", "tracked.py"]);
    expect(code.repo).toMatch(/^berth-repo-/);
  });

  it("elsewhere: the whole directory", async () => {
    const dir = await tempDir("plain");
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "a.txt"), "a");
    await writeFile(join(dir, "sub", "b.txt"), "b");
    expect(await entries((await archiveCode(dir)).archive)).toEqual(["a.txt", "sub/b.txt"]);
  });

  it("over the size limit is a clear error naming the sizes", async () => {
    const dir = await tempDir("big");
    await writeFile(join(dir, "weights.bin"), Buffer.alloc(3 * 1024 * 1024));
    await expect(archiveCode(dir, 1024 * 1024)).rejects.toThrow(/^code: expected at most 1 MB of files in .* \(add large files to \.gitignore, or run from a smaller folder\), got "3 MB"$/);
  });
});
