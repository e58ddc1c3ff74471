// The only module that imports azure-pipelines-task-lib (one copy of its global state per bundle).
import * as tl from 'azure-pipelines-task-lib/task';
// task-lib's getInput/getEndpointAuthorizationParameter write the value to a debug line before
// anyone could register it as a secret; reading from its vault directly prints nothing.
import * as im from 'azure-pipelines-task-lib/internal';
import type { AgentPort, Endpoint, SecureFileRef, TaskResultKind } from './agent';

const variableKey = (name: string) => name.replace(/[.\s]/g, '_').toUpperCase();

const RESULTS: Record<TaskResultKind, tl.TaskResult> = {
  Succeeded: tl.TaskResult.Succeeded,
  SucceededWithIssues: tl.TaskResult.SucceededWithIssues,
  Failed: tl.TaskResult.Failed,
  Cancelled: tl.TaskResult.Cancelled,
};

export class TaskLibAgent implements AgentPort {
  input(name: string): string | undefined {
    const value = im._vault.retrieveSecret(`INPUT_${variableKey(name)}`);
    return value === undefined || value === null || value.trim() === '' ? undefined : value;
  }

  variable(name: string): string | undefined {
    // A secret variable (e.g. Agent.ProxyPassword) from the vault: getVariable would print it in a debug line.
    const known = im._knownVariableMap[variableKey(name)];
    if (known?.secret) return im._vault.retrieveSecret(`SECRET_${variableKey(name)}`) || undefined;
    return tl.getVariable(name) || undefined;
  }

  endpoint(id: string): Endpoint | undefined {
    const url = process.env[`ENDPOINT_URL_${id}`];
    const auth = tl.getEndpointAuthorization(id, true);
    if (!url && !auth) return undefined;
    const prefix = `ENDPOINT_DATA_${id}_`;
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (key.startsWith(prefix) && value !== undefined) data[key.slice(prefix.length).toLowerCase()] = value;
    }
    return {
      id,
      url: url || undefined,
      scheme: auth?.scheme || im._vault.retrieveSecret(`ENDPOINT_AUTH_SCHEME_${id}`) || undefined,
      authParams: { ...(auth?.parameters ?? {}) },
      data,
    };
  }

  secureFile(id: string): SecureFileRef {
    return {
      id,
      name: process.env[`SECUREFILE_NAME_${id}`] || undefined,
      ticket: im._vault.retrieveSecret(`SECUREFILE_TICKET_${id}`) || undefined,
    };
  }

  setSecret(value: string): void {
    tl.setSecret(value);
  }

  setVariable(name: string, value: string, options: { secret?: boolean; output?: boolean } = {}): void {
    tl.setVariable(name, value, options.secret ?? false, options.output ?? false);
  }

  info(message: string): void {
    console.log(message);
  }

  debug(message: string): void {
    tl.debug(message);
  }

  warning(message: string): void {
    tl.warning(message);
  }

  error(message: string): void {
    tl.error(message);
  }

  section(title: string): void {
    console.log(`##[section]${title}`);
  }

  group(title: string): void {
    console.log(`##[group]${title}`);
  }

  endGroup(): void {
    console.log('##[endgroup]');
  }

  progress(percent: number, operation: string): void {
    tl.setProgress(Math.max(0, Math.min(100, Math.round(percent))), operation);
  }

  uploadSummary(markdownPath: string): void {
    tl.uploadSummary(markdownPath);
  }

  complete(result: TaskResultKind, message: string): void {
    tl.setResult(RESULTS[result], message, true);
  }
}
