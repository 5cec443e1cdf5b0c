/**
 * Proves the database built by our SQL migrations matches prisma/schema/*.prisma: every model's table,
 * every column's type and nullability, every primary key, unique and plain index, and every enum.
 * The expected side comes from Prisma's own schema parser (DMMF), not from a hand-written copy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { Client } from 'pg';
import { listMigrations, migrate } from '../prisma/migrate';
import { seedDatabase } from '../prisma/seed';

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isRequired: boolean;
  isList: boolean;
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: Array<{ name: string }>;
}
interface Dmmf {
  datamodel: {
    models: DmmfModel[];
    enums: Array<{ name: string; dbName?: string | null; values: Array<{ name: string; dbName?: string | null }> }>;
    indexes: DmmfIndex[];
  };
}

const schemaDir = path.join(__dirname, '..', 'prisma', 'schema');
const schemaFiles = readdirSync(schemaDir)
  .filter((name) => name.endsWith('.prisma'))
  .map((name) => [name, readFileSync(path.join(schemaDir, name), 'utf8')]);
const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: schemaFiles }))) as Dmmf;

/** The PostgreSQL column type Prisma Migrate creates for a field. */
function expectedColumnType(field: DmmfField, enumDbNames: Map<string, string>): string {
  if (field.kind === 'enum') return enumDbNames.get(field.type)!;
  const [native, args] = field.nativeType ?? [null, []];
  switch (native) {
    case 'Uuid':
      return 'uuid';
    case 'Char':
      return `bpchar(${args[0]})`;
    case 'VarChar':
      return `varchar(${args[0]})`;
    case 'Timestamptz':
      return `timestamptz(${args[0] ?? 6})`;
    case 'Timestamp':
      return `timestamp(${args[0] ?? 6})`;
    case 'Date':
      return 'date';
    case null:
      break;
    default:
      throw new Error(`native type @db.${native} is not mapped in this test yet`);
  }
  const defaults: Record<string, string> = {
    String: 'text',
    Int: 'int4',
    BigInt: 'int8',
    Boolean: 'bool',
    DateTime: 'timestamp(3)',
    Json: 'jsonb',
    Float: 'float8',
  };
  const type = defaults[field.type];
  if (!type) throw new Error(`scalar type ${field.type} is not mapped in this test yet`);
  return type;
}

function expectedModel() {
  const enumDbNames = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const tables: Record<string, Record<string, { type: string; nullable: boolean }>> = {};
  const columnOf = new Map<string, Map<string, string>>();
  for (const model of dmmf.datamodel.models) {
    const table = model.dbName ?? model.name;
    const columns = new Map<string, string>();
    tables[table] = {};
    for (const field of model.fields.filter((f) => f.kind !== 'object')) {
      const column = field.dbName ?? field.name;
      columns.set(field.name, column);
      // Prisma Migrate creates a scalar list as a nullable array column (`TEXT[]`, shown by PostgreSQL as `_text`).
      const type = expectedColumnType(field, enumDbNames);
      tables[table]![column] = field.isList ? { type: `_${type}`, nullable: true } : { type, nullable: !field.isRequired };
    }
    columnOf.set(model.name, columns);
  }
  const indexes = dmmf.datamodel.indexes
    .filter((index) => index.type !== 'fulltext')
    .map((index) => {
      const model = dmmf.datamodel.models.find((m) => m.name === index.model)!;
      const columns = index.fields.map((f) => columnOf.get(index.model)!.get(f.name)!);
      return `${model.dbName ?? model.name} ${index.type === 'normal' ? 'index' : 'unique'} (${columns.join(', ')})`;
    })
    .sort();
  const enums = Object.fromEntries(
    dmmf.datamodel.enums.map((e) => [e.dbName ?? e.name, e.values.map((v) => v.dbName ?? v.name)]),
  );
  return { tables, indexes, enums };
}

async function actualModel(client: Client) {
  const columns = await client.query<{ table_name: string; column_name: string; type: string; is_nullable: string }>(`
    SELECT c.table_name, c.column_name, c.is_nullable,
      c.udt_name || CASE
        WHEN c.udt_name IN ('bpchar', 'varchar') THEN '(' || c.character_maximum_length || ')'
        WHEN c.udt_name IN ('timestamp', 'timestamptz') THEN '(' || c.datetime_precision || ')'
        ELSE '' END AS type
    FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.table_name <> '_prisma_migrations'
      -- A partitioned table is compared through its parent; its partitions (<table>_pYYYYMM) are not models.
      AND NOT EXISTS (SELECT 1 FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace
                      WHERE pn.nspname = 'public' AND p.relname = c.table_name AND p.relispartition)`);
  const tables: Record<string, Record<string, { type: string; nullable: boolean }>> = {};
  for (const row of columns.rows) {
    tables[row.table_name] ??= {};
    tables[row.table_name]![row.column_name] = { type: row.type, nullable: row.is_nullable === 'YES' };
  }
  const indexRows = await client.query<{ table_name: string; is_unique: boolean; columns: string[] }>(`
    SELECT t.relname::text AS table_name, i.indisunique AS is_unique,
      array_agg(a.attname::text ORDER BY k.ordinality) AS columns
    FROM pg_index i
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    -- Key columns only: a schema cannot declare an index's INCLUDE columns, the migration adds them.
    WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations' AND NOT t.relispartition AND k.ordinality <= i.indnkeyatts
    GROUP BY i.indexrelid, t.relname, i.indisunique`);
  const indexes = indexRows.rows
    .map((row) => `${row.table_name} ${row.is_unique ? 'unique' : 'index'} (${row.columns.join(', ')})`)
    .sort();
  const enumRows = await client.query<{ name: string; values: string[] }>(`
    SELECT t.typname::text AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' GROUP BY t.typname`);
  const enums = Object.fromEntries(enumRows.rows.map((row) => [row.name, row.values]));
  return { tables, indexes, enums };
}

describe('schema drift: migrated database vs prisma/schema/*.prisma', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  it('has exactly the tables and columns, with the same types and nullability', async () => {
    const expected = expectedModel();
    const actual = await actualModel(client);
    expect(Object.keys(actual.tables).sort()).toEqual(Object.keys(expected.tables).sort());
    expect(actual.tables).toEqual(expected.tables);
  });

  it('has exactly the primary keys, unique indexes and indexes', async () => {
    // The id index names the model's primary key; both sides call it "unique".
    expect((await actualModel(client)).indexes).toEqual(expectedModel().indexes);
  });

  it('has exactly the enums and their values, in order', async () => {
    expect((await actualModel(client)).enums).toEqual(expectedModel().enums);
  });

  it('notices drift: a column the schema does not declare makes the comparison fail', async () => {
    const expected = expectedModel();
    await client.query('BEGIN');
    try {
      await client.query('ALTER TABLE action_prices ADD COLUMN drift_probe integer');
      expect((await actualModel(client)).tables).not.toEqual(expected.tables);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});

describe('npm run db:migrate and seed data', () => {
  it('is idempotent: a second run applies nothing and the seed inserts nothing new', async () => {
    const url = process.env.TEST_DATABASE_URL!;
    expect(await migrate(url)).toEqual([]);
    await seedDatabase(url);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const recorded = await client.query('SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name');
      expect(recorded.rows.map((r) => r.migration_name)).toEqual(listMigrations().map((m) => m.name));
      expect(recorded.rows.map((r) => r.checksum)).toEqual(listMigrations().map((m) => m.checksum));
      const prices = await client.query(
        `SELECT action_key, credits_per_unit FROM action_prices
         WHERE action_key IN ('resume_optimize', 'ai_chat', 'pdf_export', 'advanced_analysis') ORDER BY action_key`,
      );
      expect(prices.rows).toEqual([
        { action_key: 'advanced_analysis', credits_per_unit: 3 },
        { action_key: 'ai_chat', credits_per_unit: 1 },
        { action_key: 'pdf_export', credits_per_unit: 1 },
        { action_key: 'resume_optimize', credits_per_unit: 1 },
      ]);
      const packages = await client.query(
        `SELECT code, credits_amount, duration_days FROM billing_packages WHERE code IN ('new_user_trial', 'monthly_membership') ORDER BY code`,
      );
      expect(packages.rows).toEqual([
        { code: 'monthly_membership', credits_amount: 100, duration_days: 30 },
        { code: 'new_user_trial', credits_amount: 10, duration_days: 30 },
      ]);
    } finally {
      await client.end();
    }
  });
});
