import { z } from '../zod';

/** The Idempotency-Key header: 1-255 printable ASCII characters, unique per intended change. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
