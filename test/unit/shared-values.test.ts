import { describe, expect, it } from "vitest";
import { endpointTarget, isLocalOnly, parseEndpoint } from "../../shared/address.js";
import { parseDuration } from "../../shared/durations.js";
import { ValidationError } from "../../shared/errors.js";
import { parseFingerprint } from "../../shared/fingerprint.js";
import { formatSize, parseSize } from "../../shared/sizes.js";

describe("sizes (binary units, as dstack)", () => {
  it.each([
    ["16GB", 16 * 1024 ** 3],
    ["512MB", 512 * 1024 ** 2],
    ["1.5TB", 1.5 * 1024 ** 4],
    ["8gb", 8 * 1024 ** 3],
    ["2GiB", 2 * 1024 ** 3],
    ["100", 100],
    [4096, 4096],
  ] as const)("%s", (input, bytes) => {
    expect(parseSize(input, "memory")).toBe(bytes);
  });

  it.each(["lots", "16 XB", "-1GB", "", "GB"])("rejects %j naming the field", (input) => {
    expect(() => parseSize(input, "resources.memory")).toThrow(
      new ValidationError("resources.memory", 'a size such as "512MB", "16GB" or "1.5TB"', input),
    );
  });

  it("formats", () => {
    expect([formatSize(16 * 1024 ** 3), formatSize(1536 * 1024 ** 2), formatSize(12)]).toEqual(["16GB", "1.5GB", "12B"]);
  });
});

describe("durations", () => {
  it.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1m", 60_000],
    ["2h", 7_200_000],
    [3, 3000],
  ] as const)("%s", (input, msValue) => expect(parseDuration(input, "t")).toBe(msValue));
  it.each(["soon", "0s", "10", "-1s"])("rejects %j", (input) => expect(() => parseDuration(input, "t")).toThrow(/^t: expected a duration/));
});

describe("endpoints", () => {
  it("parses host:port, IPv6 and unix sockets", () => {
    expect(parseEndpoint("10.0.0.5:7433", "a")).toEqual({ kind: "tcp", host: "10.0.0.5", port: 7433 });
    expect(parseEndpoint("[::1]:7433", "a")).toEqual({ kind: "tcp", host: "::1", port: 7433 });
    expect(parseEndpoint("unix:/run/berth.sock", "a")).toEqual({ kind: "unix", path: "/run/berth.sock" });
    expect(parseEndpoint("unix:///run/berth.sock", "a")).toEqual({ kind: "unix", path: "/run/berth.sock" });
    expect(endpointTarget({ kind: "tcp", host: "::1", port: 1 })).toBe("[::1]:1");
  });

  it.each(["7433x", "host", "host:0", "host:70000", ":80", "unix:relative"])("rejects %j", (input) => {
    expect(() => parseEndpoint(input, "listen")).toThrow(/^listen: expected /);
  });

  it("port 0 only for listening", () => {
    expect(parseEndpoint("127.0.0.1:0", "listen", { listening: true })).toMatchObject({ port: 0 });
  });

  it("knows which addresses only this machine reaches", () => {
    expect(["127.0.0.1:1", "127.5.5.5:1", "localhost:1", "[::1]:1", "unix:/x"].map((a) => isLocalOnly(parseEndpoint(a, "a")))).toEqual([
      true, true, true, true, true,
    ]);
    expect(["0.0.0.0:1", "10.0.0.1:1", "[::]:1", "example.com:1"].map((a) => isLocalOnly(parseEndpoint(a, "a")))).toEqual([
      false, false, false, false,
    ]);
  });
});

describe("fingerprints", () => {
  const canonical = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");
  it("accepts colons or none, any case, an SHA256: prefix", () => {
    expect(parseFingerprint(canonical, "f")).toBe(canonical);
    expect(parseFingerprint(canonical.replace(/:/g, "").toLowerCase(), "f")).toBe(canonical);
    expect(parseFingerprint(`SHA256:${canonical}`, "f")).toBe(canonical);
  });
  it.each(["zz", canonical.slice(3), 42])("rejects %j", (input) => expect(() => parseFingerprint(input, "--fingerprint")).toThrow(/^--fingerprint: expected/));
});
