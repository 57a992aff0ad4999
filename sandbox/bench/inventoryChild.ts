// One measurement in a fresh process, so its memory is its own: `node inventoryChild.js <status.json> <mode>`.
//   parse      JSON.parse of pbm status's output alone (the floor)
//   inventory  what the provider does with it: parse, check its shape (zod), build the inventory, bound the outputs
// Prints one JSON line: wall ms, CPU ms, heap used after (MB, after a GC when --expose-gc), peak RSS (MB).
import { readFileSync } from "node:fs";
import { inventoryFromStatus, inventoryOutputs, parsePbmJson, statusOut } from "pulumi-pbm/provider";

const [file, mode] = process.argv.slice(2);
const text = readFileSync(file, "utf8");
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let kept: unknown;
if (mode === "parse") kept = JSON.parse(text);
else {
  const inventory = inventoryFromStatus("bench", parsePbmJson(["status"], text, statusOut), new Map());
  kept = [inventory, inventoryOutputs(inventory)];
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
gc?.();
console.log(
  JSON.stringify({
    ms: Math.round(ms),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    kept: kept !== undefined,
  }),
);
