import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { parseYamlObjects, type KubeObject } from './kube-api.js';

/** Seals a Secret with the real kubeseal, offline, with a certificate file or URL. */
export function kubeseal(binary: string, secret: object, cert: string): Promise<KubeObject> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--cert', cert, '--format', 'yaml'], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve(parseYamlObjects(out)[0]!) : reject(new Error(`kubeseal failed (${code}): ${err}`))));
    child.stdin.end(JSON.stringify(secret));
  });
}
