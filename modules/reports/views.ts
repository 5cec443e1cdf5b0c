/** Read models for users and operators, as zod schemas with their inferred types. */
import { consumptionSchema, grantSchema } from '../credits';
import { z } from '../../platform/zod';

export const balanceGrantSchema = grantSchema
  .extend({ spendable: z.boolean().openapi({ description: 'Spends draw from this grant right now.' }) })
  .openapi('BalanceGrant');

export const userCreditsSchema = z
  .object({
    userId: z.string(),
    availableCredits: z.number().int().openapi({ description: 'Credits spendable right now.' }),
    grants: z.array(balanceGrantSchema).openapi({ description: 'Active, pending and depleted grants, in burn-down order.' }),
  })
  .openapi('UserCredits');

export const userGrantSchema = grantSchema
  .extend({
    package: z
      .object({ code: z.string(), name: z.string() })
      .nullable()
      .openapi({ description: 'The package the grant came from; deleted packages still name their grants.' }),
  })
  .openapi('UserGrant');

/** One instance, shared by the user and admin routes, so the OpenAPI component is registered once. */

export const consumptionPageSchema = z
  .object({ items: z.array(consumptionSchema), nextCursor: z.string().nullable() })
  .openapi('ConsumptionPage');

export const statsGroupBySchema = z.enum(['day', 'action']);

export const consumptionStatsSchema = z
  .object({
    groupBy: statsGroupBySchema,
    rows: z.array(
      z.object({
        key: z.string().openapi({ description: 'YYYY-MM-DD (UTC) or the action key.' }),
        consumptions: z.number().int(),
        quantity: z.number().int(),
        creditsCost: z.number().int(),
        creditsRefunded: z.number().int(),
        netCredits: z.number().int(),
      }),
    ),
  })
  .openapi('ConsumptionStats');
export type UserCreditsView = z.infer<typeof userCreditsSchema>;
export type UserGrantView = z.infer<typeof userGrantSchema>;
export type ConsumptionPage = z.infer<typeof consumptionPageSchema>;
export type StatsGroupBy = z.infer<typeof statsGroupBySchema>;
export type ConsumptionStats = z.infer<typeof consumptionStatsSchema>;
