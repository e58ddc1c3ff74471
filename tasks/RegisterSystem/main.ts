import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { main } from '../../shared/pipeline/entry';
import { NotYetSupportedError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import { dnsLabel, goDuration, httpUrl } from '../../shared/pipeline/validate';
import definition from './task.json';

main(definition as TaskDefinition, async (ctx) => {
  const { inputs: i } = ctx;
  const systemName = dnsLabel(i.required('systemName'), 'systemName');
  const alertProvider = i.choice('alertProvider') ?? 'none';
  const options = {
    systemName,
    namespace: dnsLabel(i.string('namespace') ?? systemName, 'namespace'),
    clusterRole: i.required('clusterRole'),
    entraGroupObjectId: i.string('entraGroupObjectId'),
    entraGroupClusterRole: i.string('entraGroupClusterRole'),
    interval: goDuration(i.string('syncInterval') ?? '5m', 'syncInterval'),
    organizationUrl: httpUrl(i.required('organizationUrl'), 'organizationUrl'),
    project: i.required('project'),
    accessToken: i.secret('accessToken')!,
    systemRepository: i.string('systemRepository') ?? systemName,
    createRepository: i.bool('createRepository'),
    systemBranch: i.required('systemBranch'),
    systemPath: i.required('systemPath'),
    systemReadToken: i.secret('systemReadToken')!,
    platformRepository: i.required('platformRepository'),
    platformBranch: i.required('platformBranch'),
    systemsFolder: i.required('systemsFolder'),
    changeMode: i.choice('changeMode') ?? 'commit',
    autoComplete: i.bool('autoComplete'),
    sealingCertificate: i.filePath('sealingCertificate')!,
    sealingScope: i.choice('sealingScope') ?? 'strict',
    alerts: alertProvider === 'none' ? undefined : {
      provider: alertProvider,
      webhookUrl: httpUrl(i.secret('alertWebhookUrl')!, 'alertWebhookUrl', ['https:']),
      channel: i.string('alertChannel'),
      severity: i.choice('alertSeverity') ?? 'error',
    },
    applyNow: i.bool('applyNow') ? { connection: readClusterConnection(ctx), timeoutMinutes: i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 10 } : undefined,
  };
  ctx.log.info(`System ${options.systemName} in namespace ${options.namespace}.`);
  throw new NotYetSupportedError('RegisterSystem', 'register systems');
});
