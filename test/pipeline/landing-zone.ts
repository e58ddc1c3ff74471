// What must exist in Azure before a pipeline's AksBootstrap steps can run, read from the pipeline
// itself: the subscription, resource groups and subnet its inputs name, the Entra admin groups,
// the service connections. The local stack creates exactly that in the emulators, so an example
// runs unchanged (only values that cannot be the same on this machine are overridden).
import type { PipelineDefinition, TaskStep } from './definition';
import { VariableStore } from './variables';

export interface LandingZone {
  subscriptionId: string;
  location: string;
  /** Resource groups the clusters go in. */
  clusterResourceGroups: string[];
  subnets: { resourceGroup: string; vnet: string; name: string; id: string }[];
  adminGroupObjectIds: string[];
  /** Names of the AzureRM service connections the steps use. */
  serviceConnections: string[];
  clusters: { resourceGroup: string; name: string }[];
  /** The pipeline's `environment` variable, if it has one. */
  environment?: string;
}

const SUBNET_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\/subnets\/([^/]+)$/i;
const CONNECTION_INPUTS = ['azureSubscription', 'azureSubscriptionEndpoint'];

const unique = <T>(values: T[], key: (v: T) => string = String) => [...new Map(values.map((v) => [key(v), v])).values()];

export function landingZoneOf(definitions: PipelineDefinition[]): LandingZone {
  const zone: LandingZone = { subscriptionId: '', location: '', clusterResourceGroups: [], subnets: [], adminGroupObjectIds: [], serviceConnections: [], clusters: [] };
  for (const definition of definitions) {
    const variables = new VariableStore();
    for (const v of definition.variables) variables.set(v.name, v.value);
    zone.environment ??= variables.value('environment');
    for (const step of definition.steps) {
      if (!('task' in step)) continue;
      const input = (name: string) => inputOf(step, name, variables);
      for (const name of CONNECTION_INPUTS) if (input(name)) zone.serviceConnections.push(input(name)!);
      if (step.task.toLowerCase() !== 'aksbootstrap') continue;
      const subnetId = input('subnetId') ?? '';
      const m = SUBNET_ID.exec(subnetId);
      if (!m) throw new Error(`AksBootstrap step ${step.index}: subnetId '${subnetId}' is not a subnet resource id`);
      if (zone.subscriptionId && zone.subscriptionId !== m[1]!.toLowerCase()) throw new Error('the local stack has one subscription; the pipelines name several');
      zone.subscriptionId = m[1]!.toLowerCase();
      zone.subnets.push({ resourceGroup: m[2]!, vnet: m[3]!, name: m[4]!, id: subnetId });
      zone.location ||= input('location') ?? 'westeurope';
      zone.clusterResourceGroups.push(input('resourceGroup')!);
      zone.clusters.push({ resourceGroup: input('resourceGroup')!, name: input('clusterName')! });
      zone.adminGroupObjectIds.push(...(input('adminGroupObjectIds') ?? '').split(/[\s,]+/).filter(Boolean));
    }
  }
  if (!zone.subscriptionId) throw new Error('no AksBootstrap step with a subnetId: nothing to prepare in Azure');
  return {
    ...zone,
    clusterResourceGroups: unique(zone.clusterResourceGroups, (g) => g.toLowerCase()),
    subnets: unique(zone.subnets, (s) => s.id.toLowerCase()),
    adminGroupObjectIds: unique(zone.adminGroupObjectIds, (g) => g.toLowerCase()),
    serviceConnections: unique(zone.serviceConnections, (c) => c.toLowerCase()),
    clusters: unique(zone.clusters, (c) => `${c.resourceGroup.toLowerCase()}/${c.name}`),
  };
}

function inputOf(step: TaskStep, name: string, variables: VariableStore): string | undefined {
  const key = Object.keys(step.inputs).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : variables.expand(step.inputs[key]!).text;
}
