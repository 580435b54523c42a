// Entry of worker threads that run TypeScript: registers tsx's loader in the thread, then imports the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
