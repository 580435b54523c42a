// What GBDT checkpoints cost: each checkpoint now holds only the trees since the previous one (a chain), where it
// used to hold every tree so far. Trains Elec2 and Adult (bench/datasets.ts splits) with 200 trees and early
// stopping off, checkpointing every `--every` trees, and reports the bytes stored either way, the time the complete
// checkpoints take to encode, and fit times without checkpoints and with the chain. The "complete" figures re-encode each prefix of the chain as one checkpoint, which is
// byte for byte what the trainer wrote before chains. Run:
//   npx tsx bench/gbdt-checkpoints.ts [--every 1]
import { decodeGbdtCheckpoint, encodeGbdtCheckpoint } from '../ml/gbdt/checkpoint.js';
import { gbdtTrainer } from '../ml/gbdt/index.js';
import { loadBenchDataset } from './datasets.js';

const args = process.argv.slice(2);
const every = args.includes('--every') ? Number(args[args.indexOf('--every') + 1]) : 1;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);

console.log(
  `| dataset | trees | checkpoints | chain: stored MiB | chain: largest KiB | complete: stored MiB | complete: largest KiB | complete: encoding s | fit s, checkpoints off | fit s, chain on |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const name of ['elec2', 'adult'] as const) {
  const data = loadBenchDataset(name);
  const params = gbdtTrainer.parseParams({
    maxIter: 200,
    maxLeafNodes: 31,
    learningRate: 0.1,
    earlyStopping: false,
  });
  let t = performance.now();
  gbdtTrainer.fit(data.train, { params, seed: 1 });
  const plain = (performance.now() - t) / 1000;
  const chain: Uint8Array[] = [];
  t = performance.now();
  gbdtTrainer.fit(data.train, {
    params,
    seed: 1,
    checkpointEvery: every,
    onProgress: (_p, c) => c && chain.push(c),
  });
  const withChain = (performance.now() - t) / 1000;
  let complete = 0;
  let completeLargest = 0;
  let encodeSeconds = 0;
  for (let k = 1; k <= chain.length; k++) {
    const state = decodeGbdtCheckpoint(chain.slice(0, k), params, 1);
    const started = performance.now();
    const bytes = encodeGbdtCheckpoint({ ...state, params }, { tree: 0, loss: 0 }).byteLength;
    encodeSeconds += (performance.now() - started) / 1000;
    complete += bytes;
    completeLargest = Math.max(completeLargest, bytes);
  }
  const stored = chain.reduce((a, c) => a + c.byteLength, 0);
  const largest = Math.max(...chain.map((c) => c.byteLength));
  console.log(
    `| ${name} | 200 | ${chain.length} (every ${every}) | ${mib(stored)} | ${(largest / 1024).toFixed(0)} | ${mib(complete)} | ${(completeLargest / 1024).toFixed(0)} | ${encodeSeconds.toFixed(2)} | ${plain.toFixed(2)} | ${withChain.toFixed(2)} |`,
  );
}
