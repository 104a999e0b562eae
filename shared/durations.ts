import { ValidationError } from "./errors.js";

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

export const DURATION_EXPECTED = 'a duration such as "500ms", "10s" or "1m"';

/** Parses `500ms`, `10s`, `1m`, `2h` to milliseconds; a bare number is seconds. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value * 1000;
  if (typeof value !== "string") throw new ValidationError(field, DURATION_EXPECTED, value);
  const match = DURATION.exec(value);
  if (!match) throw new ValidationError(field, DURATION_EXPECTED, value);
  const ms = Number(match[1]) * UNITS_MS[match[2]!]!;
  if (ms <= 0) throw new ValidationError(field, DURATION_EXPECTED, value);
  return ms;
}
