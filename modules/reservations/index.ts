/**
 * The public face of modules/reservations: what other modules, api/, activities/, worker/ and prisma/ may import.
 * Everything else in this folder is private to it (dependency-cruiser checks that, see .dependency-cruiser.cjs).
 * Workflow code imports modules/reservations/rules/ and modules/reservations/shapes.ts instead, never this file.
 */
export { ReservationService } from './service';
