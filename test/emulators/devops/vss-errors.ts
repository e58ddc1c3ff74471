// Azure DevOps answers errors with a serialized .NET exception; azure-devops-node-api surfaces its
// `message` (and turns a plain 404 on GET into null).
export class VssError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
    readonly assembly = 'Microsoft.TeamFoundation.Git.Server',
    /** The type's namespace when it differs from the assembly name (System in mscorlib). */
    readonly namespace = assembly,
  ) {
    super(message);
  }

  body() {
    return {
      $id: '1',
      innerException: null,
      message: this.message,
      typeName: `${this.namespace}.${this.typeKey}, ${this.assembly}`,
      typeKey: this.typeKey,
      errorCode: 0,
      eventId: 3000,
    };
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const invalidArgument = (message: string) => new VssError(400, 'InvalidArgumentValueException', message, 'Microsoft.TeamFoundation.SourceControl.WebServer');

/**
 * Rejection reasons of branch policies. MergeStrategyNotAllowed is the Git server's resource
 * ("Current merge strategy is not allowed by policy."), the reason auto-complete is cancelled
 * with; the merge-type policy's own rejection text for a direct completion is not in the sources
 * found, so the emulator uses the same sentence. PullRequestUpdateRejectedByPolicy is the
 * exception's generic text, used for a minimum-reviewers rejection.
 */
export const policyReasons = {
  mergeStrategyNotAllowed: 'Current merge strategy is not allowed by policy.',
  rejectedByPolicy: 'TF401190: The update is rejected by policy',
  policiesBlocking: 'Policies blocked pull request completion.',
};

export const vssErrors = {
  unauthorized: () =>
    new VssError(401, 'UnauthorizedRequestException', "TF400813: The user '' is not authorized to access this resource.", 'Microsoft.TeamFoundation.Framework.Server'),
  apiVersionMissing: (method: string) =>
    new VssError(400, 'VssVersionNotSpecifiedException', `No api-version was supplied for the "${method}" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. "?api-version=1.0").`, 'Microsoft.VisualStudio.Services.WebApi'),
  /** By name TF200016, by id VS800075; both 404, and what a project the caller cannot see gives too. */
  projectNotFound: (project: string) =>
    GUID.test(project)
      ? new VssError(404, 'ProjectDoesNotExistException', `VS800075: The project with id '${project}' does not exist, or you do not have permission to access it.`, 'Microsoft.TeamFoundation.Core.WebApi')
      : new VssError(404, 'ProjectDoesNotExistWithNameException', `TF200016: The following project does not exist: ${project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`, 'Microsoft.TeamFoundation.Core.WebApi'),
  /** GitNeedsPermissionException; scope is project, repository, "project or repository" or branch. */
  needsPermission: (identity: string, permission: string, scope: string) =>
    new VssError(403, 'GitNeedsPermissionException', `TF401027: You need the Git '${permission}' permission to perform this action. Details: identity '${identity}', scope '${scope}'.`),
  repositoryNotFound: (repository: string) =>
    new VssError(404, 'GitRepositoryNotFoundException', `TF401019: The Git repository with name or identifier ${repository} does not exist or you do not have permissions for the operation you are attempting.`),
  repositoryExists: (name: string) =>
    new VssError(409, 'GitRepositoryNameAlreadyExistsException', `TF400948: A Git repository with the name ${name} already exists.`),
  invalidArgument,
  staleRef: (ref: string) =>
    new VssError(409, 'GitReferenceStaleException', `TF401028: The reference '${ref}' has already been updated by another client, so you cannot update it. Please try again.`),
  /** A push's add of an existing path / edit or delete of a missing one (reference §3.1). */
  itemExists: (path: string) =>
    invalidArgument(`The path '/${path}' specified in the add operation already exists. Please specify a new path.`),
  pathMissingAtCommit: (path: string, commitId: string) =>
    invalidArgument(`The path '/${path}' does not exist at commit '${commitId}'`),
  pushCount: () => invalidArgument('The parameters are incorrect. A posted push must contain exactly one commit and one refUpdate.'),
  invalidParameters: () => invalidArgument('The combination of parameters is either not valid or not complete.'),
  unresolvableToCommit: (objectId: string) =>
    new VssError(404, 'GitUnresolvableToCommitException', `TF401048: Couldn't resolve object '${objectId}' to a commit.`),
  itemNotFound: (path: string, repository: string, version: string) =>
    new VssError(404, 'GitItemNotFoundException', `TF401174: The item '/${path}' could not be found in the repository '${repository}' at the version specified by '${version}' (resolved to commit ${version}).`),
  pullRequestNotFound: (id: number) =>
    new VssError(404, 'GitPullRequestNotFoundException', `TF401180: The requested pull request was not found. Pull request ID: ${id}.`),
  pullRequestExists: (id: number) =>
    new VssError(409, 'GitPullRequestExistsException', `TF401179: An active pull request for the source and target branch already exists. Pull request ID: ${id}.`),
  branchesMissing: () =>
    new VssError(400, 'GitPullRequestCannotBeActivated', 'TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches'),
  pullRequestStale: () =>
    new VssError(409, 'GitPullRequestStaleException', 'TF401181: The pull request was updated by another user or the source branch has been updated since the operation was started. Refresh and try again.'),
  notEditable: () =>
    new VssError(400, 'GitPullRequestNotEditableException', 'TF401181: The pull request cannot be edited due to its state.'),
  // Pull request validation: texts of Microsoft.TeamFoundation.SourceControl.WebServer's Resources.resx
  // (MissingPullRequestRef, InvalidPullRequestTitle, PullRequestTargetEqualSource, PullRequestDescriptionTooLong,
  // InvalidPullRequestUpdate, InvalidPullRequestAutoCompleteSetById, BypassOptionNotAllowedWithAutoComplete,
  // LastMergeSourceCommitRequired, InvalidPullRequestMergeStatusUpdate, MismatchRepositoryId).
  missingPullRequestRef: () => invalidArgument('Both a source and target reference is required.'),
  invalidPullRequestTitle: () => invalidArgument('Invalid pull request title.'),
  sameSourceAndTarget: () => invalidArgument('A source and a target reference cannot be the same.'),
  descriptionTooLong: () => invalidArgument('A description for a pull request must not be longer than 4000 characters.'),
  invalidPullRequestUpdate: () => invalidArgument('You can only update reviewers, descriptions, titles, merge status, and status.'),
  invalidAutoCompleteSetBy: () =>
    invalidArgument('Invalid pull request auto complete set by id. Valid values are either the current user identity id, or an empty guid (to unset auto complete).'),
  bypassWithAutoComplete: () => invalidArgument('The bypass option cannot be used with auto-complete.'),
  lastMergeSourceCommitRequired: () => invalidArgument('You must specify a valid LastMergeSourceCommit to perform this operation.'),
  mergeStatusUpdate: () => invalidArgument('You can only update the merge status to Queued.'),
  repositoryMismatch: () => invalidArgument("The repository ID in the pull request doesn't match the one in the URI."),
  /**
   * GitPullRequestUpdateRejectedByPolicyException (403 in GitApiController's map), thrown by
   * TryEnterCompletionQueue with the failing policy's rejection reason.
   */
  rejectedByPolicy: (reason: string) => new VssError(403, 'GitPullRequestUpdateRejectedByPolicyException', reason),
  secureFileNotFound: (id: string) =>
    new VssError(404, 'SecureFileNotFoundException', `Secure file ${id} not found.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  secureFileTicketInvalid: (id: string) =>
    new VssError(403, 'AccessDeniedException', `The ticket is not valid for secure file ${id}.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  serviceConnectionNotFound: (id: string) =>
    new VssError(400, 'ServiceEndpointNotFoundException', `Service connection with id ${id} could not be found.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  /**
   * ArgumentUtility.CheckForNull (and a body that does not bind, which leaves the parameter null):
   * ArgumentNullException, 400 in TfsApiController's exception map.
   */
  argumentNull: (parameter: string) =>
    new VssError(400, 'ArgumentNullException', `Value cannot be null.\r\nParameter name: ${parameter}`, 'mscorlib', 'System'),
  /**
   * PermissionEvaluationsController throws InvalidSecurityNamespaceException for a namespace the
   * organization does not have; it is a TeamFoundationServiceException without a status of its own
   * and the controller maps none, so it answers 500. Its text (TFCommonResources
   * .InvalidSecurityNamespaceGuid) is not in the sources found; this sentence is the emulator's.
   */
  invalidSecurityNamespace: (namespaceId: string) =>
    new VssError(500, 'InvalidSecurityNamespaceException', `The security namespace ${namespaceId} does not exist.`, 'Microsoft.TeamFoundation.Framework.Server'),
  /** What the emulator does not model (not a service error): 501, as TfsApiController maps NotImplementedException. */
  notModelled: (what: string) =>
    new VssError(501, 'NotImplementedException', `The Azure DevOps emulator does not model ${what}.`, 'mscorlib', 'System'),
  routeNotFound: (method: string, path: string) =>
    new VssError(404, 'VssResourceNotFoundException', `The emulator has no route for ${method} ${path}.`, 'Microsoft.VisualStudio.Services.WebApi'),
};
