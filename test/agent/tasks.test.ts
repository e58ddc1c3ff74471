import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { b64, forbiddenForms, makeKeyPair } from './fixtures';
import { runTask, visibleOutput } from './harness';
import type { NodeRuntime } from './node-runtimes';

const RUNTIMES: NodeRuntime[] = ['node20', 'node24'];

// With only the defaults the agent fills in, the first required input each task meets.
const FIRST_REQUIRED: Record<string, string> = {
  AksBootstrap: 'azureSubscription',
  InstallSealedSecrets: 'azureSubscription',
  FluxBootstrap: 'azureSubscription',
  RegisterSystem: 'systemName',
};

describe.each(RUNTIMES)('bundled tasks on %s', (node) => {
  it.each(Object.entries(FIRST_REQUIRED))('%s fails cleanly naming the missing input %s', async (task, input) => {
    const run = await runTask({ task, node });
    expect(run.result).toBe('Failed');
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`Input '${input}'`);
    expect(run.completeMessage).toBe(run.errors[0]);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  it('no secret reaches the output in any form, for every task', async () => {
    const { keyPem, certPem } = makeKeyPair();
    const spKey = makeKeyPair();
    const marker = (name: string) => `MARKER-${name}-${Math.random().toString(36).slice(2)}`;
    const work = mkdtempSync(join(tmpdir(), 'secret-test-'));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    writeFileSync(join(work, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    writeFileSync(join(work, 'cert.pem'), certPem);
    const secrets: string[] = [];
    const s = (name: string) => {
      const v = marker(name);
      secrets.push(v);
      return v;
    };
    secrets.push(keyPem, spKey.keyPem);
    const kubeToken = s('kubeToken');
    const azure = {
      url: 'https://management.azure.com/',
      scheme: 'ServicePrincipal',
      params: { tenantid: '11111111-1111-1111-1111-111111111111', serviceprincipalid: s('clientId'), authenticationType: 'spnCertificate', servicePrincipalCertificate: spKey.keyPem + spKey.certPem },
      data: { subscriptionid: '22222222-2222-2222-2222-222222222222', environment: 'AzureCloud' },
    };
    const kube = {
      url: 'https://aks.example:443',
      scheme: 'Kubeconfig',
      params: { kubeconfig: `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${kubeToken}\n`, clusterContext: 'ctx' },
    };
    const runs = await Promise.all([
      runTask({
        task: 'AksBootstrap', node, workingDirectory: work, endpoints: { azureEp: azure },
        inputs: {
          azureSubscription: 'azureEp', resourceGroup: 'rg-aks', clusterName: 'aks-dev', location: 'westeurope',
          subnetId: '/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks',
        },
      }),
      runTask({
        task: 'InstallSealedSecrets', node, workingDirectory: work, endpoints: { kubeEp: kube },
        inputs: { connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: 'kubeEp', privateKey: b64(keyPem), certificate: b64(certPem) },
      }),
      runTask({
        task: 'FluxBootstrap', node, workingDirectory: work,
        inputs: { connectionType: 'kubeconfig', kubeconfig: 'kubeconfig', gitUrl: 'https://dev.azure.com/contoso/platform/_git/platform', gitToken: s('gitToken') },
      }),
      runTask({
        task: 'RegisterSystem', node, workingDirectory: work,
        inputs: {
          systemName: 'payments', accessToken: s('accessToken'), systemReadToken: s('readToken'), platformRepository: 'platform',
          sealingCertificate: 'cert.pem', alertProvider: 'msteams', alertWebhookUrl: `https://hooks.example/${s('webhook')}`,
        },
      }),
    ]);
    // Each run got past input validation (the inputs above are all valid) and stops at what it
    // cannot reach (no Azure or Azure DevOps here; the kubeconfigs point nowhere).
    expect(runs.map((r) => r.completeMessage)).toEqual([
      expect.not.stringMatching(/^Input '/),
      expect.stringMatching(/^Input 'kubernetesServiceConnection': /),
      expect.stringMatching(/^Input 'kubeconfig': /),
      expect.stringMatching(/^Could not reach Azure DevOps while .* Check the organizationUrl input/),
    ]);
    for (const run of runs) {
      expect(run.result, run.stdout).toBe('Failed');
      const visible = visibleOutput(run);
      for (const secret of secrets) for (const form of forbiddenForms(secret)) expect(visible).not.toContain(form);
    }
    // The secrets were registered, not merely absent.
    const registered = runs.flatMap((r) => r.secrets);
    expect(registered).toContain(kubeToken);
    expect(registered).toContain(b64(keyPem));
  });
});

describe('input validation through the bundle', () => {
  it('rejects a malformed subnet ID naming the input and the expected shape', async () => {
    const run = await runTask({
      task: 'AksBootstrap',
      endpoints: { ep: { url: 'https://management.azure.com/', scheme: 'ServicePrincipal', params: { tenantid: 't', serviceprincipalid: 'c', serviceprincipalkey: 'k-123456' }, data: { subscriptionid: 's' } } },
      inputs: { azureSubscription: 'ep', resourceGroup: 'rg', clusterName: 'c1', location: 'westeurope', subnetId: 'vnet/aks' },
    });
    expect(run.result).toBe('Failed');
    expect(run.errors).toEqual([expect.stringContaining("Input 'subnetId'")]);
    expect(run.errors[0]).toContain('/subscriptions/<subscription-id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>');
  });

  it('rejects garbage base64 for the sealing key without echoing it', async () => {
    const garbage = 'not*base64*MARKER-garbage';
    const run = await runTask({
      task: 'InstallSealedSecrets',
      inputs: { connectionType: 'kubeconfig', kubeconfig: '/etc/hostname', privateKey: garbage, certificate: b64('x') },
    });
    expect(run.errors).toEqual([expect.stringContaining("Input 'privateKey'")]);
    expect(visibleOutput(run)).not.toContain(garbage);
  });

  it('rejects an option outside a pick list', async () => {
    const run = await runTask({ task: 'FluxBootstrap', inputs: { connectionType: 'ftp' } });
    expect(run.errors).toEqual([expect.stringMatching(/Input 'connectionType'.*one of: azureResourceManager, kubernetesServiceConnection, kubeconfig/)]);
  });
});
