import { ValidationError } from "../../shared/errors.js";
import { parseSize } from "../../shared/sizes.js";

const EXPECTED = 'a count such as 2, or NAME[:MEMORY][:COUNT] such as "A100:40GB:2"';

/** `--gpu 2`, `--gpu A100`, `--gpu A100:40GB`, `--gpu A100:40GB:2`, `--gpu A100:2` (dstack's shorthand). */
export function parseGpuFlag(value: string, field: string): { count: number; name: string; memory: string } {
  const text = value.trim();
  if (/^\d+$/.test(text)) return { count: Number(text), name: "", memory: "" };
  const parts = text.split(":");
  const [name, ...rest] = parts;
  if (!name || /^\d/.test(name) || rest.length > 2) throw new ValidationError(field, EXPECTED, value);
  const out = { count: 0, name, memory: "" };
  for (const part of rest) {
    if (/^\d+$/.test(part) && out.count === 0) out.count = Number(part);
    else if (out.memory === "" && /^[\d.]+\s*[a-zA-Z]+(\.\.([\d.]+\s*[a-zA-Z]+)?)?$/.test(part)) {
      parseSize(part.split("..")[0], field);
      out.memory = part;
    } else throw new ValidationError(field, EXPECTED, value);
  }
  return out;
}
