/**
 * In-app notices and their emails. A notice is made once per event (unique event id); its email is sent
 * once it is stored, unless the user has no address or opted out of that type.
 */
import { randomUUID } from 'node:crypto';
import { BillingError } from '../../platform/errors';
import type { Event } from '../../generated/prisma/client';
import { isUniqueViolation, type Database } from '../../platform/database';
import { NEWEST_FIRST, type Page, type PageRequest } from '../../platform/pagination';
import { runIdempotent, type Idempotency, type IdempotentResult } from '../../platform/idempotency/store';
import type { SendMail } from './mailer';
import { render } from './templates';
import { attachmentsFor } from './attachments';
import { notificationView, type NotificationSettingsView, type NotificationView } from './views';

/** Stores the in-app notice of an event (idempotent); null when the event notifies nobody. */
export async function storeNotice(db: Database, eventId: string): Promise<{ notificationId: string } | null> {
  return upsertNotice(db, await db.event.findFirstOrThrow({ where: { id: eventId } }), 'pending');
}

/** What decides whether a notice is emailed: an address, and the types the user opted out of. */
export type MailSettings = { email: string | null; emailOptOut: string[] } | null;

/** Will this type's notice be emailed to a user with these settings? (`sendNoticeEmail` checks the same.) */
export function emailWanted(settings: MailSettings, type: string): settings is { email: string; emailOptOut: string[] } {
  return Boolean(settings?.email) && !settings!.emailOptOut.includes(type);
}

/**
 * Stores the in-app notice of an event that will not be emailed (no address, or the type opted out),
 * its email already `skipped`: such a notice is one idempotent write, which the relay makes itself
 * instead of starting a notification run (modules/events/relay.ts). Null when the event notifies nobody.
 */
export async function storeNoticeWithoutEmail(db: Database, event: Pick<Event, 'id' | 'type' | 'payload' | 'userId' | 'occurredAt'>): Promise<{ notificationId: string } | null> {
  return upsertNotice(db, event, 'skipped');
}

async function upsertNotice(
  db: Database,
  event: Pick<Event, 'id' | 'type' | 'payload' | 'userId' | 'occurredAt'>,
  emailStatus: 'pending' | 'skipped',
): Promise<{ notificationId: string } | null> {
  const rendered = render(event.type, event.payload, 'inApp');
  if (!rendered || !event.userId) return null;
  // A notice lives in its event's month (the partition key), so it is found by event id and time.
  const byEvent = { eventId_eventOccurredAt: { eventId: event.id, eventOccurredAt: event.occurredAt } };
  const existing = await db.notification.findUnique({ where: byEvent, select: { id: true } });
  if (existing) return { notificationId: existing.id };
  try {
    const notice = await db.notification.create({
      data: { id: randomUUID(), eventId: event.id, eventOccurredAt: event.occurredAt, userId: event.userId, type: event.type, emailStatus, ...rendered },
      select: { id: true },
    });
    return { notificationId: notice.id };
  } catch (error) {
    // Two relays handed the same event over at once: the other stored its notice first, and that one is it.
    if (!isUniqueViolation(error)) throw error;
    return { notificationId: (await db.notification.findUniqueOrThrow({ where: byEvent, select: { id: true } })).id };
  }
}

/** Emails a stored notice; true if sent (now or before). Throws on SMTP failure, so the activity retries. */
export async function sendNoticeEmail(db: Database, sendMail: SendMail, notificationId: string): Promise<boolean> {
  const notice = await db.notification.findFirstOrThrow({ where: { id: notificationId } });
  const thisNotice = { id_eventOccurredAt: { id: notice.id, eventOccurredAt: notice.eventOccurredAt } };
  if (notice.emailStatus !== 'pending') return notice.emailStatus === 'sent';
  const settings = await db.notificationSetting.findUnique({ where: { userId: notice.userId } });
  const payload = settings?.email ? (await db.event.findUniqueOrThrow({ where: { id_occurredAt: { id: notice.eventId, occurredAt: notice.eventOccurredAt } } })).payload : null;
  const email = payload ? render(notice.type, payload, 'email') : null;
  if (!emailWanted(settings, notice.type) || !email) {
    await db.notification.update({ where: thisNotice, data: { emailStatus: 'skipped' } });
    return false;
  }
  const attachments = await attachmentsFor(db, notice.type, payload);
  await sendMail({ to: settings.email, subject: email.subject, text: email.text, messageId: `<${notice.eventId}@durable-billing>`, attachments });
  await db.notification.update({ where: thisNotice, data: { emailStatus: 'sent' } });
  return true;
}

export async function listNotifications(
  db: Database,
  userId: string,
  page: PageRequest & { unreadOnly?: boolean | undefined },
): Promise<Page<NotificationView> & { unread: number }> {
  const rows = await db.notification.findMany({
    where: { AND: [{ userId, ...(page.unreadOnly ? { readAt: null } : {}) }, NEWEST_FIRST.after(page.cursor)] },
    orderBy: NEWEST_FIRST.orderBy,
    take: NEWEST_FIRST.take(page),
  });
  return { ...NEWEST_FIRST.page(rows, page, notificationView), unread: await db.notification.count({ where: { userId, readAt: null } }) };
}

/** Marks one of the user's notices read (idempotent: reading twice keeps the first time). */
export async function markRead(db: Database, userId: string, notificationId: string, idempotency: Idempotency): Promise<IdempotentResult<NotificationView>> {
  return runIdempotent(db, idempotency, async (tx) => {
    // Another user's notice is "not found": its existence is not revealed.
    const notice = await tx.notification.findFirst({ where: { id: notificationId, userId } });
    if (!notice) throw new BillingError('NOT_FOUND', `Notification ${notificationId} not found.`, { notificationId });
    if (notice.readAt) return notificationView(notice);
    return notificationView(await tx.notification.update({ where: { id_eventOccurredAt: { id: notice.id, eventOccurredAt: notice.eventOccurredAt } }, data: { readAt: new Date() } }));
  });
}

export async function markAllRead(db: Database, userId: string, idempotency: Idempotency): Promise<IdempotentResult<{ marked: number }>> {
  return runIdempotent(db, idempotency, async (tx) => {
    const { count } = await tx.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date() } });
    return { marked: count };
  });
}

export async function getSettings(db: Database, userId: string): Promise<NotificationSettingsView> {
  const settings = await db.notificationSetting.findUnique({ where: { userId } });
  return { email: settings?.email ?? null, emailOptOut: settings?.emailOptOut ?? [] };
}

export async function putSettings(db: Database, userId: string, settings: NotificationSettingsView): Promise<NotificationSettingsView> {
  const data = { email: settings.email, emailOptOut: [...new Set(settings.emailOptOut)].sort() };
  const saved = await db.notificationSetting.upsert({ where: { userId }, create: { userId, ...data }, update: data });
  return { email: saved.email, emailOptOut: saved.emailOptOut };
}
