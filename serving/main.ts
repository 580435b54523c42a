// Gateway entrypoint (`npm run serve`, and the process `npm start` runs).
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { runGateway } from './primary.js';

async function main(): Promise<void> {
  const config = loadConfig(inheritedEnvironment());
  await runGateway(config, createLogger({ level: config.LOG_LEVEL }).child({ component: 'gateway' }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
