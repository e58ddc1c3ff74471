// Removes the job folders the agent harness made once a test file ends (vitest setup file).
import { afterAll } from 'vitest';
import { removeJobFolders } from './harness';

afterAll(removeJobFolders);
