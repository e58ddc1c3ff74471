// Readiness of workloads as Flux's kstatus judges it (shared/kube/readiness.ts): first on status
// snapshots the real controllers write, then on a live rollout by the real Deployment controller,
// where the old Pod keeps serving until the new one is available.
import { beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../shared/kube/client';
import { accessFromKubeconfig } from '../../shared/kube/connection';
import type { KubeObject } from '../../shared/kube/objects';
import { readinessOf } from '../../shared/kube/readiness';
import { ResourceManager } from '../../shared/kube/resource-manager';
import { pinnedVersion } from '../platform/controller-catalog';
import { useDedicatedCluster, usePlatform } from '../platform/fixture';
import { parseYamlObjects } from '../platform/kube-api';

const platform = usePlatform();
const cluster = useDedicatedCluster();

// notification-controller is the workload of the rollout: it needs its CRDs, not the rest of Flux.
beforeAll(async () => {
  const install = await (await fetch(platform.info.releases.fluxInstallUrl)).text();
  await cluster.api.apply(parseYamlObjects(install).filter((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name.includes('notification')));
});

const deployment = (spec: object, status: object, generation = 2): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n', generation },
  spec: { replicas: 1, progressDeadlineSeconds: 600, ...spec }, status,
});
const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' };
const progressed = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' };
const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' };

describe('readiness of workloads (kstatus)', () => {
  it('keeps a Deployment pending while an old replica is left, even when enough are available', () => {
    // Mid-rollout with minReadySeconds: the new Pod is updated but not yet available; the old one still serves.
    const midRollout = deployment({}, {
      observedGeneration: 2, replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 1, conditions: [available, progressing],
    });
    expect(readinessOf(midRollout)).toEqual({ state: 'pending', message: 'Pending termination: 1 old replica' });
    // The new Pod available, the old ReplicaSet not yet scaled down.
    const oldLeft = deployment({}, {
      observedGeneration: 2, replicas: 2, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2, conditions: [available, progressing],
    });
    expect(readinessOf(oldLeft).state).toBe('pending');
    const done = deployment({}, {
      observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available, progressed],
    });
    expect(readinessOf(done)).toEqual({ state: 'ready', message: 'Deployment is available. Replicas: 1' });
  });

  it('keeps a Deployment pending until the latest generation is observed, and the new ReplicaSet is available', () => {
    const stale = deployment({}, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available, progressed] });
    expect(readinessOf(stale)).toEqual({ state: 'pending', message: 'Deployment generation is 2, but latest observed generation is 1' });
    const readyNotAvailable = deployment({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, conditions: [available, progressing] });
    expect(readinessOf(readyNotAvailable)).toEqual({ state: 'pending', message: 'Available: 0/1' });
    const notProgressed = deployment({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available, progressing] });
    expect(readinessOf(notProgressed)).toEqual({ state: 'pending', message: 'ReplicaSet not Available' });
    const deadline = deployment({}, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "d-1" has timed out progressing.' }] });
    expect(readinessOf(deadline).state).toBe('failed');
  });

  it('judges StatefulSets by ready, current and updated replicas and revisions', () => {
    const sts = (status: object, spec: object = {}): KubeObject => ({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'n', generation: 3 }, spec: { replicas: 2, ...spec }, status,
    });
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 2, readyReplicas: 1, currentReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'a' })))
      .toEqual({ state: 'pending', message: 'Ready: 1/2' });
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 2, readyReplicas: 2, currentReplicas: 1, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })))
      .toEqual({ state: 'pending', message: 'current: 1/2' });
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'b' })))
      .toEqual({ state: 'pending', message: 'Waiting for updated revision to match current' });
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: 'b', updateRevision: 'b' })))
      .toEqual({ state: 'pending', message: 'Pending termination: 1' });
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, currentRevision: 'b', updateRevision: 'b' })).state).toBe('ready');
    expect(readinessOf(sts({ observedGeneration: 3, replicas: 2, readyReplicas: 2, currentReplicas: 1, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' }, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } })).state).toBe('ready');
  });

  it('judges DaemonSets by the Pods scheduled, updated, available and ready on the nodes', () => {
    const ds = (status: object): KubeObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x', namespace: 'n', generation: 2 }, spec: {}, status });
    expect(readinessOf(ds({})).state).toBe('pending');
    expect(readinessOf(ds({ observedGeneration: 2 }))).toEqual({ state: 'pending', message: 'Missing .status.desiredNumberScheduled' });
    expect(readinessOf(ds({ observedGeneration: 2, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3, numberReady: 3 })))
      .toEqual({ state: 'pending', message: 'Updated: 2/3' });
    expect(readinessOf(ds({ observedGeneration: 2, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2, numberReady: 3 })))
      .toEqual({ state: 'pending', message: 'Available: 2/3' });
    expect(readinessOf(ds({ observedGeneration: 2, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3 })).state).toBe('ready');
  });

  it('waits out a rolling update of the real Deployment controller: ready only once the new Pod is available and the old one is gone', async () => {
    const ns = await cluster.freshNamespace('rollout');
    const manifest = (logLevel: string): KubeObject => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'notifier', namespace: ns },
      spec: {
        replicas: 1,
        minReadySeconds: 5,
        selector: { matchLabels: { app: 'notifier' } },
        template: {
          metadata: { labels: { app: 'notifier' } },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: 'manager', image: `ghcr.io/fluxcd/notification-controller:${pinnedVersion('notification-controller', 'github.com/fluxcd/notification-controller')}`,
              args: ['--watch-all-namespaces=false', `--log-level=${logLevel}`],
              env: [{ name: 'RUNTIME_NAMESPACE', value: ns }],
              ports: [{ containerPort: 9440, name: 'healthz' }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'healthz' } },
            }],
          },
        },
      },
    });
    const manager = new ResourceManager(new KubeClient(await accessFromKubeconfig(cluster.info.kubeconfigYaml)));
    try {
      await manager.applyAll([manifest('info')], { timeoutMs: 30_000 });
      await manager.waitForReady([manifest('info')], { timeoutMs: 90_000 });
      const podsOf = async () => (await cluster.api.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: 'app=notifier' })).items;
      const [first] = await podsOf();

      await manager.applyAll([manifest('debug')], { timeoutMs: 30_000 });
      const messages: string[] = [];
      const done = await manager.waitForReady([manifest('debug')], { timeoutMs: 90_000, onChange: (_ref, r) => messages.push(r.message) });
      const live = [...done.values()][0]!;
      const pods = await podsOf();
      // Ready means: every Pod left is of the new template and available; the first one is no longer counted.
      const current = pods.filter((p) => !p.metadata.deletionTimestamp);
      expect(current.map((p) => p.metadata.name)).not.toContain(first!.metadata.name);
      expect(current).toHaveLength(1);
      expect((live.status as { replicas: number; availableReplicas: number }).replicas).toBe(1);
      expect((live.status as { availableReplicas: number }).availableReplicas).toBe(1);
      // On the way, the old Pod was still counted while the new one became available (minReadySeconds).
      expect(messages.some((m) => /Pending termination|Available: 0\/1/.test(m))).toBe(true);
    } finally {
      manager.close();
    }
  });
});
