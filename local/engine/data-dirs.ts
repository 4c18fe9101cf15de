/** Where the embedded default keeps what AWS keeps in services of its own, inside the data folder. */
import { join } from 'node:path';

/** The functions' log lines (one `<function>.jsonl` each, as one log group each in AWS). */
export const localLogsDir = (dataDir: string): string => join(dataDir, 'logs');
