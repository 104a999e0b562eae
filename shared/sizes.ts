import { ValidationError } from "./errors.js";

/**
 * Sizes as dstack writes them: `16GB`, `512MB`, `1.5TB`, or a plain number of
 * bytes. The units are binary (GB = 1024³ bytes), as in dstack's resource
 * specs; `GiB`-style spellings are accepted as the same units.
 */
const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  KB: 1024,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
};

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/;

export const SIZE_EXPECTED = 'a size such as "512MB", "16GB" or "1.5TB"';

/** Parses a size to bytes, or throws a ValidationError naming `field`. */
export function parseSize(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value !== "string") throw new ValidationError(field, SIZE_EXPECTED, value);
  const match = SIZE.exec(value);
  const unit = match ? UNITS[match[2]!.toUpperCase()] : undefined;
  if (!match || unit === undefined) throw new ValidationError(field, SIZE_EXPECTED, value);
  return Math.floor(Number(match[1]) * unit);
}

/** Renders bytes in the largest binary unit that keeps one decimal, e.g. `15.6GB`. */
export function formatSize(bytes: number): string {
  const steps: [string, number][] = [
    ["TB", 1024 ** 4],
    ["GB", 1024 ** 3],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ];
  for (const [name, size] of steps) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${name}`;
    }
  }
  return `${bytes}B`;
}
