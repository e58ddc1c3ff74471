import { describe, expect, it } from 'vitest';
import { reconciledSince } from '../../shared/flux/reconcile';
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

  it('fails on a failed install and is ready once Ready is True', () => {
    expect(reconciledSince(TOKEN)(helmRelease('InstallFailed'))).toEqual({ state: 'failed', message: 'InstallFailed: InstallFailed message' });
    expect(reconciledSince(TOKEN)(helmRelease('InstallSucceeded', 'True')).state).toBe('ready');
  });
});
