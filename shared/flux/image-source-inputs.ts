import { InputError } from '../pipeline/errors';
import type { TaskContext } from '../pipeline/task-context';
import { parseDockerConfig, registryProblem } from './images';

/**
 * The "images from a mirror" inputs of FluxBootstrap and InstallSealedSecrets, checked: a
 * registry that replaces the images' registry, the pull secret the pods use, and optionally its
 * .dockerconfigjson from a secret variable (its credentials registered as secrets).
 */
export function readImageSource(ctx: TaskContext) {
  const { inputs: i } = ctx;
  const registry = i.string('imageRegistry')?.replace(/\/+$/, '');
  const problem = registry ? registryProblem(registry) : undefined;
  if (problem) throw new InputError('imageRegistry', `'${registry}': ${problem}`, 'a registry host with an optional path, e.g. myacr.azurecr.io');
  const pullSecret = i.string('imagePullSecret');
  if (pullSecret && (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(pullSecret) || pullSecret.length > 253)) {
    throw new InputError('imagePullSecret', `'${pullSecret}' is not a Kubernetes object name`, 'lower-case letters, digits, - and .');
  }
  const config = i.secret('imagePullSecretConfig');
  if (config && !pullSecret) throw new InputError('imagePullSecretConfig', 'it is set but imagePullSecret names no Secret', 'imagePullSecret: the name of the Secret to write');
  let pullSecretConfig: string | undefined;
  if (config) {
    const parsed = parseDockerConfig(config);
    if ('problem' in parsed) throw new InputError('imagePullSecretConfig', parsed.problem, 'the .dockerconfigjson of the registry (JSON, or its base64), from a secret variable');
    parsed.secrets.forEach((s) => ctx.secrets.add(s));
    pullSecretConfig = parsed.json;
  }
  return { images: registry || pullSecret ? { registry, pullSecret } : undefined, pullSecretConfig };
}
