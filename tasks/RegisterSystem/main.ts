import { main } from '../../shared/pipeline/entry';
import { InputError, TaskError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import definition from './task.json';
import { readInputs } from './inputs';
import { report, specOf } from './report';

main(definition as TaskDefinition, async (ctx) => {
  const o = readInputs(ctx);
  const { checkCertificate, KeyPairError } = await import('../../shared/sealed-secrets/key-pair');
  if (o.action === 'register') {
    try {
      checkCertificate(o.certPem);
    } catch (error) {
      throw error instanceof KeyPairError ? new InputError('sealingCertificate', error.message) : error;
    }
  }
  const { AzureRepos } = await import('../../shared/repos/azure-repos');
  const { ReposError } = await import('../../shared/repos/errors');
  const { registerSystem, RegistrationInputError } = await import('../../shared/systems/register');
  const repos = new AzureRepos({ organizationUrl: o.organizationUrl, token: o.accessToken, signal: ctx.signal, proxy: ctx.proxy });
  const cluster = o.action === 'register' && o.applyNow ? await (await import('./cluster')).connect(ctx, o.applyNow.connection) : undefined;
  try {
    const r = await registerSystem(repos, {
      ...o,
      spec: specOf(o),
      secrets: o.action === 'register' ? { gitToken: o.systemReadToken, alertWebhookUrl: o.alerts?.webhookUrl } : { gitToken: '' },
      sealing: o.action === 'register' ? { certPem: o.certPem, scope: o.sealingScope } : { certPem: '', scope: 'strict' },
      createRepository: o.action === 'register' && o.createRepository,
      contact: o.action === 'register' ? o.contact : '',
      clusterRoleInCluster: cluster?.clusterRoleExists,
      signal: ctx.signal,
      log: ctx.log.info,
      progress: ctx.log.progress,
    }).catch((error: unknown) => {
      if (error instanceof RegistrationInputError) throw new InputError(error.input, error.problem, error.expected);
      if (error instanceof ReposError) throw new TaskError(error.message, error.hint, { cause: error });
      throw error;
    });
    const applied = cluster && o.action === 'register' && o.applyNow ? await cluster.apply(r.objects, o.applyNow.timeoutMs) : undefined;
    return report(ctx, o, r, applied);
  } finally {
    cluster?.close();
  }
});
