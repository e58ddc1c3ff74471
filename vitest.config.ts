import { defineConfig } from 'vitest/config';
import { ensureEmulatorTrustBundle } from './test/emulators/ca.js';

// Node reads NODE_EXTRA_CA_CERTS only at start: set it before vitest forks the test workers, so
// the real Azure SDKs trust the local HTTPS emulators (the system roots stay in the bundle).
process.env.NODE_EXTRA_CA_CERTS = ensureEmulatorTrustBundle();

// Two projects: "unit" runs in-process without Kubernetes; "platform" shares one local platform
// (real kube-apiserver, etcd, Flux and Sealed Secrets controllers, git server) per test run.
export default defineConfig({
  test: {
    reporters: ['default', './test/closing-line-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    setupFiles: ['test/agent/job-folders-cleanup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/agent/**/*.test.ts', 'test/emulators/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'platform',
          include: ['test/platform/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/platform/global-setup.ts'],
          // The platform runs real controllers on 2 cores; files share it one at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
