import type { RouteDefinition } from '../route';
import { internalRoutes } from './internal';
import { publicRoutes } from './public';
import { userRoutes } from './user';
import { adminRoutes } from './admin';
import { orderRoutes } from './orders';
import { paymentRoutes } from './payments';
import { webhookRoutes } from './webhooks';
import { operationsRoutes } from './operations';
import { eventRoutes } from './events';
import { lifecycleRoutes } from './lifecycle';
import { commerceRoutes } from './commerce';
import { invoiceRoutes } from './invoices';
import { topUpRoutes } from './topups';

/** Every endpoint of the API; the router, the OpenAPI document and the access tests all read this. */
export const routes: RouteDefinition[] = [
  ...publicRoutes,
  ...internalRoutes,
  ...userRoutes,
  ...adminRoutes,
  ...orderRoutes,
  ...paymentRoutes,
  ...webhookRoutes,
  ...operationsRoutes,
  ...eventRoutes,
  ...lifecycleRoutes,
  ...commerceRoutes,
  ...invoiceRoutes,
  ...topUpRoutes,
];
