import { main } from '../../shared/pipeline/entry';
import { NotYetSupportedError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import definition from './task.json';
import { readAksInputs } from './inputs';

main(definition as TaskDefinition, async (ctx) => {
  const inputs = readAksInputs(ctx);
  ctx.log.info(`Cluster ${inputs.clusterName} in ${inputs.resourceGroup}: mode ${inputs.mode}.`);
  throw new NotYetSupportedError('AksBootstrap', inputs.mode === 'delete' ? 'delete clusters' : 'create, update or recreate clusters');
});
