// `npm run bench`: the trainer benchmarks against scikit-learn, one after another (each prints a markdown table).
// `npm run bench -- --all` adds the slower ones: the 1M-row GBDT scale run, the data-pipeline timings, ingest
// against pandas and pyarrow (which needs bench/scale-data.ts and bench/scale_parquet.py run once first) and the
// rollout analysis over up to a million logged requests.
import { spawnSync } from 'node:child_process';

const all = process.argv.includes('--all');
const runs: string[][] = [['bench/linear-mlp.ts'], ['bench/gbdt.ts', '--datasets', 'elec2,adult']];
if (all)
  runs.push(
    ['bench/gbdt-scale.ts'],
    ['bench/ml-data-pipeline.ts', 'speed'],
    ['bench/ingest.ts'],
    ['bench/rollout-analysis.ts'],
  );

let failed = 0;
for (const args of runs) {
  console.log(`\n## ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
