/** The client's exit codes; the README lists them. */
export const ExitCode = {
  Ok: 0,
  RunFailed: 1,
  Usage: 2,
  NoCapacity: 3,
  NoAgentReachable: 4,
  Interrupted: 130,
} as const;

/** A mistake in how the command was called; exits 2. */
export class UsageError extends Error {}
