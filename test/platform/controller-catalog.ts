// The programs the node agent can run: which container images they stand for, at which tag (the
// version the wrapper Go module builds), and on which flags each binary listens (the node agent
// binds those to the Pod's IP, since the Pods share the node's network namespace).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BinaryName } from './binaries.js';

const binsDir = join(dirname(fileURLToPath(import.meta.url)), 'bins');

/** The version a wrapper module pins for a Go module, read from its go.mod (single source of truth). */
export function pinnedVersion(wrapper: string, modulePath: string): string {
  const gomod = readFileSync(join(binsDir, wrapper, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*(?:require\\s+)?${modulePath.replace(/[.]/g, '\\.')}\\s+(v\\S+)`, 'm').exec(gomod);
  if (!m) throw new Error(`${wrapper}/go.mod does not require ${modulePath}`);
  return m[1]!;
}

export interface ListenFlag {
  flag: string;
  /** The binary's default when the flag is absent (its port is the container port it binds). */
  default: string;
}

export interface KnownController {
  id: string;
  binary: BinaryName;
  /** Image repositories (no tag) published for this program. */
  images: string[];
  /** Image tags the built binary stands for. */
  tags: string[];
  listenFlags: ListenFlag[];
}

const flux = (id: 'source-controller' | 'kustomize-controller' | 'helm-controller' | 'notification-controller', listen: ListenFlag[]): KnownController => {
  const version = pinnedVersion(id, `github.com/fluxcd/${id}`);
  return {
    id,
    binary: id,
    images: [`ghcr.io/fluxcd/${id}`, `docker.io/fluxcd/${id}`],
    tags: [version],
    listenFlags: [
      ...listen,
      { flag: '--metrics-addr', default: ':8080' },
      { flag: '--health-addr', default: ':9440' },
    ],
  };
};

let catalog: KnownController[] | undefined;

export function knownControllers(): KnownController[] {
  if (catalog) return catalog;
  const sealedSecrets = pinnedVersion('sealed-secrets', 'github.com/bitnami/sealed-secrets');
  catalog = [
    flux('source-controller', [{ flag: '--storage-addr', default: ':9090' }]),
    flux('kustomize-controller', []),
    flux('helm-controller', []),
    flux('notification-controller', [
      { flag: '--events-addr', default: ':9090' },
      { flag: '--receiverAddr', default: ':9292' },
    ]),
    {
      id: 'sealed-secrets-controller',
      binary: 'sealed-secrets-controller',
      images: ['docker.io/bitnami/sealed-secrets-controller', 'ghcr.io/bitnami/sealed-secrets-controller', 'ghcr.io/bitnami-labs/sealed-secrets-controller'],
      // Release manifests use the tag without "v" (release.yaml: IMAGE_TAG=${VERSION_TAG#v}).
      tags: [sealedSecrets.replace(/^v/, ''), sealedSecrets],
      listenFlags: [
        { flag: '--listen-addr', default: ':8080' },
        { flag: '--listen-metrics-addr', default: ':8081' },
      ],
    },
  ];
  return catalog;
}

/** Splits an image reference into a normalized repository (with registry) and tag. */
export function parseImage(image: string): { repository: string; tag: string } {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  let repository = colon > slash ? noDigest.slice(0, colon) : noDigest;
  const tag = colon > slash ? noDigest.slice(colon + 1) : 'latest';
  const first = repository.split('/')[0]!;
  if (!repository.includes('/')) repository = `docker.io/library/${repository}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') repository = `docker.io/${repository}`;
  return { repository, tag };
}

export function controllerForImage(image: string): { controller: KnownController; tagKnown: boolean } | undefined {
  const { repository, tag } = parseImage(image);
  // A registry mirror keeps the repository path (az acr import): myacr.azurecr.io/fluxcd/source-controller.
  const pathOf = (r: string) => r.slice(r.indexOf('/') + 1);
  const controller = knownControllers().find((c) => c.images.some((i) => repository === i || repository.endsWith(`/${pathOf(i)}`)));
  return controller && { controller, tagKnown: controller.tags.includes(tag) };
}
