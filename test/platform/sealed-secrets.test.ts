// The real Sealed Secrets controller, installed from the release server's controller.yaml into a
// cluster of this file's own, after a sealing key was put in place (bring-your-own-key).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDedicatedCluster, usePlatform } from './fixture.js';
import { conditionOf, type KubeObject } from './kube-api.js';
import { installRelease } from './platform.js';
import { kubeseal as sealWithKubeseal } from './kubeseal.js';

const run = promisify(execFile);
const platform = usePlatform();
const cluster = useDedicatedCluster();
const work = mkdtempSync(join(tmpdir(), 'sealed-secrets-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
let certPem = '';

beforeAll(async () => {
  // The documented BYOK procedure (docs/bring-your-own-certificates.md), before the controller exists.
  await run('openssl', ['req', '-x509', '-days', '365', '-nodes', '-newkey', 'rsa:4096', '-keyout', join(work, 'tls.key'),
    '-out', join(work, 'tls.crt'), '-subj', '/CN=sealed-secret/O=sealed-secret']);
  certPem = readFileSync(join(work, 'tls.crt'), 'utf8');
  await cluster.api.post('/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name: 'sealed-secrets-key-byok', labels: { [KEY_LABEL]: 'active' } },
    data: { 'tls.crt': Buffer.from(certPem).toString('base64'), 'tls.key': readFileSync(join(work, 'tls.key')).toString('base64') },
  });
  expect(await cluster.api.find('/apis/apps/v1/namespaces/kube-system/deployments/sealed-secrets-controller')).toBeUndefined();
  await installRelease(cluster.api, platform.info.releases.sealedSecretsControllerUrl);
});

/** Runs the real kubeseal, offline, with the certificate the controller serves over HTTP. */
const kubeseal = (secret: object, cert: string) => sealWithKubeseal(platform.info.binaries.kubeseal, secret, cert);

const certUrl = () => `http://${cluster.controller('kube-system', 'sealed-secrets-controller')!.addresses['--listen-addr']}/v1/cert.pem`;
const secretOf = (ns: string, name: string, data: Record<string, string>) => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('Sealed Secrets from controller.yaml', () => {
  it('runs the controller with the pre-created key and generates no key of its own', async () => {
    const c = await cluster.waitForController('kube-system', 'sealed-secrets-controller');
    expect(c.serviceAccount).toBe('sealed-secrets-controller');
    const served = await (await fetch(certUrl())).text();
    expect(served.trim()).toBe(certPem.trim());
    const keys = await cluster.api.get<{ items: KubeObject[] }>('/api/v1/namespaces/kube-system/secrets', { labelSelector: KEY_LABEL });
    expect(keys.items.map((s) => s.metadata.name)).toEqual(['sealed-secrets-key-byok']);
  });

  it('unseals a SealedSecret made by kubeseal', async () => {
    const ns = await cluster.freshNamespace('sealed');
    const sealed = await kubeseal(secretOf(ns, 'db', { password: 's3cr3t', user: 'app' }), certUrl());
    expect(sealed.kind).toBe('SealedSecret');
    expect(JSON.stringify(sealed)).not.toContain(Buffer.from('s3cr3t').toString('base64'));
    await cluster.api.apply([sealed]);
    const secret = await cluster.api.waitFor<{ data: Record<string, string> }>('unsealed Secret', `/api/v1/namespaces/${ns}/secrets/db`, () => true);
    expect(Buffer.from(secret.data.password!, 'base64').toString()).toBe('s3cr3t');
    expect(Buffer.from(secret.data.user!, 'base64').toString()).toBe('app');
    const status = await cluster.api.waitFor('SealedSecret synced', `/apis/bitnami.com/v1alpha1/namespaces/${ns}/sealedsecrets/db`,
      (o) => conditionOf(o, 'Synced')?.status === 'True');
    expect(conditionOf(status, 'Synced')?.status).toBe('True');
  });

  it('refuses a strict-scope SealedSecret moved to another namespace', async () => {
    const [a, b] = [await cluster.freshNamespace('sealed'), await cluster.freshNamespace('sealed')];
    const sealed = await kubeseal(secretOf(a, 'moved', { token: 'abc' }), certUrl());
    const moved: KubeObject = { ...sealed, metadata: { ...sealed.metadata, namespace: b } };
    (moved.spec as { template: { metadata: { namespace: string } } }).template.metadata.namespace = b;
    await cluster.api.apply([moved]);
    const status = await cluster.api.waitFor('SealedSecret failing', `/apis/bitnami.com/v1alpha1/namespaces/${b}/sealedsecrets/moved`,
      (o) => conditionOf(o, 'Synced')?.status === 'False');
    expect(conditionOf(status, 'Synced')?.message).toContain('no key could decrypt secret');
    expect(await cluster.api.find(`/api/v1/namespaces/${b}/secrets/moved`)).toBeUndefined();
  });

  it('serves its certificate to kubeseal --fetch-cert through the API server, as on AKS', async () => {
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(kubeconfig, cluster.info.kubeconfigYaml);
    const { stdout } = await run(platform.info.binaries.kubeseal, ['--fetch-cert', '--kubeconfig', kubeconfig], { env: { PATH: process.env.PATH ?? '', HOME: work } });
    expect(stdout.trim()).toBe(certPem.trim());
    // The same through the service proxy directly: the Service's endpoint is the controller's Pod.
    const proxied = await cluster.api.request('GET', '/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/cert.pem');
    expect(proxied.text.trim()).toBe(certPem.trim());
  });
});
