// The engine's local "unchanged" decision (shared/kube/unchanged.ts) on objects as kube-apiserver
// 1.36 stores them after a server-side apply (managedFields copied from the real server): certain
// only when our manager owns exactly the manifest's fields with our values and nobody shares them.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../shared/kube/objects';
import { judgeLocally, type LocalVerdict } from '../../shared/kube/unchanged';

const MANAGER = 'aks-gitops-tasks';
const entry = (fieldsV1: object, extra: object = {}) => ({ manager: MANAGER, operation: 'Apply', apiVersion: 'apps/v1', time: '2026-11-30T03:11:33Z', fieldsType: 'FieldsV1', fieldsV1, ...extra });

const deploymentManifest = (): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace: 'mf', finalizers: ['example.com/x'] },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'a' } },
    template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'example.invalid/app:1', args: ['a', 'b'], ports: [{ containerPort: 80 }] }] } },
  },
});

const deploymentFields = () => ({
  'f:metadata': { 'f:finalizers': { 'v:"example.com/x"': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:selector': {},
    'f:template': {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:args': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } },
    },
  },
});

/** The Deployment as the server keeps it: defaults filled in, status and managedFields. */
const deploymentLive = (managedFields: object[] = [entry(deploymentFields())]): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd', namespace: 'mf', uid: 'u1', resourceVersion: '7', generation: 1, finalizers: ['example.com/x'], managedFields: managedFields as never },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'a' } },
    template: {
      metadata: { labels: { app: 'a' } },
      spec: {
        containers: [{ name: 'c', image: 'example.invalid/app:1', args: ['a', 'b'], ports: [{ containerPort: 80, protocol: 'TCP' }], terminationMessagePath: '/dev/termination-log', imagePullPolicy: 'IfNotPresent' }],
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
      },
    },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    revisionHistoryLimit: 10,
  },
  status: { observedGeneration: 1, replicas: 1 },
});

const reason = (v: LocalVerdict) => (v.unchanged ? 'certain' : v.reason);

describe('certainly unchanged', () => {
  it('a Deployment whose defaults, status and bookkeeping the server added', () => {
    expect(reason(judgeLocally(deploymentManifest(), deploymentLive(), MANAGER))).toBe('certain');
  });

  it('while other managers own other fields (a controller\'s status, a restart annotation)', () => {
    const live = deploymentLive([
      entry(deploymentFields()),
      { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': { 'f:replicas': {} } } },
      { manager: 'kubectl-rollout', operation: 'Update', apiVersion: 'apps/v1', fieldsV1: { 'f:spec': { 'f:template': { 'f:metadata': { 'f:annotations': { 'f:restartedAt': {} } } } } } },
    ]);
    expect(reason(judgeLocally(deploymentManifest(), live, MANAGER))).toBe('certain');
  });

  it('a Service whose port key the server completed with its default protocol', () => {
    const manifest: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'mf', annotations: { v: '1' } }, spec: { clusterIP: 'None', selector: { app: 'a' }, ports: [{ port: 80, targetPort: 8080 }] } };
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'mf', annotations: { v: '1' }, managedFields: [{ ...entry({ 'f:metadata': { 'f:annotations': { 'f:v': {} } }, 'f:spec': { 'f:clusterIP': {}, 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:targetPort': {} } }, 'f:selector': {} } }), apiVersion: 'v1' }] },
      spec: { ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'a' }, clusterIP: 'None', clusterIPs: ['None'], type: 'ClusterIP', sessionAffinity: 'None' },
    };
    expect(reason(judgeLocally(manifest, live, MANAGER))).toBe('certain');
  });

  it('a Secret given as stringData, stored base64-encoded in data', () => {
    const manifest: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'mf' }, stringData: { password: 'x' } };
    const live: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'mf', managedFields: [{ ...entry({ 'f:stringData': { 'f:password': {} } }), apiVersion: 'v1' }] }, data: { password: 'eA==' }, type: 'Opaque' };
    expect(reason(judgeLocally(manifest, live, MANAGER))).toBe('certain');
    expect(reason(judgeLocally({ ...manifest, stringData: { password: 'y' } }, live, MANAGER))).toBe('.stringData.password differs');
  });

  it('an empty map of a built-in kind that the server does not show (annotations: {})', () => {
    const manifest: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'kube-system', annotations: {} } };
    const live: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'kube-system', managedFields: [{ ...entry({ 'f:metadata': { 'f:annotations': {} } }), apiVersion: 'v1' }] } };
    expect(reason(judgeLocally(manifest, live, MANAGER))).toBe('certain');
    // A custom resource keeps what it is given, so absent is not the same there.
    const widget = (o: KubeObject): KubeObject => ({ ...o, apiVersion: 'example.com/v1', kind: 'Widget', metadata: { ...o.metadata, managedFields: o.metadata.managedFields?.map((e) => ({ ...e, apiVersion: 'example.com/v1' })) } });
    expect(reason(judgeLocally(widget(manifest), widget(live), MANAGER))).toBe('.metadata.annotations differs');
    // Nor is a CRD's group under k8s.io, such as the Gateway API's.
    const gateway = (o: KubeObject): KubeObject => ({ ...widget(o), apiVersion: 'gateway.networking.k8s.io/v1', metadata: { ...o.metadata, managedFields: o.metadata.managedFields?.map((e) => ({ ...e, apiVersion: 'gateway.networking.k8s.io/v1' })) } });
    expect(reason(judgeLocally(gateway(manifest), gateway(live), MANAGER))).toBe('.metadata.annotations differs');
  });

  it('empty lists of a built-in kind, which leave no owned field (initContainers: [])', () => {
    const m = deploymentManifest();
    const podSpec = (o: KubeObject) => (o.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    podSpec(m).initContainers = [];
    podSpec(m).imagePullSecrets = [];
    expect(reason(judgeLocally(m, deploymentLive(), MANAGER))).toBe('certain');
    const live = deploymentLive();
    podSpec(live).imagePullSecrets = [{ name: 'added-by-someone' }];
    expect(reason(judgeLocally(m, live, MANAGER))).toBe('.spec.template.spec: the fields owned are not those of the manifest');
  });

  it('a CustomResourceDefinition whose schema is stored as applied, with the defaults the server added', () => {
    const schema = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } };
    const manifest: KubeObject = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true, schema }] } };
    const fields = { 'f:spec': { 'f:group': {}, 'f:names': { 'f:kind': {}, 'f:plural': {} }, 'f:scope': {}, 'f:versions': {} } };
    const live: KubeObject = { ...manifest, metadata: { name: 'widgets.example.com', managedFields: [{ ...entry(fields), apiVersion: 'apiextensions.k8s.io/v1' }] },
      spec: { ...(manifest.spec as object), conversion: { strategy: 'None' }, names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' } },
      status: { storedVersions: ['v1'] } };
    expect(reason(judgeLocally(manifest, live, MANAGER))).toBe('certain');
    const changed = structuredClone(manifest);
    (changed.spec as { versions: { schema: typeof schema }[] }).versions[0]!.schema.openAPIV3Schema.properties.spec.properties.size.type = 'string';
    expect(reason(judgeLocally(changed, live, MANAGER))).toBe('.spec.versions differs');
  });

  it('a bare Namespace, which leaves no managedFields entry', () => {
    const live: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', labels: { 'kubernetes.io/metadata.name': 'n' }, managedFields: [{ manager: 'kube-apiserver', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} } } } }] }, spec: { finalizers: ['kubernetes'] } };
    expect(reason(judgeLocally({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } }, live, MANAGER))).toBe('certain');
  });
});

describe('not certain, so the server is asked', () => {
  const judge = (change: (m: KubeObject, live: KubeObject) => void) => {
    const m = deploymentManifest();
    const live = deploymentLive();
    change(m, live);
    return reason(judgeLocally(m, live, MANAGER));
  };
  const spec = (o: KubeObject) => o.spec as { replicas?: number; template: { spec: { containers: Record<string, unknown>[] } } };

  it('a value we manage differs', () => {
    expect(judge((_m, live) => (spec(live).replicas = 3))).toBe('.spec.replicas differs');
  });

  it('a field was removed from the manifest (the apply would prune it)', () => {
    expect(judge((m) => delete spec(m).replicas)).toBe('.spec: the fields owned are not those of the manifest');
  });

  it('a field was added to the manifest', () => {
    expect(judge((m) => ((m.spec as Record<string, unknown>).paused = false))).toBe('.spec: the fields owned are not those of the manifest');
  });

  it('a list item was removed from the manifest', () => {
    expect(judge((m) => ((m.metadata.finalizers as string[]) = []))).toBe('.metadata.finalizers: the items owned are not those of the manifest');
  });

  it('another manager owns one of our fields too, or a field inside our atomic selector', () => {
    expect(judge((_m, live) => live.metadata.managedFields!.push({ manager: 'helm', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }))).toBe('helm also owns f:spec.f:replicas');
    expect(judge((_m, live) => live.metadata.managedFields!.push({ manager: 'hpa', operation: 'Update', fieldsV1: { 'f:spec': { 'f:selector': { 'f:matchLabels': {} } } } }))).toMatch(/^hpa also owns/);
  });

  it('the fields were applied at another apiVersion, or not by an apply, or by two entries', () => {
    expect(judge((_m, live) => (live.metadata.managedFields![0].apiVersion = 'apps/v1beta2'))).toBe('the fields were applied as apps/v1beta2');
    expect(judge((_m, live) => (live.metadata.managedFields![0].operation = 'Update'))).toBe(`${MANAGER} does not own the fields by one apply`);
    expect(judge((_m, live) => live.metadata.managedFields!.push({ ...entry({}), operation: 'Update' }))).toBe(`${MANAGER} does not own the fields by one apply`);
  });

  it('a quantity or an int-or-string the server would normalize, compared by type', () => {
    expect(judge((m) => (spec(m).template.spec.containers[0].args = ['a', 'b', 'c']))).toBe('.spec.template.spec.containers[{"name":"c"}].args differs');
    expect(judge((m, live) => {
      spec(m).template.spec.containers[0].ports = [{ containerPort: '80' }];
      void live;
    })).toBe('.spec.template.spec.containers[{"name":"c"}].ports: an item\'s key cannot be matched');
  });

  it('a list-map key the server defaulted on a custom resource', () => {
    const m: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { ports: [{ port: 80 }] } };
    const live: KubeObject = { ...m, metadata: { name: 'w', managedFields: [{ ...entry({ 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } } }), apiVersion: 'example.com/v1' }] }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } };
    expect(reason(judgeLocally(m, live, MANAGER))).toBe('.spec.ports: an item\'s key cannot be matched');
  });

  it('list items in another order than ours', () => {
    const m: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers: ['a/x', 'a/y'] } };
    const live: KubeObject = { ...m, metadata: { name: 'c', finalizers: ['a/y', 'a/x'], managedFields: [{ ...entry({ 'f:metadata': { 'f:finalizers': { 'v:"a/x"': {}, 'v:"a/y"': {} } } }), apiVersion: 'v1' }] } };
    expect(reason(judgeLocally(m, live, MANAGER))).toBe('.metadata.finalizers: "a/y" is missing or out of order');
  });

  it('objects being deleted', () => {
    expect(judge((_m, live) => (live.metadata.deletionTimestamp = '2026-11-30T03:11:33Z'))).toBe('the object is being deleted');
  });

  it('a Secret that sets one key in both data and stringData', () => {
    const manifest: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: 'eA==' }, stringData: { password: 'x' } };
    const live: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', managedFields: [{ ...entry({ 'f:data': { 'f:password': {} }, 'f:stringData': { 'f:password': {} } }), apiVersion: 'v1' }] }, data: { password: 'eA==' } };
    expect(reason(judgeLocally(manifest, live, MANAGER))).toBe('data and stringData both set password');
  });
});
