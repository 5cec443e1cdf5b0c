import { adminSession, userSession } from '../session';
import { createApiClient } from './client';

/** Calls with the operator's admin key. */
export const adminApi = createApiClient(adminSession);
/** Calls with the user's token (and the public routes). */
export const userApi = createApiClient(userSession);
