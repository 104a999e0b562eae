import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Which agent holds which run, so `berth stop NAME` needs no fleet-wide
 * search. One small file per run under $BERTH_HOME/runs/, so that many
 * `berth run` at once never rewrite each other's records. A cache: the agents
 * are the truth.
 */
export interface RunRecord {
  name: string;
  runId: string;
  agent: string;
}

function dir(home: string): string {
  return join(home, "runs");
}

export async function readRunRecords(home: string): Promise<RunRecord[]> {
  const names = await readdir(dir(home)).catch(() => [] as string[]);
  const records: RunRecord[] = [];
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    try {
      records.push(JSON.parse(await readFile(join(dir(home), name), "utf8")) as RunRecord);
    } catch {
      // A record being written right now, or a stray file: skip it.
    }
  }
  return records;
}

export async function rememberRun(home: string, record: RunRecord): Promise<void> {
  await mkdir(dir(home), { recursive: true, mode: 0o700 });
  const path = join(dir(home), `${record.name}.json`);
  const aside = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(aside, JSON.stringify(record), { mode: 0o600 });
  await rename(aside, path);
}

export async function forgetRun(home: string, ref: string): Promise<void> {
  for (const record of await readRunRecords(home)) {
    if (record.name === ref || record.runId === ref) await rm(join(dir(home), `${record.name}.json`), { force: true });
  }
}
