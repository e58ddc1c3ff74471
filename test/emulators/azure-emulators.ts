// All three clouds started and wired together, as most tests want them: one tenant, one
// subscription in it, one Azure DevOps organization whose OIDC issuer Entra can reach.
import { randomUUID } from 'node:crypto';
import { startArmEmulator, type ArmEmulator, type ArmEmulatorOptions } from './arm/arm-emulator.js';
import type { ClusterFactory } from './arm/cluster-factory.js';
import { startDevOpsEmulator, type DevOpsEmulator, type DevOpsEmulatorOptions } from './devops/devops-emulator.js';
import { startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions } from './entra/entra-emulator.js';

export { AKS_SERVER_APP_ID, FEDERATED_TOKEN_AUDIENCE } from './entra/entra-emulator.js';
export { CONTAINER_SERVICE_API_VERSION } from './arm/arm-emulator.js';
export { ensureEmulatorCa, readEmulatorCa } from './ca.js';
export type { ClusterEndpoint, ClusterFactory, ClusterSpec, EntraIdAuthentication } from './arm/cluster-factory.js';

export interface AzureEmulators {
  entra: EntraEmulator;
  arm: ArmEmulator;
  devops: DevOpsEmulator;
  tenantId: string;
  subscriptionId: string;
  stop(): Promise<void>;
}

export interface AzureEmulatorsOptions {
  clusterFactory: ClusterFactory;
  tenantId?: string;
  subscriptionId?: string;
  entra?: EntraEmulatorOptions;
  arm?: Omit<ArmEmulatorOptions, 'entra' | 'clusterFactory'>;
  devops?: DevOpsEmulatorOptions;
}

export async function startAzureEmulators(options: AzureEmulatorsOptions): Promise<AzureEmulators> {
  const tenantId = options.tenantId ?? randomUUID();
  const subscriptionId = options.subscriptionId ?? randomUUID();
  const entra = await startEntraEmulator(options.entra);
  const arm = await startArmEmulator({ ...options.arm, entra, clusterFactory: options.clusterFactory });
  const devops = await startDevOpsEmulator(options.devops);
  entra.addTenant(tenantId);
  // Azure Stack style: a connection may ask for a token for the ARM URL itself.
  entra.addResource(arm.url);
  arm.addSubscription({ subscriptionId, tenantId });
  return {
    entra, arm, devops, tenantId, subscriptionId,
    async stop() {
      await Promise.all([arm.stop(), devops.stop()]);
      await entra.stop();
    },
  };
}
