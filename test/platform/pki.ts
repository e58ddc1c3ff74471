// Certificates for the local platform, made with the openssl CLI (Node has no X.509 writer).
// RSA 2048 everywhere: it is what kubeadm and AKS issue, so every client sees the usual key type.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateAuthority {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

export function createCA(dir: string, name: string, commonName: string): CertificateAuthority {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '3650',
    '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign',
  ], dir);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

export interface IssueOptions {
  commonName: string;
  /** Subject O= entries; Kubernetes reads them as the user's groups. */
  organizations?: string[];
  /** Subject alternative names, e.g. ['IP:127.0.0.1', 'DNS:localhost']. */
  altNames?: string[];
  usage: 'server' | 'client';
}

export function issueCert(dir: string, ca: CertificateAuthority, name: string, opts: IssueOptions): IssuedCert {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const subject = `/CN=${opts.commonName}${(opts.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', subject], dir);
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(opts.altNames?.length ? [`subjectAltName=${opts.altNames.join(',')}`] : []),
  ];
  writeFileSync(extFile, `${ext.join('\n')}\n`);
  openssl([
    'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-days', '3650', '-out', certFile, '-extfile', extFile,
  ], dir);
  rmSync(csrFile);
  rmSync(extFile);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}

/** An RSA key pair for signing service-account tokens: private key PEM and its public key PEM. */
export function createSigningKeyPair(dir: string, name: string): { keyFile: string; pubFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const pubFile = join(dir, `${name}.pub`);
  openssl(['genrsa', '-out', keyFile, '2048'], dir);
  openssl(['rsa', '-in', keyFile, '-pubout', '-out', pubFile], dir);
  return { keyFile, pubFile };
}
