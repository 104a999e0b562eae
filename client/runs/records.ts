import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Which agent holds which run, so `berth stop NAME` needs no fleet-wide search. A cache: the agents are the truth. */
export interface RunRecord {
  name: string;
  runId: string;
  agent: string;
}

function path(home: string): string {
  return join(home, "runs.json");
}

export async function readRunRecords(home: string): Promise<RunRecord[]> {
  const text = await readFile(path(home), "utf8").catch(() => "[]");
  try {
    const parsed = JSON.parse(text) as RunRecord[];
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export async function rememberRun(home: string, record: RunRecord): Promise<void> {
  const records = (await readRunRecords(home)).filter((r) => r.name !== record.name && r.runId !== record.runId);
  await write(home, [...records, record]);
}

export async function forgetRun(home: string, ref: string): Promise<void> {
  const records = await readRunRecords(home);
  await write(home, records.filter((r) => r.name !== ref && r.runId !== ref));
}

async function write(home: string, records: RunRecord[]): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  await writeFile(`${path(home)}.tmp`, JSON.stringify(records, null, 1), { mode: 0o600 });
  await rename(`${path(home)}.tmp`, path(home));
}
