import { describe, expect, it } from "vitest";
import { mergeReports } from "../../agent/inventory/nvidia-smi/merge.js";
import { parseQueryGpuCsv } from "../../agent/inventory/nvidia-smi/parse-csv.js";
import { parseGpuList } from "../../agent/inventory/nvidia-smi/parse-list.js";
import { parseQueryXml } from "../../agent/inventory/nvidia-smi/parse-xml.js";
import { isUnavailable, numberValue } from "../../agent/inventory/nvidia-smi/values.js";
import { captureSection, fixture, fixtureNames } from "../support/fixtures.js";

const ZERO_UUID = "GPU-00000000-0000-0000-0000-000000000000";

describe("nvidia-smi -q -x", () => {
  const cases = [
    {
      file: "a100-sxm4-v12.xml",
      driver: "535.54.03",
      cuda: "12.2",
      gpus: [
        {
          name: "NVIDIA A100-SXM4-80GB",
          uuid: "GPU-513536b6-7d19-9063-b049-1e69664bb298",
          memoryMibTotal: 81920,
          memoryMibUsed: 50,
          utilizationPct: undefined, // N/A under MIG
          temperatureC: 27,
          powerDrawW: 67.03,
          pciBusId: "00000000:01:00.0",
          migEnabled: true,
          migCount: 4,
        },
      ],
    },
    {
      file: "tesla-t4.xml",
      driver: "515.105.01",
      cuda: "11.7",
      gpus: [
        {
          name: "Tesla T4",
          uuid: "GPU-d37e67a5-91dd-3774-a5cb-99096249601a",
          memoryMibTotal: 15360,
          memoryMibUsed: 1032,
          utilizationPct: 0,
          temperatureC: 40,
          powerDrawW: 26.78,
          pciBusId: "00000000:00:1E.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "rtx-3080-v13.xml",
      driver: "595.58.03",
      cuda: "13.2",
      gpus: [
        {
          name: "NVIDIA GeForce RTX 3080",
          uuid: "GPU-19d6d965-2acc-f646-00f8-4c76979aabb4",
          memoryMibTotal: 10240,
          memoryMibUsed: 9184,
          utilizationPct: 65,
          temperatureC: 27,
          powerDrawW: 142.33, // v13: gpu_power_readings/instant_power_draw
          pciBusId: "00000000:0C:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "gtx-1660-ti.xml",
      driver: "418.43",
      cuda: "10.1",
      gpus: [
        {
          name: "Graphics Device",
          uuid: "GPU-304a277d-3545-63b8-3a36-dfde3c992989",
          memoryMibTotal: 5912,
          memoryMibUsed: 0,
          utilizationPct: 0,
          temperatureC: 40,
          powerDrawW: 8.93,
          pciBusId: "00000000:43:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "quadro-p400.xml",
      driver: "418.43",
      cuda: "10.1",
      gpus: [
        {
          name: "Quadro P400",
          uuid: "GPU-8f750be4-dfbc-23b9-b33f-da729a536494",
          memoryMibTotal: 1998,
          memoryMibUsed: 0,
          utilizationPct: 0,
          temperatureC: 33,
          powerDrawW: undefined, // power_draw N/A
          pciBusId: "00000000:43:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "dual_a5000-v13.xml",
      driver: "590.44.01",
      cuda: "13.1",
      gpus: [
        {
          name: "NVIDIA RTX A5000",
          uuid: "GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
          memoryMibTotal: 24564,
          memoryMibUsed: 22437,
          utilizationPct: 0,
          temperatureC: 13,
          powerDrawW: 6.52,
          pciBusId: "00000000:81:00.0",
          migEnabled: false,
          migCount: 0,
        },
        {
          name: "NVIDIA RTX A5000",
          uuid: "GPU-12345678-aaaa-bbbb-cccc-0123456789cd",
          memoryMibTotal: 24564,
          memoryMibUsed: 17253,
          utilizationPct: 0,
          temperatureC: 15,
          powerDrawW: 13.59,
          pciBusId: "00000000:C1:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "dual_2080-v13.xml",
      driver: "590.44.01",
      cuda: "13.1",
      gpus: [
        {
          name: "NVIDIA GeForce RTX 2080",
          uuid: "GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
          memoryMibTotal: 8192,
          memoryMibUsed: 1,
          utilizationPct: 0,
          temperatureC: 15,
          powerDrawW: 1.0,
          pciBusId: "00000000:01:00.0",
          migEnabled: false,
          migCount: 0,
        },
        {
          name: "NVIDIA GeForce RTX 2080",
          uuid: "GPU-12345678-aaaa-bbbb-cccc-0123456789ab",
          memoryMibTotal: 8192,
          memoryMibUsed: 1,
          utilizationPct: 0,
          temperatureC: 15,
          powerDrawW: 1.62,
          pciBusId: "00000000:02:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
    {
      file: "nvidia-smi-sample-output.xml",
      driver: "375.66",
      cuda: "", // 2017 driver: no cuda_version element
      gpus: [
        {
          name: "Tesla P100-PCIE-12GB",
          uuid: "GPU-28604e81-21ec-cc48-6759-bf2648b22e16",
          memoryMibTotal: 11567,
          memoryMibUsed: 11400,
          utilizationPct: 33.4,
          temperatureC: 31,
          powerDrawW: 24.84,
          pciBusId: "0000:04:00.0",
          migEnabled: false,
          migCount: 0,
        },
        {
          name: "Tesla P100-PCIE-12GB_2",
          uuid: "GPU-46915a82-3fd2-8e11-ae26-a80b607c04f3",
          memoryMibTotal: 12290,
          memoryMibUsed: 11800,
          utilizationPct: 10.3,
          temperatureC: 34,
          powerDrawW: 25.54,
          pciBusId: "0000:82:00.0",
          migEnabled: false,
          migCount: 0,
        },
      ],
    },
  ];

  it.each(cases)("$file", ({ file, driver, cuda, gpus }) => {
    const report = parseQueryXml(fixture(file));
    expect(report.driverVersion).toBe(driver);
    expect(report.cudaVersion).toBe(cuda);
    expect(report.gpus).toHaveLength(gpus.length);
    gpus.forEach(({ migCount, ...expected }, i) => {
      const gpu = report.gpus[i]!;
      expect(gpu.index).toBe(i);
      expect({
        name: gpu.name,
        uuid: gpu.uuid,
        memoryMibTotal: gpu.memoryMibTotal,
        memoryMibUsed: gpu.memoryMibUsed,
        utilizationPct: gpu.utilizationPct,
        temperatureC: gpu.temperatureC,
        powerDrawW: gpu.powerDrawW,
        pciBusId: gpu.pciBusId,
        migEnabled: gpu.migEnabled,
      }).toEqual(expected);
      expect(gpu.migDevices).toHaveLength(migCount);
    });
  });

  it("reads every MIG slice of the A100 with its memory", () => {
    const [gpu] = parseQueryXml(fixture("a100-sxm4-v12.xml")).gpus;
    expect(gpu!.migDevices.map((d) => [d.index, d.memoryMibTotal])).toEqual([
      [0, 19968],
      [1, 19968],
      [2, 19968],
      [3, 19968],
    ]);
  });

  it("rejects a document that is not nvidia-smi XML", () => {
    expect(() => parseQueryXml("<html></html>")).toThrow(/nvidia_smi_log/);
  });
});

describe("nvidia-smi --query-gpu CSV", () => {
  const cases = [
    { file: "h100-80gb-hbm3.query-gpu.csv", name: "NVIDIA H100 80GB HBM3", total: 81559, used: 0, util: 0, temp: 41, power: 69.85, pci: "00000000:00:09.0", mig: false, driver: "590.48.01" },
    { file: "h100-80gb-hbm3.query-gpu.load.csv", name: "NVIDIA H100 80GB HBM3", total: 81559, used: 19818, util: 100, temp: 59, power: 631.95, pci: "00000000:00:09.0", mig: false, driver: "590.48.01" },
    { file: "h100-mig.query-gpu.csv", name: "NVIDIA H100 80GB HBM3", total: 81559, used: 59, util: undefined, temp: 42, power: 71.15, pci: "00000000:00:09.0", mig: true, driver: "590.48.01" },
    { file: "h100-mig.query-gpu.load.csv", name: "NVIDIA H100 80GB HBM3", total: 81559, used: 11125, util: undefined, temp: 53, power: 433.78, pci: "00000000:00:09.0", mig: true, driver: "590.48.01" },
    { file: "l40s.query-gpu.csv", name: "NVIDIA L40S", total: 46068, used: 0, util: 100, temp: 63, power: 144.97, pci: "00000000:01:00.0", mig: false, driver: "595.80" },
    { file: "l40s.query-gpu.load.csv", name: "NVIDIA L40S", total: 46068, used: 1235, util: 9, temp: 54, power: 110.23, pci: "00000000:01:00.0", mig: false, driver: "595.80" },
  ];

  it.each(cases)("$file", ({ file, name, total, used, util, temp, power, pci, mig, driver }) => {
    const report = parseQueryGpuCsv(fixture(file));
    expect(report.driverVersion).toBe(driver);
    expect(report.gpus).toHaveLength(1);
    expect(report.gpus[0]).toEqual({
      index: 0,
      uuid: ZERO_UUID,
      name,
      memoryMibTotal: total,
      memoryMibUsed: used,
      ...(util === undefined ? {} : { utilizationPct: util }),
      temperatureC: temp,
      powerDrawW: power,
      pciBusId: pci,
      migEnabled: mig,
      migDevices: [],
    });
  });

  it("reads a short header in another order, with fields missing (two GPUs)", () => {
    const report = parseQueryGpuCsv(fixture("nvidia_gpu_exporter-query-2gpu.csv"));
    expect(report.driverVersion).toBe("466.63");
    expect(report.gpus.map((g) => [g.index, g.uuid, g.name, g.memoryMibUsed, g.memoryMibTotal, g.pciBusId])).toEqual([
      [0, "GPU-df6e7a7c-7314-46f8-abc4-b88b36dcf3aa", "NVIDIA GeForce RTX 2080 SUPER", 575, 0, "00000000:01:00.0"],
      [1, "GPU-04757e3e-3077-4e2e-b988-7e2d647b52e9", "Some Other GPU", 1234, 0, "00000000:02:00.0"],
    ]);
    // No such columns at all: unknown, not zero.
    expect(report.gpus[0]!.temperatureC).toBeUndefined();
    expect(report.gpus[0]!.powerDrawW).toBeUndefined();
  });

  it("parses nounits output and an empty answer", () => {
    const csv = "index, uuid, name, memory.total [MiB], utilization.gpu [%], power.draw [W]\n0, GPU-1, Tesla K80, 11441, [Not Supported], [N/A]\n";
    expect(parseQueryGpuCsv(csv).gpus[0]).toMatchObject({ name: "Tesla K80", memoryMibTotal: 11441 });
    expect(parseQueryGpuCsv(csv).gpus[0]!.utilizationPct).toBeUndefined();
    expect(parseQueryGpuCsv("").gpus).toEqual([]);
  });
});

describe("nvidia-smi -L", () => {
  it("lists MIG devices with profiles and UUIDs", () => {
    const [gpu] = parseGpuList(fixture("h100-mig.L.txt"));
    expect(gpu).toMatchObject({ index: 0, name: "NVIDIA H100 80GB HBM3", uuid: ZERO_UUID });
    expect(gpu!.migDevices.map((d) => `${d.index}:${d.profile}:${d.uuid}`)).toEqual([
      "0:3g.40gb:MIG-00000000-0000-0000-0000-000000000000",
      "1:2g.20gb:MIG-00000001-0000-0000-0000-000000000001",
      "2:1g.10gb:MIG-00000002-0000-0000-0000-000000000002",
      "3:1g.10gb:MIG-00000003-0000-0000-0000-000000000003",
    ]);
  });

  it.each(["h100-80gb-hbm3.L.txt", "l40s.L.txt"])("%s has one GPU and no MIG", (file) => {
    const gpus = parseGpuList(fixture(file));
    expect(gpus).toHaveLength(1);
    expect(gpus[0]!.uuid).toBe(ZERO_UUID);
    expect(gpus[0]!.migDevices).toEqual([]);
  });
});

describe("merging the outputs", () => {
  it("adds MIG UUIDs and profiles from -L to the CSV GPU", () => {
    const report = mergeReports(parseQueryGpuCsv(fixture("h100-mig.query-gpu.csv")), undefined, parseGpuList(fixture("h100-mig.L.txt")));
    const gpu = report.gpus[0]!;
    expect(gpu.migEnabled).toBe(true);
    expect(gpu.migDevices.map((d) => [d.profile, d.memoryMibTotal])).toEqual([
      ["3g.40gb", 40960],
      ["2g.20gb", 20480],
      ["1g.10gb", 10240],
      ["1g.10gb", 10240],
    ]);
  });

  it("takes the CUDA version and missing fields from the XML", () => {
    const xml = parseQueryXml(fixture("tesla-t4.xml"));
    const csv = parseQueryGpuCsv("uuid, name, memory.used [MiB]\nGPU-d37e67a5-91dd-3774-a5cb-99096249601a, Tesla T4, 2000 MiB\n");
    const merged = mergeReports(csv, xml);
    expect(merged.cudaVersion).toBe("11.7");
    expect(merged.driverVersion).toBe("515.105.01");
    expect(merged.gpus[0]).toMatchObject({ memoryMibUsed: 2000, memoryMibTotal: 15360, temperatureC: 40, powerDrawW: 26.78 });
  });
});

describe("full exporter captures", () => {
  const captures = [
    ["linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", "h100-80gb-hbm3"],
    ["linux-x86_64__nvidia-l40s__595.80.txt", "l40s"],
    ["linux-x86_64__nvidia-h100-mig__590.48.01.txt", "h100-mig"],
  ] as const;

  it.each(captures)("%s: its query-gpu and -L sections parse like the excerpts", (capture, stem) => {
    const text = fixture(capture);
    for (const [section, excerpt] of [
      ["idle :: query-gpu", `${stem}.query-gpu.csv`],
      ["load :: query-gpu", `${stem}.query-gpu.load.csv`],
    ] as const) {
      expect(parseQueryGpuCsv(captureSection(text, section))).toEqual(parseQueryGpuCsv(fixture(excerpt)));
    }
    expect(parseGpuList(captureSection(text, "capabilities :: list (-L)"))).toEqual(parseGpuList(fixture(`${stem}.L.txt`)));
  });
});

describe("unavailable values", () => {
  it.each(["N/A", "[N/A]", "[Not Supported]", "[Unknown Error]", "[Requested functionality has been deprecated]", "", undefined])(
    "%s is unknown",
    (raw) => {
      expect(isUnavailable(raw)).toBe(true);
      expect(numberValue(raw)).toBeUndefined();
    },
  );
  it("strips units", () => {
    expect([numberValue("81559 MiB"), numberValue("69.85 W"), numberValue("33.4 %"), numberValue("27 C"), numberValue("41")]).toEqual([
      81559, 69.85, 33.4, 27, 41,
    ]);
  });
});

it("every fixture file is exercised by this suite", () => {
  const covered = new Set([
    "a100-sxm4-v12.xml", "tesla-t4.xml", "rtx-3080-v13.xml", "gtx-1660-ti.xml", "quadro-p400.xml", "dual_a5000-v13.xml",
    "dual_2080-v13.xml", "nvidia-smi-sample-output.xml", "h100-80gb-hbm3.query-gpu.csv", "h100-80gb-hbm3.query-gpu.load.csv",
    "h100-mig.query-gpu.csv", "h100-mig.query-gpu.load.csv", "l40s.query-gpu.csv", "l40s.query-gpu.load.csv",
    "nvidia_gpu_exporter-query-2gpu.csv", "h100-mig.L.txt", "h100-80gb-hbm3.L.txt", "l40s.L.txt",
    "linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt", "linux-x86_64__nvidia-l40s__595.80.txt",
    "linux-x86_64__nvidia-h100-mig__590.48.01.txt",
  ]);
  expect(fixtureNames().sort()).toEqual([...covered].sort());
});
