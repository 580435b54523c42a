// The no-op baselines of bench/serving.ts, on node:cluster with as many processes as the gateway: node:http reading
// each request body and answering a fixed small JSON (no parsing, no scoring, no logging), or with `fastify` as the
// third argument, the same answer from a Fastify route (which parses the JSON body), to measure the framework.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 8092);
const processes = Number(process.argv[3] ?? 2);
const framework = process.argv[4] === 'fastify';
const answer = JSON.stringify({
  model: 'noop',
  predictions: [{ requestId: '0', version: 1, probability: 0.5, label: '1' }],
});

if (cluster.isPrimary) {
  for (let i = 0; i < processes; i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === processes) console.log('listening');
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else if (framework) {
  const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
  app.post('/v1/models/:model/predict', (_request, reply) => reply.type('application/json').send(answer));
  await app.listen({ port, host: '127.0.0.1' });
} else {
  createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  }).listen(port, '127.0.0.1');
}
