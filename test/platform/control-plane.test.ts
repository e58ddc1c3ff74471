import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startControlPlane } from './control-plane.js';
import { KubeApiError, type KubeApi } from './kube-api.js';
import { usePlatform } from './fixture.js';
import { pollUntil } from './processes.js';

const platform = usePlatform();
const { api } = platform;

/** The error an API call fails with (or undefined when it succeeds). */
async function failureOf(call: Promise<unknown>): Promise<KubeApiError | undefined> {
  try {
    await call;
    return undefined;
  } catch (e) {
    if (e instanceof KubeApiError) return e;
    throw e;
  }
}

async function serviceAccountClient(namespace: string, name: string): Promise<KubeApi> {
  await api.post(`/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } });
  const tr = await api.post<{ status: { token: string } }>(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
  return api.as(tr.status.token);
}

describe('control plane', () => {
  it('is a real kube-apiserver v1.36.3 that requires authentication', async () => {
    expect((await api.get<{ gitVersion: string }>('/version')).gitVersion).toBe('v1.36.3');
    const anonymous = api.as('not-a-valid-token');
    expect((await failureOf(anonymous.get('/api/v1/namespaces')))?.status).toBe(401);
  });

  it('creates the default ServiceAccount and kube-root-ca.crt in new namespaces', async () => {
    const ns = await platform.freshNamespace('defaults');
    await api.waitFor('kube-root-ca.crt', `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
      (cm: { data?: Record<string, string> }) => cm.data?.['ca.crt'] === platform.info.caPem, 10_000);
  });

  it('enforces RBAC for service-account tokens from the TokenRequest API', async () => {
    const ns = await platform.freshNamespace('rbac');
    const sa = await serviceAccountClient(ns, 'reader');
    const who = await sa.post<{ status: { userInfo: { username: string } } }>('/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(who.status.userInfo.username).toBe(`system:serviceaccount:${ns}:reader`);

    const denied = await failureOf(sa.get(`/api/v1/namespaces/${ns}/secrets`));
    expect(denied?.status).toBe(403);
    expect(denied?.message).toContain(`User "system:serviceaccount:${ns}:reader" cannot list resource "secrets"`);

    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secret-reader' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    });
    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'secret-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    });
    await pollUntil('RBAC to allow the list', async () => !(await failureOf(sa.get(`/api/v1/namespaces/${ns}/secrets`))), { timeoutMs: 10_000 });
    expect((await failureOf(sa.get(`/api/v1/namespaces/${ns}/configmaps`)))?.status).toBe(403);
  });

  it('aggregates ClusterRoles (admin, edit, view and custom ones) as kube-controller-manager does', async () => {
    type Role = { rules?: { resources?: string[]; verbs?: string[] }[] };
    const admin = await api.get<Role>('/apis/rbac.authorization.k8s.io/v1/clusterroles/admin');
    expect(admin.rules?.some((r) => r.resources?.includes('configmaps') && r.verbs?.includes('patch'))).toBe(true);
    const tag = `agg-${Date.now()}`;
    await api.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: tag },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'platform-test/aggregate-to': tag } }] },
    });
    await api.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `${tag}-part`, labels: { 'platform-test/aggregate-to': tag } },
      rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }],
    });
    await api.waitFor<Role>('aggregated rules', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${tag}`,
      (r) => r.rules?.some((x) => x.resources?.includes('widgets')) ?? false, 10_000);
  });

  it('runs the admission plugins of a real cluster (NamespaceLifecycle, PodSecurity, ServiceAccount)', async () => {
    const missing = await failureOf(api.post('/api/v1/namespaces/does-not-exist/configmaps',
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }));
    expect(missing?.status).toBe(404);
    expect(missing?.message).toContain('namespaces "does-not-exist" not found');

    const ns = await platform.freshNamespace('psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const pod = (securityContext: object) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'p-' },
      spec: { containers: [{ name: 'c', image: 'registry.invalid/app:1', securityContext }] },
    });
    const privileged = await failureOf(api.post(`/api/v1/namespaces/${ns}/pods`, pod({ privileged: true })));
    expect(privileged?.status).toBe(403);
    expect(privileged?.message).toContain('violates PodSecurity "restricted:latest"');
    // A compliant pod passes every plugin, ServiceAccount included (it finds the default account).
    const ok = await api.post<{ spec: { serviceAccountName: string } }>(`/api/v1/namespaces/${ns}/pods`, pod({
      allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    }));
    expect(ok.spec.serviceAccountName).toBe('default');
  });

  it('enforces a ValidatingAdmissionPolicy through its binding', async () => {
    const guarded = await platform.freshNamespace('vap', { 'vap-test': 'guarded' });
    const free = await platform.freshNamespace('vap');
    const policy = `no-passwords-${guarded}`;
    await api.post('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }] },
        validations: [{ expression: "!has(object.data) || !('password' in object.data)", message: 'ConfigMaps must not hold passwords' }],
      },
    });
    await api.post('/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: policy },
      spec: { policyName: policy, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'vap-test': 'guarded' } } } },
    });
    const configMap = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
    // Policies take effect once the API server's informers have seen them: poll for the denial.
    let n = 0;
    const denial = await pollUntil('the policy to deny', async () => {
      const e = await failureOf(api.post(`/api/v1/namespaces/${guarded}/configmaps`, configMap(`leak-${n++}`, { password: 'hunter2' })));
      return e?.status === 422 ? e : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(denial.message).toContain(`ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request`);
    expect(denial.message).toContain('ConfigMaps must not hold passwords');
    await api.post(`/api/v1/namespaces/${guarded}/configmaps`, configMap('fine', { user: 'alice' }));
    await api.post(`/api/v1/namespaces/${free}/configmaps`, configMap('unbound', { password: 'not guarded here' }));
  });

  it('runs several control planes at once and stop() leaves no process or file behind', async () => {
    const second = await startControlPlane({ name: 'second' });
    try {
      expect(second.server).not.toBe(platform.info.server);
      const ns = await second.api.get<{ items: unknown[] }>('/api/v1/namespaces');
      expect(ns.items.length).toBeGreaterThan(0);
      // The shared platform is unaffected: its CA does not even sign the second one's certificate.
      expect(second.caPem).not.toBe(platform.info.caPem);
    } finally {
      await second.stop();
    }
    for (const pid of Object.values(second.pids)) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(second.dir)).toBe(false);
  });

  it('restarts etcd and the API server with their data, as a crash or an upgrade would', async () => {
    const cp = await startControlPlane({ name: 'restarted' });
    try {
      await cp.api.post('/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' }, data: { a: '1' } });
      const before = { ...cp.pids };
      await cp.restart('etcd');
      await cp.restart('apiserver');
      expect(cp.pids.etcd).not.toBe(before.etcd);
      expect(cp.pids.apiserver).not.toBe(before.apiserver);
      expect(() => process.kill(before.apiserver, 0)).toThrow();
      const kept = await cp.api.get<{ data: Record<string, string> }>('/api/v1/namespaces/default/configmaps/kept');
      expect(kept.data).toEqual({ a: '1' });
    } finally {
      await cp.stop();
    }
    for (const pid of Object.values(cp.pids)) expect(() => process.kill(pid, 0)).toThrow();
  });
});
