import type { Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import { lifecycleStart, lifecycleStatus, lifecycleUpdate } from './lifecycle.js';
import { watchLifecycle } from './lifecycle-watch.js';

/** Adds `slipway lifecycle ...` to the program. */
export function registerLifecycleCommands(
  program: Command,
  ctx: { apiUrl: () => string; apiKey: () => string | undefined; env: Record<string, string | undefined> },
): void {
  const connection = () => {
    const key = ctx.apiKey();
    return { apiUrl: ctx.apiUrl(), ...(key ? { apiKey: key } : {}) };
  };
  const lifecycle = program
    .command('lifecycle')
    .description("a model's long-running lifecycle: train, roll out, monitor, retrain");
  lifecycle
    .command('start')
    .argument('<spec>', 'lifecycle spec file (YAML or JSON)')
    .option('--json', 'print JSON')
    .description('start lifecycle-<model> from a lifecycle spec (checked here first)')
    .action(async (spec: string, opts: { json?: boolean }) => {
      process.exitCode = await lifecycleStart(spec, { ...opts, ...connection() });
    });
  lifecycle
    .command('status')
    .argument('<model>')
    .option('--json', 'print JSON')
    .description('stage, champion, versions, retrain budget and the latest decisions')
    .action(async (model: string, opts: { json?: boolean }) => {
      process.exitCode = await lifecycleStatus(model, { ...opts, ...connection() });
    });
  lifecycle
    .command('watch')
    .argument('<model>')
    .option('--all', 'print the whole history first')
    .option('--ui <url>', 'Temporal UI for links (default: http://127.0.0.1:TEMPORAL_UI_PORT)')
    .description('print each decision, alert and traffic change as it happens, with links, until Ctrl-C')
    .action(async (model: string, opts: { all?: boolean; ui?: string }) => {
      const config = loadConfig(ctx.env);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      await watchLifecycle({
        ...connection(),
        model,
        uiUrl: opts.ui ?? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`,
        namespace: config.TEMPORAL_NAMESPACE,
        from: opts.all ? 'all' : 10,
        signal: abort.signal,
        write: (text) => process.stdout.write(text),
      });
    });
  const updates = [
    ['retrain', 'retrain now (operator)'],
    ['pause', 'no automatic retrain, the active rollout paused (operator)'],
    ['resume', 'undo pause (operator)'],
    ['approve', "approve the active rollout's gate (approver)"],
    ['reject', 'reject the active rollout: it rolls back (approver)'],
  ] as const;
  for (const [action, description] of updates) {
    lifecycle
      .command(action)
      .argument('<model>')
      .option('--comment <text>', 'recorded with the decision')
      .description(description)
      .action(async (model: string, opts: { comment?: string }) => {
        process.exitCode = await lifecycleUpdate(model, action, opts, connection());
      });
  }
  lifecycle
    .command('rollback')
    .argument('<model>')
    .option('--to <version>', 'the version to go back to (default: the previous champion)')
    .option('--comment <text>', 'recorded with the decision')
    .description('abort the active rollout, or make the previous champion the champion again (operator)')
    .action(async (model: string, opts: { to?: string; comment?: string }) => {
      process.exitCode = await lifecycleUpdate(
        model,
        'rollback',
        {
          ...(opts.comment ? { comment: opts.comment } : {}),
          ...(opts.to ? { toVersion: Number(opts.to) } : {}),
        },
        connection(),
      );
    });
}
