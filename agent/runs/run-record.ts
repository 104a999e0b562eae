import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Run, RunState } from "../../shared/gen/berth/v1/run.js";

/**
 * `<data>/runs/<id>/run.json`: the run as last known, plus what only the agent
 * needs to resume it (the log cursor, the host key seen so far). Together
 * with the container's labels it is the source of truth after a restart.
 */
export interface RunRecord {
  run: Run;
  /** Timestamp of the last Docker log line consumed, and how many lines carried exactly it. */
  logCursor: { timestamp: string; seen: number };
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
  const json = { run: Run.toJSON(record.run), logCursor: record.logCursor, hostPublicKey: record.hostPublicKey };
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
        logCursor: RunRecord["logCursor"];
        hostPublicKey: string;
      };
      records.push({ run: Run.fromJSON(json.run), logCursor: json.logCursor, hostPublicKey: json.hostPublicKey });
    } catch {
      // A folder without a readable run.json is not a run (yet); nothing to recover.
    }
  }
  return records;
}

export const TERMINAL_STATES: ReadonlySet<RunState> = new Set([RunState.RUN_STATE_STOPPED, RunState.RUN_STATE_FAILED]);

export function isTerminal(state: RunState): boolean {
  return TERMINAL_STATES.has(state);
}

export function stateName(state: RunState): string {
  return RunState[state].replace("RUN_STATE_", "").toLowerCase();
}
