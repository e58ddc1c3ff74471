// Azure DevOps answers errors with a serialized .NET exception; azure-devops-node-api surfaces its
// `message` (and turns a plain 404 on GET into null).
export class VssError extends Error {
  constructor(
    readonly status: number,
    readonly typeKey: string,
    message: string,
    readonly assembly = 'Microsoft.TeamFoundation.Git.Server',
  ) {
    super(message);
  }

  body() {
    return {
      $id: '1',
      innerException: null,
      message: this.message,
      typeName: `${this.assembly}.${this.typeKey}, ${this.assembly}`,
      typeKey: this.typeKey,
      errorCode: 0,
      eventId: 3000,
    };
  }
}

export const vssErrors = {
  unauthorized: () =>
    new VssError(401, 'UnauthorizedRequestException', "TF400813: The user '' is not authorized to access this resource.", 'Microsoft.TeamFoundation.Framework.Server'),
  apiVersionMissing: (method: string) =>
    new VssError(400, 'VssVersionNotSpecifiedException', `No api-version was supplied for the "${method}" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. "?api-version=1.0").`, 'Microsoft.VisualStudio.Services.WebApi'),
  projectNotFound: (project: string) =>
    new VssError(404, 'ProjectDoesNotExistWithNameException', `TF200016: The following project does not exist: ${project}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`, 'Microsoft.TeamFoundation.Core.WebApi'),
  repositoryNotFound: (repository: string) =>
    new VssError(404, 'GitRepositoryNotFoundException', `TF401019: The Git repository with name or identifier ${repository} does not exist or you do not have permissions for the operation you are attempting.`),
  repositoryExists: (name: string) =>
    new VssError(409, 'GitRepositoryNameAlreadyExistsException', `TF400948: A Git repository with the name ${name} already exists.`),
  invalidArgument: (message: string) =>
    new VssError(400, 'InvalidArgumentValueException', message, 'Microsoft.TeamFoundation.SourceControl.WebServer'),
  staleRef: (ref: string) =>
    new VssError(409, 'GitReferenceStaleException', `TF401028: The reference '${ref}' has already been updated by another client, so you cannot update it. Please try again.`),
  itemExists: (path: string) =>
    new VssError(400, 'GitItemAlreadyExistsException', `TF402455: Pushes to this branch are not permitted; the item '/${path}' already exists. Use an edit change to update it.`),
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
  mergeConflicts: (id: number) =>
    new VssError(409, 'GitPullRequestCannotBeCompleted', `TF401185: The pull request ${id} cannot be completed because it has merge conflicts.`),
  notActive: (id: number) =>
    new VssError(409, 'InvalidPullRequestStatusException', `TF401166: The pull request ${id} is not active.`),
  secureFileNotFound: (id: string) =>
    new VssError(404, 'SecureFileNotFoundException', `Secure file ${id} not found.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  secureFileTicketInvalid: (id: string) =>
    new VssError(403, 'AccessDeniedException', `The ticket is not valid for secure file ${id}.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  serviceConnectionNotFound: (id: string) =>
    new VssError(400, 'ServiceEndpointNotFoundException', `Service connection with id ${id} could not be found.`, 'Microsoft.TeamFoundation.DistributedTask.WebApi'),
  routeNotFound: (method: string, path: string) =>
    new VssError(404, 'VssResourceNotFoundException', `The emulator has no route for ${method} ${path}.`, 'Microsoft.VisualStudio.Services.WebApi'),
};
