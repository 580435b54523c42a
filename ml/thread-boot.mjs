// Entry of the worker threads of ml/ (CSV chunk parsing, GBDT histograms): when the entry is TypeScript (tests,
// development), registers tsx's loader in the thread first; built JavaScript is imported as it is.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
