// The namespace controller's part (controller-manager.ts, namespace-deletion.ts): a deleted
// namespace is emptied, custom resources included, and then goes away, as on a cluster.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePlatform } from './fixture.js';
import type { KubeObject } from './kube-api.js';
import { namespacedResources } from './namespace-deletion.js';
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
  it('discovers namespaced types of every group, CRDs included', async () => {
    const { group } = await widgetCrd();
    const plurals = (await namespacedResources(api)).map((r) => `${r.prefix}/${r.plural}`);
    expect(plurals).toEqual(expect.arrayContaining([
      '/api/v1/configmaps', '/api/v1/secrets', '/api/v1/serviceaccounts',
      '/apis/rbac.authorization.k8s.io/v1/rolebindings', `/apis/${group}/v1/widgets`,
    ]));
    expect(plurals).not.toContain('/api/v1/namespaces');
  });

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
