// The real kube-controller-manager's namespace controller and garbage collector: a deleted
// namespace is emptied, custom resources included, and then goes away; dependents of a deleted
// owner (ownerReferences) go with it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePlatform } from './fixture.js';
import type { KubeObject } from './kube-api.js';
import { pollUntil } from './processes.js';

const platform = usePlatform();
const { api } = platform;

/** A namespaced CRD of the test's own (group unique per run), established. */
async function widgetCrd(): Promise<{ group: string; plural: string }> {
  const group = `nsdel-${randomBytes(3).toString('hex')}.platform.test`;
  await api.apply([{
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  }]);
  return { group, plural: 'widgets' };
}

describe('namespace deletion', () => {
  it('empties a deleted namespace, custom resources included, and then removes it', async () => {
    const { group } = await widgetCrd();
    const ns = await platform.freshNamespace('nsdel');
    await api.apply([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: ns }, data: { k: 'v' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: ns }, stringData: { password: 'p' } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: ns } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
      },
      { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w', namespace: ns }, spec: { size: 3 } },
    ] as KubeObject[]);

    await api.delete(`/api/v1/namespaces/${ns}`);
    await pollUntil(`namespace ${ns} gone`, async () => !(await api.find(`/api/v1/namespaces/${ns}`)), { timeoutMs: 20_000 });

    // Objects of a namespace removed without the controller would still be readable from etcd.
    const objects = [
      `/api/v1/namespaces/${ns}/configmaps/app`, `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
      `/api/v1/namespaces/${ns}/secrets/app`, `/api/v1/namespaces/${ns}/serviceaccounts/deployer`,
      `/api/v1/namespaces/${ns}/serviceaccounts/default`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings/deployer`, `/apis/${group}/v1/namespaces/${ns}/widgets/w`,
    ];
    for (const path of objects) expect(await api.find(path), path).toBeUndefined();
    const inNamespace = { fieldSelector: `metadata.namespace=${ns}` };
    expect((await api.get<{ items: unknown[] }>('/api/v1/configmaps', inNamespace)).items).toEqual([]);
    expect((await api.get<{ items: unknown[] }>(`/apis/${group}/v1/widgets`, inNamespace)).items).toEqual([]);
  });

  it('lets a namespace of the same name be created again, empty but for its defaults', async () => {
    const ns = await platform.freshNamespace('nsagain');
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old' } });
    await api.delete(`/api/v1/namespaces/${ns}`);
    await pollUntil(`namespace ${ns} gone`, async () => !(await api.find(`/api/v1/namespaces/${ns}`)), { timeoutMs: 20_000 });
    await api.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await api.waitFor('default ServiceAccount again', `/api/v1/namespaces/${ns}/serviceaccounts/default`, () => true, 10_000);
    expect(await api.find(`/api/v1/namespaces/${ns}/configmaps/old`)).toBeUndefined();
  });
});

describe('garbage collection', () => {
  const configMap = (name: string, ns: string, owner?: KubeObject): KubeObject => ({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, namespace: ns, ...(owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata.name, uid: owner.metadata.uid!, blockOwnerDeletion: true }] } : {}) },
    data: { k: 'v' },
  });

  it('deletes the dependents of a deleted owner in the background', async () => {
    const ns = await platform.freshNamespace('gc');
    const [owner] = await api.apply([configMap('owner', ns)]);
    await api.apply([configMap('dependent', ns, owner), configMap('unrelated', ns)]);
    await api.delete(`/api/v1/namespaces/${ns}/configmaps/owner`);
    await pollUntil('the dependent gone', async () => !(await api.find(`/api/v1/namespaces/${ns}/configmaps/dependent`)), { timeoutMs: 20_000 });
    expect(await api.find(`/api/v1/namespaces/${ns}/configmaps/unrelated`)).toBeDefined();
  });

  it('keeps a foreground-deleted owner until its dependents are gone', async () => {
    const ns = await platform.freshNamespace('gc');
    const [owner] = await api.apply([configMap('owner', ns)]);
    const [dependent] = await api.apply([configMap('dependent', ns, owner)]);
    // A finalizer of the test's own holds the dependent, so the owner must wait for it.
    await api.patch(`/api/v1/namespaces/${ns}/configmaps/dependent`, { metadata: { finalizers: ['platform.test/hold'] } });
    await api.json('DELETE', `/api/v1/namespaces/${ns}/configmaps/owner`, { body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' } });
    await pollUntil('the dependent being deleted', async () => !!(await api.find<KubeObject>(`/api/v1/namespaces/${ns}/configmaps/dependent`))?.metadata.deletionTimestamp, { timeoutMs: 20_000 });
    const held = await api.get<KubeObject>(`/api/v1/namespaces/${ns}/configmaps/owner`);
    expect(held.metadata.finalizers).toContain('foregroundDeletion');
    await api.patch(`/api/v1/namespaces/${ns}/configmaps/dependent`, { metadata: { finalizers: null } });
    await pollUntil('the owner gone', async () => !(await api.find(`/api/v1/namespaces/${ns}/configmaps/owner`)), { timeoutMs: 20_000 });
    expect(dependent!.metadata.uid).toBeDefined();
  });
});
