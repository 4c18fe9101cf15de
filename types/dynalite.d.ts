/**
 * Minimal types for `dynalite` 4 (a DynamoDB API on LevelDB), which ships none. It is CommonJS
 * (`module.exports = dynalite`), hence `export =`; ESM code imports it as a default import.
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  /** Options of the dynalite factory (see its index.js). */
  interface DynaliteOptions {
    /** LevelDB directory; omitted = in memory. */
    path?: string;
    /** Milliseconds a table stays CREATING (default 500). */
    createTableMs?: number;
    /** Milliseconds a table stays DELETING (default 500). */
    deleteTableMs?: number;
    /** Milliseconds a table stays UPDATING (default 500). */
    updateTableMs?: number;
    /** Maximum item size in KB (default 400). */
    maxItemSizeKb?: number;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  /** Creates a dynalite HTTP server; call `listen` on it. */
  function dynalite(options?: DynaliteOptions): Server;

  export = dynalite;
}
