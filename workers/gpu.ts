import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GpuInfo {
  readonly count: number;
  readonly names: readonly string[];
}

/** Asks nvidia-smi for the GPUs; no driver or no GPU means count 0 (and GPU paths fall back to CPU). */
export async function detectGpus(): Promise<GpuInfo> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
      timeout: 10_000,
    });
    const names = stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return { count: names.length, names };
  } catch {
    return { count: 0, names: [] };
  }
}
