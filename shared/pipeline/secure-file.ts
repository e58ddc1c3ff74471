import type { SecureFileRef } from './agent';
import { TaskError } from './errors';
import type { TaskContext } from './task-context';
import { devOpsProxyOptions } from '../net/proxy';

/**
 * Downloads a secure file into memory (never to disk) with the job's access token, as the agent's
 * DownloadSecureFile task does, and registers nothing: callers register what is secret in it.
 */
export async function readSecureFile(ctx: TaskContext, ref: SecureFileRef, input: string): Promise<Buffer> {
  if (!ref.ticket) {
    throw new TaskError(`Input '${input}': the agent handed no ticket for secure file ${ref.id}.`, 'Authorize the pipeline to use this secure file (Pipelines > Library > Secure files > Pipeline permissions).');
  }
  const collectionUri = ctx.agent.variable('System.CollectionUri') ?? ctx.agent.variable('System.TeamFoundationCollectionUri');
  const project = ctx.agent.variable('System.TeamProjectId') ?? ctx.agent.variable('System.TeamProject');
  const token = ctx.agent.endpoint('SystemVssConnection')?.authParams.AccessToken;
  if (!collectionUri || !project || !token) throw new TaskError('The job access token or collection URL is not available to download the secure file.');
  ctx.secrets.add(token);
  // The API class alone: the package index would bundle every Azure DevOps API client.
  const { TaskAgentApi } = await import('azure-devops-node-api/TaskAgentApi');
  const { BearerCredentialHandler } = await import('azure-devops-node-api/handlers/bearertoken');
  const proxy = devOpsProxyOptions(ctx.proxy);
  const api = new TaskAgentApi(collectionUri, [new BearerCredentialHandler(token, false)], { keepAlive: true, ...(proxy ? { proxy } : {}) });
  const stream = await api.downloadSecureFile(project, ref.id, ref.ticket, false);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
