import type { RouteDefinition } from '../route';

export const adminRoutes: RouteDefinition[] = [];
