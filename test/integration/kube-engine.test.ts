import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterAccess } from '../../shared/kube/access';
import { ApplyValidationError } from '../../shared/kube/apply';
import { KubeClient } from '../../shared/kube/client';
import { accessFromKubeconfig, accessFromServiceConnection } from '../../shared/kube/connection';
import { WaitTimeoutError } from '../../shared/kube/errors';
import { loadManifests, parseManifests } from '../../shared/kube/manifests';
import type { KubeObject } from '../../shared/kube/objects';
import { ResourceManager } from '../../shared/kube/resource-manager';
import { auditEvents, waitForAuditEvents, type AuditEvent } from '../platform/audit-log';
import { startControlPlane, type ControlPlane } from '../platform/control-plane';
import { FaultProxy } from './fault-proxy';
import { collectGarbage } from '../gc';

let cp: ControlPlane;
let access: ClusterAccess;
let seq = 0;
const ns = () => `engine-${Date.now().toString(36)}-${seq++}`;

beforeAll(async () => {
  cp = await startControlPlane({ name: 'engine' });
  access = await accessFromKubeconfig(cp.kubeconfigYaml);
});
afterAll(async () => {
  await cp?.stop();
});

const manager = (a: ClusterAccess = access, options: ConstructorParameters<typeof KubeClient>[1] = {}) => new ResourceManager(new KubeClient(a, options));

async function createNamespace(name: string) {
  const m = manager();
  await m.applyAll(parseManifests(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}}\n`));
  m.close();
}

const CRD = (group: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`;

describe('apply', () => {
  it('applies a CRD, a namespace and their custom resources from one file in one call, then writes nothing on a re-apply', async () => {
    const group = `${ns()}.example.com`;
    const namespace = ns();
    const text = `${CRD(group)}---
apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}
---
apiVersion: ${group}/v1
kind: Widget
metadata: {name: w1, namespace: ${namespace}}
spec: {size: 1}
---
apiVersion: ${group}/v1
kind: Widget
metadata: {name: w2, namespace: ${namespace}}
spec: {size: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ${namespace}}
data: {a: "1"}
`;
    const m = manager();
    const first = await m.applyAll(parseManifests(text, 'bundle.yaml'));
    expect(first.describe()).toBe('5 created, 0 configured, 0 unchanged');
    expect(first.entries.map((e) => e.ref)).toEqual([
      `CustomResourceDefinition/widgets.${group}`, `Namespace/${namespace}`, `ConfigMap/${namespace}/settings`, `Widget/${namespace}/w1`, `Widget/${namespace}/w2`,
    ]);
    const before = await Promise.all(['w1', 'w2'].map((n) => m.get(`${group}/v1`, 'Widget', n, namespace)));
    const cmBefore = await m.get('v1', 'ConfigMap', 'settings', namespace);

    const reapplied = new Date();
    const second = await m.applyAll(parseManifests(text, 'bundle.yaml'));
    expect(second.describe()).toBe('0 created, 0 configured, 5 unchanged');
    const changed = new Date();
    const after = await Promise.all(['w1', 'w2'].map((n) => m.get(`${group}/v1`, 'Widget', n, namespace)));
    expect(after.map((o) => o!.metadata.resourceVersion)).toEqual(before.map((o) => o!.metadata.resourceVersion));
    expect((await m.get('v1', 'ConfigMap', 'settings', namespace))!.metadata.resourceVersion).toBe(cmBefore!.metadata.resourceVersion);

    const third = await m.applyAll(parseManifests(text.replace('size: 2', 'size: 3'), 'bundle.yaml'));
    expect(third.entries.filter((e) => e.action !== 'unchanged')).toEqual([{ ref: `Widget/${namespace}/w2`, action: 'configured' }]);
    m.close();
    // The CRD, the namespace and the custom resources were judged unchanged without asking the
    // server: nothing at all was sent between the second apply and the third.
    await waitForAuditEvents(cp, (e) => e.userAgent === 'aks-gitops-tasks' && e.objectRef?.name === 'w2' && !e.dryRun && new Date(e.requestReceivedTimestamp) >= changed);
    expect(auditEvents(cp, (e) => e.userAgent === 'aks-gitops-tasks' && new Date(e.requestReceivedTimestamp) >= reapplied && new Date(e.requestReceivedTimestamp) < changed)
      .map((e) => `${e.dryRun ? 'dry-run ' : ''}${e.verb} ${e.requestURI}`)).toEqual([]);
  });

  it('re-applies unchanged objects without sending anything, and still applies what changed, was removed or was taken over', async () => {
    const namespace = ns();
    const text = (data = '1', annotations = '{a: "1", b: "2"}') => `apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: ${namespace}, labels: {app: a}}
data: {setting: "${data}"}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: ${namespace}}
stringData: {password: "p"}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: ${namespace}, annotations: ${annotations}}
spec: {clusterIP: None, selector: {app: a}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: ${namespace}}
spec: {replicas: 1, selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: "example.invalid/app:1", ports: [{containerPort: 8080}]}]}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: ${namespace}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
`;
    // Everything the engine sent to the namespace (dry-runs included) received in [from, to).
    const sent = (from: Date, to = new Date(8.64e15)) => auditEvents(cp, (e: AuditEvent) => e.userAgent === 'aks-gitops-tasks' && e.objectRef?.namespace === namespace
      && new Date(e.requestReceivedTimestamp) >= from && new Date(e.requestReceivedTimestamp) < to);
    const m = manager();
    expect((await m.applyAll(parseManifests(text()))).describe()).toBe('6 created, 0 configured, 0 unchanged');

    const reapplied = new Date();
    expect((await m.applyAll(parseManifests(text()))).describe()).toBe('0 created, 0 configured, 6 unchanged');

    // Another manager takes spec.replicas over (as `kubectl scale` would); the next apply changes
    // a value and drops an annotation from the manifest.
    const other = new KubeClient(access, { userAgent: 'other-tool' });
    await other.request({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${namespace}/deployments/d`, query: { fieldManager: 'other-tool' }, contentType: 'application/merge-patch+json', body: { spec: { replicas: 3 } } });
    const changed = new Date();
    const third = await m.applyAll(parseManifests(text('2', '{a: "1"}')), { force: true });
    expect(third.entries.filter((e) => e.action !== 'unchanged').map((e) => `${e.ref} ${e.action}`).sort()).toEqual([
      `ConfigMap/${namespace}/cm configured`, `Deployment/${namespace}/d configured`, `Service/${namespace}/svc configured`,
    ]);
    expect((await m.get('v1', 'ConfigMap', 'cm', namespace))!.data).toEqual({ setting: '2' });
    expect((await m.get('v1', 'Service', 'svc', namespace))!.metadata.annotations).toEqual({ a: '1' });
    expect(((await m.get('apps/v1', 'Deployment', 'd', namespace))!.spec as { replicas: number }).replicas).toBe(1);

    // A manager that applies the same value shares the field: the engine then asks the server.
    await other.request({ method: 'PATCH', path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles/r`, query: { fieldManager: 'other-tool', force: 'true' }, contentType: 'application/apply-patch+yaml',
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } });
    other.close();
    const shared = new Date();
    expect((await m.applyAll(parseManifests(text('2', '{a: "1"}')))).describe()).toBe('0 created, 0 configured, 6 unchanged');
    m.close();

    const write = (e: AuditEvent) => `${e.dryRun ? 'dry-run ' : ''}${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`;
    await waitForAuditEvents(cp, (e) => e.userAgent === 'aks-gitops-tasks' && e.objectRef?.resource === 'roles' && e.objectRef?.namespace === namespace && e.dryRun && new Date(e.requestReceivedTimestamp) >= shared);
    expect(sent(reapplied, changed).map(write)).toEqual([]);
    expect(sent(changed, shared).map(write).sort()).toEqual([
      'dry-run patch configmaps/cm', 'dry-run patch deployments/d', 'dry-run patch services/svc', 'patch configmaps/cm', 'patch deployments/d', 'patch services/svc',
    ]);
    expect(sent(shared).map(write)).toEqual(['dry-run patch roles/r']);
  });

  it('changes nothing when one object among valid ones is invalid, and names it', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: good-1, namespace: ${namespace}}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken, namespace: ${namespace}}
spec:
  replicas: -1
  selector: {matchLabels: {app: x}}
  template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: nginx}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: good-2, namespace: ${namespace}}
data: {b: "2"}
`;
    const m = manager();
    const error = await m.applyAll(parseManifests(text)).catch((e) => e);
    expect(error).toBeInstanceOf(ApplyValidationError);
    expect(error.message).toContain('nothing was changed');
    expect(error.message).toContain(`Deployment/${namespace}/broken`);
    expect(error.message).toContain('Invalid: ');
    expect(error.message).toContain('spec.replicas: Invalid value: -1');
    expect(await m.get('v1', 'ConfigMap', 'good-1', namespace)).toBeUndefined();
    expect(await m.get('v1', 'ConfigMap', 'good-2', namespace)).toBeUndefined();
    m.close();
  });

  it('names the object and the reason when the identity may not apply it', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const admin = manager();
    await admin.applyAll(parseManifests(`apiVersion: v1
kind: ServiceAccount
metadata: {name: limited, namespace: ${namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmaps-only, namespace: ${namespace}}
rules: [{apiGroups: [""], resources: [configmaps], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmaps-only}
subjects: [{kind: ServiceAccount, name: limited, namespace: ${namespace}}]
`));
    const client = new KubeClient(access);
    const { status } = await client.request<{ status: { token: string } }>({
      method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts/limited/token`, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    client.close();
    admin.close();
    const limited = manager({ server: access.server, caPem: access.caPem, token: status.token });
    const error = await limited.applyAll(parseManifests(`apiVersion: v1
kind: Secret
metadata: {name: not-allowed, namespace: ${namespace}}
stringData: {k: v}
`)).catch((e) => e);
    expect(error.message).toContain(`Secret/${namespace}/not-allowed: Forbidden: `);
    expect(error.message).toContain(`system:serviceaccount:${namespace}:limited`);
    limited.close();
  });

  it('reports a bad manifest with its origin and document number', () => {
    expect(() => parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n', 'x.yaml'))
      .toThrow('x.yaml, document 2: ConfigMap/b has no apiVersion');
    expect(() => parseManifests('a: [unclosed\n', 'y.yaml')).toThrow(/^y\.yaml, document 1: invalid YAML/);
  });
});

describe('wait', () => {
  it('ends within a few hundred milliseconds of readiness, watching instead of polling', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager();
    const deployment = parseManifests(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ${namespace}}
spec:
  replicas: 2
  selector: {matchLabels: {app: x}}
  template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: example.invalid/app:1}]}}
`);
    await m.applyAll(deployment);
    const client = new KubeClient(access);
    let readyAt = 0;
    setTimeout(async () => {
      const live = (await m.get('apps/v1', 'Deployment', 'app', namespace)) as KubeObject;
      // The watch may deliver the change before this request returns: time it from the send.
      readyAt = Date.now();
      await client.request({
        method: 'PATCH', path: `/apis/apps/v1/namespaces/${namespace}/deployments/app/status`, contentType: 'application/merge-patch+json',
        // What the Deployment controller writes once the rollout is done (this control plane runs none).
        body: { status: {
          observedGeneration: live.metadata.generation, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2,
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
            { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "app-1" has successfully progressed.' },
          ],
        } },
      });
    }, 1500);
    const progress: string[] = [];
    await m.waitForReady(deployment, { timeoutMs: 20_000, onChange: (ref, r) => progress.push(`${ref}: ${r.message}`) });
    const lag = Date.now() - readyAt;
    expect(readyAt).toBeGreaterThan(0);
    expect(lag).toBeLessThan(300);
    expect(progress[0]).toMatch(/rollout to be observed|0 of 2 replicas/);
    client.close();
    m.close();
  });

  it('on timeout lists each object that is not ready with its last status', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager();
    const deployment = parseManifests(`apiVersion: apps/v1
kind: Deployment
metadata: {name: never, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: y}}
  template: {metadata: {labels: {app: y}}, spec: {containers: [{name: c, image: example.invalid/app:1}]}}
`);
    await m.applyAll(deployment);
    const error = await m.waitForReady(deployment, { timeoutMs: 1500 }).catch((e) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.message).toContain(`Deployment/${namespace}/never: `);
    m.close();
  });
});

describe('faults', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await new FaultProxy({ server: cp.server, caPem: cp.caPem }).start();
  });
  afterAll(async () => proxy?.stop());
  // A failed test must not leave its faults to the next one.
  afterEach(() => {
    proxy.queue.length = 0;
    proxy.always = undefined;
    proxy.only = undefined;
  });

  it('retries throttling (honouring Retry-After), 503s and dropped connections', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const retries: string[] = [];
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 20 }, onRetry: (what, e) => retries.push(`${what}: ${(e as Error).message}`) });
    proxy.queue.push({ kind: 'status', status: 429, retryAfter: 1 }, { kind: 'status', status: 503 }, { kind: 'reset' }, { kind: 'status', status: 503 });
    const started = Date.now();
    const changes = await m.applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flaky, namespace: ${namespace}}\ndata: {a: "1"}\n`));
    expect(changes.describe()).toBe('1 created, 0 configured, 0 unchanged');
    expect(proxy.faultsInjected).toBe(4);
    expect(retries).toHaveLength(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    m.close();
  });

  it('names only the object whose resource could not be resolved, not the existing ones beside it', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    await manager().applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: there, namespace: ${namespace}}\ndata: {a: "1"}\n`));
    // Discovery of apps/v1 fails for good (a read is tried again after a 500, until the deadline).
    proxy.only = /^\/apis\/apps\/v1(\?|$)/;
    proxy.always = { kind: 'status', status: 500 };
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 20, deadlineMs: 1500 } });
    const error = await m.applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: there, namespace: ${namespace}}\ndata: {a: "1"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: new, namespace: ${namespace}}\nspec: {selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: x}]}}}\n`)).catch((e) => e);
    proxy.always = undefined;
    proxy.only = undefined;
    expect(error.message).toContain('1 object(s) could not be validated because the API server failed or could not be reached (run the step again); nothing was changed');
    expect(error.message).toContain('Deployment');
    expect(error.message).not.toContain('AlreadyExists');
    m.close();
  });

  it('reads through a 500 and names the object a read failed for', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    await manager().applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: read-me, namespace: ${namespace}}\ndata: {a: "1"}\n`));
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 20, deadlineMs: 1500 } });
    await m.get('v1', 'ConfigMap', 'read-me', namespace);
    proxy.only = /\/configmaps\/read-me$/;
    proxy.queue.push({ kind: 'status', status: 500 });
    expect((await m.get('v1', 'ConfigMap', 'read-me', namespace))?.metadata.name).toBe('read-me');
    proxy.always = { kind: 'status', status: 500 };
    const error = await m.get('v1', 'ConfigMap', 'read-me', namespace).catch((e) => e);
    proxy.always = undefined;
    proxy.only = undefined;
    expect(error.message).toMatch(new RegExp(`^ConfigMap/${namespace}/read-me: ServiceUnavailable: injected 500 \\(gave up after \\d+ attempts`));
    m.close();
  });

  it('tries a dry-run again after a 500 (it writes nothing), and applies', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 20, deadlineMs: 3000 } });
    proxy.only = /dryRun=All/;
    proxy.queue.push({ kind: 'status', status: 500 });
    const injected = proxy.faultsInjected;
    const changes = await m.applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry-500, namespace: ${namespace}}\ndata: {a: "1"}\n`));
    proxy.only = undefined;
    expect(proxy.faultsInjected - injected).toBe(1);
    expect(changes.describe()).toBe('1 created, 0 configured, 0 unchanged');
    m.close();
  });

  it('judges an object another client created between its read and its dry-run create as the one that exists, and applies', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const configMap = (a: string) => parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: raced, namespace: ${namespace}}\ndata: {a: "${a}"}\n`);
    const other = manager();
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem });
    // Flux applying the same object, as a step's dry-run create of it is on its way.
    proxy.only = /\/configmaps\?.*dryRun=All/;
    proxy.queue.push({ kind: 'before', run: () => other.applyAll(configMap('0')) });
    const injected = proxy.faultsInjected;
    const changes = await m.applyAll(configMap('1'));
    expect(proxy.faultsInjected - injected).toBe(1);
    expect(changes.describe()).toBe('0 created, 1 configured, 0 unchanged');
    expect((await m.get('v1', 'ConfigMap', 'raced', namespace))?.data).toEqual({ a: '1' });
    other.close();
    m.close();
  });

  it('takes a 403 from an API server that is not ready yet (just restarted) for "not yet", and one from a ready server for an answer', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    await manager().applyAll(parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: starting, namespace: ${namespace}}\ndata: {a: "1"}\n`));
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 20, deadlineMs: 3000 } });
    proxy.only = /\/configmaps\/starting$|^\/readyz/;
    proxy.queue.push({ kind: 'status', status: 403 }, { kind: 'status', status: 500 });
    expect((await m.get('v1', 'ConfigMap', 'starting', namespace))?.metadata.name).toBe('starting');
    expect(proxy.queue).toEqual([]);
    proxy.queue.push({ kind: 'status', status: 403 });
    const error = await m.get('v1', 'ConfigMap', 'starting', namespace).catch((e) => e);
    expect(error.message).toBe(`ConfigMap/${namespace}/starting: Forbidden: injected 403`);
    // A watch too: refused while the server is not ready, opened again once it is.
    proxy.only = /watch=1|^\/readyz/;
    proxy.queue.push({ kind: 'status', status: 403 }, { kind: 'status', status: 500 });
    const [later] = parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: starting-later, namespace: ${namespace}}\ndata: {a: "1"}\n`);
    const waited = m.waitForReady([later!], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await manager().applyAll([later!]);
    expect((await waited).size).toBe(1);
    expect(proxy.queue).toEqual([]);
    proxy.only = undefined;
    m.close();
  });

  it('a watch gone silent is opened again once it outlives the time the server keeps a watch, and the wait ends', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { watchSeconds: 2 });
    const [config] = parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later, namespace: ${namespace}}\ndata: {a: "1"}\n`);
    proxy.only = /watch=1/;
    proxy.queue.push({ kind: 'silent' });
    const started = Date.now();
    // Not there yet: the list finds nothing, the watch that would see it come is silent.
    const waited = m.waitForReady([config!], { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    await manager().applyAll([config!]);
    // The guard that ends the silent watch must outlive a garbage collection.
    collectGarbage();
    await waited;
    proxy.only = undefined;
    expect(proxy.queue).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
    m.close();
  });
  it('gives up on a persistent failure with a clear error inside the deadline', async () => {
    proxy.always = { kind: 'status', status: 503 };
    const m = manager({ ...access, server: proxy.url, caPem: proxy.caPem }, { retry: { baseDelayMs: 50, maxDelayMs: 400 } });
    const started = Date.now();
    const error = await m.applyAll(parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: never, namespace: default}\n'), { timeoutMs: 3000 }).catch((e) => e);
    const elapsed = Date.now() - started;
    proxy.always = undefined;
    expect(error.message).toMatch(/ServiceUnavailable: injected 503 \(gave up after \d+ attempts in \ds\)/);
    expect(elapsed).toBeLessThan(3500);
    m.close();
  });
});

describe('connection', () => {
  it('reaches the cluster from a kubeconfig context, and from each kind of Kubernetes service connection', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const admin = manager();
    await admin.applyAll(parseManifests(`apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: ${namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${namespace}-reader}
rules: [{apiGroups: [""], resources: [serviceaccounts], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${namespace}-deployer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${namespace}-reader}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ${namespace}}]
`));
    admin.close();
    const client = new KubeClient(access);
    const { status } = await client.request<{ status: { token: string } }>({
      method: 'POST', path: `/api/v1/namespaces/${namespace}/serviceaccounts/deployer/token`, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    });
    client.close();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const twoContexts = cp.kubeconfigYaml.replace(/current-context: .*/, 'current-context: nowhere')
      + `\n`;
    const variants: [string, Promise<ClusterAccess>][] = [
      ['kubeconfig with a chosen context', accessFromKubeconfig(twoContexts, (await accessContexts(cp.kubeconfigYaml))[0])],
      ['service connection: Kubeconfig', accessFromServiceConnection({ scheme: 'Kubeconfig', authParams: { kubeconfig: cp.kubeconfigYaml }, data: { authorizationType: 'Kubeconfig' } })],
      ['service connection: ServiceAccount', accessFromServiceConnection({ url: cp.server, scheme: 'Token', authParams: { apiToken: b64(status.token), serviceAccountCertificate: b64(cp.caPem) }, data: { authorizationtype: 'ServiceAccount' } })],
      ['service connection: AzureSubscription', accessFromServiceConnection({ url: cp.server, scheme: 'Token', authParams: { apitoken: b64(status.token), serviceaccountcertificate: cp.caPem }, data: { authorizationtype: 'AzureSubscription' } })],
      ['token source', Promise.resolve({ server: cp.server, caPem: cp.caPem, tokenSource: async () => status.token })],
    ];
    for (const [name, pending] of variants) {
      const c = new KubeClient(await pending);
      const list = await c.request<{ items: unknown[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/serviceaccounts` });
      expect(list.items.length, name).toBeGreaterThan(0);
      c.close();
    }
    await expect(accessFromKubeconfig(cp.kubeconfigYaml, 'missing')).rejects.toThrow("The kubeconfig has no context 'missing'");
  });
});

describe('manifest sources', () => {
  it('loads files, folders and URLs, and refuses a download whose checksum differs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    writeFileSync(join(dir, 'sub', 'b.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n# only a comment\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const body = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n';
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/install.yaml`;
    const sha = createHash('sha256').update(body).digest('hex');
    try {
      const objects = await loadManifests([{ folder: dir }, { url, sha256: sha }, { text: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n' }]);
      expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c', 'n']);
      await expect(loadManifests([{ url, sha256: '0'.repeat(64) }])).rejects.toThrow(`${url}: SHA-256 is ${sha}, but ${'0'.repeat(64)} was expected; nothing was applied`);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an API server restart', () => {
  it('does not lose a wait: the watch comes back and sees the object become ready', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager();
    const [deployment] = parseManifests(`apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: restarted, namespace: ${namespace}}\nspec: {replicas: 1, selector: {matchLabels: {app: r}}, template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: x}]}}}\n`);
    await m.applyAll([deployment!]);
    // No controllers run here: the test writes the status a Deployment controller would.
    const waited = m.waitForReady([deployment!], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await cp.restart('apiserver');
    const live = await cp.api.get<KubeObject & { metadata: { generation: number } }>(`/apis/apps/v1/namespaces/${namespace}/deployments/restarted`);
    const now = new Date().toISOString();
    const put = await cp.api.request('PUT', `/apis/apps/v1/namespaces/${namespace}/deployments/restarted/status`, { body: { ...live, status: {
      observedGeneration: live.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok', lastUpdateTime: now, lastTransitionTime: now },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ok', lastUpdateTime: now, lastTransitionTime: now },
      ],
    } } });
    expect(put.status).toBe(200);
    const started = Date.now();
    await waited;
    expect(Date.now() - started).toBeLessThan(20_000);
    m.close();
  }, 90_000);
});

describe('cancellation', () => {
  it('stops a wait at once when the pipeline cancels', async () => {
    const namespace = ns();
    await createNamespace(namespace);
    const m = manager();
    const cm = parseManifests(`apiVersion: apps/v1
kind: Deployment
metadata: {name: slow, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: z}}
  template: {metadata: {labels: {app: z}}, spec: {containers: [{name: c, image: example.invalid/app:1}]}}
`);
    await m.applyAll(cm);
    const controller = new AbortController();
    setTimeout(() => controller.abort(Object.assign(new Error('cancelled'), { name: 'AbortError' })), 300);
    const started = Date.now();
    const error = await m.waitForReady(cm, { timeoutMs: 30_000, signal: controller.signal }).catch((e) => e);
    expect(error.name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
    m.close();
  });
});

async function accessContexts(kubeconfig: string): Promise<string[]> {
  const { parse } = await import('yaml');
  return (parse(kubeconfig).contexts as { name: string }[]).map((c) => c.name);
}
