// `npm run bench`: the trainer benchmarks against scikit-learn, one after another (each prints a markdown table).
// `npm run bench -- --all` adds the slower ones: the 1M-row GBDT scale run, the data-pipeline timings and the
// rollout analysis over up to a million logged requests.
import { spawnSync } from 'node:child_process';

const all = process.argv.includes('--all');
const runs: string[][] = [['bench/linear-mlp.ts'], ['bench/gbdt.ts']];
if (all)
  runs.push(['bench/gbdt-scale.ts'], ['bench/ml-data-pipeline.ts', 'speed'], ['bench/rollout-analysis.ts']);

let failed = 0;
for (const args of runs) {
  console.log(`\n## ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
