// The API server's audit log: every write, who made it (and as whom), and whether it was a dry run.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { auditEvents, waitForAuditEvents } from './audit-log.js';
import { usePlatform } from './fixture.js';
import { KubeApiError } from './kube-api.js';
import { pollUntil } from './processes.js';

const platform = usePlatform();
const { api } = platform;
const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });

describe('audit log', () => {
  it('records a write by the admin with its username, and no reads', async () => {
    expect(platform.info.logs.audit.startsWith(platform.info.dir)).toBe(true);
    expect(existsSync(platform.info.logs.audit)).toBe(true);
    const ns = await platform.freshNamespace('audit');
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('written'));
    await api.get(`/api/v1/namespaces/${ns}/configmaps/written`);

    const [event, ...more] = await waitForAuditEvents(platform.info, { namespace: ns, resource: 'configmaps', name: 'written' });
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      verb: 'create', stage: 'ResponseComplete', dryRun: false,
      objectRef: { resource: 'configmaps', namespace: ns, name: 'written' },
      user: { username: 'admin' }, responseStatus: { code: 201 },
    });
    expect(event!.objectRef?.apiGroup ?? '').toBe('');
    expect(event!.impersonatedUser).toBeUndefined();
    // The policy records writes only: no get, list or watch from anyone.
    expect(auditEvents(platform.info, (e) => ['get', 'list', 'watch'].includes(e.verb))).toEqual([]);
  });

  it('records the impersonated user of a write made with Impersonate-User, refused or not', async () => {
    const ns = await platform.freshNamespace('audit');
    const account = `system:serviceaccount:${ns}:deployer`;
    await api.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
    const asDeployer = api.impersonate(account);

    const refused = await asDeployer.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('refused')).catch((e: unknown) => e);
    expect((refused as KubeApiError).status).toBe(403);
    const [denial] = await waitForAuditEvents(platform.info, { namespace: ns, impersonatedUsername: account, code: 403 });
    expect(denial).toMatchObject({ verb: 'create', user: { username: 'admin' }, objectRef: { resource: 'configmaps', namespace: ns } });
    // A create names its object only once it is stored: a refused one carries no name.
    expect(denial!.objectRef?.name).toBeUndefined();

    await api.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'deployer-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
    });
    // RBAC takes effect once the API server's informer has seen the binding.
    await pollUntil('the impersonated write to pass', () => asDeployer.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('allowed')).then(() => true),
      { timeoutMs: 10_000 });
    const [allowed] = await waitForAuditEvents(platform.info, { namespace: ns, name: 'allowed', code: 201 });
    expect(allowed).toMatchObject({ verb: 'create', user: { username: 'admin' }, impersonatedUser: { username: account } });
  });

  it('flags dry-run requests, which change nothing', async () => {
    const ns = await platform.freshNamespace('audit');
    await api.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('simulated'), { dryRun: 'All' });
    expect(await api.find(`/api/v1/namespaces/${ns}/configmaps/simulated`)).toBeUndefined();

    const [event] = await waitForAuditEvents(platform.info, { namespace: ns, name: 'simulated' });
    expect(event).toMatchObject({ verb: 'create', dryRun: true, user: { username: 'admin' }, responseStatus: { code: 201 } });
    expect(event!.requestURI).toContain('dryRun=All');
    expect(auditEvents(platform.info, { namespace: ns, name: 'simulated', dryRun: false })).toEqual([]);
  });
});
