// The release files the tasks download by default, assembled offline from the real upstream
// sources in the Go module cache, the way the upstream release pipelines assemble them:
// - Flux's install.yaml: flux2's manifests/install kustomization, with each controller's
//   <ctrl>.crds.yaml / <ctrl>.deployment.yaml release files rendered as fluxcd/gha-workflows
//   controller-release.yaml does (kustomize build config/crd, kustomize build config/manager).
//   Only the controllers the platform can run are included (source, kustomize, notification),
//   the set `flux install --components=...` would give; helm, image-* and source-watcher are left out.
// - Sealed Secrets' controller.yaml: what `make controller.yaml` renders from controller.jsonnet
//   (CRD with schema-v1alpha1.yaml, ServiceAccount, RBAC, Services, Deployment in kube-system).
// Generated once per binary-cache key and kept in the cache next to the binaries.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { platformBinaries } from './binaries.js';
import { cacheRoot } from './bins/build.mjs';
import { pinnedVersion } from './controller-catalog.js';

/** The Flux distribution whose install.yaml is served; its bases must pin the controllers we build. */
export const FLUX_VERSION = 'v2.9.4';
const GENERATOR_REVISION = '1';
const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller', 'notification-controller'] as const;
const FLUX_LEFT_OUT = ['helm-controller', 'image-reflector-controller', 'image-automation-controller', 'source-watcher'];

export interface ReleaseAsset {
  /** URL path, GitHub-release style: /<owner>/<repo>/releases/download/<tag>/<file> */
  path: string;
  file: string;
  sha256: string;
}

export interface ReleaseAssets {
  dir: string;
  fluxVersion: string;
  sealedSecretsVersion: string;
  fluxInstall: ReleaseAsset;
  sealedSecretsController: ReleaseAsset;
}

function goEnv() {
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
}

/** Folder of a module in the module cache (downloads it through the Go proxy if missing). */
function moduleDir(module: string, version: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd: tmpdir(), env: goEnv(), encoding: 'utf8' });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${module}@${version} failed: ${info.Error ?? out}`);
  return info.Dir;
}

export function releaseAssets(): ReleaseAssets {
  const kubectl = platformBinaries(['kubectl']).kubectl;
  const versions = Object.fromEntries(FLUX_CONTROLLERS.map((c) => [c, pinnedVersion(c, `github.com/fluxcd/${c}`)]));
  const sealedSecretsVersion = pinnedVersion('sealed-secrets', 'github.com/bitnami/sealed-secrets');
  const key = createHash('sha256')
    .update(JSON.stringify({ GENERATOR_REVISION, FLUX_VERSION, versions, sealedSecretsVersion, kubectl }))
    .digest('hex').slice(0, 16);
  const dir = join(dirname(cacheRoot()), 'releases', key);
  const fluxPath = `/fluxcd/flux2/releases/download/${FLUX_VERSION}/install.yaml`;
  const ssPath = `/bitnami-labs/sealed-secrets/releases/download/${sealedSecretsVersion}/controller.yaml`;
  const fluxFile = join(dir, 'flux-install.yaml');
  const ssFile = join(dir, 'sealed-secrets-controller.yaml');
  if (!existsSync(fluxFile) || !existsSync(ssFile)) {
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      writeFileSync(join(staging, 'flux-install.yaml'), renderFluxInstall(kubectl, versions));
      writeFileSync(join(staging, 'sealed-secrets-controller.yaml'), renderSealedSecretsController(sealedSecretsVersion));
      mkdirSync(dirname(dir), { recursive: true });
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const asset = (path: string, file: string): ReleaseAsset => ({
    path, file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  });
  return {
    dir,
    fluxVersion: FLUX_VERSION,
    sealedSecretsVersion,
    fluxInstall: asset(fluxPath, fluxFile),
    sealedSecretsController: asset(ssPath, ssFile),
  };
}

function renderFluxInstall(kubectl: string, versions: Record<string, string>): string {
  const flux2 = moduleDir('github.com/fluxcd/flux2/v2', FLUX_VERSION);
  const work = mkdtempSync(join(tmpdir(), 'flux-manifests-'));
  try {
    const manifests = join(work, 'manifests');
    cpSync(join(flux2, 'manifests'), manifests, { recursive: true });
    const kustomize = (path: string) => execFileSync(kubectl, ['kustomize', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const rewrite = (file: string, edit: (text: string) => string) => {
      const text = edit(readFileSync(file, 'utf8'));
      rmSync(file); // module cache copies are read-only
      writeFileSync(file, text);
    };
    for (const c of FLUX_CONTROLLERS) {
      const base = join(manifests, 'bases', c);
      const kfile = join(base, 'kustomization.yaml');
      const pinned = new RegExp(`https://github\\.com/fluxcd/${c}/releases/download/(v[^/]+)/`).exec(readFileSync(kfile, 'utf8'))?.[1];
      if (pinned !== versions[c]) {
        throw new Error(`flux2 ${FLUX_VERSION} pins ${c} ${pinned}, but test/platform/bins/${c}/go.mod builds ${versions[c]}`);
      }
      const src = moduleDir(`github.com/fluxcd/${c}`, versions[c]!);
      writeFileSync(join(base, `${c}.crds.yaml`), kustomize(join(src, 'config', 'crd')));
      writeFileSync(join(base, `${c}.deployment.yaml`), kustomize(join(src, 'config', 'manager')));
      rewrite(kfile, (t) => t.replace(new RegExp(`https://github\\.com/fluxcd/${c}/releases/download/[^/]+/`, 'g'), ''));
    }
    rewrite(join(manifests, 'install', 'kustomization.yaml'), (t) => {
      const k = parse(t) as { resources: string[] };
      k.resources = k.resources.filter((r) => !FLUX_LEFT_OUT.some((x) => r.endsWith(`/${x}`)));
      return stringify(k);
    });
    const header = `# Flux ${FLUX_VERSION} install.yaml, assembled by the local test platform from the Go module cache.\n`
      + `# Components: ${FLUX_CONTROLLERS.join(',')}\n`;
    return header + kustomize(join(manifests, 'install'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function renderSealedSecretsController(version: string): string {
  const src = moduleDir('github.com/bitnami-labs/sealed-secrets', version);
  const schema = parse(readFileSync(join(src, 'schema-v1alpha1.yaml'), 'utf8')) as unknown;
  const ns = 'kube-system';
  const name = 'sealed-secrets-controller';
  const labels = (n: string) => ({ annotations: {}, labels: { name: n }, name: n });
  const sa = { kind: 'ServiceAccount', name, namespace: ns };
  const objects: unknown[] = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: labels(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'secrets-unsealer' }, subjects: [sa],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: labels('secrets-unsealer'),
      rules: [
        { apiGroups: ['bitnami.com'], resources: ['sealedsecrets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['bitnami.com'], resources: ['sealedsecrets/status'], verbs: ['update'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'update', 'delete', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { ...labels('sealed-secrets-service-proxier'), namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sealed-secrets-service-proxier' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { ...labels('sealed-secrets-service-proxier'), namespace: ns },
      rules: [
        { apiGroups: [''], resourceNames: [name], resources: ['services'], verbs: ['get'] },
        { apiGroups: [''], resourceNames: [`http:${name}:`, `http:${name}:http`, name], resources: ['services/proxy'], verbs: ['create', 'get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { ...labels(name), namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sealed-secrets-key-admin' }, subjects: [sa],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { ...labels('sealed-secrets-key-admin'), namespace: ns },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'list'] }],
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { ...labels(`${name}-metrics`), namespace: ns },
      spec: { ports: [{ port: 8081, targetPort: 8081 }], selector: { name }, type: 'ClusterIP' },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...labels(name), namespace: ns } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...labels(name), namespace: ns },
      spec: {
        minReadySeconds: 30,
        replicas: 1,
        revisionHistoryLimit: 10,
        selector: { matchLabels: { name } },
        strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
        template: {
          metadata: { annotations: {}, labels: { name } },
          spec: {
            containers: [{
              args: [],
              command: ['controller'],
              env: [],
              image: `docker.io/bitnami/sealed-secrets-controller:${version.replace(/^v/, '')}`,
              imagePullPolicy: 'IfNotPresent',
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              name,
              ports: [{ containerPort: 8080, name: 'http' }, { containerPort: 8081, name: 'metrics' }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
              stdin: false,
              tty: false,
              volumeMounts: [{ mountPath: '/tmp', name: 'tmp' }],
            }],
            imagePullSecrets: [],
            initContainers: [],
            securityContext: { fsGroup: 65534, runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } },
            serviceAccountName: name,
            terminationGracePeriodSeconds: 30,
            volumes: [{ emptyDir: {}, name: 'tmp' }],
          },
        },
      },
    },
    {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'sealedsecrets.bitnami.com' },
      spec: {
        group: 'bitnami.com',
        names: { kind: 'SealedSecret', listKind: 'SealedSecretList', plural: 'sealedsecrets', singular: 'sealedsecret' },
        scope: 'Namespaced',
        versions: [{ name: 'v1alpha1', schema: schema, served: true, storage: true, subresources: { status: {} } }],
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { ...labels(name), namespace: ns },
      spec: { ports: [{ port: 8080, targetPort: 8080 }], selector: { name }, type: 'ClusterIP' },
    },
  ];
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
