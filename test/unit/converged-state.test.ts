// The reliability runs' state comparison: what counts as a difference and what does not.
import { describe, expect, it } from 'vitest';
import { armSnapshot, gitSnapshot, snapshotDiff } from '../reliability/converged-state';

describe('state snapshots', () => {
  it('see through key order, eTags and Azure-assigned outbound IPs, and name what changed', () => {
    const a = armSnapshot({ name: 'aks', eTag: '1', tags: { environment: 'dev', team: 'platform' }, properties: { provisioningState: 'Succeeded', agentPoolProfiles: [{ name: 'system', eTag: 'x', count: 3 }], networkProfile: { loadBalancerProfile: { effectiveOutboundIPs: [{ id: 'ip-1' }] } } } });
    const b = armSnapshot({ properties: { networkProfile: { loadBalancerProfile: { effectiveOutboundIPs: [{ id: 'ip-2' }] } }, agentPoolProfiles: [{ count: 3, eTag: 'y', name: 'system' }], provisioningState: 'Succeeded' }, tags: { team: 'platform', environment: 'dev' }, eTag: '2', name: 'aks' });
    expect(snapshotDiff(a, b)).toEqual([]);
    const c = armSnapshot({ name: 'aks', tags: { environment: 'dev', team: 'changed' }, properties: { provisioningState: 'Succeeded', agentPoolProfiles: [{ name: 'system', count: 3 }], networkProfile: { loadBalancerProfile: {} } } });
    expect(snapshotDiff(a, c)).toEqual(['changed arm:cluster (.tags.team: "platform" -> "changed")']);
  });

  it('report files missing from or added to the repository', () => {
    expect(snapshotDiff(gitSnapshot({ 'a.yaml': '1', 'b.yaml': '2' }), gitSnapshot({ 'a.yaml': '1', 'c.yaml': '3' }))).toEqual(['missing git:b.yaml', 'extra git:c.yaml']);
  });
});
