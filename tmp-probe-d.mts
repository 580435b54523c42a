import { loadBenchDataset } from './bench/datasets.js';
import { trainerByName } from './ml/trainers.js';
const t = trainerByName('mlp');
const d = loadBenchDataset('elec2');
const t0 = performance.now();
t.fit(d.train, { params: t.parseParams({ maxEpochs: 5 }), seed: 1, onProgress: (p) => console.log(p.step, (performance.now()-t0).toFixed(0)) });
