// The local stack (test/pipeline/local-stack.ts) as the pipeline benchmarks use it: examples/bootstrap.yml
// run against it, and every server's request log read back, to show what a run wrote.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conditionOf, type KubeObject } from '../test/platform/kube-api';
import { auditEvents } from '../test/platform/audit-log';
import { startReleaseServer, type ReleaseServer } from '../test/platform/release-server';
import { parsePipeline } from '../test/pipeline/definition';
import { PLATFORM_BRANCH, startLocalStack, type LocalStack } from '../test/pipeline/local-stack';
import { repoRoot, runPipelineFile } from '../test/pipeline/run-file';
import type { PipelineRun } from '../test/pipeline/runner';

export const BOOTSTRAP = join(repoRoot, 'examples', 'bootstrap.yml');

export interface LocalBootstrap {
  stack: LocalStack;
  releases: ReleaseServer;
  /** The cluster the example names, as it is now. */
  cluster(): NonNullable<ReturnType<LocalStack['clusters']['cluster']>>;
  run(file?: string, overrides?: Record<string, string>): Promise<{ run: PipelineRun; ms: number; printed: string[] }>;
  stop(): Promise<void>;
}

export async function startLocalBootstrap(): Promise<LocalBootstrap> {
  const releases = await startReleaseServer();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      pipelines: [parsePipeline(readFileSync(BOOTSTRAP, 'utf8'))],
      releasesBaseUrl: releases.baseUrl,
      platformRepository: { name: 'platform-components', dir: join(repoRoot, 'examples', 'platform-components') },
      keyBits: 2048,
    });
  } catch (error) {
    await releases.stop();
    throw error;
  }
  const { resourceGroup, name } = stack.landingZone.clusters[0]!;
  return {
    stack,
    releases,
    cluster() {
      const c = stack.clusters.cluster(resourceGroup, name);
      if (!c) throw new Error(`cluster ${name} is not running`);
      return c;
    },
    async run(file = BOOTSTRAP, overrides = {}) {
      const printed: string[] = [];
      const t0 = performance.now();
      const run = await runPipelineFile(file, {
        environment: stack.environment, pipelineVariables: stack.pipelineVariables, overrides: { ...stack.overrides, ...overrides },
        out: (line) => printed.push(line),
      });
      const ms = performance.now() - t0;
      if (run.result !== 'Succeeded') throw new Error(`${file} ${run.result}:\n${printed.join('\n')}`);
      return { run, ms, printed };
    },
    async stop() {
      await stack.stop();
      await releases.stop();
    },
  };
}

/**
 * Asks Flux to fetch the platform repository's head now and waits until every Kustomization is
 * Ready at the revision it last fetched, as the cluster would be a minute later.
 */
export async function fluxSettled(b: LocalBootstrap): Promise<void> {
  const head = `${PLATFORM_BRANCH}@sha1:${await b.stack.repos.head('platform-components', PLATFORM_BRANCH)}`;
  const api = b.cluster().api;
  const requested = new Date().toISOString();
  for (const kind of ['source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories', 'kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations']) {
    await api.patch(`/apis/${kind}/flux-system`, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': requested } } });
  }
  await api.waitFor<KubeObject>('flux-system to apply the head', '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/flux-system',
    (k) => conditionOf(k, 'Ready')?.status === 'True' && (k.status as { lastAppliedRevision?: string }).lastAppliedRevision === head, 90_000);
  await api.waitFor<KubeObject & { items: KubeObject[] }>('every Kustomization Ready at its revision', '/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations',
    (list) => list.items.every((k) => {
      const status = k.status as { lastAppliedRevision?: string; lastAttemptedRevision?: string } | undefined;
      return conditionOf(k, 'Ready')?.status === 'True' && !!status?.lastAppliedRevision && status.lastAppliedRevision === status.lastAttemptedRevision;
    }), 90_000);
}

export interface RequestCounts {
  requests: Record<string, number>;
  /** Requests that change something, by server, as "METHOD path". */
  writes: Record<string, string[]>;
  /** Kubernetes dry-runs: write requests that were validated and not stored. */
  dryRuns: number;
}

/** Where each server's request log stands now. */
export function requestMarks(b: LocalBootstrap) {
  const { arm, entra, devops } = b.stack.emulators;
  return { arm: arm.requests.length, entra: entra.requests.length, devops: devops.requests.length, releases: b.releases.requests.length, since: new Date() };
}

/**
 * What reached each server since the marks. Writes: ARM PUT/PATCH/DELETE (POST there are actions
 * such as listing credentials); Azure DevOps REST writes and git pushes (git-receive-pack; a
 * fetch's POST to git-upload-pack reads); every Kubernetes write of the pipeline's identity (the
 * service connection's, or the tasks' client), dry-runs apart. Entra ID only issues tokens.
 */
export function requestsSince(b: LocalBootstrap, marks: ReturnType<typeof requestMarks>): RequestCounts {
  const { arm, entra, devops } = b.stack.emulators;
  const armNew = arm.requests.slice(marks.arm);
  const devopsNew = devops.requests.slice(marks.devops);
  const { clientId, objectId } = b.stack.servicePrincipal;
  const kube = auditEvents(b.cluster().info, (e) => new Date(e.requestReceivedTimestamp) >= marks.since
    && ([clientId, objectId].includes(e.user.username) || !!e.userAgent?.startsWith('aks-gitops-tasks')));
  const line = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
  return {
    requests: {
      arm: armNew.length, entra: entra.requests.length - marks.entra, devops: devopsNew.length, releases: b.releases.requests.length - marks.releases,
    },
    writes: {
      arm: armNew.filter((r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method)).map(line),
      devops: devopsNew.filter((r) => r.path.endsWith('/git-receive-pack') || (r.path.includes('/_apis/') && !r.path.includes('oidctoken') && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))).map(line),
      kubernetes: kube.filter((e) => !e.dryRun).map((e) => `${e.verb} ${e.requestURI.split('?')[0]}`),
    },
    dryRuns: kube.filter((e) => e.dryRun).length,
  };
}
