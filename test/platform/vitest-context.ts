// What global-setup.ts provides to test files (vitest's inject('platform')).
import type { PlatformInfo } from './platform.js';

declare module 'vitest' {
  export interface ProvidedContext {
    platform: PlatformInfo;
  }
}

export {};
