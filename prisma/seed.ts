/**
 * Seed data: the default action prices and packages. Inserts only what is missing, so it never
 * overwrites an operator's later changes. `npm run db:seed` (sources), `node dist/prisma/seed.js` (build),
 * or with the migrations: `migrate --seed`.
 */
import { Client } from 'pg';

export const SEED_ACTION_PRICES = [
  { actionKey: 'resume_optimize', name: 'Resume optimization', creditsPerUnit: 1 },
  { actionKey: 'ai_chat', name: 'AI chat message', creditsPerUnit: 1 },
  { actionKey: 'pdf_export', name: 'PDF export', creditsPerUnit: 1 },
  { actionKey: 'advanced_analysis', name: 'Advanced analysis', creditsPerUnit: 3 },
];

export const SEED_PACKAGES = [
  // Given to new users by the calling service; not sold, so not visible in the storefront.
  { code: 'new_user_trial', name: 'New user trial', type: 'credits', creditsAmount: 10, durationDays: 30, priceMinor: 0, currency: 'USD', visible: false, defaultPriority: 10 },
  { code: 'monthly_membership', name: 'Monthly membership', type: 'hybrid', creditsAmount: 100, durationDays: 30, priceMinor: 999, currency: 'USD', visible: true, defaultPriority: 100 },
];

/** Payment channels a fresh install can take orders with; admins change or disable them. */
export const SEED_PAYMENT_CHANNELS = [
  { code: 'stripe', kind: 'stripe', name: 'Card (Stripe Checkout)', displayOrder: 10, currencies: ['USD', 'EUR'] },
  { code: 'manual', kind: 'manual', name: 'Bank transfer (confirmed by an operator)', displayOrder: 90, currencies: ['USD', 'EUR', 'CNY'] },
];

export async function seedDatabase(databaseUrl: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const price of SEED_ACTION_PRICES) {
      await client.query(
        `INSERT INTO action_prices (id, action_key, name, credits_per_unit, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, now()) ON CONFLICT (action_key) DO NOTHING`,
        [price.actionKey, price.name, price.creditsPerUnit],
      );
    }
    for (const pkg of SEED_PACKAGES) {
      await client.query(
        `INSERT INTO billing_packages (id, code, name, type, credits_amount, duration_days, price_minor, currency, visible, default_priority, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3::"PackageType", $4, $5, $6, $7, $8, $9, now()) ON CONFLICT (code) DO NOTHING`,
        [pkg.code, pkg.name, pkg.type, pkg.creditsAmount, pkg.durationDays, pkg.priceMinor, pkg.currency, pkg.visible, pkg.defaultPriority],
      );
    }
    for (const channel of SEED_PAYMENT_CHANNELS) {
      await client.query(
        `INSERT INTO payment_channels (id, code, kind, name, display_order, currencies, config, updated_at)
         VALUES (gen_random_uuid(), $1, $2::"PaymentChannelKind", $3, $4, $5::jsonb, '{}'::jsonb, now()) ON CONFLICT (code) DO NOTHING`,
        [channel.code, channel.kind, channel.name, channel.displayOrder, JSON.stringify(channel.currencies)],
      );
    }
  } finally {
    await client.end();
  }
}

if (require.main === module) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set\n');
    process.exit(78);
  }
  seedDatabase(url).then(
    () => process.stdout.write('seed data present\n'),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
