import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Run } from "../../shared/gen/berth/v1/run.js";

/**
 * `<data>/runs/<id>/run.json`: the run as last known, plus the host key seen so
 * far. Together with the container's labels and the event log (whose Output
 * events carry the read offsets) it is the source of truth after a restart.
 */
export interface RunRecord {
  run: Run;
  hostPublicKey: string;
}

export function runsRoot(dataDir: string): string {
  return join(dataDir, "runs");
}

export function runDir(dataDir: string, runId: string): string {
  return join(runsRoot(dataDir), runId);
}

export function saveRecord(dataDir: string, record: RunRecord): void {
  const dir = runDir(dataDir, record.run.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "run.json");
  const json = { run: Run.toJSON(record.run), hostPublicKey: record.hostPublicKey };
  writeFileSync(`${path}.tmp`, JSON.stringify(json), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function loadRecords(dataDir: string): RunRecord[] {
  let ids: string[];
  try {
    ids = readdirSync(runsRoot(dataDir));
  } catch {
    return [];
  }
  const records: RunRecord[] = [];
  for (const id of ids) {
    try {
      const json = JSON.parse(readFileSync(join(runDir(dataDir, id), "run.json"), "utf8")) as {
        run: unknown;
        hostPublicKey: string;
      };
      records.push({ run: Run.fromJSON(json.run), hostPublicKey: json.hostPublicKey });
    } catch {
      // A folder without a readable run.json is not a run (yet); nothing to recover.
    }
  }
  return records;
}

/** Host folder bind-mounted at /run/berth/output: the container appends its stdout and stderr there. */
export function outputDir(dataDir: string, runId: string): string {
  return join(runDir(dataDir, runId), "output");
}
