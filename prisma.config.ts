import { defineConfig } from 'prisma/config';

// The CLI only needs a URL for `migrate deploy` where the schema engine is available;
// `generate` needs none. Here migrations are applied by `npm run db:migrate` (prisma/migrate.ts).
export default defineConfig({
  // One file per feature in prisma/schema/ (Prisma's multi-file schema); migrations stay in prisma/migrations.
  schema: 'prisma/schema',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/durable_billing' },
});
