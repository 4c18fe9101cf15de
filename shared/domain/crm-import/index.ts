/**
 * CRM import, pure: CSV exports (HubSpot, Salesforce, or any with a mapping file) to the model's
 * AccountState and Stakeholder records, a data-quality report with a score, the merge rules that
 * keep what the loop learned, the book's stored quality summary and the campaign's gate on it.
 * Imported as a namespace: `import * as CrmImport from '.../crm-import/index.ts'`.
 */
export * from './accounts.ts';
export * from './contacts.ts';
export * from './csv.ts';
export * from './formats.ts';
export * from './gate.ts';
export * from './issues.ts';
export * from './mapping.ts';
export * from './merge.ts';
export * from './quality.ts';
export * from './reading.ts';
export * from './score.ts';
export * from './stages.ts';
export * from './titles.ts';
export * from './values.ts';
