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

/** A failure with its own exit code and the lines that explain it (one per agent for "no capacity"). */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}
