import * as ort from 'onnxruntime-node';
import { loadBenchDataset } from './bench/datasets.js';
import { trainerByName } from './ml/trainers.js'; const t = trainerByName(process.argv[2] ?? 'mlp');
function auc(p: Float64Array, y: Uint8Array) { const idx = Array.from(p.keys()).sort((a,b)=>p[a]!-p[b]!); let r=0, n1=0; let i=0; const ranks=new Float64Array(p.length); while(i<idx.length){let j=i; while(j+1<idx.length&&p[idx[j+1]!]===p[idx[i]!]) j++; for(let k=i;k<=j;k++) ranks[idx[k]!]=(i+j)/2+1; i=j+1;} for(let k=0;k<p.length;k++) if(y[k]===1){r+=ranks[k]!;n1++;} const n0=p.length-n1; return (r-n1*(n1+1)/2)/(n1*n0); }
for (const name of ['elec2','adult'] as const) {
  const d = loadBenchDataset(name);
  const t0 = performance.now();
  const m = t.fit(d.train, { params: t.parseParams({}), seed: 1 });
  const t1 = performance.now();
  const p = m.predictProba(d.test.features);
  console.log(name, (t1-t0).toFixed(0), 'ms', auc(p, d.test.labels), JSON.stringify(m.metadata()).slice(0,120));
  const s = await ort.InferenceSession.create(m.toOnnx());
  const feeds: Record<string, ort.Tensor> = {};
  const n = d.test.features.rowCount;
  for (const c of d.test.features.columns) feeds[c.name] = c.kind === 'numeric' ? new ort.Tensor('float32', Float32Array.from(c.values), [n,1]) : new ort.Tensor('string', Array.from(c.codes, k => k < 0 ? '' : c.categories[k]!), [n,1]);
  const r = await s.run(feeds);
  const probs = r.probabilities!.data as Float32Array; let md = 0; for (let i=0;i<n;i++) md = Math.max(md, Math.abs(probs[2*i+1]! - p[i]!));
  console.log('max diff', md, r.label!.dims, r.label!.type);
}
