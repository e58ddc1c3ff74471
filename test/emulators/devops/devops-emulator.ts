// Azure DevOps Services (dev.azure.com/{organization}) as the tasks and azure-devops-node-api use
// it: route discovery, connectionData, Git repositories with pushes, refs, items and pull requests
// (backed by real bare repositories, also served over git's smart HTTP) under per-identity
// permissions and branch policies, the Security API's permission evaluation batch, secure file
// download with tickets, and the OIDC token endpoint of workload identity federation.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FEDERATED_TOKEN_AUDIENCE } from '../entra/entra-emulator.js';
import { parseJsonBody, sendEmpty, sendJson, startEmulatorServer, type EmulatorRequest, type EmulatorServer, type Fault, type RecordedRequest } from '../emulator-server.js';
import { locationsForArea } from './api-locations.js';
import { ZERO_ID } from './bare-repository.js';
import { parseReceivePackRequest, refuseReceivePack, serveGitHttp } from './git-http-backend.js';
import { GitService, type AutoCompleteNotification, type IdentityRef, type MergeStrategy, type Project } from './git-service.js';
import { startOidcIssuer } from './oidc-issuer.js';
import { PermissionStore, type Permission } from './permissions.js';
import { SecurityService, type PermissionEvaluationRecord } from './security.js';
import { VssError, vssErrors } from './vss-errors.js';

export type { IdentityRef, MergeStrategy, Permission, AutoCompleteNotification, PermissionEvaluationRecord };
export { GIT_PERMISSION_BITS, GIT_REPOSITORIES_NAMESPACE, PROJECT_NAMESPACE, gitSecurityToken } from './security.js';

export interface PermissionChange {
  /** Default: the build service identity (buildIdentity). */
  identity?: IdentityRef;
  permission: Permission;
  /** Project name or id. */
  project: string;
  /** Repository name; omitted = all repositories of the project. Not for CreateRepository / ViewProject. */
  repository?: string;
}

export interface BranchPolicySettings {
  /** Project name or id. */
  project: string;
  /** Repository name; omitted = every repository of the project (a cross-repository policy). */
  repository?: string;
  /** `main` or `refs/heads/main`. */
  branch: string;
  /** "Minimum number of reviewers" (approvals by others than the creator). */
  requiredReviewers?: number;
  /** "Limit merge types": the strategies completions may use (numbers 1..4 accepted too). */
  allowedMergeTypes?: Array<MergeStrategy | number>;
}

export interface ServiceConnection {
  id: string;
  name: string;
  project: Project;
  /** `sub` of its OIDC tokens: sc://{organization}/{project}/{serviceConnectionName} */
  subject: string;
  issuer: string;
  audience: string;
}

export interface SecureFile {
  id: string;
  name: string;
  project: Project;
  ticket: string;
  content: Buffer;
}

export interface IssuedOidcToken {
  serviceConnectionId?: string;
  subject: string;
  token: string;
  expiresOn: number;
}

export interface DevOpsEmulatorOptions {
  organization?: string;
  /** Lifetime of OIDC tokens (default 600 s). */
  oidcTokenLifetimeSeconds?: number;
}

export interface DevOpsEmulator {
  /** Server URL without the organization, e.g. https://127.0.0.1:42000 */
  url: string;
  organization: string;
  organizationId: string;
  /** System.CollectionUri / System.TeamFoundationCollectionUri: `${url}/${organization}/` */
  collectionUrl: string;
  /** Issuer of the OIDC tokens (the vstoken.dev.azure.com/{organizationId} equivalent). */
  oidcIssuer: string;
  /** A job access token (System.AccessToken) valid from the start. */
  systemAccessToken: string;
  buildIdentity: IdentityRef;
  /** Every request with method, path, query, headers, body and (once answered) status. */
  requests: RecordedRequest[];
  /** Why auto-complete of a pull request failed or was cancelled (the notification Azure DevOps sends). */
  autoCompleteNotifications: AutoCompleteNotification[];
  oidcTokens: IssuedOidcToken[];
  /**
   * Every evaluation POST _apis/security/permissionevaluationbatch answered: caller, namespace,
   * token, bits, value, and the project, repository and (decoded) ref the token names.
   */
  permissionEvaluations: PermissionEvaluationRecord[];
  /** Folder with the bare repositories (<repositoryId>.git). */
  reposRoot: string;
  addProject(project: { name: string; id?: string }): Project;
  addAccessToken(token?: string, identity?: IdentityRef): string;
  addPersonalAccessToken(pat?: string, identity?: IdentityRef): string;
  addServiceConnection(connection: { name: string; project: string; id?: string }): ServiceConnection;
  addSecureFile(file: { project: string; name: string; content: Buffer | string; id?: string }): SecureFile;
  /** System.OidcRequestUri as the agent sets it (without query string). */
  oidcRequestUri(job: { project: string; hub?: string; planId?: string; jobId?: string }): string;
  setOidcTokenLifetime(seconds: number): void;
  /** Clone URL of a repository (what `remoteUrl` says). */
  gitUrl(project: string, repository: string): string;
  injectFault(fault: Fault): void;
  /** Takes a permission away from an identity (everything is allowed until then). */
  denyPermission(change: PermissionChange): void;
  /**
   * Undoes denyPermission. With repository while the whole project stays denied, that repository
   * gets an explicit allow (it overrides the inherited deny). PullRequestBypassPolicy, ForcePush and
   * PolicyExempt are held by nobody until allowed, as Azure DevOps sets them for no group.
   */
  allowPermission(change: PermissionChange): void;
  /** Sets the branch policies that decide what completion and auto-complete do (replaces earlier ones for that scope). */
  setBranchPolicy(policy: BranchPolicySettings): void;
  clearBranchPolicy(scope: { project: string; repository?: string; branch: string }): void;
  /** An approval (vote 10) by a reviewer other than the creator; a pending auto-complete then runs. */
  approvePullRequest(pullRequestId: number, reviewer?: IdentityRef): Promise<void>;
  stop(): Promise<void>;
}

function apiVersion(request: EmulatorRequest): string | undefined {
  const fromAccept = /api-version=([^;,\s]+)/i.exec(String(request.headers.accept ?? ''))?.[1];
  return fromAccept ?? request.query.get('api-version') ?? undefined;
}

function wantsOctetStream(request: EmulatorRequest): boolean {
  return /application\/(octet-stream|zip)/i.test(String(request.headers.accept ?? '')) || request.query.get('$format')?.toLowerCase() === 'octetstream';
}

function collection(items: unknown[]): { count: number; value: unknown[] } {
  return { count: items.length, value: items };
}

export async function startDevOpsEmulator(options: DevOpsEmulatorOptions = {}): Promise<DevOpsEmulator> {
  const organization = options.organization ?? 'org';
  const organizationId = randomUUID();
  const reposRoot = await mkdtemp(join(tmpdir(), 'azdo-emulator-repos-'));
  const issuer = await startOidcIssuer(organizationId);
  let oidcLifetime = options.oidcTokenLifetimeSeconds ?? 600;

  const projects = new Map<string, Project>();
  const accessTokens = new Map<string, IdentityRef>();
  const pats = new Map<string, IdentityRef>();
  const serviceConnections = new Map<string, ServiceConnection>();
  const secureFiles = new Map<string, SecureFile>();
  const oidcTokens: IssuedOidcToken[] = [];

  const buildIdentityId = randomUUID();
  const buildIdentity: IdentityRef = {
    id: buildIdentityId,
    displayName: `Project Collection Build Service (${organization})`,
    uniqueName: `Build\\${buildIdentityId}`,
    descriptor: `svc.${Buffer.from(buildIdentityId).toString('base64url')}`,
  };
  const defaultUser: IdentityRef = { id: randomUUID(), displayName: 'Pipeline Owner', uniqueName: 'owner@example.com' };

  let git: GitService;
  let base = '';

  const permissions = new PermissionStore();
  const security = new SecurityService(permissions, {
    projectById: (id) => projects.get(id.toLowerCase()),
    repositoryName: (project, id) => {
      const repository = git.findRepository(project, id);
      return repository?.id === id.toLowerCase() ? repository.name : undefined;
    },
  });
  const findProject = (nameOrId: string | undefined) => {
    if (!nameOrId) return undefined;
    const wanted = nameOrId.toLowerCase();
    return [...projects.values()].find((project) => project.id === wanted || project.name.toLowerCase() === wanted);
  };
  const requireProject = (nameOrId: string) => {
    const project = findProject(nameOrId);
    if (!project) throw vssErrors.projectNotFound(nameOrId);
    return project;
  };
  /** A project the caller cannot view is indistinguishable from a missing one (404). */
  const visibleProject = (nameOrId: string, identity: IdentityRef) => {
    const project = findProject(nameOrId);
    if (!project || !permissions.has(identity, 'ViewProject', project)) throw vssErrors.projectNotFound(nameOrId);
    return project;
  };

  function caller(request: EmulatorRequest): IdentityRef | undefined {
    const header = String(request.headers.authorization ?? '');
    const [scheme, value = ''] = header.split(' ');
    if (scheme.toLowerCase() === 'bearer') return accessTokens.get(value);
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const secret = decoded.slice(decoded.indexOf(':') + 1);
      return pats.get(secret) ?? accessTokens.get(secret);
    }
    return undefined;
  }

  /** ConnectionData's Identity (authenticatedUser / authorizedUser): the caller. */
  function identityJson(identity: IdentityRef) {
    return {
      id: identity.id,
      descriptor: identity.descriptor ?? `Microsoft.IdentityModel.Claims.ClaimsIdentity;${identity.uniqueName}`,
      subjectDescriptor: identity.descriptor ?? `aad.${Buffer.from(identity.id).toString('base64url')}`,
      providerDisplayName: identity.displayName,
      isActive: true,
      isContainer: false,
      members: [],
      memberOf: [],
      memberIds: [],
      properties: { Account: { $type: 'System.String', $value: identity.uniqueName } },
      resourceVersion: 2,
      metaTypeId: 255,
    };
  }

  function projectJson(project: Project) {
    return { id: project.id, name: project.name, url: `${base}/${organization}/_apis/projects/${project.id}`, state: 'wellFormed', revision: 1, visibility: 'private', lastUpdateTime: new Date(0).toISOString() };
  }

  async function gitRoute(request: EmulatorRequest, response: http.ServerResponse, project: Project | undefined, rest: string[], identity: IdentityRef): Promise<void> {
    const [collectionName, repositoryId, sub, ...tail] = rest;
    const method = request.method;
    if (collectionName === 'pullrequests' && repositoryId) {
      return sendJson(response, 200, await git.getPullRequest(project, undefined, Number(repositoryId), identity));
    }
    if (collectionName !== 'repositories') throw vssErrors.routeNotFound(method, request.path);

    if (!repositoryId) {
      if (method === 'POST') {
        const body = parseJsonBody<Record<string, unknown>>(request) ?? {};
        const target = project ?? visibleProject(String((body.project as Record<string, unknown> | undefined)?.id ?? ''), identity);
        return sendJson(response, 201, await git.createRepository(target, body, identity));
      }
      if (method === 'GET') return sendJson(response, 200, collection(git.listRepositories(project, identity)));
      throw vssErrors.routeNotFound(method, request.path);
    }

    const subresource = sub?.toLowerCase();
    if (!subresource) {
      if (method === 'GET') return sendJson(response, 200, git.getRepository(project, repositoryId, identity));
      if (method === 'DELETE') {
        git.deleteRepository(project, repositoryId, identity);
        return sendEmpty(response, 204);
      }
    }
    if (subresource === 'pushes') {
      if (method === 'POST') return sendJson(response, 201, await git.createPush(project, repositoryId, parseJsonBody(request) ?? {}, identity));
      if (method === 'GET' && tail[0]) {
        const push = git.getPush(project, repositoryId, Number(tail[0]), identity);
        if (!push) throw new VssError(404, 'GitPushNotFoundException', `TF401030: The push ${tail[0]} could not be found.`);
        return sendJson(response, 200, push);
      }
    }
    if (subresource === 'refs') {
      if (method === 'GET') {
        const filter = request.query.get('filter') ?? (tail.length ? tail.join('/') : undefined);
        return sendJson(response, 200, collection(await git.getRefs(project, repositoryId, filter, request.query.get('filterContains') ?? undefined, identity)));
      }
      if (method === 'POST') return sendJson(response, 200, collection(await git.updateRefs(project, repositoryId, parseJsonBody(request) ?? [], identity)));
      if (method === 'PATCH') {
        const filter = request.query.get('filter') ?? tail.join('/');
        const body = parseJsonBody<Record<string, unknown>>(request) ?? {};
        const [result] = await git.updateRefs(project, repositoryId, [{ ...body, name: body.name ?? `refs/${filter}` }], identity);
        return sendJson(response, 200, { name: result.name, objectId: result.newObjectId });
      }
    }
    if (subresource === 'items' && method === 'GET') {
      const query = new URLSearchParams(request.query);
      if (!query.get('path') && tail.length) query.set('path', tail.join('/'));
      const { json, content } = await git.getItem(project, repositoryId, query, identity);
      if (wantsOctetStream(request) && content) {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length });
        response.end(content);
        return;
      }
      return sendJson(response, 200, Array.isArray(json) ? collection(json) : json);
    }
    if (subresource === 'pullrequests') {
      const pullRequestId = tail[0];
      if (!pullRequestId && method === 'POST') return sendJson(response, 201, await git.createPullRequest(project, repositoryId, parseJsonBody(request) ?? {}, identity));
      if (!pullRequestId && method === 'GET') return sendJson(response, 200, collection(git.listPullRequests(project, repositoryId, request.query, identity)));
      if (pullRequestId && method === 'GET') return sendJson(response, 200, await git.getPullRequest(project, repositoryId, Number(pullRequestId), identity));
      if (pullRequestId && method === 'PATCH') {
        return sendJson(response, 200, await git.updatePullRequest(project, repositoryId, Number(pullRequestId), parseJsonBody(request) ?? {}, identity));
      }
    }
    // Any other route under a repository still needs Read on it first.
    git.repository(project, repositoryId, identity);
    throw vssErrors.routeNotFound(method, request.path);
  }

  /**
   * Smart HTTP under {project}/_git/{repository}: fetches need Read (404 otherwise, as for REST);
   * a push whose ref updates lack Contribute / Create branch is answered with one
   * "ng <ref> TF401027 …" per ref and applies nothing.
   */
  async function gitHttpRoute(request: EmulatorRequest, response: http.ServerResponse, scope: string | undefined, after: string[], identity: IdentityRef): Promise<void> {
    const project = scope ? visibleProject(scope, identity) : undefined;
    const repository = git.repository(project, after[0] ?? '', identity);
    const service = after.at(-1);
    if (request.method === 'POST' && service === 'git-receive-pack') {
      const body = /gzip/i.test(String(request.headers['content-encoding'] ?? '')) ? gunzipSync(request.body) : request.body;
      const { commands, capabilities } = parseReceivePackRequest(body);
      const reasons = new Map<string, string>();
      for (const command of commands) {
        const refusal = git.refUpdateRefusal(repository, identity, command.refName, command.oldObjectId === ZERO_ID && command.newObjectId !== ZERO_ID);
        if (refusal) reasons.set(command.refName, refusal.message);
      }
      if (reasons.size > 0) return refuseReceivePack(response, commands, reasons, capabilities);
    }
    await serveGitHttp({ request, projectRoot: reposRoot, pathInfo: `/${repository.id}.git/${after.slice(1).join('/')}`, remoteUser: identity.uniqueName }, response);
    if (service === 'git-receive-pack') await git.noticeGitPush(repository.id);
  }

  function distributedTaskRoute(request: EmulatorRequest, response: http.ServerResponse, scope: string | undefined, rest: string[], identity: IdentityRef): void {
    const [resource, ...tail] = rest;
    if (resource === 'securefiles' && request.method === 'GET' && tail[0]) {
      const project = visibleProject(scope ?? '', identity);
      const file = secureFiles.get(tail[0].toLowerCase());
      if (!file || file.project.id !== project.id) throw vssErrors.secureFileNotFound(tail[0]);
      if (wantsOctetStream(request)) {
        if (request.query.get('ticket') !== file.ticket) throw vssErrors.secureFileTicketInvalid(file.id);
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.content.length });
        response.end(file.content);
        return;
      }
      return sendJson(response, 200, { id: file.id, name: file.name, createdBy: defaultUser, createdOn: new Date(0).toISOString(), modifiedBy: defaultUser, modifiedOn: new Date(0).toISOString(), properties: {} });
    }
    // {scopeIdentifier}/_apis/distributedtask/hubs/{hub}/plans/{plan}/jobs/{job}/oidctoken
    if (resource === 'hubs' && tail[1] === 'plans' && tail[3] === 'jobs' && tail[5] === 'oidctoken' && request.method === 'POST') {
      const project = visibleProject(scope ?? '', identity);
      const serviceConnectionId = request.query.get('serviceConnectionId') ?? undefined;
      let subject = `p://${organization}/${project.name}/${tail[2]}`;
      if (serviceConnectionId) {
        const connection = serviceConnections.get(serviceConnectionId.toLowerCase());
        if (!connection || connection.project.id !== project.id) throw vssErrors.serviceConnectionNotFound(serviceConnectionId);
        subject = connection.subject;
      }
      const { token, expiresOn } = issuer.mint(subject, FEDERATED_TOKEN_AUDIENCE, oidcLifetime);
      oidcTokens.push({ serviceConnectionId, subject, token, expiresOn });
      return sendJson(response, 200, { oidcToken: token });
    }
    throw vssErrors.routeNotFound(request.method, request.path);
  }

  const server: EmulatorServer = await startEmulatorServer({
    name: 'azdo',
    onError: (error, response) => {
      if (error instanceof VssError) sendJson(response, error.status, error.body());
      else sendJson(response, 500, new VssError(500, 'VssServiceException', String((error as Error)?.stack ?? error), 'Microsoft.VisualStudio.Services.Common').body());
    },
    handler: async (request, response) => {
      const segments = request.path.split('/').filter(Boolean);
      if (segments[0]?.toLowerCase() !== organization.toLowerCase()) throw vssErrors.routeNotFound(request.method, request.path);
      const rest = segments.slice(1);
      const marker = rest.findIndex((segment) => segment === '_apis' || segment === '_git');
      if (marker < 0 || marker > 1) throw vssErrors.routeNotFound(request.method, request.path);
      const scope = marker === 1 ? rest[0] : undefined;
      const after = rest.slice(marker + 1);

      const identity = caller(request);
      if (rest[marker] === '_git') {
        if (!identity) {
          response.writeHead(401, { 'WWW-Authenticate': `Basic realm="${base}/"`, 'Content-Length': 0 });
          response.end();
          return;
        }
        return gitHttpRoute(request, response, scope, after, identity);
      }

      if (!identity) {
        const error = vssErrors.unauthorized();
        return sendJson(response, error.status, error.body(), { 'WWW-Authenticate': 'Bearer authorization_uri=https://login.microsoftonline.com/common', 'X-TFS-FedAuthRedirect': 'Suppress' });
      }
      const area = after[0]?.toLowerCase() ?? '';
      if (request.method === 'OPTIONS' && after.length === 1 && !scope) {
        const locations = locationsForArea(area);
        return sendJson(response, 200, collection(locations));
      }
      // webApi.connect() sends no api-version; LocationsApi.getConnectionData() does.
      if (area === 'connectiondata' && request.method === 'GET' && after.length === 1 && !scope) {
        return sendJson(response, 200, {
          authenticatedUser: identityJson(identity),
          authorizedUser: identityJson(identity),
          instanceId: organizationId,
          deploymentId: organizationId,
          deploymentType: 'hosted',
          locationServiceData: {
            serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
            defaultAccessMappingMoniker: 'PublicAccessMapping',
            lastChangeId: 1,
            lastChangeId64: 1,
            accessMappings: [{ displayName: 'Public Access Mapping', moniker: 'PublicAccessMapping', accessPoint: `${base}/`, serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7', virtualDirectory: organization }],
          },
        });
      }
      if (!apiVersion(request)) throw vssErrors.apiVersionMissing(request.method);
      if (area === 'resourceareas') {
        // The on-premises answer: every area lives under the collection URL itself.
        return sendJson(response, 200, { count: 0, value: null });
      }
      if (area === 'projects' && request.method === 'GET') {
        if (after[1]) return sendJson(response, 200, projectJson(visibleProject(after[1], identity)));
        return sendJson(response, 200, collection([...projects.values()].filter((project) => permissions.has(identity, 'ViewProject', project)).map(projectJson)));
      }
      // Security - Permissions - Evaluation Batch: collection level only (route `_apis/{area}/{resource}`).
      if (area === 'security' && !scope && after.length === 2 && after[1].toLowerCase() === 'permissionevaluationbatch' && request.method === 'POST') {
        let body: unknown;
        try {
          body = parseJsonBody(request);
        } catch {
          body = undefined; // a body that does not bind leaves evalBatch null
        }
        return sendJson(response, 200, security.evaluateBatch(body, identity));
      }
      const project = scope ? visibleProject(scope, identity) : undefined;
      if (area === 'git') return gitRoute(request, response, project, after.slice(1).map((segment, index) => (index === 0 || index === 2 ? segment.toLowerCase() : segment)), identity);
      if (area === 'distributedtask') return distributedTaskRoute(request, response, scope, after.slice(1).map((segment, index) => (index === 0 ? segment.toLowerCase() : segment)), identity);
      throw vssErrors.routeNotFound(request.method, request.path);
    },
  });
  base = server.url;
  const collectionUrl = `${base}/${organization}/`;
  git = new GitService(collectionUrl, base, organization, reposRoot, permissions);

  const systemAccessToken = randomBytes(48).toString('base64url');
  accessTokens.set(systemAccessToken, buildIdentity);

  const emulator: DevOpsEmulator = {
    url: base,
    organization,
    organizationId,
    collectionUrl,
    oidcIssuer: issuer.issuer,
    systemAccessToken,
    buildIdentity,
    requests: server.requests,
    autoCompleteNotifications: git.autoCompleteNotifications,
    oidcTokens,
    permissionEvaluations: security.evaluations,
    reposRoot,
    addProject({ name, id }) {
      const project = { id: (id ?? randomUUID()).toLowerCase(), name };
      projects.set(project.id, project);
      return project;
    },
    addAccessToken(token = randomBytes(48).toString('base64url'), identity = buildIdentity) {
      accessTokens.set(token, identity);
      return token;
    },
    addPersonalAccessToken(pat, identity = defaultUser) {
      // 52 characters: azure-devops-node-api recognises it as a PAT and sends Basic auth.
      const value = pat ?? Array.from(randomBytes(52), (byte) => 'abcdefghijklmnopqrstuvwxyz234567'[byte % 32]).join('');
      pats.set(value, identity);
      return value;
    },
    addServiceConnection({ name, project, id }) {
      const owner = requireProject(project);
      const connection: ServiceConnection = {
        id: (id ?? randomUUID()).toLowerCase(), name, project: owner,
        subject: `sc://${organization}/${owner.name}/${name}`, issuer: issuer.issuer, audience: FEDERATED_TOKEN_AUDIENCE,
      };
      serviceConnections.set(connection.id, connection);
      return connection;
    },
    addSecureFile({ project, name, content, id }) {
      const file: SecureFile = {
        id: (id ?? randomUUID()).toLowerCase(), name, project: requireProject(project),
        ticket: randomBytes(32).toString('base64url'), content: Buffer.from(content),
      };
      secureFiles.set(file.id, file);
      return file;
    },
    oidcRequestUri({ project, hub = 'build', planId = randomUUID(), jobId = randomUUID() }) {
      return `${collectionUrl}${requireProject(project).id}/_apis/distributedtask/hubs/${hub}/plans/${planId}/jobs/${jobId}/oidctoken`;
    },
    setOidcTokenLifetime(seconds) {
      oidcLifetime = seconds;
    },
    gitUrl(project, repository) {
      const owner = requireProject(project);
      const found = git.findRepository(owner, repository);
      if (!found) throw vssErrors.repositoryNotFound(repository);
      return git.remoteUrl(found);
    },
    injectFault: (fault) => server.faults.add(fault),
    denyPermission({ identity = buildIdentity, permission, project, repository }) {
      permissions.deny(identity, permission, requireProject(project), repository);
    },
    allowPermission({ identity = buildIdentity, permission, project, repository }) {
      permissions.allow(identity, permission, requireProject(project), repository);
    },
    setBranchPolicy({ project, repository, branch, requiredReviewers, allowedMergeTypes }) {
      git.setBranchPolicy(requireProject(project), repository, branch, { requiredReviewers, allowedMergeTypes: allowedMergeTypes as MergeStrategy[] | undefined });
    },
    clearBranchPolicy({ project, repository, branch }) {
      git.clearBranchPolicy(requireProject(project), repository, branch);
    },
    async approvePullRequest(pullRequestId, reviewer) {
      await git.approvePullRequest(pullRequestId, reviewer);
    },
    async stop() {
      await Promise.all([server.stop(), issuer.stop()]);
      await rm(reposRoot, { recursive: true, force: true });
    },
  };
  return emulator;
}
