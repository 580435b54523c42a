// The `slipway` command.
import { Command } from 'commander';
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { up } from './up.js';

const program = new Command('slipway').description('ML models from raw data to production, on Temporal');

program
  .command('up')
  .description('start the local stack (Temporal dev server, database, workers, API) until Ctrl-C')
  .action(async () => {
    const env = inheritedEnvironment();
    const config = loadConfig(env);
    await up(config, env, createLogger({ level: config.LOG_LEVEL }));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
