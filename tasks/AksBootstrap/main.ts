import { main } from '../../shared/pipeline/entry';
import { type TaskDefinition, versionOf } from '../../shared/pipeline/task-definition';
import definition from './task.json';
import { readAksInputs } from './inputs';

main(definition as TaskDefinition, async (ctx) => {
  const o = readAksInputs(ctx);
  const target = { resourceGroup: o.resourceGroup, name: o.clusterName };
  const secret = (value: string) => ctx.secrets.add(value);
  const { connectAzure, pipelineOidcRequest } = await import('../../shared/connect/azure');
  const { createOrUpdateCluster, deleteCluster, recreateCluster } = await import('../../shared/aks/cluster-operations');
  const { Deadline } = await import('../../shared/aks/long-operation');
  const { ResourceManager } = await import('../../shared/azure/resource-manager');
  const { client, azure } = connectAzure(o.azure, 'azureSubscription', {
    onSecret: secret, oidc: pipelineOidcRequest(ctx.agent, secret), userAgentPrefix: `AksBootstrap/${versionOf(definition as TaskDefinition)}`, proxy: ctx.proxy,
  });
  const w = { access: { arm: new ResourceManager(client.pipeline, azure.resourceManagerUrl), subscriptionId: azure.subscriptionId } };
  const run = { log: ctx.log.info, warn: ctx.log.warning, progress: ctx.log.progress, signal: ctx.signal, deadline: new Deadline(o.timeoutMinutes * 60_000), pollIntervalMs: 5000 };
  ctx.log.info(`Cluster ${o.clusterName} in resource group ${o.resourceGroup} (subscription ${azure.subscriptionId}): mode ${o.mode}.`);
  if (!o.spec) {
    const gone = await deleteCluster(client, target, o.allowUnmanaged, run, w);
    ctx.summary.facts([['Cluster', `${o.clusterName} (resource group ${o.resourceGroup})`], ['Result', gone ? `deleted (was Kubernetes ${gone.currentKubernetesVersion})` : 'did not exist; nothing deleted']]);
    return gone ? `Deleted cluster ${o.clusterName}.` : `Cluster ${o.clusterName} did not exist; nothing to delete.`;
  }
  const r = o.mode === 'recreate' ? await recreateCluster(client, target, o.spec, o.allowUnmanaged, run, w) : await createOrUpdateCluster(client, target, o.spec, run, w);
  const { clusterKubeconfig, writeKubeconfig } = await import('../../shared/aks/credentials');
  const { clusterOutputs } = await import('../../shared/aks/outputs');
  const kubeconfig = await clusterKubeconfig(client, azure.credential, target, r.cluster, { admin: o.useClusterAdmin, onSecret: secret, signal: ctx.signal });
  const outputs = { ...clusterOutputs(r.cluster), kubeconfigPath: writeKubeconfig(ctx.tempDir, target, kubeconfig.yaml) };
  for (const [name, value] of Object.entries(outputs)) if (value) ctx.output(name, value);
  ctx.summary
    .facts([['Cluster', `${o.clusterName} (resource group ${o.resourceGroup})`], ['Resource ID', outputs.clusterResourceId], ['Kubernetes version', outputs.kubernetesVersion],
      ['API server', outputs.apiServerFqdn], ['Result', r.action], ['Kubeconfig', `${kubeconfig.kind} credentials${kubeconfig.expiresOn ? `, valid until ${kubeconfig.expiresOn.toISOString()}` : ''}`]])
    .heading('Changes')
    .list(r.changes.length ? r.changes : ['no changes: the cluster matches the inputs'])
    .heading('Next steps')
    .list(["Reach the cluster in later steps with connectionType 'kubeconfig' and kubeconfig `$(<this step's name>.kubeconfigPath)`, or with the same Azure Resource Manager connection."]);
  return r.action === 'unchanged' ? `Cluster ${o.clusterName} is up to date (Kubernetes ${outputs.kubernetesVersion}); nothing was changed.` : `Cluster ${o.clusterName} ${r.action} (Kubernetes ${outputs.kubernetesVersion}).`;
});
