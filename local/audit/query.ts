/**
 * `amk audit query NAME`: a named audit query (shared/domain/audit-queries.ts) evaluated over the
 * embedded default's log lines (`.data/logs/<function>.jsonl`, one file per function as one log
 * group per function in AWS), exactly as its QueryDefinition reads them in CloudWatch.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateQuery, type LogRecord, type NamedQuery } from '../../shared/domain/audit-queries.ts';
import { localLogsDir } from '../engine/data-dirs.ts';
import { NoDataError } from './read-only.ts';

/** Every log line of the data folder, parsed (a line that is not JSON is skipped, as Insights leaves it unparsed). */
export function readLogRecords(dataDir: string, since?: string): LogRecord[] {
  const dir = localLogsDir(dataDir);
  if (!existsSync(dir)) throw new NoDataError(`no logs in ${dataDir}: run \`npm start\` or \`npm run amk -- run\` first, or point --data at the folder they wrote`);
  const records: LogRecord[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const text of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (text.trim() === '') continue;
      try {
        const record = JSON.parse(text) as LogRecord;
        if (since === undefined || String(record['@timestamp'] ?? '') >= since) records.push(record);
      } catch {
        // not a JSON line
      }
    }
  }
  return records;
}

/** Runs one query over the data folder's logs. */
export function runAuditQuery(dataDir: string, query: NamedQuery, param?: string, since?: string): Array<Record<string, unknown>> {
  return evaluateQuery(query, readLogRecords(dataDir, since), param);
}
