/**
 * The DynamoDB tables, created from the one declaration in shared/adapters/dynamodb/tables.ts that
 * the local runtime also creates its dynalite tables from, so the two can never drift apart.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption, type CfnTable, type ITable, ProjectionType } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableDefinition, type TableKey } from '../../shared/adapters/dynamodb/tables.ts';

/** CloudFormation metadata key that names a table's key (TableKey). */
export const TABLE_METADATA = 'amk:table';

/** Properties of {@link DataTables}. */
export interface DataTablesProps {
  /**
   * Table definitions to create, one table per entry.
   * @default TABLES (every table of the system)
   */
  readonly definitions?: Readonly<Record<TableKey, TableDefinition>>;
  /**
   * Whether the tables survive `cdk destroy` and refuse deletion (deletion protection + RETAIN).
   * They hold the book, the agents' memory and the audit trail, so only throw-away test stacks
   * should turn this off.
   * @default true
   */
  readonly retainData?: boolean;
}

/** One DynamoDB table per table definition: on-demand, PITR, encrypted, protected from deletion. */
export class DataTables extends Construct {
  private readonly tables = new Map<TableKey, Table>();

  constructor(scope: Construct, id: string, props: DataTablesProps = {}) {
    super(scope, id);
    const definitions = props.definitions ?? TABLES;
    const retain = props.retainData ?? true;
    for (const [key, def] of Object.entries(definitions) as Array<[TableKey, TableDefinition]>) {
      if (def.key !== key) {
        throw new Error(`DataTables: props.definitions["${key}"].key is "${def.key}"; the key must match its entry`);
      }
      const table = new Table(this, pascal(key), {
        partitionKey: { name: def.partitionKey, type: AttributeType.STRING },
        ...(def.sortKey ? { sortKey: { name: def.sortKey, type: AttributeType.STRING } } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        deletionProtection: retain,
        removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        ...(def.ttlAttribute ? { timeToLiveAttribute: def.ttlAttribute } : {}),
      });
      // Which table this is, for the embedded default (it names its local tables by key).
      (table.node.defaultChild as CfnTable).addMetadata(TABLE_METADATA, key);
      for (const index of def.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
          ...(index.sortKey ? { sortKey: { name: index.sortKey, type: AttributeType.STRING } } : {}),
          projectionType: index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
        });
      }
      this.tables.set(key, table);
    }
  }

  /** The table created for a table key; throws when that key was not among the definitions. */
  table(key: TableKey): ITable {
    const table = this.tables.get(key);
    if (!table) throw new Error(`DataTables: no table "${key}" (not in props.definitions)`);
    return table;
  }
}

const pascal = (s: string): string => s.replace(/(^|[-_])([a-z0-9])/g, (_m, _sep: string, c: string) => c.toUpperCase());
