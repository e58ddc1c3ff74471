import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { main } from '../../shared/pipeline/entry';
import { InputError, NotYetSupportedError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import { dnsLabel, goDuration, httpUrl, semverLike, sha256Hex } from '../../shared/pipeline/validate';
import definition from './task.json';

main(definition as TaskDefinition, async (ctx) => {
  const { inputs: i } = ctx;
  const connection = readClusterConnection(ctx);
  const keySource = i.choice('keySource');
  const key = keySource === 'secureFile'
    ? { secureFile: ctx.agent.secureFile(i.required('keySecureFile')) }
    : { privateKeyPem: pem(i.base64Secret('privateKey')!, 'privateKey'), certificatePem: pem(i.base64('certificate')!, 'certificate') };
  const renewal = i.choice('keyRenewal');
  const options = {
    connection,
    key,
    keyRenewPeriod: renewal === 'keep' ? '0' : renewal === 'custom' ? goDuration(i.required('keyRenewPeriod'), 'keyRenewPeriod') : '720h',
    version: semverLike(i.required('controllerVersion'), 'controllerVersion'),
    manifest: i.choice('manifestSource') === 'file'
      ? { file: i.filePath('manifestFile')! }
      : { baseUrl: httpUrl(i.string('releaseBaseUrl') ?? 'https://github.com', 'releaseBaseUrl') },
    sha256: sha256Hex(i.string('manifestSha256'), 'manifestSha256'),
    namespace: dnsLabel(i.string('namespace') ?? 'kube-system', 'namespace'),
    controllerName: dnsLabel(i.string('controllerName') ?? 'sealed-secrets-controller', 'controllerName'),
    timeoutMinutes: i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 5,
  };
  ctx.log.info(`Sealed Secrets ${options.version} into ${options.namespace}.`);
  throw new NotYetSupportedError('InstallSealedSecrets', 'install the sealing key and controller');
});

function pem(bytes: Buffer, input: string): string {
  const text = bytes.toString('utf8');
  if (!/-----BEGIN [A-Z ]+-----/.test(text)) {
    throw new InputError(input, 'the base64 value does not decode to a PEM block', 'a PEM file encoded with base64 (for example `base64 -w0 tls.key`)');
  }
  return text;
}
