import { execa } from "execa";
import { mergeReports } from "./merge.js";
import { QUERY_GPU_FIELDS, parseQueryGpuCsv } from "./parse-csv.js";
import { parseGpuList } from "./parse-list.js";
import { parseQueryXml } from "./parse-xml.js";
import type { GpuReport } from "./report.js";

export interface GpuProbeResult {
  /** "nvidia" when nvidia-smi exists, "" on a host without GPU tooling. */
  vendor: string;
  healthy: boolean;
  error: string;
  report: GpuReport;
}

export interface GpuProbe {
  probe(): Promise<GpuProbeResult>;
}

export interface NvidiaSmiOptions {
  /** Resolved through PATH unless absolute. */
  command: string;
  timeoutMs: number;
}

type RunOutcome = { ok: true; stdout: string } | { ok: false; missing: boolean; error: string };

const EMPTY: GpuReport = { driverVersion: "", cudaVersion: "", gpus: [] };

/** Samples GPUs by running the real nvidia-smi; every failure becomes an unhealthy result, never a throw. */
export function createNvidiaSmiProbe(options: NvidiaSmiOptions): GpuProbe {
  const run = async (args: string[]): Promise<RunOutcome> => {
    const result = await execa(options.command, args, {
      reject: false,
      timeout: options.timeoutMs,
      forceKillAfterDelay: 1000,
      stdin: "ignore",
      env: { LC_ALL: "C" },
    });
    const label = `${options.command} ${args[0] ?? ""}`.trim();
    if (result.timedOut) return { ok: false, missing: false, error: `${label} timed out after ${options.timeoutMs} ms` };
    const code = (result as { code?: string }).code;
    if (code === "ENOENT") return { ok: false, missing: true, error: `${options.command} not found` };
    if (result.failed) {
      const said = firstLine(String(result.stderr)) || firstLine(String(result.stdout));
      const how = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : (result.shortMessage ?? "failed");
      return { ok: false, missing: false, error: `${label} ${how}${said ? `: ${said}` : ""}` };
    }
    return { ok: true, stdout: String(result.stdout) };
  };

  return {
    async probe() {
      const [csvRun, xmlRun] = await Promise.all([
        run([`--query-gpu=${QUERY_GPU_FIELDS.join(",")}`, "--format=csv"]),
        run(["-q", "-x"]),
      ]);
      if (!csvRun.ok && csvRun.missing) return { vendor: "", healthy: true, error: "", report: EMPTY };

      const errors: string[] = [];
      const csv = csvRun.ok ? attempt(() => parseQueryGpuCsv(csvRun.stdout), errors, "CSV") : (errors.push(csvRun.error), undefined);
      const xml = xmlRun.ok ? attempt(() => parseQueryXml(xmlRun.stdout), errors, "XML") : (errors.push(xmlRun.error), undefined);
      if (!csv && !xml) return { vendor: "nvidia", healthy: false, error: errors[0] ?? "nvidia-smi failed", report: EMPTY };

      const needsList = (csv ?? xml)!.gpus.some((gpu) => gpu.migEnabled);
      const listRun = needsList ? await run(["-L"]) : undefined;
      const list = listRun?.ok ? parseGpuList(listRun.stdout) : [];
      // One of the two main outputs is enough for a full inventory, so a failure of the other is not fatal.
      return { vendor: "nvidia", healthy: true, error: "", report: mergeReports(csv, xml, list) };
    },
  };
}

function attempt(parse: () => GpuReport, errors: string[], what: string): GpuReport | undefined {
  try {
    return parse();
  } catch (error) {
    errors.push(`nvidia-smi ${what} output could not be parsed: ${(error as Error).message}`);
    return undefined;
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/).find((line) => line.trim() !== "")?.trim() ?? "";
}
