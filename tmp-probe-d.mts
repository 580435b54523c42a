import { loadBenchDataset } from './bench/datasets.js';
import { trainerByName } from './ml/trainers.js';
const t = trainerByName('mlp');
const name = (process.argv[2] ?? 'elec2') as 'elec2'|'adult';
const d = loadBenchDataset(name);
let c0 = process.cpuUsage(); let w0 = performance.now();
t.fit(d.train, { params: t.parseParams({ maxEpochs: 10 }), seed: 1, onProgress: (p) => { if (p.step % 5 === 0) { const c = process.cpuUsage(c0); console.log(p.step, 'cpu ms/epoch', ((c.user + c.system) / 5000).toFixed(0), 'wall', ((performance.now() - w0)/5).toFixed(0)); c0 = process.cpuUsage(); w0 = performance.now(); } } });
