// shared/systems in-process: what a system's folder holds, that sealed values keep their
// ciphertext while they do not change, the systems index, and how changes are described.
import { createPrivateKey, privateDecrypt, constants, createDecipheriv } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { makeKeyPair } from '../agent/fixtures';
import { describeChanges, fileChanges } from '../../shared/systems/changes';
import { clusterRoleIn } from '../../shared/systems/cluster-role';
import { renderGuardrails, renderSystem } from '../../shared/systems/render';
import { SEALED_FROM } from '../../shared/systems/sealed-values';
import { starterFiles } from '../../shared/systems/starter';
import { systemsIndex, systemsListed } from '../../shared/systems/systems-index';
import type { SystemSpec } from '../../shared/systems/system';

const pair = makeKeyPair({ bits: 2048 });
const other = makeKeyPair({ bits: 2048 });
const spec: SystemSpec = {
  name: 'payments', namespace: 'payments', clusterRole: 'system-tenant', podSecurity: 'baseline',
  entraGroup: { objectId: '2d4f6a8c-1b3e-4d5f-8a7c-9e0b2c4d6f81', clusterRole: 'view' },
  source: { url: 'https://dev.azure.com/org/platform/_git/payments', branch: 'main', path: './deploy/dev', interval: '5m' },
  alerts: { provider: 'msteams', severity: 'error' },
};
const secrets = { git: { username: 'flux', password: 'pat-value-0123456789' }, alertWebhookUrl: 'https://example.logic.azure.com/workflows/abc?sig=xyz' };
const sealing = { certPem: pair.certPem, scope: 'strict' as const };
const objectsOf = (text: string) => parseAllDocuments(text).map((d) => d.toJS());

/** Decrypts one kubeseal-format value (for the test only: the product never holds the key). */
function unseal(value: string, label: string): string {
  const raw = Buffer.from(value, 'base64');
  const n = raw.readUInt16BE(0);
  const session = privateDecrypt({ key: createPrivateKey(pair.keyPem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(label) }, raw.subarray(2, 2 + n));
  const body = raw.subarray(2 + n);
  const decipher = createDecipheriv('aes-256-gcm', session, Buffer.alloc(12));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString();
}

describe('renderSystem', () => {
  const first = renderSystem(spec, secrets, sealing);

  it('writes the tenant namespace, bindings, network policy, sync running as the account, sealed secrets and alerts', () => {
    expect(Object.keys(first.files).sort()).toEqual(['alert-webhook.sealed.yaml', 'alerts.yaml', 'git-credentials.sealed.yaml', 'kustomization.yaml', 'namespace.yaml', 'network-policy.yaml', 'rbac.yaml', 'sync.yaml']);
    const [ns] = objectsOf(first.files['namespace.yaml']!);
    expect(ns.metadata.labels).toMatchObject({ 'toolkit.fluxcd.io/tenant': 'payments', 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted' });
    const [, reconciler, team] = objectsOf(first.files['rbac.yaml']!);
    expect(reconciler.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system-tenant' });
    expect(team.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: spec.entraGroup!.objectId }]);
    const [source, sync] = objectsOf(first.files['sync.yaml']!);
    expect(source.spec).toMatchObject({ url: spec.source.url, ref: { branch: 'main' }, secretRef: { name: 'payments-git' } });
    expect(sync.spec).toMatchObject({ serviceAccountName: 'payments', targetNamespace: 'payments', path: './deploy/dev', prune: true, sourceRef: { kind: 'GitRepository', name: 'payments' } });
    expect(sync.spec.sourceRef.namespace).toBeUndefined();
    const [provider, alert] = objectsOf(first.files['alerts.yaml']!);
    expect(provider.spec).toEqual({ type: 'msteams', secretRef: { name: 'payments-alerts' } });
    expect(alert.spec.eventSeverity).toBe('error');
    expect(objectsOf(first.files['kustomization.yaml']!)[0].resources).toHaveLength(7);
  });

  it('seals the values for the namespace and name (strict), and never writes them in clear', () => {
    const all = Object.values(first.files).join('\n');
    for (const v of [secrets.git.password, secrets.alertWebhookUrl, Buffer.from(secrets.git.password).toString('base64')]) expect(all).not.toContain(v);
    const [sealed] = objectsOf(first.files['git-credentials.sealed.yaml']!);
    expect(sealed.kind).toBe('SealedSecret');
    expect(unseal(sealed.spec.encryptedData.password, 'payments/payments-git')).toBe(secrets.git.password);
    expect(() => unseal(sealed.spec.encryptedData.password, 'other/payments-git')).toThrow();
    expect(sealed.spec.template.metadata.annotations?.[SEALED_FROM]).toBeUndefined();
  });

  it('keeps sealed files while their values, certificate and scope stay; seals anew when one changes', () => {
    const again = renderSystem(spec, secrets, sealing, first.files);
    expect(again.files).toEqual(first.files);
    const newToken = renderSystem(spec, { ...secrets, git: { ...secrets.git, password: 'rotated-pat-987654321' } }, sealing, first.files);
    expect(newToken.files['git-credentials.sealed.yaml']).not.toBe(first.files['git-credentials.sealed.yaml']);
    expect(newToken.files['alert-webhook.sealed.yaml']).toBe(first.files['alert-webhook.sealed.yaml']);
    const newCert = renderSystem(spec, secrets, { ...sealing, certPem: other.certPem }, first.files);
    expect(newCert.files['git-credentials.sealed.yaml']).not.toBe(first.files['git-credentials.sealed.yaml']);
    const newScope = renderSystem(spec, secrets, { ...sealing, scope: 'namespace-wide' }, first.files);
    expect(objectsOf(newScope.files['git-credentials.sealed.yaml']!)[0].metadata.annotations['sealedsecrets.bitnami.com/namespace-wide']).toBe('true');
  });

  it('leaves out alerts and the group binding when not asked for', () => {
    const plain = renderSystem({ ...spec, alerts: undefined, entraGroup: undefined }, { git: secrets.git }, sealing);
    expect(Object.keys(plain.files)).not.toContain('alerts.yaml');
    expect(objectsOf(plain.files['rbac.yaml']!)).toHaveLength(2);
  });
});

describe('systemsIndex', () => {
  it('lists the guardrails and the systems in order, keeping what others added', () => {
    const one = systemsIndex(undefined, { add: 'payments' });
    expect(systemsListed(one)).toEqual(['payments']);
    const two = systemsIndex(one, { add: 'billing' });
    expect(objectsOf(two)[0].resources).toEqual(['tenant-guardrails.yaml', 'billing', 'payments']);
    expect(systemsIndex(two, { add: 'billing' })).toBe(two);
    const custom = '# ours\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - extra.yaml # by hand\n  - tenant-guardrails.yaml\n  - payments\n';
    const removed = systemsIndex(custom, { remove: 'payments' });
    expect(removed).toContain('# ours');
    expect(removed).toContain('extra.yaml # by hand');
    expect(systemsListed(removed)).toEqual(['extra.yaml']);
  });

  it('refuses an index that is not a kustomization', () => {
    expect(() => systemsIndex('- a\n- b\n', { add: 'x' })).toThrow(/not a YAML map/);
  });
});

describe('changes', () => {
  it('adds, edits and deletes only what differs, and says what changed field by field', () => {
    const before = renderSystem(spec, secrets, sealing).files;
    const after = renderSystem({ ...spec, alerts: { ...spec.alerts!, severity: 'info' } }, secrets, sealing, before).files;
    const current = Object.fromEntries(Object.entries(before).map(([p, c]) => [`s/${p}`, c]));
    const desired: Record<string, string | null> = Object.fromEntries(Object.entries(after).map(([p, c]) => [`s/${p}`, c]));
    desired['s/gone.yaml'] = null;
    const changes = fileChanges(desired, { ...current, 's/gone.yaml': 'x: 1\n' });
    expect(changes.map((c) => `${c.action} ${c.path}`)).toEqual(['edit s/alerts.yaml', 'delete s/gone.yaml']);
    expect(describeChanges(changes, { ...current, 's/gone.yaml': 'x: 1\n' })).toEqual(['Alert/payments/payments spec.eventSeverity: error -> info', 'removed s/gone.yaml']);
  });
});

describe('guardrails and starter', () => {
  it('refuses LoadBalancer and NodePort in tenant namespaces, naming whom to ask', () => {
    const [policy, binding] = renderGuardrails('#platform-help').objects;
    expect(JSON.stringify(policy!.spec)).toContain('#platform-help');
    expect(JSON.stringify(binding!.spec)).toContain('toolkit.fluxcd.io/tenant');
  });

  it('finds a ClusterRole in the platform files and tells the team what it may create', () => {
    const role = clusterRoleIn({ 'a.yaml': 'kind: ConfigMap\n', 'rbac/t.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: system-tenant}\nrules: [{apiGroups: [apps], resources: [deployments], verbs: [get, create]}]\n' }, 'system-tenant');
    expect(role?.path).toBe('rbac/t.yaml');
    const files = starterFiles(spec, { rules: role!.rules, certPem: pair.certPem, platformRepository: 'platform-components' });
    expect(Object.keys(files)).toEqual(['deploy/dev/README.md', 'deploy/dev/kustomization.yaml']);
    expect(files['deploy/dev/README.md']).toContain('- deployments (apps): get, create');
    expect(files['deploy/dev/README.md']).toContain(pair.certPem.trim());
    expect(clusterRoleIn({ 'x.yaml': 'kind: ClusterRole\nmetadata: {name: other}\n' }, 'system-tenant')).toBeUndefined();
  });
});
