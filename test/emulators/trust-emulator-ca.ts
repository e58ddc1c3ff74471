// In-process SDK tests need the emulator CA trusted. The faithful way is NODE_EXTRA_CA_CERTS set
// before the test process starts (vitest.config.ts does that via ensureEmulatorCa()). Until it is
// set there — or when a test file is run some other way — this adds the CA to every TLS context
// that uses the default trust store, which is what NODE_EXTRA_CA_CERTS does at start-up.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { readEmulatorCa } from './ca.js';

let patched = false;

function trustedAtStart(caPem: string): boolean {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return false;
  try {
    return readFileSync(file, 'utf8').includes(caPem.trim());
  } catch {
    return false;
  }
}

export function trustEmulatorCa(): void {
  const { caPem } = readEmulatorCa();
  if (patched || trustedAtStart(caPem)) return;
  const original = tls.createSecureContext;
  tls.createSecureContext = function createSecureContextTrustingEmulators(options?: tls.SecureContextOptions) {
    const context = original.call(this, options);
    // Only where the default store applies: an explicit `ca` replaces it, exactly as in Node.
    if (!options?.ca) (context as unknown as { context: { addCACert(pem: string): void } }).context.addCACert(caPem);
    return context;
  };
  patched = true;
}
