import type { Config } from '../platform/config.js';
import { searchAttributeStatus, setupSearchAttributes } from '../platform/search-attributes.js';
import { connectClient, temporalTarget } from '../platform/temporal.js';

/**
 * `slipway temporal setup`: registers Slipway's search attributes (ModelName, Stage, ChampionVersion) on the
 * namespace that TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY / TEMPORAL_TLS name, through the operator
 * service. Idempotent: a second run changes nothing. `check` only reports. Exit 0 when set up, 1 otherwise.
 */
export async function temporalSetupCommand(
  config: Config,
  options: { check?: boolean } = {},
): Promise<number> {
  const target = temporalTarget(config);
  const client = await connectClient(target);
  try {
    const operator = client.connection.operatorService;
    if (options.check) {
      const status = await searchAttributeStatus(operator, target.namespace);
      for (const key of status.present) process.stdout.write(`present  ${key.name} (${key.type})\n`);
      for (const key of status.missing) process.stdout.write(`missing  ${key.name} (${key.type})\n`);
      for (const line of status.wrongType) process.stdout.write(`wrong    ${line}\n`);
      return status.missing.length === 0 && status.wrongType.length === 0 ? 0 : 1;
    }
    const result = await setupSearchAttributes(operator, target.namespace);
    for (const name of result.present) process.stdout.write(`present  ${name}\n`);
    for (const name of result.added) process.stdout.write(`added    ${name}\n`);
    process.stdout.write(
      `namespace "${target.namespace}" at ${target.address}: ${result.added.length ? `${result.added.length} search attribute(s) added` : 'already set up'}\n`,
    );
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `could not set up search attributes on namespace "${target.namespace}" at ${target.address}: ${message}\n` +
        (/PERMISSION_DENIED|UNIMPLEMENTED|not supported/i.test(message)
          ? 'On Temporal Cloud, add them with tcld or the Cloud UI: ModelName (Keyword), Stage (Keyword), ChampionVersion (Int).\n'
          : ''),
    );
    return 1;
  } finally {
    await client.connection.close();
  }
}
