// The Security REST API's "Permissions - Evaluation Batch" (HasPermissionsBatch): asks, without
// writing anything, whether the caller holds permissions, answered from the emulator's own
// permission model (permissions.ts), so an evaluation and the write it predicts always agree.
//
// Sources:
// * route and shapes: MicrosoftDocs/vsts-rest-api-specs specification/security/7.1/security.json
//   (POST {organization}/_apis/security/permissionevaluationbatch, body and answer both
//   PermissionEvaluationBatch) and its example POST__security_permissionevaluationbatch__...json;
//   the route is registered as `_apis/{area}/{resource}`, area Security, resource
//   PermissionEvaluationBatch, location cf1faa59-1b63-4448-bf04-13d981a46f5d, released since 3.0
//   (SecurityRestApiResourceProvider), so api-version=7.1 is accepted;
// * behaviour: PermissionEvaluationsController.HasPermissionsBatch (Azure DevOps Server 2022,
//   Microsoft.TeamFoundation.Framework.Server, decompiled in mjwrona/decompiled): the batch is
//   evaluated for the caller alone, grouped by namespace; a namespace that does not exist throws
//   InvalidSecurityNamespaceException for the whole batch (it is NOT answered with value false);
//   a null token throws ArgumentNullException; the batch is returned with each `value` set, so the
//   order of the evaluations is kept;
// * serialization: PermissionEvaluationBatch / PermissionEvaluation contracts
//   (Microsoft.VisualStudio.Services.Security): alwaysAllowAdministrators is left out when false
//   (EmitDefaultValue = false), value is always written;
// * Git tokens: namespace reference (learn.microsoft.com/azure/devops/organizations/security/
//   namespace-reference: repoV2/PROJECT_ID[/REPO_ID]) and "Git repo tokens for the security
//   service" (devblogs.microsoft.com/devops/git-repo-tokens-for-the-security-service): a branch is
//   repoV2/<projectId>/<repositoryId>/refs/heads/<each segment of the name as the hex of its
//   UTF-16LE bytes>, segments joined with "/" ("master" → 6d0061007300740065007200); the
//   client samples' TokenHelpers.CalculateGitToken ends every part with "/", Terraform's
//   buildGitToken does not, and tokens are case-insensitive — all forms are accepted;
// * bits: GitRepositoryPermissions (GenericRead 2, GenericContribute 4, ForcePush 8,
//   CreateBranch 16, PolicyExempt 128, CreateRepository 256, PullRequestContribute 16384,
//   PullRequestBypassPolicy 32768) and the Project namespace's GENERIC_READ 1.
import type { IdentityRef, Project } from './git-service.js';
import type { GitPermission, PermissionStore } from './permissions.js';
import { vssErrors } from './vss-errors.js';

export const GIT_REPOSITORIES_NAMESPACE = '2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87';
export const PROJECT_NAMESPACE = '52d39943-cb85-4d7f-8fa8-c6baac873819';

/** The GitRepositoryPermissions bits the emulator's model answers. */
export const GIT_PERMISSION_BITS: Readonly<Record<GitPermission, number>> = {
  GenericRead: 2,
  GenericContribute: 4,
  ForcePush: 8,
  CreateBranch: 16,
  PolicyExempt: 128,
  CreateRepository: 256,
  PullRequestContribute: 16384,
  PullRequestBypassPolicy: 32768,
};
const OTHER_GIT_BITS: Readonly<Record<number, string>> = {
  1: 'Administer', 32: 'CreateTag', 64: 'ManageNote', 512: 'DeleteRepository', 1024: 'RenameRepository',
  2048: 'EditPolicies', 4096: 'RemoveOthersLocks', 8192: 'ManagePermissions',
};
/** Project namespace: GENERIC_READ ("View project-level information") is the emulator's ViewProject. */
const PROJECT_VIEW_BIT = 1;

/**
 * Namespaces Azure DevOps has (namespace reference) that the emulator does not model: asking them
 * is answered 501, so a test learns that the emulator, not the caller, lacks them. Any other id is
 * what the service calls an invalid namespace.
 */
const UNMODELLED_NAMESPACES: ReadonlySet<string> = new Set([
  'd34d3680-dfe5-4cc6-a949-7d9c68f73cba', '33344d9c-fc72-4d6f-aba5-fa317101a7e9', '83e28ad4-2d72-4ceb-97b0-c7726d5502c3',
  '8adf73b7-389a-4276-b638-fe1653f7efc7', 'bf7bfa03-b2b7-47db-8113-fa2e002cc5b1', 'f6a4de49-dbe2-4704-86dc-f8ec1a294436',
  'bed337f8-e5f3-4fb9-80da-81e17d06e7a8', 'c788c23e-1b46-4162-8f5e-d7585343b5de', '71356614-aad7-4757-8f2c-0fb3bff6f680',
  'bb50f182-8e5e-40b8-bc21-e8752a1e7ae2', 'a39371cf-0841-4c16-bbd3-276e341bc052', 'a6cc6381-a1ca-4b36-b3c1-4e65211e82b6',
  '302acaca-b667-436d-a946-87133492041c', '3e65f728-f8bc-4ecd-8764-7e378b19bfa7', '2dab47f9-bd70-49ed-9bd5-8eb051e59c02',
  '93bafc04-9075-403a-9367-b7164eac6b5c', '66312704-deb5-43f9-b51c-ab4ff5e351c3', '101eae8c-1709-47f9-b228-0e476c35b3ba',
  '83d4c2e6-e57d-4d6e-892b-b87222b7ad20', '5a27515b-ccd7-42c9-84f1-54c998f03866',
]);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/** The Git Repositories token of a project, a repository or a branch (`main`, `users/alice/fix` or `refs/heads/…`). */
export function gitSecurityToken(projectId: string, repositoryId?: string, branch?: string): string {
  let token = `repoV2/${projectId}`;
  if (!repositoryId) return token;
  token += `/${repositoryId}`;
  if (!branch) return token;
  const segments = branch.replace(/^refs\/heads\//, '').replace(/\/+$/, '').split('/');
  return `${token}/refs/heads/${segments.map((segment) => Buffer.from(segment, 'utf16le').toString('hex')).join('/')}`;
}

/** One evaluation as the emulator answered it, with what its token named (when it names something the emulator has). */
export interface PermissionEvaluationRecord {
  identity: IdentityRef;
  securityNamespaceId: string;
  token: string;
  permissions: number;
  value: boolean;
  /** Project name. */
  project?: string;
  /** Repository name. */
  repository?: string;
  /** The ref a token below a repository names, decoded (`refs/heads/users/alice/fix`); undefined when not decodable. */
  ref?: string;
}

export interface SecurityLookups {
  projectById(id: string): Project | undefined;
  /** Name of the repository with this id in the project (ids only: a token never names a repository by name). */
  repositoryName(project: Project, id: string): string | undefined;
}

type Json = Record<string, unknown>;

/** Json.NET binds property names case-insensitively (the spec's own example sends `securitynamespaceid`). */
function field(object: Json, name: string): unknown {
  const key = Object.keys(object).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : object[key];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `refs/heads/<hex>/<hex>` back to `refs/heads/a/b`; undefined when a segment is not UTF-16LE hex. */
function decodeRef(parts: string[]): string | undefined {
  const [refs, kind, ...encoded] = parts;
  if (refs !== 'refs' || !kind) return undefined;
  const names: string[] = [];
  for (const segment of encoded) {
    if (!/^([0-9a-f]{4})+$/.test(segment)) return undefined;
    names.push(Buffer.from(segment, 'hex').toString('utf16le'));
  }
  return ['refs', kind, ...names].join('/');
}

interface Evaluated {
  value: boolean;
  project?: string;
  repository?: string;
  ref?: string;
}

export class SecurityService {
  readonly evaluations: PermissionEvaluationRecord[] = [];

  constructor(private readonly permissions: PermissionStore, private readonly lookups: SecurityLookups) {}

  /**
   * The answer to POST _apis/security/permissionevaluationbatch for the caller. alwaysAllowAdministrators
   * changes nothing: the emulator has no administrators.
   */
  evaluateBatch(body: unknown, caller: IdentityRef): Json {
    if (!isObject(body)) throw vssErrors.argumentNull('evalBatch');
    const evaluations = field(body, 'evaluations');
    if (evaluations === undefined || evaluations === null) throw vssErrors.argumentNull('source');
    if (!Array.isArray(evaluations) || !evaluations.every(isObject)) throw vssErrors.argumentNull('evalBatch');
    const requests = evaluations.map((evaluation) => {
      const namespace = field(evaluation, 'securityNamespaceId') ?? EMPTY_GUID;
      const permissions = field(evaluation, 'permissions') ?? 0;
      // A value Json.NET cannot bind to Guid / int leaves the whole body unbound (evalBatch null).
      if (typeof namespace !== 'string' || !GUID.test(namespace)) throw vssErrors.argumentNull('evalBatch');
      if (!/^-?\d+$/.test(String(permissions))) throw vssErrors.argumentNull('evalBatch');
      const token = field(evaluation, 'token');
      return { securityNamespaceId: namespace.toLowerCase(), token: token as string | null | undefined, permissions: Number(permissions) };
    });
    // Namespace by namespace in order of first appearance, as the controller's GroupBy does: the
    // first invalid namespace or null token fails the batch.
    const answers = new Map<number, Evaluated>();
    for (const namespace of [...new Set(requests.map((request) => request.securityNamespaceId))]) {
      if (namespace !== GIT_REPOSITORIES_NAMESPACE && namespace !== PROJECT_NAMESPACE) {
        if (UNMODELLED_NAMESPACES.has(namespace)) throw vssErrors.notModelled(`the security namespace ${namespace}; it evaluates Git Repositories (${GIT_REPOSITORIES_NAMESPACE}) and Project (${PROJECT_NAMESPACE})`);
        throw vssErrors.invalidSecurityNamespace(namespace);
      }
      requests.forEach((request, index) => {
        if (request.securityNamespaceId !== namespace) return;
        if (typeof request.token !== 'string') throw vssErrors.argumentNull('token');
        answers.set(index, namespace === GIT_REPOSITORIES_NAMESPACE
          ? this.evaluateGit(caller, request.token, request.permissions)
          : this.evaluateProject(caller, request.token, request.permissions));
      });
    }
    const result = requests.map((request, index) => {
      const { value, project, repository, ref } = answers.get(index)!;
      this.evaluations.push({ identity: caller, ...request, token: request.token!, value, project, repository, ref });
      return { securityNamespaceId: request.securityNamespaceId, token: request.token, permissions: request.permissions, value };
    });
    return { evaluations: result, ...(field(body, 'alwaysAllowAdministrators') === true ? { alwaysAllowAdministrators: true } : {}) };
  }

  /** Every requested bit must be held (none requested: nothing to refuse, true). */
  private evaluateGit(caller: IdentityRef, token: string, bits: number): Evaluated {
    const names = Object.entries(GIT_PERMISSION_BITS).filter(([, bit]) => bits & bit).map(([name]) => name as GitPermission);
    const unmodelled = Object.entries(OTHER_GIT_BITS).filter(([bit]) => bits & Number(bit)).map(([bit, name]) => `${bit} (${name})`);
    const known = Object.values(GIT_PERMISSION_BITS).reduce((all, bit) => all | bit, 0) | Object.keys(OTHER_GIT_BITS).reduce((all, bit) => all | Number(bit), 0);
    if (bits & ~known) unmodelled.push(String(bits & ~known));
    if (unmodelled.length) {
      throw vssErrors.notModelled(`Git Repositories permission bit(s) ${unmodelled.join(', ')}; it evaluates ${Object.entries(GIT_PERMISSION_BITS).map(([name, bit]) => `${name} ${bit}`).join(', ')}`);
    }
    if (bits === 0) return { value: true };
    // Hierarchical: repoV2 / project / repository / refs/heads/<branch>. Without branch-level ACLs a
    // ref token inherits its repository's; a repository id the project does not have inherits the
    // project's ACL, as any token below it would; a project the organization lacks holds nothing.
    const parts = token.toLowerCase().replace(/\/+$/, '').split('/');
    if (parts[0] !== 'repov2' || !parts[1]) return { value: false };
    const project = this.lookups.projectById(parts[1]);
    if (!project) return { value: false };
    const repository = parts[2] ? this.lookups.repositoryName(project, parts[2]) : undefined;
    const value = names.every((name) => this.permissions.has(caller, name, project, repository));
    return { value, project: project.name, repository, ref: repository && parts.length > 3 ? decodeRef(parts.slice(3)) : undefined };
  }

  /** `$PROJECT:vstfs:///Classification/TeamProject/<projectId>`, bit 1 only. */
  private evaluateProject(caller: IdentityRef, token: string, bits: number): Evaluated {
    if (bits & ~PROJECT_VIEW_BIT) throw vssErrors.notModelled(`Project permission bit(s) ${bits & ~PROJECT_VIEW_BIT}; it evaluates GENERIC_READ 1 (ViewProject)`);
    if (bits === 0) return { value: true };
    const match = /^\$project:vstfs:\/\/\/classification\/teamproject\/([0-9a-f-]{36})\/?$/.exec(token.toLowerCase());
    const project = match ? this.lookups.projectById(match[1]) : undefined;
    if (!project) return { value: false };
    return { value: this.permissions.has(caller, 'ViewProject', project), project: project.name };
  }
}
