import { execFile } from "node:child_process";

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  error: string;
}

/**
 * Runs a program and collects its output, never throwing. The client uses
 * node:child_process directly rather than execa so that every `berth`
 * command starts fast (execa alone costs ~100 ms of module loading).
 */
export function run(file: string, args: string[], options: { cwd?: string; maxBuffer?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd: options.cwd, maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : -1) : 0;
      resolve({ exitCode: code, stdout, stderr, error: error ? error.message : "" });
    });
    child.stdin?.end();
  });
}
