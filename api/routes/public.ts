import type { RouteDefinition } from '../route';

export const publicRoutes: RouteDefinition[] = [];
