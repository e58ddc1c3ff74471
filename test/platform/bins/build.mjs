#!/usr/bin/env node
// Builds the real Kubernetes, etcd, Flux and Sealed Secrets binaries the local platform runs, and
// go-jsonnet, which renders Sealed Secrets' release file, from the wrapper Go modules beside this
// file, into a cache outside the repository.
// Each binary lives in a folder keyed by a hash of what built it (go.mod, go.sum, flags and the
// Go version), so a warm machine rebuilds nothing and a changed pin rebuilds only its module.
//
// Usage: node test/platform/bins/build.mjs [--print-dir]
// Prints one JSON object mapping binary names to absolute paths on its last line.
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const K8S_VERSION = 'v1.36.3';
const versionFlags = (pkg, entries) => entries.map(([k, v]) => `-X ${pkg}.${k}=${v}`).join(' ');

/** What to build: binary name, wrapper module folder, Go package, extra ldflags. */
export const BINARIES = [
  {
    name: 'etcd', module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', ldflags: '',
  },
  {
    name: 'kube-apiserver', module: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
    ldflags: versionFlags('k8s.io/component-base/version', [
      ['gitVersion', K8S_VERSION], ['gitMajor', '1'], ['gitMinor', '36'],
      ['gitTreeState', 'clean'], ['buildDate', '2026-01-01T00:00:00Z'],
    ]),
  },
  {
    name: 'kubectl', module: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kubectl',
    ldflags: versionFlags('k8s.io/component-base/version', [
      ['gitVersion', K8S_VERSION], ['gitMajor', '1'], ['gitMinor', '36'],
      ['gitTreeState', 'clean'], ['buildDate', '2026-01-01T00:00:00Z'],
    ]),
  },
  {
    name: 'kube-controller-manager', module: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
    ldflags: versionFlags('k8s.io/component-base/version', [
      ['gitVersion', K8S_VERSION], ['gitMajor', '1'], ['gitMinor', '36'],
      ['gitTreeState', 'clean'], ['buildDate', '2026-01-01T00:00:00Z'],
    ]),
  },
  {
    name: 'kube-scheduler', module: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-scheduler',
    ldflags: versionFlags('k8s.io/component-base/version', [
      ['gitVersion', K8S_VERSION], ['gitMajor', '1'], ['gitMinor', '36'],
      ['gitTreeState', 'clean'], ['buildDate', '2026-01-01T00:00:00Z'],
    ]),
  },
  { name: 'source-controller', module: 'source-controller', pkg: 'github.com/fluxcd/source-controller', ldflags: '' },
  { name: 'kustomize-controller', module: 'kustomize-controller', pkg: 'github.com/fluxcd/kustomize-controller', ldflags: '' },
  { name: 'notification-controller', module: 'notification-controller', pkg: 'github.com/fluxcd/notification-controller', ldflags: '' },
  { name: 'helm-controller', module: 'helm-controller', pkg: 'github.com/fluxcd/helm-controller', ldflags: '' },
  {
    name: 'sealed-secrets-controller', module: 'sealed-secrets', pkg: 'github.com/bitnami/sealed-secrets/cmd/controller',
    ldflags: '-X main.VERSION=v0.40.0',
  },
  {
    name: 'kubeseal', module: 'sealed-secrets', pkg: 'github.com/bitnami/sealed-secrets/cmd/kubeseal',
    ldflags: '-X main.VERSION=v0.40.0',
  },
  // Renders Sealed Secrets' controller.yaml from the module's controller.jsonnet (release-assets.ts).
  { name: 'jsonnet', module: 'jsonnet', pkg: 'github.com/google/go-jsonnet/cmd/jsonnet', ldflags: '' },
];

export function cacheRoot() {
  const base = process.env.PLATFORM_CACHE_DIR
    ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'aks-gitops-tasks');
  return join(base, 'bin');
}

function goVersion() {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', env: goEnv() });
  if (r.error || r.status !== 0) {
    throw new Error(
      'The Go toolchain (go 1.26 or newer) is needed to build the local Kubernetes platform, ' +
      `but "go env GOVERSION" failed: ${r.error?.message ?? r.stderr.trim()}. Install Go and put it on PATH.`);
  }
  return r.stdout.trim();
}

function goEnv() {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly -buildvcs=false' };
}

function keyOf(bin, gover) {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) h.update(readFileSync(join(here, bin.module, f)));
  h.update(`${bin.pkg}\n${bin.ldflags}\n${gover}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Absolute path of each binary in the cache (whether built or not). */
export function binaryPaths() {
  const gover = goVersion();
  return Object.fromEntries(BINARIES.map((b) => [b.name, join(cacheRoot(), `${b.name}-${keyOf(b, gover)}`, b.name)]));
}

function run(bin, out) {
  return new Promise((resolve, reject) => {
    const args = ['build', '-trimpath', '-pgo=off', '-ldflags', `-s -w ${bin.ldflags}`.trim(), '-o', out, bin.pkg];
    const child = spawn('go', args, { cwd: join(here, bin.module), env: goEnv(), stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go build of ${bin.pkg} failed (exit ${code})`))));
  });
}

export async function buildAll({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const paths = binaryPaths();
  const missing = BINARIES.filter((b) => !existsSync(paths[b.name]));
  let i = 0;
  for (const bin of missing) {
    i += 1;
    const dest = paths[bin.name];
    mkdirSync(dirname(dest), { recursive: true });
    const started = Date.now();
    log(`[platform] building ${bin.name} (${i}/${missing.length}) from ${bin.pkg} ...`);
    const tmp = `${dest}.tmp-${process.pid}`;
    try {
      await run(bin, tmp);
      renameSync(tmp, dest); // atomic: an interrupted build leaves no half-written binary behind
    } finally {
      rmSync(tmp, { force: true });
    }
    log(`[platform] built ${bin.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  if (missing.length === 0) log('[platform] all binaries are in the cache');
  writeFileSync(join(cacheRoot(), 'latest.json'), JSON.stringify(paths, null, 2));
  return paths;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildAll()
    .then((paths) => console.log(JSON.stringify(paths)))
    .catch((e) => { console.error(`[platform] ${e.message}`); process.exit(1); });
}
