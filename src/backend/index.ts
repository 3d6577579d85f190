import { registerBackend } from './backend.js';
import { referenceBackend } from './reference.js';

export * from './backend.js';
export { referenceBackend } from './reference.js';

registerBackend(referenceBackend);
