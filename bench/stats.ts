import { spawn } from "node:child_process";
import fs from "node:fs";

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function report(name: string, value: number, unit: string, target?: string): void {
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(unit === "ratio" ? 3 : 1);
  console.log(`${name.padEnd(58)} ${shown.padStart(10)} ${unit}${target ? `   (target ${target})` : ""}`);
}

/**
 * Runs `node ARGS` under /usr/bin/time when present for its CPU time (user + system) and peak RSS; else reports
 * only the wall time.
 */
export function timedRun(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ ms: number; cpuMs?: number; rssKiB?: number }> {
  const useTime = fs.existsSync("/usr/bin/time");
  const cmd = useTime ? "/usr/bin/time" : process.execPath;
  const argv = useTime ? ["-f", "%U %S %M", process.execPath, ...args] : args;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr}`));
      if (!useTime) return resolve({ ms });
      const [user, system, rssKiB] = stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
      resolve({ ms, cpuMs: (user! + system!) * 1000, rssKiB: rssKiB! });
    });
  });
}
