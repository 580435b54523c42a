// Saves a workflow's event history as JSON, for the replay tests in test/integration/replay.test.ts:
//   npx tsx infra/scripts/record-history.ts <workflowId> <out.json>   (TEMPORAL_ADDRESS names the server)
import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { inheritedEnvironment, loadConfig } from '../../platform/config.js';
import { connectClient, temporalTarget } from '../../platform/temporal.js';

const [workflowId, out] = process.argv.slice(2);
if (!workflowId || !out) {
  console.error('usage: record-history.ts <workflowId> <out.json>');
  process.exit(2);
}
const client = await connectClient(temporalTarget(loadConfig(inheritedEnvironment())));
const history = await client.workflow.getHandle(workflowId).fetchHistory();
await writeFile(out, historyToJSON(history));
await client.connection.close();
console.log(`wrote ${history.events?.length ?? 0} events to ${out}`);
