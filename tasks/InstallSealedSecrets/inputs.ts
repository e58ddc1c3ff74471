import { readImageSource } from '../../shared/flux/image-source-inputs';
import { readClusterConnection } from '../../shared/pipeline/cluster-connection-inputs';
import { InputError } from '../../shared/pipeline/errors';
import { readSecureFile } from '../../shared/pipeline/secure-file';
import type { TaskContext } from '../../shared/pipeline/task-context';
import { dnsLabel, goDuration, httpUrl, semverLike, sha256Hex } from '../../shared/pipeline/validate';

/** The inputs of InstallSealedSecrets, checked and typed (the key pair is read separately). */
export function readInputs(ctx: TaskContext) {
  const { inputs: i } = ctx;
  const renewal = i.choice('keyRenewal');
  return {
    connection: readClusterConnection(ctx),
    keySource: i.choice('keySource') === 'secureFile' ? ('secureFile' as const) : ('secretVariables' as const),
    keyRenewPeriod: renewal === 'keep' ? '0' : renewal === 'custom' ? goDuration(i.required('keyRenewPeriod'), 'keyRenewPeriod') : '720h',
    version: semverLike(i.required('controllerVersion'), 'controllerVersion'),
    manifest: i.choice('manifestSource') === 'file'
      ? { file: i.filePath('manifestFile')! }
      : { baseUrl: httpUrl(i.string('releaseBaseUrl') ?? 'https://github.com', 'releaseBaseUrl').toString() },
    sha256: sha256Hex(i.string('manifestSha256'), 'manifestSha256'),
    namespace: dnsLabel(i.string('namespace') ?? 'kube-system', 'namespace'),
    controllerName: dnsLabel(i.string('controllerName') ?? 'sealed-secrets-controller', 'controllerName'),
    ...readImageSource(ctx),
    timeoutMs: (i.int('timeoutMinutes', { min: 1, max: 120 }) ?? 5) * 60_000,
  };
}

/** The key pair as PEM, from base64 secret inputs or a secure file holding both blocks. */
export async function readKeyPair(ctx: TaskContext, source: 'secureFile' | 'secretVariables'): Promise<{ certPem: string; keyPem: string; keyInput: string; certInput: string }> {
  if (source === 'secretVariables') {
    return {
      keyPem: pem(ctx.inputs.base64Secret('privateKey')!, 'privateKey', /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/),
      certPem: pem(ctx.inputs.base64('certificate')!, 'certificate', /-----BEGIN CERTIFICATE-----/),
      keyInput: 'privateKey',
      certInput: 'certificate',
    };
  }
  const file = (await readSecureFile(ctx, ctx.agent.secureFile(ctx.inputs.required('keySecureFile')), 'keySecureFile')).toString('utf8');
  const key = file.match(/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/)?.[0];
  if (key) ctx.secrets.add(key);
  const cert = file.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!key || !cert) throw new InputError('keySecureFile', `the secure file has no ${!key ? 'PEM private key' : 'PEM certificate'}`, 'a file with the PEM certificate and the PEM private key');
  return { keyPem: `${key}\n`, certPem: `${cert}\n`, keyInput: 'keySecureFile', certInput: 'keySecureFile' };
}

function pem(bytes: Buffer, input: string, header: RegExp): string {
  const text = bytes.toString('utf8');
  if (!header.test(text)) throw new InputError(input, 'the base64 value does not decode to the expected PEM block', 'a PEM file encoded with base64 (for example `base64 -w0 tls.key`)');
  return text;
}
