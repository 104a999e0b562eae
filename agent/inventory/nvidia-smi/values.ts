/**
 * nvidia-smi marks values it cannot give in several ways across driver
 * versions: `N/A`, `[N/A]`, `[Not Supported]`, `[Unknown Error]`,
 * `[Requested functionality has been deprecated]`, `[Insufficient Permissions]`.
 * All of them mean "unknown".
 */
export function isUnavailable(raw: string | undefined): boolean {
  if (raw === undefined) return true;
  const text = raw.trim();
  return text === "" || text === "N/A" || /^\[.*\]$/.test(text);
}

/** The text value, or undefined when nvidia-smi marked it unavailable. */
export function textValue(raw: string | undefined): string | undefined {
  return isUnavailable(raw) ? undefined : raw!.trim();
}

/** A number with its unit stripped (`81559 MiB`, `69.05 W`, `33.4 %`, `27 C`), or undefined. */
export function numberValue(raw: string | undefined): number | undefined {
  const text = textValue(raw);
  if (text === undefined) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*[A-Za-z%]+)?$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** `Enabled`/`Disabled` as nvidia-smi prints MIG and similar modes. */
export function isEnabled(raw: string | undefined): boolean {
  return textValue(raw)?.toLowerCase() === "enabled";
}

/** MiB implied by a MIG profile name such as `3g.40gb` (used when the output gives no memory). */
export function profileMemoryMib(profile: string): number {
  const match = /\.(\d+)gb$/i.exec(profile);
  return match ? Number(match[1]) * 1024 : 0;
}
