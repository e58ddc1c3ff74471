import type { ClusterConnectionInput } from '../../shared/pipeline/cluster-connection-inputs';
import type { TaskContext } from '../../shared/pipeline/task-context';
import type { KubeObject } from '../../shared/kube/objects';

/** The cluster, when the system is applied at once: ClusterRole look-ups and the direct apply. */
export async function connect(ctx: TaskContext, connection: ClusterConnectionInput) {
  const { clusterAccessFor } = await import('../../shared/connect/cluster-access');
  const { KubeClient } = await import('../../shared/kube/client');
  const { ResourceManager } = await import('../../shared/kube/resource-manager');
  const { applySystemNow } = await import('../../shared/systems/apply-now');
  const manager = new ResourceManager(new KubeClient(await clusterAccessFor(ctx, connection)), { log: ctx.log.debug });
  // Reach the cluster before anything is written: a connection that does not work is bad input.
  await manager.get('rbac.authorization.k8s.io/v1', 'ClusterRole', 'view', undefined, ctx.signal).catch((error: unknown) => {
    manager.close();
    throw error;
  });
  return {
    clusterRoleExists: async (name: string) => Boolean(await manager.get('rbac.authorization.k8s.io/v1', 'ClusterRole', name, undefined, ctx.signal)),
    apply: (objects: KubeObject[], timeoutMs: number) => {
      ctx.log.progress(80, `Applying ${objects.length} objects to the cluster and waiting for Flux to sync the system`);
      return applySystemNow(manager, objects, { timeoutMs, signal: ctx.signal, log: ctx.log.info });
    },
    close: () => manager.close(),
  };
}
