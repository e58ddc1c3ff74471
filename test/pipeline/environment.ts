// What Azure DevOps itself holds for a pipeline and hands the agent, kept in local files:
// - the environment file: service connections, secure files and variable groups by name, the project's
//   predefined variables (System.CollectionUri, System.OidcRequestUri, ...), the job access
//   token, and what every task process needs in its environment (the emulator CA);
// - the variables file: variables defined in the pipeline's settings rather than in YAML, the
//   secret ones apart (Azure DevOps never lets a secret into YAML), and the local values that
//   must differ on this machine.
// Both files hold credentials: they are written owner-only, outside the repository.
import { readFileSync, writeFileSync } from 'node:fs';
import type { EndpointSpec } from '../agent/harness';

export interface ServiceConnection extends EndpointSpec {
  /** The endpoint id (a GUID) the agent receives instead of the name. */
  id: string;
  /** The connection type, as in the task input type `connectedService:<type>` (azurerm, kubernetes, ...). */
  type: string;
}

export interface SecureFileEntry {
  id: string;
  ticket: string;
}

/** A variable group of the project's Library: plain variables and secret ones. */
export interface VariableGroup {
  variables: Record<string, string>;
  secrets: Record<string, string>;
}

export interface LocalEnvironment {
  serviceConnections: Record<string, ServiceConnection>;
  secureFiles: Record<string, SecureFileEntry>;
  /** Predefined variables of the organization and project: System.CollectionUri, System.TeamProject(Id), System.OidcRequestUri. */
  systemVariables: Record<string, string>;
  /** System.AccessToken, also the AccessToken of the SystemVssConnection endpoint. */
  accessToken?: string;
  /** Added to every task process's environment. */
  env: Record<string, string>;
  /** The Library's variable groups by name, for `variables: - group: <name>`. */
  variableGroups?: Record<string, VariableGroup>;
}

export interface PipelineVariables {
  variables: Record<string, string>;
  secrets: Record<string, string>;
  /** Values that differ on this machine (the git server's URL, the release mirror): they win over YAML, as queue-time values would. */
  localValues?: Record<string, string>;
}

export const emptyEnvironment = (): LocalEnvironment => ({ serviceConnections: {}, secureFiles: {}, systemVariables: {}, env: {} });

export function writePrivateJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

export function readEnvironment(path: string): LocalEnvironment {
  return { ...emptyEnvironment(), ...(JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalEnvironment>) };
}

/**
 * Pipeline-settings variables: from a variables file, plus secrets from the process environment
 * as PIPELINE_SECRET_<NAME> (variable names are case-insensitive, so the upper-case name matches).
 */
export function readPipelineVariables(path: string | undefined, env: NodeJS.ProcessEnv = process.env): PipelineVariables {
  const file = path ? (JSON.parse(readFileSync(path, 'utf8')) as Partial<PipelineVariables>) : {};
  const secrets = { ...file.secrets };
  for (const [key, value] of Object.entries(env)) {
    const m = /^PIPELINE_SECRET_(.+)$/.exec(key);
    if (m && value !== undefined) secrets[m[1]!] = value;
  }
  return { variables: { ...file.variables }, secrets, localValues: { ...file.localValues } };
}

/** The connection a task input names (by name, ignoring case, or by id), checked against the input's connection type. */
export function findServiceConnection(environment: LocalEnvironment, reference: string, inputType: string): ServiceConnection | string {
  const wanted = reference.trim().toLowerCase();
  const found = Object.entries(environment.serviceConnections).find(([name, c]) => name.toLowerCase() === wanted || c.id.toLowerCase() === wanted);
  if (!found) {
    const known = Object.keys(environment.serviceConnections);
    return `service connection '${reference}' could not be found${known.length ? ` (known: ${known.join(', ')})` : ''}`;
  }
  const accepted = inputType.slice('connectedService:'.length).split(':')[0]!.toLowerCase();
  if (found[1].type.toLowerCase() !== accepted) return `service connection '${found[0]}' is of type ${found[1].type}, the input needs ${accepted}`;
  return found[1];
}

export function findSecureFile(environment: LocalEnvironment, reference: string): (SecureFileEntry & { name: string }) | string {
  const wanted = reference.trim().toLowerCase();
  const found = Object.entries(environment.secureFiles).find(([name, f]) => name.toLowerCase() === wanted || f.id.toLowerCase() === wanted);
  return found ? { name: found[0], ...found[1] } : `secure file '${reference}' could not be found`;
}
