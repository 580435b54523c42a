import { loadBenchDataset } from './bench/datasets.js';
import { trainerByName } from './ml/trainers.js';
const t = trainerByName('logistic_regression');
const d = loadBenchDataset('adult');
for (let i = 0; i < 6; i++) {
let evals = 0;
const w0 = performance.now();
const m = t.fit(d.train, { params: t.parseParams({}), seed: 1, onProgress: () => evals++ });
console.log('fit ms', (performance.now() - w0).toFixed(0), evals, JSON.stringify(m.metadata()).slice(0, 100));
}
