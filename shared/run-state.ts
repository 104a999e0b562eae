import { RunState } from "./gen/berth/v1/run.js";

/** `RUN_STATE_SETTING_UP` → `setting_up`, as users and logs see states. */
export function runStateName(state: RunState): string {
  return (RunState[state] ?? "RUN_STATE_UNKNOWN").replace("RUN_STATE_", "").toLowerCase();
}

export function isTerminal(state: RunState): boolean {
  return state === RunState.RUN_STATE_STOPPED || state === RunState.RUN_STATE_FAILED;
}
