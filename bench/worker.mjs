// The benchmark's worker thread starts here: a worker's entry cannot be TypeScript, so it
// registers tsx (as the main thread runs) and loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
