import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../shared/pipeline/entry';
import { InputError } from '../../shared/pipeline/errors';
import type { TaskDefinition } from '../../shared/pipeline/task-definition';
import definition from './task.json';
import { readInputs, readKeyPair } from './inputs';

main(definition as TaskDefinition, async (ctx) => {
  const o = readInputs(ctx);
  const pair = await readKeyPair(ctx, o.keySource);
  const { KeyPairError, checkKeyPair } = await import('../../shared/sealed-secrets/key-pair');
  try {
    checkKeyPair(pair.certPem, pair.keyPem);
  } catch (error) {
    if (error instanceof KeyPairError) throw new InputError(pair.keyInput === pair.certInput ? pair.keyInput : `${pair.keyInput}' / '${pair.certInput}`, error.message.replace(/\.$/, ''));
    throw error;
  }
  const { clusterAccessFor } = await import('../../shared/connect/cluster-access');
  const { KubeClient } = await import('../../shared/kube/client');
  const { ResourceManager } = await import('../../shared/kube/resource-manager');
  const { installSealedSecrets } = await import('../../shared/sealed-secrets/install');
  const manager = new ResourceManager(new KubeClient(await clusterAccessFor(ctx, o.connection)), { log: ctx.log.debug });
  try {
    const r = await installSealedSecrets(manager, { ...o, ...pair, signal: ctx.signal, proxy: ctx.proxy, log: ctx.log.info, progress: ctx.log.progress });
    r.warnings.forEach(ctx.log.warning);
    const certPath = join(ctx.tempDir, `sealed-secrets-${o.namespace}-${r.keySecretName}.pem`);
    writeFileSync(certPath, pair.certPem);
    ctx.output('certificatePath', certPath);
    ctx.output('certificateBase64', Buffer.from(pair.certPem).toString('base64'));
    ctx.output('certificateFingerprint', r.key.fingerprint);
    ctx.summary
      .facts([['Controller', `${o.namespace}/${o.controllerName} ${o.version}`], ['Sealing certificate', `${r.key.subject}, SHA-256 ${r.key.fingerprint}`],
        ['Expires', r.key.notAfter.toISOString()], ['Key Secret', `${o.namespace}/${r.keySecretName}`], ['Key', r.keyChanges.describe()],
        ['Controller objects', r.controllerChanges.describe()],
        ['Image', o.images ? `${r.images.join(', ')}${o.images.pullSecret ? `, pulled with Secret ${o.namespace}/${o.images.pullSecret}` : ''}` : undefined],
        ['Verified by', r.verifiedBy]])
      .heading('Next steps')
      .list([`Seal secrets offline: \`kubeseal --cert ${certPath} --format yaml < secret.yaml > sealed.yaml\``,
        'Keep the private key where the pipeline reads it (secret variables or the secure file) and a backup offline: a recreated cluster needs the same key to decrypt what is in Git.']);
    return `Sealed Secrets ${o.version} is running in ${o.namespace} with the brought key (${r.key.fingerprint}).`;
  } finally {
    manager.close();
  }
});
