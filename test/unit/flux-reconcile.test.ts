// When is a Flux object done with a revision: Ready at it, failed at it, or still waiting for
// something else (a dependency, its source, a chart not built yet), which is no failure of this attempt.
import { describe, expect, it } from 'vitest';
import { appliedRevision, reconciledSince } from '../../shared/flux/reconcile';
import { waitedForWhatWasGoing } from '../../shared/flux/tree';
import type { KubeObject } from '../../shared/kube/objects';

const TOKEN = '2026-01-01T00:00:00Z';
const helmRelease = (reason: string, status = 'False'): KubeObject => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease',
  metadata: { name: 'greeting', namespace: 'flux-system', generation: 1 },
  status: {
    observedGeneration: 1, lastHandledReconcileAt: TOKEN,
    conditions: [{ type: 'Ready', status, reason, message: `${reason} message`, observedGeneration: 1 }],
  },
});

describe('reconciledSince', () => {
  it('waits while a HelmRelease waits for its chart (SourceNotReady), as helm-controller retries when the chart is built', () => {
    expect(reconciledSince(TOKEN)(helmRelease('SourceNotReady')).state).toBe('pending');
    expect(reconciledSince(TOKEN)(helmRelease('DependencyNotReady')).state).toBe('pending');
  });

  it('takes a request made after ours (another pipeline asked too) as handling ours, and nothing handled before it', () => {
    const LATER = '2026-01-01T00:00:05Z';
    const asked = (annotation: string, handled: string): KubeObject => {
      const o = helmRelease('InstallSucceeded', 'True');
      return { ...o, metadata: { ...o.metadata, annotations: { 'reconcile.fluxcd.io/requestedAt': annotation } }, status: { ...(o.status as object), lastHandledReconcileAt: handled } };
    };
    expect(reconciledSince(TOKEN)(asked(LATER, LATER)).state).toBe('ready');
    expect(reconciledSince(TOKEN)(asked(LATER, TOKEN)).state).toBe('ready');
    expect(reconciledSince(TOKEN)(asked(TOKEN, '2025-12-31T23:59:00Z')).state).toBe('pending');
    expect(reconciledSince(TOKEN)(asked(LATER, '2025-12-31T23:59:00Z')).state).toBe('pending');
  });

  it('fails on a failed install and is ready once Ready is True', () => {
    expect(reconciledSince(TOKEN)(helmRelease('InstallFailed'))).toEqual({ state: 'failed', message: 'InstallFailed: InstallFailed message' });
    expect(reconciledSince(TOKEN)(helmRelease('InstallSucceeded', 'True')).state).toBe('ready');
  });
});

const REVISION = 'main@sha1:0123456789abcdef0123456789abcdef01234567';
const kustomization = (status: string, reason: string, message: string, revisions: { applied?: string; attempted?: string }): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'systems', namespace: 'flux-system', generation: 1 },
  status: { observedGeneration: 1, lastAppliedRevision: revisions.applied, lastAttemptedRevision: revisions.attempted, conditions: [{ type: 'Ready', status, reason, message }] },
} as KubeObject);

describe('appliedRevision', () => {
  it('is ready when the Kustomization is Ready at the revision', () => {
    expect(appliedRevision(REVISION)(kustomization('True', 'ReconciliationSucceeded', 'Applied', { applied: REVISION, attempted: REVISION }))?.state).toBe('ready');
  });

  it('has failed when the attempt at the revision failed', () => {
    const r = appliedRevision(REVISION)(kustomization('False', 'ReconciliationFailed', 'Namespace/x dry-run failed', { attempted: REVISION }));
    expect(r).toEqual({ state: 'failed', message: 'ReconciliationFailed: Namespace/x dry-run failed' });
  });

  it('waits while the attempt at the revision waits for a dependency or its source', () => {
    for (const reason of ['DependencyNotReady', 'ArtifactFailed', 'Progressing', 'SourceNotReady']) {
      const r = appliedRevision(REVISION)(kustomization('False', reason, "dependency 'flux-system/infrastructure' is not ready", { applied: 'main@sha1:old', attempted: REVISION }));
      expect(r?.state, reason).toBe('pending');
    }
  });
});

describe('waitedForWhatWasGoing', () => {
  it('tells a health check that timed out on objects still being deleted from one that failed on live objects', () => {
    expect(waitedForWhatWasGoing("ReconciliationFailed: timeout waiting for: [Namespace/billing status: 'NotFound', Namespace/orders status: 'NotFound']")).toBe(true);
    expect(waitedForWhatWasGoing("ReconciliationFailed: timeout waiting for: [Namespace/billing status: 'NotFound', Namespace/payments status: 'Terminating']\nNamespace/orders created")).toBe(true);
    expect(waitedForWhatWasGoing("ReconciliationFailed: timeout waiting for: [Deployment/apps/web status: 'InProgress', Namespace/apps status: 'NotFound']")).toBe(false);
    expect(waitedForWhatWasGoing("ReconciliationFailed: timeout waiting for: [Deployment/apps/web status: 'Failed']")).toBe(false);
    expect(waitedForWhatWasGoing('ReconciliationFailed: ConfigMap/tree-apps/broken dry-run failed')).toBe(false);
  });
});
