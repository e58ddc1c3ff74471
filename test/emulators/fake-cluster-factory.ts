// A stand-in API server for unit tests that must not start etcd + kube-apiserver: it
// authenticates exactly like the real one is asked to in ClusterSpec (the admin token, or an
// Entra JWT verified through the issuer's OIDC discovery and JWKS with audience checks) and
// answers /version and SelfSubjectReview. End-to-end tests use test/platform's startControlPlane.
import { randomBytes } from 'node:crypto';
import type { ClusterFactory, ClusterSpec } from './arm/cluster-factory.js';
import { readEmulatorCa } from './ca.js';
import { sendJson, startEmulatorServer } from './emulator-server.js';
import { OidcIssuerKeys } from './entra/oidc-issuer-keys.js';
import { decodeJwt, nowSeconds, verifyJwtSignature } from './jwt.js';

export interface FakeClusters {
  factory: ClusterFactory;
  specs: ClusterSpec[];
  /** Number of API servers currently running. */
  running(): number;
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export function createFakeClusters(): FakeClusters {
  const specs: ClusterSpec[] = [];
  let running = 0;

  const factory: ClusterFactory = async (spec) => {
    specs.push(spec);
    const adminToken = randomBytes(24).toString('base64url');
    const issuerKeys = spec.entraId ? new OidcIssuerKeys(spec.entraId.caPem) : undefined;

    async function user(header: string): Promise<{ username: string; groups: string[] } | undefined> {
      const token = header.replace(/^Bearer /i, '');
      if (!token) return undefined;
      if (token === adminToken) return { username: 'clusterAdmin', groups: ['system:masters', 'system:authenticated'] };
      const entra = spec.entraId;
      const jwt = decodeJwt(token);
      if (!entra || !jwt || jwt.payload.iss !== entra.issuerUrl) return undefined;
      const key = await issuerKeys!.key(entra.issuerUrl, String(jwt.header.kid)).catch(() => undefined);
      if (!key || !verifyJwtSignature(jwt, key)) return undefined;
      if (!entra.audiences.includes(String(jwt.payload.aud)) || Number(jwt.payload.exp) <= nowSeconds()) return undefined;
      return { username: String(jwt.payload[entra.usernameClaim]), groups: [...((jwt.payload[entra.groupsClaim] as string[] | undefined) ?? []), 'system:authenticated'] };
    }

    const server = await startEmulatorServer({
      name: `apiserver-${spec.name}`,
      handler: async (request, response) => {
        const who = await user(String(request.headers.authorization ?? ''));
        if (!who) return sendJson(response, 401, status(401, 'Unauthorized', 'Unauthorized'));
        if (request.method === 'GET' && request.path === '/version') {
          const [major, minor] = spec.kubernetesVersion.split('.');
          return sendJson(response, 200, { major, minor, gitVersion: `v${spec.kubernetesVersion}`, platform: 'linux/amd64' });
        }
        if (request.method === 'POST' && request.path === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
          return sendJson(response, 201, { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, status: { userInfo: who } });
        }
        sendJson(response, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      },
    });
    running++;
    let stopped = false;
    return {
      server: server.url,
      caPem: readEmulatorCa().caPem,
      adminToken,
      async stop() {
        if (stopped) return;
        stopped = true;
        running--;
        await server.stop();
      },
    };
  };

  return { factory, specs, running: () => running };
}
