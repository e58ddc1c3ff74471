// The release files the tasks download by default, assembled offline from the real upstream
// sources in the Go module cache, the way the upstream release pipelines assemble them:
// - Flux's install.yaml: flux2's manifests/install kustomization, with each controller's
//   <ctrl>.crds.yaml / <ctrl>.deployment.yaml release files rendered as fluxcd/gha-workflows
//   controller-release.yaml does (kustomize build config/crd, kustomize build config/manager).
//   The controllers are flux2's default components (source, kustomize, helm, notification), the
//   set `flux install` gives; the optional image-* controllers and source-watcher are left out.
// - Sealed Secrets' controller.yaml: what `make controller.yaml` renders from controller.jsonnet
//   with kubecfg, here with go-jsonnet (CRD, ServiceAccount, RBAC, Services, Deployment in kube-system).
// Generated once per binary-cache key and kept in the cache next to the binaries.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { platformBinaries } from './binaries.js';
import { cacheRoot } from './bins/build.mjs';
import { pinnedVersion } from './controller-catalog.js';

/** The Flux distribution whose install.yaml is served; its bases must pin the controllers we build. */
export const FLUX_VERSION = 'v2.9.4';
const GENERATOR_REVISION = '2';
/** The stand-in for kubecfg's built-in library that controller-norbac.jsonnet imports. */
const kubecfgLibDir = join(dirname(fileURLToPath(import.meta.url)), 'jsonnet');
const FLUX_CONTROLLERS = ['source-controller', 'kustomize-controller', 'helm-controller', 'notification-controller'] as const;
const FLUX_LEFT_OUT = ['image-reflector-controller', 'image-automation-controller', 'source-watcher'];

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
  const { kubectl, jsonnet } = platformBinaries(['kubectl', 'jsonnet']);
  const versions = Object.fromEntries(FLUX_CONTROLLERS.map((c) => [c, pinnedVersion(c, `github.com/fluxcd/${c}`)]));
  const sealedSecretsVersion = pinnedVersion('sealed-secrets', 'github.com/bitnami/sealed-secrets');
  const key = createHash('sha256')
    .update(JSON.stringify({ GENERATOR_REVISION, FLUX_VERSION, versions, sealedSecretsVersion, kubectl, jsonnet }))
    .update(readFileSync(join(kubecfgLibDir, 'kubecfg.libsonnet')))
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
      writeFileSync(join(staging, 'sealed-secrets-controller.yaml'), renderSealedSecretsController(jsonnet, sealedSecretsVersion));
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

/**
 * Sealed Secrets' controller.yaml as its release job makes it (`make CONTROLLER_IMAGE=<image>:<tag>
 * controller.yaml`, which runs `kubecfg show -V CONTROLLER_IMAGE=... -V IMAGE_PULL_POLICY= -o yaml
 * controller.jsonnet`): the module's controller.jsonnet evaluated by go-jsonnet with the same
 * external variables, kube-libsonnet from the module's vendor_jsonnet (the commit its
 * jsonnetfile.lock.json pins), and the result flattened into YAML documents as kubecfg does.
 */
function renderSealedSecretsController(jsonnet: string, version: string): string {
  const src = moduleDir('github.com/bitnami-labs/sealed-secrets', version);
  // release.yaml: IMAGE_TAG is the version without its "v", on Docker Hub's repository.
  const image = `docker.io/bitnami/sealed-secrets-controller:${version.replace(/^v/, '')}`;
  const json = execFileSync(jsonnet, [
    '-J', kubecfgLibDir,
    '--ext-str', `CONTROLLER_IMAGE=${image}`,
    '--ext-str', 'IMAGE_PULL_POLICY=',
    'controller.jsonnet',
  ], { cwd: src, encoding: 'utf8', maxBuffer: 64 << 20 });
  const objects = kubecfgObjects(JSON.parse(json) as unknown);
  const header = `# Sealed Secrets ${version} controller.yaml, rendered by the local test platform from controller.jsonnet in the Go module cache.\n`;
  // yaml.v2, which kubecfg marshals with, writes map keys sorted.
  return header + objects.map((o) => `---\n${stringify(o, { lineWidth: 0, sortMapEntries: true })}`).join('');
}

/**
 * The Kubernetes objects in a jsonnet result, in kubecfg's order (utils/acquire.go jsonWalk): an
 * object with apiVersion and kind is one (one with an items list gives its items); any other object is walked
 * in sorted key order, an array in order.
 */
export function kubecfgObjects(value: unknown, path = '$'): Record<string, unknown>[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => kubecfgObjects(v, `${path}[${i}]`));
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.kind != null && o.apiVersion != null) {
      return Array.isArray(o.items) ? (o.items as Record<string, unknown>[]) : [o];
    }
    return Object.keys(o).sort(byteOrder).flatMap((k) => kubecfgObjects(o[k], `${path}.${k}`));
  }
  throw new Error(`Looking for kubernetes object at "${path}", but instead found ${typeof value}`);
}

// Go's sort.Strings compares bytes, not locale order ("serviceProxierRole" < "service_metrics").
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
