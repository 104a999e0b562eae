import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** What the running agent actually bound, for `token create` to advertise (the config may say port 0 or 0.0.0.0). */
export interface ServingInfo {
  name: string;
  address: string;
  pid: number;
  fingerprint: string;
}

function servingPath(dataDir: string): string {
  return join(dataDir, "serving.json");
}

export async function writeServingFile(dataDir: string, info: ServingInfo): Promise<void> {
  const path = servingPath(dataDir);
  await writeFile(`${path}.tmp`, JSON.stringify(info), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/** The serving info of a live agent using this data dir, or undefined. */
export async function readServingFile(dataDir: string): Promise<ServingInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(servingPath(dataDir), "utf8")) as ServingInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}
