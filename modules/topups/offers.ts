/**
 * What a refused spend offers to buy: the packages on sale that cover the shortfall, in the user's
 * currency, each with the call that buys it. Built here and only here, for every entry point that
 * refuses with INSUFFICIENT_CREDITS (deduct, reserve) and for a check that answers `sufficient: false`,
 * so an agent sees one shape wherever it was refused.
 *
 * Only the refusal path pays for this: the deduct's SQL function answers the refusal, and the offers are
 * built after it, from a catalog snapshot kept per currency for a short time.
 */
import { z } from '../../platform/zod';
import { BillingError } from '../../platform/errors';
import type { Database } from '../../platform/database';
import type { Page, PageRequest } from '../../platform/pagination';
import { listStorefrontPackages } from '../catalog';
import { listOrders } from '../orders';
import { listPublicChannels } from '../payments';
import { listPackagePrices } from '../pricing';
import { quoteOrderTax } from '../invoices';

/** At most this many offers: the smallest packages that cover the shortfall. */
export const MAX_OFFERS = 3;
/** How long a currency's catalog snapshot answers refusals before it is read again. */
export const OFFER_CACHE_MS = 15_000;
/** Channel kinds an agent can pay through without a person (a bank transfer waits for an operator). */
const SELF_SERVICE_KINDS = new Set(['stripe', 'gateway']);

export const purchaseCallSchema = z
  .object({
    method: z.literal('POST'),
    path: z.string(),
    body: z.record(z.string(), z.unknown()),
  })
  .openapi('PurchaseCall', { description: 'The request that buys the offer, for the calling service to send with its own credential (and an Idempotency-Key).' });

export const purchaseOfferSchema = z
  .object({
    packageCode: z.string(),
    name: z.string(),
    credits: z.number().int().openapi({ description: 'Credits the package grants (at least the shortfall).' }),
    priceMinor: z.number().int().openapi({
      description: "What buying it charges, tax included, in the currency's minor unit (platform currencies table): the package's price, plus the buyer's tax when prices are tax-exclusive.",
    }),
    taxMinor: z.number().int().openapi({ description: 'The tax within `priceMinor` at the buyer\'s billing country (0 where the rate is 0).' }),
    currency: z.string().openapi({ description: 'ISO 4217: the user’s currency (that of their latest order), else the package’s own.' }),
    purchase: purchaseCallSchema,
  })
  .openapi('PurchaseOffer');
export type PurchaseOffer = z.infer<typeof purchaseOfferSchema>;

/**
 * How soon a refused call may be retried while a refill is on its way: a refill that is charged without
 * the customer grants its credits within seconds (claim, order, off-session charge, provision).
 */
export const REFILL_RETRY_AFTER_SECONDS = 5;

export const topUpStateSchema = z
  .object({
    ruleId: z.string().nullable().openapi({ description: 'The user\'s active top-up rule; null when only a manual top-up is on its way.' }),
    refillInFlight: z.boolean().openapi({ description: 'A refill of this user is under way: credits are coming without anyone buying them.' }),
    refillId: z.string().nullable().openapi({ description: 'That refill (GET /v1/me/top-ups/{refillId}); null when none is under way.' }),
    outcome: z.enum(['pending', 'requires_action']).nullable().openapi({ description: 'pending: being charged or provisioned; requires_action: the bank wants the user first (`actionUrl`).' }),
    actionUrl: z.string().nullable().openapi({ description: 'Where the user completes the bank\'s step, when `outcome` is requires_action.' }),
    retryAfterSeconds: z.number().int().nullable().openapi({ description: 'When to retry the refused call (also the 402\'s Retry-After): set while a refill is pending, null otherwise.' }),
  })
  .openapi('TopUpState');
export type TopUpState = z.infer<typeof topUpStateSchema>;

/** The details of an INSUFFICIENT_CREDITS refusal (and of a check that is not sufficient). */
export interface ShortfallDetails {
  required: number;
  available: number;
  shortfall: number;
  offers: PurchaseOffer[];
  /** Present when the user has an active top-up rule or a refill under way. */
  topUp?: TopUpState;
}

/** The user's refill state for a refusal: their active rule, and the newest refill still under way. */
async function topUpStateOf(db: Database, userId: string): Promise<TopUpState | undefined> {
  const [rule, refill] = await Promise.all([
    db.topUpRule.findFirst({ where: { userId, status: 'active' }, select: { id: true } }),
    db.topUpRefill.findFirst({
      where: { userId, status: 'claimed', outcome: { in: ['pending', 'requires_action'] } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { id: true, outcome: true, actionUrl: true },
    }),
  ]);
  if (!rule && !refill) return undefined;
  const outcome = refill ? (refill.outcome as 'pending' | 'requires_action') : null;
  return {
    ruleId: rule?.id ?? null,
    refillInFlight: refill !== null,
    refillId: refill?.id ?? null,
    outcome,
    actionUrl: outcome === 'requires_action' ? (refill?.actionUrl ?? null) : null,
    retryAfterSeconds: outcome === 'pending' ? REFILL_RETRY_AFTER_SECONDS : null,
  };
}

/** One package a refusal may offer, before the shortfall picks among them. */
interface Candidate {
  packageCode: string;
  name: string;
  credits: number;
  priceMinor: number;
  currency: string;
  channel: string;
}

async function everyPage<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit: 100, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** The user's currency: that of their latest order; undefined (each package's own) when they have none. */
async function preferredCurrency(db: Database, userId: string): Promise<string | undefined> {
  const latest = await listOrders(db, { userId }, { limit: 1 });
  return latest.items[0]?.currency;
}

/** Every package on sale with a price in `currency` (or its own) and a self-service channel that takes it, smallest first. */
async function loadCandidates(db: Database, currency: string | undefined): Promise<Candidate[]> {
  const [packages, channels] = await Promise.all([everyPage((page) => listStorefrontPackages(db, page)), everyPage((page) => listPublicChannels(db, page))]);
  const payable = channels.filter((channel) => SELF_SERVICE_KINDS.has(channel.kind));
  const candidates: Candidate[] = [];
  for (const pkg of packages) {
    if (pkg.creditsAmount <= 0) continue;
    const price = await priceIn(db, pkg, currency);
    if (!price) continue;
    const channel = payable.find((candidate) => candidate.currencies.includes(price.currency));
    if (!channel) continue;
    candidates.push({ packageCode: pkg.code, name: pkg.name, credits: pkg.creditsAmount, priceMinor: price.amountMinor, currency: price.currency, channel: channel.code });
  }
  return candidates.sort((a, b) => a.credits - b.credits || a.priceMinor - b.priceMinor || a.packageCode.localeCompare(b.packageCode));
}

/** The package's price in `currency`, or its own price when no currency is preferred; undefined when it has none there. */
async function priceIn(db: Database, pkg: { code: string; priceMinor: number; currency: string }, currency: string | undefined): Promise<{ currency: string; amountMinor: number } | undefined> {
  if (currency === undefined || currency === pkg.currency) return { currency: pkg.currency, amountMinor: pkg.priceMinor };
  const prices = await listPackagePrices(db, pkg.code);
  const price = prices.items.find((item) => item.currency === currency);
  return price ? { currency: price.currency, amountMinor: price.amountMinor } : undefined;
}

/** The call that buys one offer: the service places the order for its user (POST /v1/internal/orders). */
function purchaseCall(userId: string, candidate: Candidate): PurchaseOffer['purchase'] {
  return {
    method: 'POST',
    path: '/v1/internal/orders',
    body: { userId, packageCode: candidate.packageCode, channel: candidate.channel, currency: candidate.currency },
  };
}

/** An offer before its tax is known (the buyer's country is read only for the offers picked). */
export type PickedOffer = Omit<PurchaseOffer, 'taxMinor'>;

/** The packages that cover `shortfall`, smallest first, at most MAX_OFFERS (pure: the snapshot is already read). */
export function pickOffers(candidates: readonly Candidate[], shortfall: number, userId: string): PickedOffer[] {
  return candidates
    .filter((candidate) => candidate.credits >= shortfall)
    .slice(0, MAX_OFFERS)
    .map((candidate) => ({
      packageCode: candidate.packageCode,
      name: candidate.name,
      credits: candidate.credits,
      priceMinor: candidate.priceMinor,
      currency: candidate.currency,
      purchase: purchaseCall(userId, candidate),
    }));
}

/**
 * Catalog snapshots by currency (the empty key: each package's own). Short-lived, so a catalog change
 * shows in refusals within OFFER_CACHE_MS; a burst of refusals reads the catalog once.
 */
export class OfferBook {
  private readonly snapshots = new Map<string, { readAt: number; candidates: Promise<Candidate[]> }>();

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    private readonly ttlMs: number = OFFER_CACHE_MS,
  ) {}

  /** The details of a refusal of `required` credits when `available` are spendable. */
  async shortfall(userId: string, required: number, available: number): Promise<ShortfallDetails> {
    const shortfall = Math.max(0, required - available);
    if (shortfall === 0) return { required, available, shortfall, offers: [] };
    const [currency, topUp] = await Promise.all([preferredCurrency(this.db, userId), topUpStateOf(this.db, userId)]);
    const picked = pickOffers(await this.candidates(currency), shortfall, userId);
    // The price an offer shows is what placing its order would charge: the order fixes its tax the same way.
    const offers = await Promise.all(
      picked.map(async (offer) => {
        const quote = await quoteOrderTax(this.db, userId, offer.priceMinor);
        return { ...offer, priceMinor: quote.totalMinor, taxMinor: quote.taxMinor };
      }),
    );
    return { required, available, shortfall, offers, ...(topUp ? { topUp } : {}) };
  }

  /** An INSUFFICIENT_CREDITS refusal with its shortfall and offers; any other error as it was. */
  async withOffers(userId: string, error: unknown): Promise<unknown> {
    if (!(error instanceof BillingError) || error.code !== 'INSUFFICIENT_CREDITS') return error;
    const { required, available } = error.details as { required: number; available: number };
    const details = await this.shortfall(userId, required, available);
    // A refill on its way: the refusal asks the caller to wait (Retry-After over HTTP, RetryInfo over gRPC).
    const wait = details.topUp?.retryAfterSeconds;
    return new BillingError('INSUFFICIENT_CREDITS', error.message, { ...details, ...(wait ? { retryAfterSeconds: wait } : {}) });
  }

  private candidates(currency: string | undefined): Promise<Candidate[]> {
    const key = currency ?? '';
    const cached = this.snapshots.get(key);
    if (cached && this.now() - cached.readAt < this.ttlMs) return cached.candidates;
    const candidates = loadCandidates(this.db, currency);
    this.snapshots.set(key, { readAt: this.now(), candidates });
    // A failed read is not kept: the next refusal reads again.
    candidates.catch(() => this.snapshots.delete(key));
    return candidates;
  }
}

const BOOKS = new WeakMap<Database, OfferBook>();

/** The offer book of one database handle (one per process in practice), so every entry point shares its snapshots. */
export function offerBookFor(db: Database): OfferBook {
  let book = BOOKS.get(db);
  if (!book) {
    book = new OfferBook(db);
    BOOKS.set(db, book);
  }
  return book;
}
