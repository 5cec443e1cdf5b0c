import type { RouteDefinition } from '../route';

export const userRoutes: RouteDefinition[] = [];
