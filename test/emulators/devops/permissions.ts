// Git repository permissions per identity, as Azure DevOps keeps them: a project-wide ACL ("All
// repositories" of the project) that every repository inherits, and per-repository ACLs that
// override it. Everything is allowed until a test denies it.
import type { IdentityRef, Project } from './git-service.js';

/**
 * Names of `GitRepositoryPermissions` (what TF401027 quotes), plus the project's
 * "View project-level information" as ViewProject. ForcePush and PolicyExempt are only answered
 * by the Security API's permission evaluation; no write of the emulator demands them.
 */
export type GitPermission = 'CreateRepository' | 'GenericRead' | 'GenericContribute' | 'ForcePush' | 'CreateBranch' | 'PolicyExempt' | 'PullRequestContribute' | 'PullRequestBypassPolicy';
export type Permission = GitPermission | 'ViewProject';

export const PERMISSIONS: readonly Permission[] = ['CreateRepository', 'GenericRead', 'GenericContribute', 'ForcePush', 'CreateBranch', 'PolicyExempt', 'PullRequestContribute', 'PullRequestBypassPolicy', 'ViewProject'];

/** Permissions that exist at project scope only (no per-repository ACL). */
const PROJECT_ONLY: ReadonlySet<Permission> = new Set(['CreateRepository', 'ViewProject']);
/**
 * Not held until allowed: "Bypass policies when completing pull requests", "Bypass policies when
 * pushing" and "Force push" are "not set for any security group" by default (Default Git
 * repository and branch permissions, learn.microsoft.com/azure/devops/organizations/security/
 * default-git-permissions); a REST completion bypasses failing policies whenever the first is held.
 */
const DENIED_BY_DEFAULT: ReadonlySet<Permission> = new Set(['PullRequestBypassPolicy', 'PolicyExempt', 'ForcePush']);

type Setting = 'deny' | 'allow';

export class PermissionStore {
  private readonly entries = new Map<string, Setting>();

  private key(identityId: string, permission: Permission, projectId: string, repository: string | undefined): string {
    return `${identityId.toLowerCase()}|${permission}|${projectId}|${repository?.toLowerCase() ?? '*'}`;
  }

  private validate(permission: Permission, repository: string | undefined): void {
    if (!PERMISSIONS.includes(permission)) throw new Error(`Unknown permission '${permission}'; one of ${PERMISSIONS.join(', ')}.`);
    if (repository !== undefined && PROJECT_ONLY.has(permission)) throw new Error(`${permission} is a project-level permission; omit repository.`);
  }

  private projectSetting(identity: IdentityRef, permission: Permission, project: Project): Setting {
    return this.entries.get(this.key(identity.id, permission, project.id, undefined)) ?? (DENIED_BY_DEFAULT.has(permission) ? 'deny' : 'allow');
  }

  deny(identity: IdentityRef, permission: Permission, project: Project, repository?: string): void {
    this.validate(permission, repository);
    this.entries.set(this.key(identity.id, permission, project.id, repository), 'deny');
  }

  /**
   * Undoes deny(). For one repository while the whole project stays denied, the repository gets an
   * explicit allow (an explicit repository ACL overrides the inherited project one, as in Azure
   * DevOps); for the whole project, every repository-level entry of that permission goes too.
   */
  allow(identity: IdentityRef, permission: Permission, project: Project, repository?: string): void {
    this.validate(permission, repository);
    if (repository === undefined) {
      const prefix = this.key(identity.id, permission, project.id, undefined).slice(0, -1);
      for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
      if (DENIED_BY_DEFAULT.has(permission)) this.entries.set(this.key(identity.id, permission, project.id, undefined), 'allow');
      return;
    }
    const key = this.key(identity.id, permission, project.id, repository);
    if (this.projectSetting(identity, permission, project) === 'deny') this.entries.set(key, 'allow');
    else this.entries.delete(key);
  }

  has(identity: IdentityRef, permission: Permission, project: Project, repository?: string): boolean {
    const own = repository === undefined ? undefined : this.entries.get(this.key(identity.id, permission, project.id, repository));
    return (own ?? this.projectSetting(identity, permission, project)) === 'allow';
  }
}
