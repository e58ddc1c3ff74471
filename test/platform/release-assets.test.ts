// The release files the platform serves are made from the pinned upstream sources, not written
// here: their images carry the versions the wrapper modules build, they hold the upstreams' CRDs,
// and the repository holds no copy of a Flux or Sealed Secrets release file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { pinnedVersion } from './controller-catalog.js';
import { parseYamlObjects, type KubeObject } from './kube-api.js';
import { kubecfgObjects, releaseAssets } from './release-assets.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const assets = releaseAssets();
const objectsOf = (file: string) => parseYamlObjects(readFileSync(file, 'utf8'));
const images = (objects: KubeObject[]) => Object.fromEntries(objects.filter((o) => o.kind === 'Deployment').map((d) => [
  d.metadata.name,
  (d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image),
]));
const crdNames = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);

describe("Flux's install.yaml", () => {
  const objects = objectsOf(assets.fluxInstall.file);

  it("runs flux2's default components at the versions their wrapper modules build", () => {
    const defaults = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller'];
    expect(images(objects)).toEqual(Object.fromEntries(defaults.map((c) => [
      c, [`ghcr.io/fluxcd/${c}:${pinnedVersion(c, `github.com/fluxcd/${c}`)}`],
    ])));
  });

  it('holds the CRDs of those controllers', () => {
    const crds = crdNames(objects);
    const expected = [
      ...['gitrepositories', 'ocirepositories', 'helmrepositories', 'helmcharts', 'buckets', 'externalartifacts'].map((r) => `${r}.source.toolkit.fluxcd.io`),
      'kustomizations.kustomize.toolkit.fluxcd.io',
      'helmreleases.helm.toolkit.fluxcd.io',
      ...['providers', 'alerts', 'receivers'].map((r) => `${r}.notification.toolkit.fluxcd.io`),
    ];
    expect(crds).toEqual(expect.arrayContaining(expected));
    expect(crds.filter((n) => n.includes('image.toolkit.fluxcd.io'))).toEqual([]);
  });
});

describe("Sealed Secrets' controller.yaml", () => {
  const objects = objectsOf(assets.sealedSecretsController.file);
  const version = pinnedVersion('sealed-secrets', 'github.com/bitnami/sealed-secrets');

  it('runs the controller image at the tag of the version the wrapper module builds', () => {
    expect(assets.sealedSecretsVersion).toBe(version);
    expect(images(objects)).toEqual({
      'sealed-secrets-controller': [`docker.io/bitnami/sealed-secrets-controller:${version.replace(/^v/, '')}`],
    });
  });

  it("holds the SealedSecret CRD with the module's own schema", () => {
    expect(crdNames(objects)).toEqual(['sealedsecrets.bitnami.com']);
    const crd = objects.find((o) => o.kind === 'CustomResourceDefinition')!;
    const moduleDir = JSON.parse(execFileSync('go', ['mod', 'download', '-json', `github.com/bitnami-labs/sealed-secrets@${version}`], {
      encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' }, cwd: dirname(assets.dir),
    })).Dir as string;
    const schema = parse(readFileSync(join(moduleDir, 'schema-v1alpha1.yaml'), 'utf8')) as unknown;
    expect((crd.spec as { versions: { name: string; schema: unknown }[] }).versions).toEqual([
      expect.objectContaining({ name: 'v1alpha1', schema, served: true, storage: true }),
    ]);
  });

  it("lists the objects in kubecfg show's order: the jsonnet fields walked in byte order", () => {
    // controller.jsonnet's fields: account, controller, crd, service, serviceProxierBinding,
    // serviceProxierRole, service_metrics, unsealKeyBinding, unsealKeyRole, unsealerBinding, unsealerRole.
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/sealed-secrets-controller',
      'Deployment/sealed-secrets-controller',
      'CustomResourceDefinition/sealedsecrets.bitnami.com',
      'Service/sealed-secrets-controller',
      'RoleBinding/sealed-secrets-service-proxier',
      'Role/sealed-secrets-service-proxier',
      'Service/sealed-secrets-controller-metrics',
      'RoleBinding/sealed-secrets-controller',
      'Role/sealed-secrets-key-admin',
      'ClusterRoleBinding/sealed-secrets-controller',
      'ClusterRole/secrets-unsealer',
    ]);
  });
});

describe('kubecfgObjects', () => {
  it('finds objects at any depth, expands lists, skips nulls and names the path of anything else', () => {
    const o = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const list = { apiVersion: 'v1', kind: 'List', items: [o('l1'), o('l2')] };
    expect(kubecfgObjects({ b_: o('b_'), bZ: [o('bZ'), null], a: { nested: list } }).map((x) => (x.metadata as { name: string }).name))
      .toEqual(['l1', 'l2', 'bZ', 'b_']);
    expect(() => kubecfgObjects({ a: { b: 3 } })).toThrow('Looking for kubernetes object at "$.a.b", but instead found number');
  });
});

describe('the repository', () => {
  it('holds no Flux or Sealed Secrets CRD: their release files are generated', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
    const crd = /kind:\s*['"]?CustomResourceDefinition/;
    const upstreamGroup = /group:\s*['"]?[a-z0-9.-]*(toolkit\.fluxcd\.io|bitnami\.com)\b/;
    const offenders = files.filter((f) => {
      if (f === 'package-lock.json') return false;
      let text: string;
      try { text = readFileSync(join(repoRoot, f), 'utf8'); } catch { return false; } // a symlinked folder
      return crd.test(text) && upstreamGroup.test(text);
    });
    expect(files.length).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });
});
