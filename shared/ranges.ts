import { ValidationError } from "./errors.js";
import { SIZE_EXPECTED, parseSize } from "./sizes.js";

/** An inclusive range; a missing bound is open. */
export interface Range {
  min?: number;
  max?: number;
}

/**
 * `24GB` (at least), `24GB..`, `..80GB` or `24GB..80GB`, in bytes. A single
 * size is a minimum, as dstack reads GPU memory.
 */
export function parseSizeRange(value: unknown, field: string): Range {
  if (typeof value === "number") return { min: parseSize(value, field) };
  if (typeof value !== "string") throw new ValidationError(field, `${SIZE_EXPECTED} or a range such as "24GB..80GB"`, value);
  const parts = value.split("..");
  if (parts.length === 1) return { min: parseSize(value, field) };
  if (parts.length !== 2 || (parts[0]!.trim() === "" && parts[1]!.trim() === "")) {
    throw new ValidationError(field, 'a size range such as "24GB..", "..80GB" or "24GB..80GB"', value);
  }
  const range: Range = {};
  if (parts[0]!.trim() !== "") range.min = parseSize(parts[0], field);
  if (parts[1]!.trim() !== "") range.max = parseSize(parts[1], field);
  if (range.min !== undefined && range.max !== undefined && range.min > range.max) {
    throw new ValidationError(field, "a range whose lower bound is not above its upper bound", value);
  }
  return range;
}

export function inRange(value: number, range: Range): boolean {
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
}
