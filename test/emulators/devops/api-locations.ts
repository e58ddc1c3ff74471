// What `OPTIONS {collection}/_apis/{area}` answers: azure-devops-node-api builds every URL from
// these route templates (location ids are fixed by the client). The versions are chosen so the
// client keeps the api-version it asks for (7.2-preview.N).
export interface ApiResourceLocation {
  id: string;
  area: string;
  resourceName: string;
  routeTemplate: string;
  resourceVersion: number;
  minVersion: string;
  maxVersion: string;
  releasedVersion: string;
}

function location(id: string, area: string, resourceName: string, routeTemplate: string, resourceVersion = 3): ApiResourceLocation {
  return { id, area, resourceName, routeTemplate, resourceVersion, minVersion: '1.0', maxVersion: '7.2', releasedVersion: '7.1' };
}

const locations: ApiResourceLocation[] = [
  location('e81700f7-3be2-46de-8624-2eb35882fcaa', 'Location', 'ResourceAreas', '_apis/{resource}/{areaId}'),
  location('00d9565f-ed9c-4a06-9a50-00e7896ccab4', 'Location', 'ConnectionData', '_apis/{resource}', 1),
  location('603fe2ac-9723-48b9-88ad-09305aa6c6e1', 'core', 'projects', '_apis/{resource}/{*projectId}', 4),
  location('225f7195-f9c7-4d14-ab28-a83f7ff77e1f', 'git', 'repositories', '{project}/_apis/{area}/{resource}/{repositoryId}'),
  location('ea98d07b-3c87-4971-8ede-a613694ffb55', 'git', 'pushes', '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pushId}'),
  location('2d874a60-a811-4f62-9c9f-963a6ea0a55b', 'git', 'refs', '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}'),
  location('9946fd70-0d40-406e-b686-b4744cbbcc37', 'git', 'pullRequests', '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}'),
  location('01a46dea-7d46-4d40-bc84-319e7c260d99', 'git', 'pullRequests', '{project}/_apis/{area}/{resource}/{pullRequestId}'),
  location('fb93c0db-47ed-4a31-8c20-47552878fb44', 'git', 'items', '{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}'),
  // No node-api client has it; vsoClient.getVersioningData('7.1', 'Security', id, {}) resolves it.
  location('cf1faa59-1b63-4448-bf04-13d981a46f5d', 'Security', 'PermissionEvaluationBatch', '_apis/{area}/{resource}', 1),
  location('adcfd8bc-b184-43ba-bd84-7c8c6a2ff421', 'distributedtask', 'securefiles', '{project}/_apis/{area}/{resource}/{secureFileId}'),
  location('69a319f4-28c1-4bfd-93e6-ea0ff5c6f1a2', 'distributedtask', 'oidctoken', '{scopeIdentifier}/_apis/{area}/hubs/{hubName}/plans/{planId}/jobs/{jobId}/{resource}'),
];

export function locationsForArea(area: string): ApiResourceLocation[] {
  return locations.filter((candidate) => candidate.area.toLowerCase() === area.toLowerCase());
}
